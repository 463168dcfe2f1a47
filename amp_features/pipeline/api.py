"""The pipeline's public API for notebooks and scripts; the CLI, ``jobs/``, the DAG and the
backfill go through the same runner (``pipeline.runner``).

Stages (each idempotent and keyed by the as-of date D, never by the wall clock): validate_inputs,
build_states, rollup, validate_outputs, publish, record_metrics (see ``runner.STAGE_TABLE``).
``run_features`` runs the first three (plus the output suites unless ``validate=False``);
``compute_features`` returns the feature DataFrames without writing anything.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from amp_features.contract import parse_date, window_bounds
from amp_features.ingest.read import read_raw
from amp_features.offline import snapshots
from amp_features.pipeline.rollup import MODES, STATE_RETENTION_DAYS, RunResult
from amp_features.pipeline.runner import RunContext, Targets, run_stages
from amp_features.pipeline.states import Cache, build_states, check_inputs
from amp_features.registry import GROUPS
from amp_features.rollup.features import feature_groups
from amp_features.rollup.from_raw import window_state_from_raw


def run_features(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    as_of: dt.date | str,
    *,
    mode: str = "incremental",
    validate: bool = False,
    external_run_id: str | None = None,
) -> RunResult:
    """check_inputs, build_states (incremental mode), rollup and the commit of D; with
    ``validate`` also the input and output suites. One log line and one metrics row per stage."""
    ctx = RunContext(
        spark,
        parse_date(as_of),
        Targets(lake, warehouse),
        mode=mode,
        skip_validation=not validate,
        external_run_id=external_run_id,
    )
    stages = ["validate_inputs", "build_states", "rollup"]
    if validate:
        stages.append("validate_outputs")
    run_stages(ctx, stages)
    assert ctx.result is not None
    return ctx.result


def rollup(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    as_of: dt.date | str,
    *,
    mode: str = "incremental",
) -> RunResult:
    """Only the roll-up stage for D (its daily states must exist): window state, the six
    snapshot tables and D's commit row."""
    ctx = RunContext(spark, parse_date(as_of), Targets(lake, warehouse), mode=mode)
    run_stages(ctx, ["rollup"])
    assert ctx.result is not None
    return ctx.result


def compute_features(spark: SparkSession, lake: str, as_of: dt.date | str) -> dict[str, DataFrame]:
    """The five feature groups (and show attributes) for ``as_of``, computed from raw events,
    writing nothing. For notebooks; the window state is cached in Spark (call ``unpersist`` on
    the frames, or ``spark.catalog.clearCache()``, when done)."""
    day = parse_date(as_of)
    first, last = window_bounds(day)
    raw = {name: read_raw(spark, lake, name) for name in ("playback", "engagement")}
    facts = {n: df.where(F.col("dt").between(F.lit(first), F.lit(last))) for n, df in raw.items()}
    state = window_state_from_raw(facts["playback"], facts["engagement"], day)
    cache = Cache()  # kept alive on purpose: the returned frames read from it
    state = {name: cache.keep(df) for name, df in state.items()}
    return feature_groups(
        state, read_raw(spark, lake, "shows"), read_raw(spark, lake, "users"), day
    )


def completed_dates(spark: SparkSession, warehouse: str) -> set[dt.date]:
    """as_of dates with a committed snapshot (for backfill skipping)."""
    return set(snapshots.committed_dates(spark, warehouse))


__all__ = [
    "GROUPS",
    "MODES",
    "STATE_RETENTION_DAYS",
    "RunResult",
    "build_states",
    "check_inputs",
    "completed_dates",
    "compute_features",
    "rollup",
    "run_features",
]
