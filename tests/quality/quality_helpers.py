"""Helpers for the quality tests: tiny hand-made raw rows and feature rows (no fixtures)."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from typing import Any

from handmade import append_hand_commit

from amp_features.contract import RAW_TABLES
from amp_features.layout import Warehouse
from amp_features.registry import GROUPS, features_of, table_columns

AS_OF = dt.date(2026, 3, 10)
LAKE_DAYS = 10  # the lake starts at AS_OF - 9, younger than the 60-day window
ROWS_PER_DAY = 6


def day(offset: int) -> dt.date:
    return AS_OF - dt.timedelta(days=offset)


def ts(d: dt.date, hour: int) -> dt.datetime:
    return dt.datetime(d.year, d.month, d.day, hour, 0, 0)


def playback_rows(days: list[dt.date], per_day: int = ROWS_PER_DAY) -> list[tuple[Any, ...]]:
    return [
        (f"p-{d}-{i}", f"u{i % 3}", f"s{i % 2}", ts(d, i % 24), 60 * (i + 1), d)
        for d in days
        for i in range(per_day)
    ]


def engagement_rows(days: list[dt.date]) -> list[tuple[Any, ...]]:
    rows = []
    for d in days:
        rows.append((f"e-{d}-0", "u0", "like_show", "s0", None, ts(d, 8), d))
        rows.append((f"e-{d}-1", "u1", "follow_creator", None, "c1", ts(d, 9), d))
        rows.append((f"e-{d}-2", "u2", "enable_notification", "s1", None, ts(d, 10), d))
    return rows


def write_raw(
    spark: Any,
    path: Path,
    name: str,
    rows: list[tuple[Any, ...]],
    ddl: str | None = None,
    fmt: str = "parquet",
) -> None:
    """Write a raw table; Parquet unless asked (cheaper, and the contract accepts both)."""
    table = RAW_TABLES[name]
    df = spark.createDataFrame(rows, ddl or table.schema).coalesce(1)
    writer = df.write.format(fmt).mode("overwrite")
    if table.partition_by:
        writer = writer.partitionBy(table.partition_by)
    writer.save(str(path / name))


def lake_days() -> list[dt.date]:
    return [day(i) for i in range(LAKE_DAYS)]


# -- outputs -------------------------------------------------------------------------------------
def feature_rows(group: str, as_of: dt.date, users: int) -> list[tuple[Any, ...]]:
    """Valid rows for a group: two rows per user in the pair groups, affinities 0.5 each so that
    each user's affinities sum to 1; every other number small and in range."""
    keys = GROUPS[group].keys
    values: list[Any] = []
    for f in features_of(group):
        values.append({"bigint": 3, "int": 3, "double": 0.5, "boolean": True}[f.dtype])
    rows = []
    for u in range(users):
        if len(keys) == 1:
            rows.append((f"{keys[0][:-3]}{u}", *values, as_of))
        else:
            rows += [(f"u{u}", f"k{k}", *values, as_of) for k in range(2)]
    return rows


def feature_ddl(group: str) -> str:
    types = {f.name: f.dtype for f in features_of(group)} | {"as_of": "date"}
    return ", ".join(f"{c} {types.get(c, 'string')}" for c in table_columns(group))


def write_group(
    spark: Any,
    warehouse: Path,
    group: str,
    rows: list[tuple[Any, ...]],
    ddl: str | None = None,
    mode: str = "append",
) -> None:
    df = spark.createDataFrame(rows, ddl or feature_ddl(group)).coalesce(1)
    (
        df.write.format("delta")
        .mode(mode)
        .option("overwriteSchema", "true" if mode == "overwrite" else "false")
        .partitionBy("as_of")
        .save(Warehouse(str(warehouse)).feature_table(group))
    )


def commit_snapshot(spark: Any, warehouse: Path, as_of: dt.date, run_id: str) -> Any:
    """Append a commit row for ``as_of`` pinning the current version of each feature table (what
    a completed run does after writing them); returns the Commit."""
    from delta.tables import DeltaTable

    versions = {}
    for group in GROUPS:
        path = Warehouse(str(warehouse)).feature_table(group)
        versions[group] = int(DeltaTable.forPath(spark, path).history(1).first()["version"])
    return append_hand_commit(spark, str(warehouse), as_of, run_id, versions)
