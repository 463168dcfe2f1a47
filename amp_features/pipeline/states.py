"""Reading, validating and tiling raw events: the input checks and the daily states.

``check_inputs`` checks the four raw tables (schema, unique dimension keys, the window's
partitions). ``build_states`` builds the daily states (tiles) for every dt the window needs, each
once from that dt's valid events and again when the dt's raw files change; invalid rows are
quarantined and every dt's row accounting is checked and recorded. ``full_state`` is the window
state straight from 60 days of raw events (``--mode full`` and notebooks).
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterator
from contextlib import contextmanager

from pyspark import StorageLevel
from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from amp_features.contract import FACT_TABLES, RAW_TABLES, WINDOW_DAYS, parse_date, window_bounds
from amp_features.errors import ConfigError, CountMismatchError
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
from amp_features.logs import log
from amp_features.offline import bookkeeping as bk
from amp_features.offline import state as offline_state
from amp_features.rollup.window import rebase
from amp_features.tiles.daily import TILE_SOURCES, TILES, build_tiles


def new_run_id() -> str:
    return uuid.uuid4().hex[:12]


def days_between(first: dt.date, last: dt.date) -> list[dt.date]:
    return [first + dt.timedelta(days=i) for i in range((last - first).days + 1)]


class Cache:
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
def run_cache() -> Iterator[Cache]:
    cache = Cache()
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
            counts[f"{name}_rows"] = check_unique_key(df, table)
    first, last = window_bounds(day)
    for name in FACT_TABLES:
        # From D-60, the days build_states needs: within a run the lookup is then done once.
        prints = partition_fingerprints(
            spark, lake, name, days_between(first - dt.timedelta(days=1), last)
        )
        present = sum(1 for d, fp in prints.items() if d >= first and fp != NO_FILES)
        counts[f"{name}_days_present"] = present
        if prints[day] == NO_FILES:
            log.warning("table %s has no partition dt=%s (the as-of date)", name, day)
    return counts


# --- 2. daily states -----------------------------------------------------------------------
# The per-dt accounting columns of metrics/input_counts, after ``table`` and ``dt``.
COUNT_COLUMNS = ("rows_read", "rows_kept", "duplicates_dropped", "rows_quarantined")


def _validated(
    spark: SparkSession,
    lake: str,
    source: str,
    days: list[dt.date],
    cache: Cache,
    *,
    warehouse: str | None,
    run_id: str,
    accounting: list[tuple] | None = None,  # type: ignore[type-arg]
) -> DataFrame:
    """Valid, deduplicated rows of ``source`` for ``days``; with a warehouse, the invalid rows
    are quarantined and each day's row accounting is checked and appended to ``accounting``
    (the caller writes the accounting of all its tables in one commit)."""
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
        quarantine = quarantine_rows(flagged).withColumn("run_id", F.lit(run_id))
        offline_state.write_quarantine(quarantine, warehouse, source, days)
        # Days with no rows at all still get a row of zeros: "every processed dt" is recorded.
        # Built from the collected counts, so writing them runs no job over the events again.
        if accounting is not None:
            accounting += [
                (source, d, *(int(rows[d][c]) if d in rows else 0 for c in COUNT_COLUMNS))
                for d in days
            ]
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
    run_id: str | None = None,
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
    days = days_between(first - dt.timedelta(days=WINDOW_DAYS), day)
    run_id = run_id or new_run_id()
    builds = bk.read_tile_log(spark, warehouse, days[0], days[-1])
    out: dict[str, int] = {}
    # Each run touches each table once: the accounting and the tile log of both raw tables are
    # written together after their tiles (the tile log last: it is what makes a build current).
    accounting: list[tuple] = []  # type: ignore[type-arg]
    logged: dict[str, dict[dt.date, bk.TileBuild]] = {}
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
        # Unique per build, even when a retry reuses the run id: the window state's carry check
        # compares build ids, so two different builds of a day must never share one.
        build_id = f"{run_id}-{source}-{uuid.uuid4().hex[:6]}"
        with run_cache() as cache:
            valid = _validated(
                spark,
                lake,
                source,
                stale,
                cache,
                warehouse=warehouse,
                run_id=run_id,
                accounting=accounting,
            )
            empty = spark.createDataFrame(
                [], RAW_TABLES["engagement" if source == "playback" else "playback"].schema
            )
            tiles = build_tiles(valid, empty) if source == "playback" else build_tiles(empty, valid)
            for name, tile in tiles.items():
                if TILE_SOURCES[name] != source:
                    continue
                offline_state.write_tiles(
                    tile.withColumn("build_id", F.lit(build_id)), warehouse, name, stale
                )
        version = table_version(spark, lake, source)
        logged[source] = {d: bk.TileBuild(prints[d], build_id, version) for d in stale}
    if logged:
        offline_state.write_input_counts(spark, warehouse, accounting, run_id)
        bk.write_tile_logs(spark, warehouse, logged, run_id)
    return out


def full_state(
    spark: SparkSession,
    lake: str,
    day: dt.date,
    cache: Cache,
    *,
    warehouse: str | None,
    run_id: str,
) -> dict[str, DataFrame]:
    """The window state straight from 60 days of raw events (no daily states involved)."""
    days = days_between(*window_bounds(day))
    accounting: list[tuple] = []  # type: ignore[type-arg]
    valid = {
        source: _validated(
            spark,
            lake,
            source,
            days,
            cache,
            warehouse=warehouse,
            run_id=run_id,
            accounting=accounting,
        )
        for source in FACT_TABLES
    }
    if warehouse is not None:
        offline_state.write_input_counts(spark, warehouse, accounting, run_id)
    tiles = build_tiles(valid["playback"], valid["engagement"])
    return {name: rebase(name, tiles[name], day) for name in TILES}
