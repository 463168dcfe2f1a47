"""The roll-up stage: the 60-day window state of D and the six snapshot tables, then the commit.

Incremental mode carries the window state from D-1 (adding tile D, subtracting tile D-60) when
the previous state was built from the same daily states, and rebuilds it from the 60 tiles
otherwise; full mode computes it from 60 days of raw events. Both give identical rows. The commit
row is appended last, so readers see either the previous commit of D or the new one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from amp_features.contract import FACT_TABLES, WINDOW_DAYS, window_bounds
from amp_features.errors import AmpFeaturesError, ConfigError, EmptyWindowError
from amp_features.ingest.read import read_raw, table_version
from amp_features.logs import StageRecord, StageTimer, log
from amp_features.offline import bookkeeping as bk
from amp_features.offline import snapshots
from amp_features.offline import state as offline_state
from amp_features.pipeline.states import Cache, days_between, full_state, run_cache
from amp_features.registry import REGISTRY
from amp_features.rollup.features import feature_groups
from amp_features.rollup.window import carry, rebase, state_columns
from amp_features.tiles.daily import TILES

MODES = ("incremental", "full")
# Window states older than this many days before the latest as_of are deleted (tiles are kept).
STATE_RETENTION_DAYS = 3
# The state that holds one row per (user, show) pair with plays: empty means no valid playback.
PLAYS_STATE = "user_show"


@dataclass
class RunResult:
    as_of: dt.date
    mode: str
    tables: dict[str, str] = field(default_factory=dict)  # group -> Delta path
    rows: dict[str, int] = field(default_factory=dict)  # group -> rows written for as_of
    stages: list[StageRecord] = field(default_factory=list)
    run_id: str = ""
    carried: bool = False  # incremental: was the window carried from D-1 (vs rebased)?
    commit: snapshots.Commit | None = None


def _window_keys(first: dt.date, last: dt.date) -> list[str]:
    return [bk.tile_key(s, d) for s in FACT_TABLES for d in days_between(first, last)]


def incremental_state(
    spark: SparkSession, warehouse: str, day: dt.date, run_id: str, cache: Cache
) -> tuple[dict[str, DataFrame], bool, dict[str, int]]:
    """Write the window state of D (carried from D-1 when its tiles still match, else rebuilt
    from the 60 daily states) and return it, cached, with whether it was carried and the rows
    written per state.

    The carried result is cached and written from the cache, which the feature groups then read:
    the state's partitioning by user (``rollup.window``) survives, so the user groups do not
    shuffle it again. Measured side by side against reading the written files back (bench
    notes in docs/benchmarks.md, "Stage profile"): a third fewer Spark jobs and about 20% less
    time for the window state and the six tables.
    """
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
    counts: dict[str, int] = {}
    states: dict[str, DataFrame] = {}
    for name in TILES:
        tiles = offline_state.read_tiles(spark, warehouse, name)
        if carried:
            state = carry(
                name,
                offline_state.read_window_state(spark, warehouse, name, previous_day),
                tiles.where(F.col("dt") == F.lit(day)),
                tiles.where(F.col("dt") == F.lit(leaving_day)),
            )
        else:
            state = rebase(name, tiles, day)
        state = cache.keep(state.select(*state_columns(name)))
        counts[name] = offline_state.write_window_state(
            spark,
            state.withColumn("as_of", F.lit(day)),
            warehouse,
            name,
            day,
            STATE_RETENTION_DAYS,
        )
        states[name] = state
    bk.write_window_log(
        spark, warehouse, day, bk.tiles_token(builds, _window_keys(first, last)), run_id
    )
    return states, carried, counts


def _comments() -> dict[str, str]:
    return {name: f.description for name, f in REGISTRY.items()}


def input_versions(spark: SparkSession, lake: str) -> dict[str, int]:
    """The raw tables' Delta versions (Parquet tables have none and are left out)."""
    out: dict[str, int] = {}
    for name in (*FACT_TABLES, "shows", "users"):
        version = table_version(spark, lake, name)
        if version is not None:
            out[name] = int(version)
    return out


def rollup(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    day: dt.date,
    *,
    mode: str = "incremental",
    run_id: str,
    external_run_id: str | None = None,
    before_commit: Callable[[], None] | None = None,
    timer: StageTimer | None = None,
) -> RunResult:
    """Window state and the six snapshot tables for D, then D's commit row (see module doc).

    ``before_commit`` runs just before the commit row is appended (the runner checks there that
    it still holds the warehouse lease). A window without any valid playback is refused.
    """
    if mode not in MODES:
        raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {mode!r}")
    result = RunResult(day, mode, run_id=run_id)
    timer = timer or StageTimer()
    shows = read_raw(spark, lake, "shows")
    users = read_raw(spark, lake, "users")
    versions: dict[str, int] = {}
    with run_cache() as cache:
        with timer.stage("window_state") as rows:
            if mode == "full":
                state = full_state(spark, lake, day, cache, warehouse=warehouse, run_id=run_id)
                state = {name: cache.keep(df) for name, df in state.items()}
                for name, df in state.items():
                    rows[name] = df.count()
            else:
                state, result.carried, counts = incremental_state(
                    spark, warehouse, day, run_id, cache
                )
                rows.update(counts)
            if rows.get(PLAYS_STATE, 0) == 0:
                first, last = window_bounds(day)
                raise EmptyWindowError(
                    f"as_of {day}: the window {first}..{last} holds no valid playback events; "
                    "nothing is committed (check the lake's playback table and its quarantine)"
                )
        groups = feature_groups(state, shows, users, day)
        with timer.stage("write_features") as rows:
            for group, df in groups.items():
                version, written = snapshots.write_table(
                    spark, df, warehouse, group, day, comments=_comments()
                )
                versions[group] = version
                rows[group] = result.rows[group] = written
                result.tables[group] = snapshots.table_path(warehouse, group)
    if before_commit is not None:
        before_commit()
    commit = snapshots.Commit(
        as_of=day,
        commit_id=snapshots.commit_id(run_id, day),
        run_id=run_id,
        mode=mode,
        committed_at=dt.datetime.now(dt.UTC),
        versions=versions,
        rows=result.rows,
        inputs=input_versions(spark, lake),
        external_run_id=external_run_id,
    )
    snapshots.append_commit(spark, warehouse, commit)
    result.commit = commit
    result.stages = timer.records
    return result
