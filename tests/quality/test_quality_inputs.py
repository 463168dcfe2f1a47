"""Input suites: a clean lake passes; a broken table stops the run naming the table and problem."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from quality_helpers import AS_OF, day, engagement_rows, lake_days, playback_rows, ts

from amp_features.errors import QualityGateError
from amp_features.quality import load_result, validate_inputs


def test_clean_lake_passes_and_is_persisted(spark: Any, clean_lake: Path, tmp_path: Path) -> None:
    result = validate_inputs(spark, str(clean_lake), str(tmp_path), AS_OF)
    assert result.success, result.summary()
    assert not result.warnings, result.summary()
    assert [s.name for s in result.suites] == [
        "input_playback",
        "input_engagement",
        "input_shows",
        "input_users",
    ]
    stored = load_result(str(tmp_path), AS_OF, "inputs")
    assert stored is not None and stored.success and stored.path == result.path


def test_table_that_drops_a_day_is_fatal(
    spark: Any, fault_lake: Callable[..., Path], tmp_path: Path
) -> None:
    dropped = day(3)
    lake = fault_lake("playback", playback_rows([d for d in lake_days() if d != dropped]))
    with pytest.raises(QualityGateError) as err:
        validate_inputs(spark, str(lake), str(tmp_path / "wh"), AS_OF)
    message = str(err.value)
    assert f"playback: missing partition (missing: {dropped})" in message
    assert "input_playback" in message and "engagement" not in message
    # The failed validation is kept and readable.
    stored = load_result(str(tmp_path / "wh"), AS_OF, "inputs")
    assert stored is not None and not stored.success
    assert [(o.table, o.check) for o in stored.failures] == [("playback", "missing partition")]


def test_schema_change_is_fatal(
    spark: Any, fault_lake: Callable[..., Path], tmp_path: Path
) -> None:
    # occurred_at arrives as a string: the engagement schema no longer matches the contract.
    rows = [(*r[:5], r[5].isoformat(), r[6]) for r in engagement_rows(lake_days())]
    ddl = (
        "event_id string, user_id string, event_type string, show_id string, "
        "creator_id string, occurred_at string, dt date"
    )
    lake = fault_lake("engagement", rows, ddl)
    with pytest.raises(QualityGateError) as err:
        validate_inputs(spark, str(lake), str(tmp_path / "wh"), AS_OF)
    message = str(err.value)
    assert "engagement: schema change (observed StringType, expected TimestampType)" in message
    assert "occurred_at" in message and "playback" not in message


def test_collapsed_volume_is_fatal_and_invalid_rows_only_warn(
    spark: Any, fault_lake: Callable[..., Path], tmp_path: Path
) -> None:
    at = ts(AS_OF, 12)
    bad = [
        ("p-bad-1", "u1", "s1", at, -5, AS_OF),  # negative listen_seconds
        ("p-bad-2", None, "s1", at, 10, AS_OF),  # no user
        ("p-bad-3", "u1", "s1", ts(day(1), 12), 10, AS_OF),  # started_at outside dt's day
    ]
    # 20 rows a day before, 4 on the as_of day: the partition collapsed.
    rows = playback_rows(lake_days()[1:], per_day=20) + playback_rows([AS_OF], per_day=1) + bad
    lake = fault_lake("playback", rows)
    warehouse = str(tmp_path / "wh")
    with pytest.raises(QualityGateError, match=r"playback: collapsed volume \(1 of 1 rows"):
        validate_inputs(spark, str(lake), warehouse, AS_OF)
    stored = load_result(warehouse, AS_OF, "inputs")
    assert stored is not None
    assert [o.check for o in stored.failures] == ["collapsed volume"]
    warned = {(o.check, o.column, o.unexpected_count) for o in stored.warnings}
    assert warned == {
        ("invalid rows", "listen_seconds", 1),
        ("invalid rows", "user_id", 1),
        ("invalid rows", "dt = _q_event_date", 1),
    }
