"""Reading the offline store's snapshots: the edge where training and exploration do their I/O.

Every feature table and ``show_attributes`` is a Delta table partitioned by ``as_of``. An as_of is
usable for a ranking vector only once the pipeline has committed it (all six tables written).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable

from pyspark.errors import AnalysisException
from pyspark.sql import DataFrame, SparkSession

from amp_features.errors import AmpFeaturesError
from amp_features.layout import Warehouse
from amp_features.registry import GROUPS, table_columns

SHOW_ATTRIBUTE_COLUMNS = ["show_id", "creator_id", "topic", "as_of"]


class SnapshotMissingError(AmpFeaturesError):
    """A feature snapshot (an as_of of the offline store) that was asked for does not exist."""


def _load(spark: SparkSession, path: str, what: str) -> DataFrame:
    try:
        return spark.read.format("delta").load(path)
    except AnalysisException as exc:
        raise SnapshotMissingError(
            f"the offline store has no {what} table at {path}: run the pipeline first "
            f"(amp-features run) ({exc.getMessage().splitlines()[0]})"
        ) from exc


def read_group(spark: SparkSession, warehouse: str, group: str) -> DataFrame:
    """One feature group's table, every as_of, in the registry's column order."""
    if group not in GROUPS:
        raise KeyError(f"unknown feature group {group!r}; groups are {', '.join(GROUPS)}")
    table = _load(spark, Warehouse(warehouse).feature_table(group), f"feature group {group!r}")
    return table.select(*table_columns(group))


def read_show_attributes(spark: SparkSession, warehouse: str) -> DataFrame:
    """Each show's creator_id and topic per as_of, as the feature tables used them."""
    table = _load(spark, Warehouse(warehouse).show_attributes, "show_attributes")
    return table.select(*SHOW_ATTRIBUTE_COLUMNS)


def snapshot_tables(spark: SparkSession, warehouse: str) -> dict[str, DataFrame]:
    """The six tables a ranking vector reads, keyed by group name plus ``show_attributes``."""
    tables = {group: read_group(spark, warehouse, group) for group in GROUPS}
    tables["show_attributes"] = read_show_attributes(spark, warehouse)
    return tables


def available_as_of(spark: SparkSession, warehouse: str) -> list[dt.date]:
    """The complete snapshots, oldest first: as_of dates the pipeline committed.

    The engine writes an as_of's commit row only after all five feature tables and
    show_attributes hold it, and removes it while a rerun rewrites them, so a committed date
    never mixes old and new partitions.
    """
    from amp_features.pipeline.api import completed_dates

    return sorted(completed_dates(spark, warehouse))


def group_as_of(spark: SparkSession, warehouse: str, group: str) -> list[dt.date]:
    """The as_of dates of one feature group's table, oldest first."""
    dates = read_group(spark, warehouse, group).select("as_of").distinct()
    # small: one row per day the pipeline has run.
    return sorted(row["as_of"] for row in dates.collect())  # small: one per as_of


def describe_dates(dates: Iterable[dt.date]) -> str:
    """``2026-01-01..2026-01-05 (5 dates)``, or ``none``, for error messages."""
    ordered = sorted(dates)
    if not ordered:
        return "none"
    if len(ordered) == 1:
        return f"{ordered[0]} (1 date)"
    span = (ordered[-1] - ordered[0]).days + 1
    gaps = span - len(ordered)
    gap_note = f", {gaps} missing in between" if gaps else ""
    return f"{ordered[0]}..{ordered[-1]} ({len(ordered)} dates{gap_note})"
