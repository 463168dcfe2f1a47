"""Fixtures of the quality tests: tiny lakes and warehouses (helpers in quality_helpers.py)."""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from quality_helpers import (
    AS_OF,
    commit_snapshot,
    day,
    engagement_rows,
    feature_rows,
    lake_days,
    playback_rows,
    ts,
    write_group,
    write_raw,
)

from amp_features.contract import RAW_TABLES
from amp_features.registry import GROUPS


@pytest.fixture(scope="session")
def clean_lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("quality-lake")
    days = lake_days()
    # The fact tables are Delta, the dimensions Parquet: both readers are exercised.
    write_raw(spark, root, "playback", playback_rows(days), fmt="delta")
    write_raw(spark, root, "engagement", engagement_rows(days), fmt="delta")
    write_raw(
        spark,
        root,
        "shows",
        [("s0", "c0", "news", ts(day(30), 8)), ("s1", "c1", "music", ts(day(30), 9))],
    )
    write_raw(
        spark,
        root,
        "users",
        [(f"u{i}", ts(day(100), 1), "DE", ["news"]) for i in range(3)],
    )
    return root


@pytest.fixture()
def fault_lake(
    spark: Any, clean_lake: Path, tmp_path: Path
) -> Callable[[str, list[tuple[Any, ...]], str | None], Path]:
    """A lake whose table ``name`` is replaced by ``rows``; the others link to the clean lake."""

    def make(name: str, rows: list[tuple[Any, ...]], ddl: str | None = None) -> Path:
        root = tmp_path / "lake"
        root.mkdir()
        for other in RAW_TABLES:
            if other != name:
                os.symlink(clean_lake / other, root / other)
        write_raw(spark, root, name, rows, ddl)
        return root

    return make


@pytest.fixture(scope="session")
def clean_warehouse(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """Five feature tables with two committed as_ofs (the day before AS_OF, and AS_OF), not
    validated yet."""
    root = tmp_path_factory.mktemp("quality-warehouse")
    for group in GROUPS:
        rows = feature_rows(group, day(1), 4) + feature_rows(group, AS_OF, 4)
        write_group(spark, root, group, rows)
    for as_of in (day(1), AS_OF):
        commit_snapshot(spark, root, as_of, "clean")
    return root


@pytest.fixture()
def warehouse_copy(clean_warehouse: Path, tmp_path: Path) -> Path:
    """A private copy of the clean warehouse that a test may break."""
    target = tmp_path / "warehouse"
    shutil.copytree(clean_warehouse, target)
    return target
