"""On a generated lake: it passes the input suites (invalid rows only warn), and the same lake
with one day of engagement removed stops the run, naming the table and the day."""

from __future__ import annotations

import os
import shutil
from pathlib import Path
from typing import Any

import pytest
from quality_helpers import AS_OF, day

from amp_features.contract import RAW_TABLES
from amp_features.errors import QualityGateError
from amp_features.generate import generate_lake
from amp_features.quality import validate_inputs


@pytest.fixture(scope="module")
def generated_lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quality-generated") / "lake"
    # Parquet so that a day can be dropped by removing its folder; 300 users keep every day's
    # engagement partition non-empty.
    generate_lake(
        spark, str(root), users=300, days=5, end_date=AS_OF, seed=7, fmt="parquet", bad_rows=0.01
    )
    return root


def test_generated_lake_passes_then_a_dropped_day_stops_the_run(
    spark: Any, generated_lake: Path, tmp_path: Path
) -> None:
    result = validate_inputs(spark, str(generated_lake), str(tmp_path / "wh"), AS_OF)
    assert result.success, result.summary()
    # The generator's invalid rows are reported with counts, not fatal.
    assert {o.table for o in result.warnings} >= {"playback", "engagement"}
    assert all(o.unexpected_count for o in result.warnings if o.check == "invalid rows")

    broken = tmp_path / "broken"
    broken.mkdir()
    for name in RAW_TABLES:
        if name != "engagement":
            os.symlink(generated_lake / name, broken / name)
    shutil.copytree(generated_lake / "engagement", broken / "engagement")
    shutil.rmtree(broken / "engagement" / f"dt={day(2)}")
    with pytest.raises(
        QualityGateError, match=rf"engagement: missing partition \(missing: {day(2)}\)"
    ):
        validate_inputs(spark, str(broken), str(tmp_path / "wh"), AS_OF)
