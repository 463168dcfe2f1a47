"""Write a synthetic lake: the four raw tables and ``_generation_report.json`` (the I/O edge)."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import TYPE_CHECKING

from pyspark.sql import Observation
from pyspark.sql import functions as F

from amp_features.contract import RAW_TABLES, parse_date
from amp_features.errors import ConfigError
from amp_features.generate import frames
from amp_features.generate.facts import code
from amp_features.generate.model import DECLARED_ONLY, ENGAGE_ONLY, Plan
from amp_features.generate.options import (
    ENGAGEMENT_INVALID,
    MAX_BAD_ROWS,
    PLAYBACK_INVALID,
    SHOW_ATTRIBUTE_CLASSES,
    GeneratorOptions,
)
from amp_features.generate.report import (
    REPORT_NAME,
    GenerationReport,
    hadoop_fs,
    read_report,
    write_text,
)
from amp_features.layout import Lake, join
from amp_features.logs import log

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

__all__ = ["GenerationReport", "check_arguments", "generate_lake", "read_report"]

FORMATS = ("delta", "parquet")
# What may already sit at ``out``: anything else means it is not a lake we wrote, so we refuse
# to delete it.
_LAKE_ENTRIES = {*RAW_TABLES, REPORT_NAME, f".{REPORT_NAME}.crc"}
# Delta's min/max statistics of random ids skip nothing and cost as much as the rest of the
# write: the fact tables keep them for their time, length and type columns only.
_STATS_COLUMNS_KEY = "spark.databricks.delta.properties.defaults.dataSkippingStatsColumns"
STATS_COLUMNS = {"playback": "started_at,listen_seconds", "engagement": "event_type,occurred_at"}


def generate_lake(
    spark: SparkSession,
    out: str,
    *,
    users: int,
    days: int,
    end_date: dt.date,
    seed: int = 7,
    fmt: str = "delta",
    bad_rows: float = 0.0,
    options: GeneratorOptions | None = None,
) -> GenerationReport:
    """Generate a synthetic Amp lake at ``out`` (replacing a lake already there).

    ``dt`` covers ``end_date - days + 1 .. end_date``. ``bad_rows`` is the fraction of rows of
    each invalid-row class of the contract (per class and table). The same arguments give the
    same rows.
    """
    options = options or GeneratorOptions()
    plan = _plan(out, users, days, end_date, seed, fmt, bad_rows, options)
    started = time.perf_counter()
    report = _generate(spark, out, plan, fmt)
    if options.shape_stats:
        log.info("generate: measuring the shape of playback")
        shape_started = time.perf_counter()
        report.shape = frames.shape_stats(spark, plan)
        report.shape_seconds = time.perf_counter() - shape_started
    report.seconds = time.perf_counter() - started
    write_text(spark, report.report_path, report.to_json())
    log.info("generate: done in %.1fs", report.seconds)
    return report


def _generate(spark: SparkSession, out: str, plan: Plan, fmt: str) -> GenerationReport:
    lake = Lake(out)
    _clear_lake(spark, out)
    report = GenerationReport(
        out=out,
        fmt=fmt,
        start_date=plan.start_date,
        end_date=plan.end_date,
        arguments={
            "users": plan.users,
            "days": plan.days,
            "end_date": plan.end_date.isoformat(),
            "seed": plan.seed,
            "format": fmt,
            "bad_rows": plan.bad_rows,
            "options": plan.options.as_dict(),
        },
    )
    log.info(
        "generate: %d users (+%d unregistered), %d shows, %d days to %s at %s (%d event tasks)",
        plan.users,
        plan.n_unregistered,
        plan.n_shows,
        plan.days,
        plan.end_date,
        out,
        plan.n_tasks,
    )
    kind = F.col("_kind")
    metrics = _write(
        frames.users_frame(spark, plan),
        "users",
        lake.table("users"),
        fmt,
        {
            "declared_only_users": _count(kind == F.lit(DECLARED_ONLY)),
            "engage_only_users": _count(kind == F.lit(ENGAGE_ONLY)),
            "no_declared_topics": _count(F.size("declared_topics") == F.lit(0)),
            "signed_up_inside_days": _count(F.col("_new_signup")),
        },
    )
    report.tables["users"] = _table_entry(lake, "users", metrics)
    report.injected["users"] = {**metrics, "unregistered_users": plan.n_unregistered}

    show_metrics = _class_counts(SHOW_ATTRIBUTE_CLASSES)
    show_metrics["live_shows"] = _count(F.col("_live"))
    show_metrics["premiered_inside_days"] = _count(F.col("_new"))
    metrics = _write(
        frames.shows_frame(spark, plan), "shows", lake.table("shows"), fmt, show_metrics
    )
    report.tables["shows"] = _table_entry(lake, "shows", metrics)
    report.injected["shows"] = metrics

    # Both fact tables regenerate the same sessions from their tasks' seeds: cheaper in NumPy
    # than keeping them between the two writes.
    _write_events(report, lake, fmt, "playback", frames.playback_frame(spark, plan))
    _write_events(report, lake, fmt, "engagement", frames.engagement_frame(spark, plan))
    return report


def _table_entry(lake: Lake, table: str, metrics: dict[str, int]) -> dict[str, object]:
    """The report's entry of a table (``metrics`` keeps only the injected counts)."""
    rows, seconds = metrics.pop("rows"), metrics.pop("milliseconds") / 1000
    return {"path": lake.table(table), "rows": rows, "seconds": round(seconds, 1)}


def _class_counts(classes: tuple[str, ...]) -> dict[str, Column]:
    return {name: _count(F.col("_class") == F.lit(code(classes, name))) for name in classes}


def _write_events(
    report: GenerationReport, lake: Lake, fmt: str, table: str, df: DataFrame
) -> None:
    extra = _class_counts(PLAYBACK_INVALID if table == "playback" else ENGAGEMENT_INVALID)
    for dup_code, dup in ((1, "exact_redelivery"), (2, "conflicting_duplicate")):
        # Rows beyond the first copy: the ones a deduplicator must drop.
        extra[dup] = _count((F.col("_dup") == F.lit(dup_code)) & (F.col("_copy") > F.lit(0)))
    if table == "playback":
        extra["orphan_plays"] = _count(F.col("_orphan"))
    extra["midnight_events"] = _count(F.col("_midnight"))
    with _session_conf(df.sparkSession, {_STATS_COLUMNS_KEY: STATS_COLUMNS[table]}):
        metrics = _write(df, table, lake.table(table), fmt, extra, partition_by="dt")
    report.tables[table] = _table_entry(lake, table, metrics)
    report.injected[table] = metrics


def check_arguments(
    out: str,
    users: int,
    days: int,
    end_date: dt.date,
    seed: int,
    fmt: str,
    bad_rows: float,
    options: GeneratorOptions,
) -> None:
    """Raise ConfigError, naming the argument, for anything ``generate_lake`` would refuse."""
    _plan(out, users, days, end_date, seed, fmt, bad_rows, options)


def _plan(
    out: str,
    users: int,
    days: int,
    end_date: dt.date,
    seed: int,
    fmt: str,
    bad_rows: float,
    options: GeneratorOptions,
) -> Plan:
    if not out or not str(out).strip():
        raise ConfigError("out: the lake folder must not be empty")
    if fmt not in FORMATS:
        raise ConfigError(f"fmt: expected one of {', '.join(FORMATS)}, got {fmt!r}")
    if isinstance(users, bool) or not isinstance(users, int) or users < 1:
        raise ConfigError(f"users: expected a whole number >= 1, got {users!r}")
    if isinstance(days, bool) or not isinstance(days, int) or not 1 <= days <= 3660:
        raise ConfigError(f"days: expected a whole number within 1..3660, got {days!r}")
    if not isinstance(seed, int) or isinstance(seed, bool):
        raise ConfigError(f"seed: expected a whole number, got {seed!r}")
    if not 0.0 <= bad_rows <= MAX_BAD_ROWS:
        raise ConfigError(
            f"bad_rows: expected a fraction within 0..{MAX_BAD_ROWS:.4f} (per invalid class), "
            f"got {bad_rows!r}"
        )
    options.validate()
    return Plan(users, days, parse_date(end_date), seed, float(bad_rows), options)


@contextmanager
def _session_conf(spark: SparkSession, conf: Mapping[str, str]) -> Iterator[None]:
    before: dict[str, str | None] = {k: spark.conf.get(k, None) for k in conf}
    for key, value in conf.items():
        spark.conf.set(key, value)
    try:
        yield
    finally:
        for key, old in before.items():
            if old is None:
                spark.conf.unset(key)
            else:
                spark.conf.set(key, old)


def _count(cond: Column) -> Column:
    return F.sum(F.when(cond, F.lit(1)).otherwise(F.lit(0)))


def _write(
    df: DataFrame,
    table: str,
    path: str,
    fmt: str,
    metrics: dict[str, Column],
    *,
    partition_by: str | None = None,
) -> dict[str, int]:
    """Write ``df`` as the contract's table and count ``metrics`` in the same pass (plus
    ``rows`` and the ``milliseconds`` it took)."""
    started = time.perf_counter()
    observation = Observation()  # a fresh name: one lake may be written many times
    exprs = [F.count(F.lit(1)).alias("rows"), *(c.alias(name) for name, c in metrics.items())]
    observed = df.observe(observation, *exprs)
    writer = frames.to_contract(observed, table).write.format(fmt).mode("overwrite")
    if partition_by:
        writer = writer.partitionBy(partition_by)
    writer.save(path)
    counts = {k: int(v or 0) for k, v in observation.get.items()}
    counts["milliseconds"] = round((time.perf_counter() - started) * 1000)
    log.info("generate: %s: %d rows in %.1fs", table, counts["rows"], counts["milliseconds"] / 1e3)
    return counts


def _clear_lake(spark: SparkSession, out: str) -> None:
    """Remove a lake at ``out`` so that Delta and Parquet leftovers never mix."""
    fs, root = hadoop_fs(spark, out)
    if not fs.exists(root):
        return
    if not fs.getFileStatus(root).isDirectory():
        raise ConfigError(f"out: {out} is a file, not a lake folder")
    names = {status.getPath().getName() for status in fs.listStatus(root)}
    strangers = sorted(names - _LAKE_ENTRIES)
    if strangers:
        raise ConfigError(
            f"out: {out} is not empty and does not look like a generated lake "
            f"(found {', '.join(strangers[:5])}); refusing to overwrite it"
        )
    for name in sorted(names):
        fs.delete(hadoop_fs(spark, join(out, name))[1], True)
    log.info("generate: removed the previous lake at %s", out)
