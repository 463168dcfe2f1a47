"""Reading the offline store's committed snapshots for training and exploration.

Every as_of is read through its latest commit row, each table at the Delta version that commit
recorded (``offline.snapshots``), so a re-run in progress or a manual write to a partition never
shows here until a new commit lands. A date with no commit is a clear error.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession

from amp_features.errors import SnapshotMissingError
from amp_features.offline import snapshots
from amp_features.offline.snapshots import SHOW_ATTRIBUTE_COLUMNS, describe_dates
from amp_features.registry import GROUPS

__all__ = [
    "SHOW_ATTRIBUTE_COLUMNS",
    "SnapshotMissingError",
    "available_as_of",
    "describe_dates",
    "group_as_of",
    "read_group",
    "read_show_attributes",
    "snapshot_tables",
]


def read_group(
    spark: SparkSession, warehouse: str, group: str, as_ofs: list[dt.date] | None = None
) -> DataFrame:
    """One feature group's committed snapshots (every committed as_of, or ``as_ofs``), in the
    registry's column order."""
    if group not in GROUPS:
        raise KeyError(f"unknown feature group {group!r}; groups are {', '.join(GROUPS)}")
    return snapshots.read_history(spark, warehouse, group, as_ofs)


def read_show_attributes(
    spark: SparkSession, warehouse: str, as_ofs: list[dt.date] | None = None
) -> DataFrame:
    """Each show's creator_id and topic per committed as_of, as the feature tables used them."""
    return snapshots.read_history(spark, warehouse, snapshots.SHOW_ATTRIBUTES, as_ofs)


def snapshot_tables(
    spark: SparkSession, warehouse: str, as_ofs: list[dt.date] | None = None
) -> dict[str, DataFrame]:
    """The six tables a ranking vector reads, keyed by group name plus ``show_attributes``."""
    tables = {group: read_group(spark, warehouse, group, as_ofs) for group in GROUPS}
    tables["show_attributes"] = read_show_attributes(spark, warehouse, as_ofs)
    return tables


def available_as_of(spark: SparkSession, warehouse: str) -> list[dt.date]:
    """The committed snapshots, oldest first."""
    return snapshots.committed_dates(spark, warehouse)


def group_as_of(spark: SparkSession, warehouse: str, group: str) -> list[dt.date]:
    """The committed as_of dates that hold ``group`` (every table of a commit), oldest first."""
    commits = snapshots.latest_commits(spark, warehouse)
    return sorted(d for d, c in commits.items() if group in c.versions)
