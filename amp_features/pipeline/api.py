"""The pipeline's public API, used by the CLI, ``jobs/``, the Airflow DAG and notebooks.

Stages (each idempotent, each keyed by the as-of date D, never by the wall clock):

1. ``check_inputs``   - the four raw tables exist with the contract's columns; dimensions have
                        unique keys; the window's partitions are present.
2. ``build_states``   - daily states (tiles) for every dt the window needs, built once from that
                        dt's valid events; invalid rows are quarantined and counts recorded.
3. ``rollup``         - the 60-day window state and the five feature tables for D, written to Delta.
``run_features`` runs 1-3. ``compute_features`` returns the DataFrames without writing anything.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amp_features.logs import StageRecord

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession

MODES = ("incremental", "full")


@dataclass
class RunResult:
    as_of: dt.date
    mode: str
    tables: dict[str, str] = field(default_factory=dict)  # group -> Delta path
    rows: dict[str, int] = field(default_factory=dict)  # group -> rows written for as_of
    stages: list[StageRecord] = field(default_factory=list)
    run_id: str = ""


def check_inputs(spark: SparkSession, lake: str, as_of: dt.date | str) -> dict[str, int]:
    raise NotImplementedError


def build_states(
    spark: SparkSession, lake: str, warehouse: str, as_of: dt.date | str, *, force: bool = False
) -> dict[str, int]:
    raise NotImplementedError


def rollup(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    as_of: dt.date | str,
    *,
    mode: str = "incremental",
) -> RunResult:
    raise NotImplementedError


def run_features(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    as_of: dt.date | str,
    *,
    mode: str = "incremental",
) -> RunResult:
    raise NotImplementedError


def compute_features(spark: SparkSession, lake: str, as_of: dt.date | str) -> dict[str, DataFrame]:
    raise NotImplementedError


def completed_dates(spark: SparkSession, warehouse: str) -> set[dt.date]:
    """as_of dates whose five feature partitions are all written (for backfill skipping)."""
    raise NotImplementedError
