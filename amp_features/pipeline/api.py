"""The pipeline's public API, used by the CLI, ``jobs/``, the Airflow DAG and notebooks.

Stages (each idempotent and keyed by the as-of date D, never by the wall clock):

1. ``check_inputs``  - the four raw tables exist with the contract's columns; dimensions have
                       unique keys.
2. ``build_states``  - daily states (tiles) for every dt the window needs, each built once from
                       that dt's valid events, and rebuilt when the dt's raw files change; invalid
                       rows are quarantined and the row accounting of every dt is recorded.
3. ``rollup``        - the 60-day window state (carried from D-1 when possible) and the five
                       feature tables for D, written to Delta, then a commit row for D.
``run_features`` runs 1-3. ``compute_features`` returns the DataFrames without writing anything.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DoubleType, MapType, StringType, StructField, StructType

from amp_features.contract import FACT_TABLES, RAW_TABLES, WINDOW_DAYS, parse_date, window_bounds
from amp_features.errors import AmpFeaturesError, ConfigError, CountMismatchError
from amp_features.ingest.read import (
    NO_FILES,
    check_unique_key,
    partition_fingerprints,
    read_raw,
    table_version,
)
from amp_features.ingest.validate import (
    DEDUPERS,
    FLAGGERS,
    input_counts,
    quarantine_rows,
    valid_rows,
)
from amp_features.layout import Warehouse
from amp_features.logs import StageRecord, StageTimer, log
from amp_features.offline.delta import (
    last_commit_rows,
    partition_predicate,
    read_table,
    replace_partitions,
    upsert,
)
from amp_features.pipeline import bookkeeping as bk
from amp_features.registry import GROUPS, REGISTRY
from amp_features.rollup.features import SHOW_ATTRIBUTES, feature_groups
from amp_features.rollup.window import carry, rebase, state_columns
from amp_features.tiles.daily import TILE_SOURCES, TILES, build_tiles

MODES = ("incremental", "full")
# Window states older than this many days before the latest as_of are deleted (tiles are kept).
STATE_RETENTION_DAYS = 3


@dataclass
class RunResult:
    as_of: dt.date
    mode: str
    tables: dict[str, str] = field(default_factory=dict)  # group -> Delta path
    rows: dict[str, int] = field(default_factory=dict)  # group -> rows written for as_of
    stages: list[StageRecord] = field(default_factory=list)
    run_id: str = ""
    carried: bool = False  # incremental: was the window carried from D-1 (vs rebased)?


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def _days(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


class _Cache:
    """Persisted DataFrames of one run, released together at the end."""

    def __init__(self) -> None:
        self._frames: list[DataFrame] = []

    def keep(self, df: DataFrame) -> DataFrame:
        df = df.persist(StorageLevel.MEMORY_AND_DISK)
        self._frames.append(df)
        return df

    def release(self) -> None:
        for df in self._frames:
            df.unpersist()
        self._frames.clear()


@contextmanager
def _cache() -> Iterator[_Cache]:
    cache = _Cache()
    try:
        yield cache
    finally:
        cache.release()


# --- 1. inputs ------------------------------------------------------------------------------
def check_inputs(spark: SparkSession, lake: str, as_of: dt.date | str) -> dict[str, int]:
    """Schema of all four tables, unique dimension keys, and the window's partitions present."""
    day = parse_date(as_of)
    counts: dict[str, int] = {}
    for name, table in RAW_TABLES.items():
        df = read_raw(spark, lake, name)
        if table.is_dimension:
            check_unique_key(df, table)
            counts[f"{name}_rows"] = df.count()
    first, last = window_bounds(day)
    for name in FACT_TABLES:
        prints = partition_fingerprints(spark, lake, name, _days(first, last))
        present = sum(1 for fp in prints.values() if fp != NO_FILES)
        counts[f"{name}_days_present"] = present
        if prints[day] == NO_FILES:
            log.warning("table %s has no partition dt=%s (the as-of date)", name, day)
    return counts


# --- 2. daily states -----------------------------------------------------------------------
def _validated(
    spark: SparkSession,
    lake: str,
    source: str,
    days: list[dt.date],
    cache: _Cache,
    *,
    warehouse: str | None,
    run_id: str,
) -> DataFrame:
    """Valid, deduplicated rows of ``source`` for ``days``; with a warehouse, the invalid rows
    are quarantined and each day's row accounting is checked and recorded."""
    raw = read_raw(spark, lake, source).where(F.col("dt").isin(*days))
    flagged = cache.keep(FLAGGERS[source](raw))
    kept_counted = cache.keep(DEDUPERS[source](valid_rows(flagged)))
    counts = input_counts(flagged, kept_counted, source)
    rows = {r["dt"]: r for r in counts.collect()}  # small: one row per day
    for day, r in sorted(rows.items()):
        if r["rows_read"] != r["rows_kept"] + r["duplicates_dropped"] + r["rows_quarantined"]:
            raise CountMismatchError(
                f"table {source} dt={day}: rows read {r['rows_read']} != kept {r['rows_kept']}"
                f" + duplicates {r['duplicates_dropped']} + quarantined {r['rows_quarantined']}"
            )
    if warehouse is not None:
        wh = Warehouse(warehouse)
        quarantine = quarantine_rows(flagged).withColumn("run_id", F.lit(run_id))
        replace_partitions(quarantine, wh.quarantine(source), "dt", days)
        # Days with no rows at all still get a row of zeros: "every processed dt" is recorded.
        zeros = [(source, d, 0, 0, 0, 0) for d in days if d not in rows]
        table = counts
        if zeros:
            table = table.unionByName(spark.createDataFrame(zeros, counts.schema))
        upsert(
            spark,
            table.withColumn("run_id", F.lit(run_id)),
            wh.input_counts,
            ["table", "dt"],
            where=f"table = '{source}' AND {partition_predicate('dt', days)}",
        )
        quarantined = sum(r["rows_quarantined"] for r in rows.values())
        duplicates = sum(r["duplicates_dropped"] for r in rows.values())
        log.info(
            "%s: %d day(s), %d rows read, %d duplicates dropped, %d quarantined",
            source,
            len(days),
            sum(r["rows_read"] for r in rows.values()),
            duplicates,
            quarantined,
        )
    return kept_counted.select(*RAW_TABLES[source].columns)


def build_states(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    as_of: dt.date | str,
    *,
    force: bool = False,
    since: dt.date | str | None = None,
) -> dict[str, int]:
    """Build the daily states D-60..D that are missing or whose raw files changed.

    D-60 is included because the next step subtracts it from the window state of D-1.
    ``since`` widens the range to start at that as-of date's D-60 instead: a backfill builds
    the states of its whole range in one pass (one Spark job and one commit per table) rather
    than one day per date. Returns how many days were (re)built per raw table.
    """
    day = parse_date(as_of)
    first = parse_date(since) if since is not None else day
    if first > day:
        raise ConfigError(f"since ({first}) is after the as-of date ({day})")
    days = _days(first - dt.timedelta(days=WINDOW_DAYS), day)
    run_id = new_run_id()
    builds = bk.read_tile_log(spark, warehouse, days[0], days[-1])
    wh = Warehouse(warehouse)
    out: dict[str, int] = {}
    for source in FACT_TABLES:
        prints = partition_fingerprints(spark, lake, source, days)
        stale = [
            d
            for d in days
            if force
            or bk.tile_key(source, d) not in builds
            or builds[bk.tile_key(source, d)].fingerprint != prints[d]
        ]
        out[f"{source}_days_built"] = len(stale)
        if not stale:
            continue
        log.info(
            "%s: building daily states for %d day(s) %s..%s",
            source,
            len(stale),
            stale[0],
            stale[-1],
        )
        build_id = f"{run_id}-{source}"
        with _cache() as cache:
            valid = _validated(
                spark, lake, source, stale, cache, warehouse=warehouse, run_id=run_id
            )
            empty = spark.createDataFrame(
                [], RAW_TABLES["engagement" if source == "playback" else "playback"].schema
            )
            tiles = build_tiles(valid, empty) if source == "playback" else build_tiles(empty, valid)
            for name, tile in tiles.items():
                if TILE_SOURCES[name] != source:
                    continue
                replace_partitions(
                    tile.withColumn("build_id", F.lit(build_id)), wh.tile(name), "dt", stale
                )
        version = table_version(spark, lake, source)
        bk.write_tile_log(
            spark,
            warehouse,
            source,
            {d: bk.TileBuild(prints[d], build_id, version) for d in stale},
            run_id,
        )
    return out


# --- 3. roll-up -------------------------------------------------------------------------------
def _window_keys(first: dt.date, last: dt.date) -> list[str]:
    return [bk.tile_key(s, d) for s in FACT_TABLES for d in _days(first, last)]


def _incremental_state(
    spark: SparkSession, warehouse: str, day: dt.date, run_id: str, cache: _Cache
) -> tuple[dict[str, DataFrame], bool, dict[str, int]]:
    """Write the window state of D (carried from D-1 when its tiles still match, else rebuilt
    from the 60 daily states) and return it, cached, with whether it was carried and the rows
    written per state.

    The state is read back from the files just written and cached from there: measured on the
    benchmark lake, that is faster than caching the carried result while writing it, or than
    reading the Parquet files again for every feature group.
    """
    wh = Warehouse(warehouse)
    first, last = window_bounds(day)
    leaving_day, previous_day = first - dt.timedelta(days=1), day - dt.timedelta(days=1)
    builds = bk.read_tile_log(spark, warehouse, leaving_day, last)
    missing = [k for k in _window_keys(first, last) if k not in builds]
    if missing:
        raise AmpFeaturesError(
            f"daily states missing for {len(missing)} day(s) of the window, e.g. {missing[0]}; "
            "run build_states first (amp-features run does)"
        )
    previous = bk.read_window_tiles(spark, warehouse, previous_day)
    expected = bk.tiles_token(builds, _window_keys(leaving_day, previous_day))
    carried = previous is not None and previous == expected and len(expected) == 2 * WINDOW_DAYS
    log.info(
        "window state of %s: %s",
        day,
        "carried from the previous day" if carried else "rebuilt from the 60 daily states",
    )
    # States older than the retention go in the same commit as the new one.
    retention = f"as_of < '{(day - dt.timedelta(days=STATE_RETENTION_DAYS)).isoformat()}'"
    counts: dict[str, int] = {}
    states: dict[str, DataFrame] = {}
    for name in TILES:
        tiles = spark.read.format("delta").load(wh.tile(name))
        if carried:
            prev = (
                spark.read.format("delta")
                .load(wh.window_state(name))
                .where(F.col("as_of") == F.lit(previous_day))
            )
            state = carry(
                name,
                prev,
                tiles.where(F.col("dt") == F.lit(day)),
                tiles.where(F.col("dt") == F.lit(leaving_day)),
            )
        else:
            state = rebase(name, tiles, day)
        path = wh.window_state(name)
        replace_partitions(
            state.withColumn("as_of", F.lit(day)), path, "as_of", [day], also_delete=retention
        )
        counts[name] = last_commit_rows(spark, path)
        written = spark.read.format("delta").load(path).where(F.col("as_of") == F.lit(day))
        states[name] = cache.keep(written.select(*state_columns(name)))
    bk.write_window_log(
        spark, warehouse, day, bk.tiles_token(builds, _window_keys(first, last)), run_id
    )
    return states, carried, counts


def _full_state(
    spark: SparkSession,
    lake: str,
    day: dt.date,
    cache: _Cache,
    *,
    warehouse: str | None,
    run_id: str,
) -> dict[str, DataFrame]:
    """The window state straight from 60 days of raw events (no daily states involved)."""
    days = _days(*window_bounds(day))
    playback = _validated(spark, lake, "playback", days, cache, warehouse=warehouse, run_id=run_id)
    engagement = _validated(
        spark, lake, "engagement", days, cache, warehouse=warehouse, run_id=run_id
    )
    tiles = build_tiles(playback, engagement)
    return {name: rebase(name, tiles[name], day) for name in TILES}


def _comments() -> dict[str, str]:
    return {name: f.description for name, f in REGISTRY.items()}


def rollup(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    as_of: dt.date | str,
    *,
    mode: str = "incremental",
) -> RunResult:
    """Window state and the five feature tables for D, then the commit row for D."""
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    day = parse_date(as_of)
    run_id = new_run_id()
    wh = Warehouse(warehouse)
    result = RunResult(day, mode, run_id=run_id)
    timer = StageTimer()
    shows = read_raw(spark, lake, "shows")
    users = read_raw(spark, lake, "users")
    # D stops being "complete" until this run's commit row is written, so a run that dies midway
    # never leaves readers (export, training sets) a mix of old and new partitions.
    bk.remove_commit(spark, warehouse, day)
    with _cache() as cache:
        with timer.stage("window_state") as rows:
            if mode == "full":
                state = _full_state(spark, lake, day, cache, warehouse=warehouse, run_id=run_id)
                state = {name: cache.keep(df) for name, df in state.items()}
                for name, df in state.items():
                    rows[name] = df.count()
            else:
                state, result.carried, counts = _incremental_state(
                    spark, warehouse, day, run_id, cache
                )
                rows.update(counts)
        groups = feature_groups(state, shows, users, day)
        with timer.stage("write_features") as rows:
            for group, df in groups.items():
                path = wh.show_attributes if group == SHOW_ATTRIBUTES else wh.feature_table(group)
                replace_partitions(df, path, "as_of", [day], comments=_comments())
                rows[group] = result.rows[group] = last_commit_rows(spark, path)
                result.tables[group] = path
    bk.write_commit(spark, warehouse, day, run_id, mode, result.rows)
    result.stages = timer.records
    return result


def run_features(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    as_of: dt.date | str,
    *,
    mode: str = "incremental",
) -> RunResult:
    """check_inputs, build_states (incremental mode) and rollup, with one log line per stage."""
    day = parse_date(as_of)
    timer = StageTimer()
    with timer.stage("check_inputs") as rows:
        rows.update(check_inputs(spark, lake, day))
    if mode == "incremental":
        with timer.stage("build_states") as rows:
            rows.update(build_states(spark, lake, warehouse, day))
    result = rollup(spark, lake, warehouse, day, mode=mode)
    result.stages = [*timer.records, *result.stages]
    _record_stages(spark, warehouse, result)
    return result


def compute_features(spark: SparkSession, lake: str, as_of: dt.date | str) -> dict[str, DataFrame]:
    """The five feature groups (and show attributes) for ``as_of``, computed from raw events,
    writing nothing. For notebooks; the window state is cached in Spark (call ``unpersist`` on
    the frames, or ``spark.catalog.clearCache()``, when done)."""
    day = parse_date(as_of)
    cache = _Cache()  # kept alive on purpose: the returned frames read from it
    state = _full_state(spark, lake, day, cache, warehouse=None, run_id="notebook")
    state = {name: cache.keep(df) for name, df in state.items()}
    return feature_groups(
        state, read_raw(spark, lake, "shows"), read_raw(spark, lake, "users"), day
    )


def completed_dates(spark: SparkSession, warehouse: str) -> set[dt.date]:
    """as_of dates whose five feature partitions are all written (for backfill skipping)."""
    return set(bk.committed_dates(spark, warehouse))


# --- metrics -----------------------------------------------------------------------------------
RUNS_SCHEMA = StructType(
    [
        StructField("as_of", StringType(), False),
        StructField("run_id", StringType(), False),
        StructField("stage", StringType(), False),
        StructField("seconds", DoubleType(), True),
        StructField("rows", MapType(StringType(), StringType()), True),
    ]
)


def _write_runs(
    spark: SparkSession,
    warehouse: str,
    as_of: dt.date,
    run_id: str,
    records: list[tuple],  # type: ignore[type-arg]
) -> None:
    df = spark.createDataFrame(records, RUNS_SCHEMA).select(
        F.to_date("as_of").alias("as_of"),
        "run_id",
        "stage",
        "seconds",
        F.map_from_entries(
            F.transform(
                F.map_entries("rows"),
                lambda e: F.struct(e["key"].alias("key"), e["value"].cast("bigint").alias("value")),
            )
        ).alias("rows"),
    )
    upsert(
        spark,
        df,
        Warehouse(warehouse).runs,
        ["as_of", "run_id", "stage"],
        where=f"as_of = '{as_of.isoformat()}' AND run_id = '{run_id}'",
    )


def _record_stages(spark: SparkSession, warehouse: str, result: RunResult) -> None:
    records = [
        (
            result.as_of.isoformat(),
            result.run_id,
            s.name,
            s.seconds,
            {k: str(v) for k, v in s.rows.items()},
        )
        for s in result.stages
    ]
    _write_runs(spark, warehouse, result.as_of, result.run_id, records)


def record_metrics(
    spark: SparkSession, warehouse: str, as_of: dt.date | str, *, run_id: str = ""
) -> dict[str, int]:
    """Record a summary of the as_of in metrics/runs: rows per feature table and the window's
    input accounting (read, kept, duplicates, quarantined). Idempotent per (as_of, run_id)."""
    day = parse_date(as_of)
    commits = bk.committed_dates(spark, warehouse)
    if day not in commits:
        raise AmpFeaturesError(f"as_of {day} has no committed feature tables to record")
    summary = {f"rows_{k}": int(v) for k, v in commits[day].items()}
    counts = read_table(spark, Warehouse(warehouse).input_counts)
    if counts is not None:
        first, last = window_bounds(day)
        totals = (
            counts.where(F.col("dt").between(F.lit(first), F.lit(last)))
            .groupBy("table")
            .agg(
                *(
                    F.sum(c).alias(c)
                    for c in ("rows_read", "rows_kept", "duplicates_dropped", "rows_quarantined")
                )
            )
            .collect()  # small: one row per raw table
        )
        for r in totals:
            for c in ("rows_read", "rows_kept", "duplicates_dropped", "rows_quarantined"):
                summary[f"{r['table']}_{c}"] = int(r[c] or 0)
    _write_runs(
        spark,
        warehouse,
        day,
        run_id or "summary",
        [
            (
                day.isoformat(),
                run_id or "summary",
                "summary",
                None,
                {k: str(v) for k, v in summary.items()},
            )
        ],
    )
    log.info("recorded metrics for %s: %s", day, summary)
    return summary


__all__ = [
    "GROUPS",
    "MODES",
    "RunResult",
    "build_states",
    "check_inputs",
    "completed_dates",
    "compute_features",
    "record_metrics",
    "rollup",
    "run_features",
]
