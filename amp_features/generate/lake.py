"""Write a synthetic lake: the four raw tables and ``_generation_report.json`` (the I/O edge)."""

from __future__ import annotations

import datetime as dt
import json
import math
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from pyspark import StorageLevel
from pyspark.sql import Observation
from pyspark.sql import functions as F

from amp_features.contract import RAW_TABLES, parse_date
from amp_features.errors import ConfigError
from amp_features.generate import model
from amp_features.generate.options import (
    ENGAGEMENT_INVALID,
    MAX_BAD_ROWS,
    PLAYBACK_INVALID,
    SHOW_ATTRIBUTE_CLASSES,
    GeneratorOptions,
)
from amp_features.layout import Lake, join
from amp_features.logs import log

if TYPE_CHECKING:
    from pyspark.sql import Column, DataFrame, SparkSession

REPORT_NAME = "_generation_report.json"
FORMATS = ("delta", "parquet")
# What may already sit at ``out``: anything else means it is not a lake we wrote, so we refuse
# to delete it.
_LAKE_ENTRIES = {*RAW_TABLES, REPORT_NAME, f".{REPORT_NAME}.crc"}


@dataclass
class GenerationReport:
    """What ``generate_lake`` wrote: rows per table, rows per injected class, the shape."""

    out: str
    fmt: str
    start_date: dt.date
    end_date: dt.date
    arguments: dict[str, Any]
    tables: dict[str, dict[str, Any]] = field(default_factory=dict)  # name -> path, rows
    injected: dict[str, dict[str, int]] = field(default_factory=dict)  # table -> class -> rows
    shape: dict[str, float | int] = field(default_factory=dict)
    seconds: float = 0.0

    @property
    def report_path(self) -> str:
        return join(self.out, REPORT_NAME)

    def rows(self, table: str) -> int:
        return int(self.tables[table]["rows"])

    def as_dict(self) -> dict[str, Any]:
        return {
            "out": self.out,
            "format": self.fmt,
            "dt_range": [self.start_date.isoformat(), self.end_date.isoformat()],
            "arguments": self.arguments,
            "tables": self.tables,
            "injected": self.injected,
            "shape": self.shape,
            "seconds": round(self.seconds, 1),
        }

    def to_json(self) -> str:
        return json.dumps(self.as_dict(), indent=2, sort_keys=False, default=str) + "\n"

    def summary_lines(self) -> list[str]:
        lines = [
            f"wrote {self.fmt} lake {self.out} (dt {self.start_date} .. {self.end_date}) "
            f"in {self.seconds:.1f}s"
        ]
        for name, info in self.tables.items():
            lines.append(f"  {name:<11} {info['rows']:>12,} rows  {info['path']}")
        for table, classes in self.injected.items():
            shown = ", ".join(f"{k}={v:,}" for k, v in classes.items() if v)
            lines.append(f"  injected in {table}: {shown or 'none'}")
        if self.shape:
            lines.append(
                "  shape: "
                + ", ".join(
                    f"{k}={v:.4g}" if isinstance(v, float) else f"{k}={v:,}"
                    for k, v in self.shape.items()
                )
            )
        lines.append(f"  report: {self.report_path}")
        return lines


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
    with _generation_conf(spark):
        report = _generate(spark, out, plan, fmt)
    if options.shape_stats:
        log.info("generate: measuring the shape of playback")
        report.shape = shape_stats(spark, Lake(out).table("playback"), fmt)
    report.seconds = time.perf_counter() - started
    _write_text(spark, report.report_path, report.to_json())
    log.info("generate: done in %.1fs", report.seconds)
    return report


@contextmanager
def _generation_conf(spark: SparkSession) -> Iterator[None]:
    """Whole-stage code generation fuses the many draws of a row into methods too large for
    the JVM's JIT, which then interprets them; per-operator code keeps them compiled."""
    key = "spark.sql.codegen.wholeStage"
    before = spark.conf.get(key, None)
    spark.conf.set(key, "false")
    try:
        yield
    finally:
        if before is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, before)


def _generate(spark: SparkSession, out: str, plan: model.Plan, fmt: str) -> GenerationReport:
    options, users, days, seed, bad_rows = (
        plan.options,
        plan.users,
        plan.days,
        plan.seed,
        plan.bad_rows,
    )
    lake = Lake(out)
    _clear_lake(spark, out)
    report = GenerationReport(
        out=out,
        fmt=fmt,
        start_date=plan.start_date,
        end_date=plan.end_date,
        arguments={
            "users": users,
            "days": days,
            "end_date": plan.end_date.isoformat(),
            "seed": seed,
            "format": fmt,
            "bad_rows": bad_rows,
            "options": options.as_dict(),
        },
    )
    log.info(
        "generate: %d users (+%d unregistered), %d shows, %d days to %s at %s",
        users,
        plan.n_unregistered,
        plan.n_shows,
        days,
        plan.end_date,
        out,
    )

    users_df = model.users_frame(spark, plan)
    metrics = _write(
        users_df,
        "users",
        lake.table("users"),
        fmt,
        {
            "declared_only_users": _count(F.col("_kind") == F.lit(model.KIND_DECLARED_ONLY)),
            "engage_only_users": _count(F.col("_kind") == F.lit(model.KIND_ENGAGE_ONLY)),
            "no_declared_topics": _count(F.size("declared_topics") == F.lit(0)),
            "signed_up_inside_days": _count(F.col("_new_signup")),
        },
    )
    report.tables["users"] = {"path": lake.table("users"), "rows": metrics.pop("rows")}
    report.injected["users"] = {**metrics, "unregistered_users": plan.n_unregistered}

    shows_df = model.shows_frame(spark, plan)
    show_metrics = {name: _count(F.col("_class") == F.lit(name)) for name in SHOW_ATTRIBUTE_CLASSES}
    show_metrics["live_shows"] = _count(F.col("_live"))
    show_metrics["premiered_inside_days"] = _count(F.col("_new"))
    metrics = _write(shows_df, "shows", lake.table("shows"), fmt, show_metrics)
    report.tables["shows"] = {"path": lake.table("shows"), "rows": metrics.pop("rows")}
    report.injected["shows"] = metrics

    # Both fact tables come from the same sessions; keep them on disk rather than recompute
    # every draw (memory would not hold them at benchmark size).
    sessions = model.sessions_frame(spark, plan).persist(StorageLevel.DISK_ONLY)
    try:
        for table, frame, classes in (
            ("playback", model.playback_frame, PLAYBACK_INVALID),
            ("engagement", model.engagement_frame, ENGAGEMENT_INVALID),
        ):
            _write_events(report, lake, fmt, table, frame(plan, sessions), classes)
    finally:
        sessions.unpersist()

    return report


def _write_events(
    report: GenerationReport,
    lake: Lake,
    fmt: str,
    table: str,
    df: DataFrame,
    classes: tuple[str, ...],
) -> None:
    extra = {name: _count(F.col("_class") == F.lit(name)) for name in classes}
    for dup in ("exact_redelivery", "conflicting_duplicate"):
        # Rows beyond the first copy: the ones a deduplicator must drop.
        extra[dup] = _count((F.col("_dup") == F.lit(dup)) & (F.col("_copy") > F.lit(0)))
    if table == "playback":
        extra["orphan_plays"] = _count(F.col("_orphan"))
    extra["midnight_events"] = _count(F.col("_midnight"))
    metrics = _write(df, table, lake.table(table), fmt, extra, partition_by="dt")
    report.tables[table] = {"path": lake.table(table), "rows": metrics.pop("rows")}
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
) -> model.Plan:
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
    return model.Plan(users, days, parse_date(end_date), seed, float(bad_rows), options)


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
    """Write ``df`` as the contract's table and count ``metrics`` in the same pass."""
    started = time.perf_counter()
    observation = Observation()  # a fresh name: one lake may be written many times
    exprs = [F.count(F.lit(1)).alias("rows"), *(c.alias(name) for name, c in metrics.items())]
    observed = df.observe(observation, *exprs)
    writer = model.to_contract(observed, table).write.format(fmt).mode("overwrite")
    if partition_by:
        writer = writer.partitionBy(partition_by)
    writer.save(path)
    counts = {k: int(v or 0) for k, v in observation.get.items()}
    log.info("generate: %s: %d rows in %.1fs", table, counts["rows"], time.perf_counter() - started)
    return counts


def shape_stats(spark: SparkSession, playback_path: str, fmt: str) -> dict[str, float | int]:
    """Shape of the playback table that sizes the incremental engine's state.

    Counted over rows with a non-empty ``user_id`` and ``show_id``: events per (user, dt) with
    a play, distinct (user, show) pairs per event, and the share of plays held by the top 1% of
    users who played at all.
    """
    plays = (
        spark.read.format(fmt)
        .load(playback_path)
        .select("user_id", "show_id", "dt")
        .where(
            F.col("user_id").isNotNull()
            & (F.col("user_id") != F.lit(""))
            & F.col("show_id").isNotNull()
            & (F.col("show_id") != F.lit(""))
        )
    )
    per_user = (
        plays.groupBy("user_id", "show_id")
        .agg(F.count(F.lit(1)).alias("plays"))
        .groupBy("user_id")
        .agg(F.sum("plays").alias("plays"), F.count(F.lit(1)).alias("pairs"))
        .persist()
    )
    try:
        # small: one row of totals
        totals = per_user.agg(
            F.count(F.lit(1)).alias("users"),
            F.sum("plays").alias("plays"),
            F.sum("pairs").alias("pairs"),
        ).first()
        n_users = int(totals["users"] or 0) if totals else 0
        n_plays = int(totals["plays"] or 0) if totals else 0
        n_pairs = int(totals["pairs"] or 0) if totals else 0
        top_k = max(1, math.ceil(n_users / 100))
        top = (
            per_user.orderBy(F.col("plays").desc(), F.col("user_id"))
            .limit(top_k)
            .agg(F.sum("plays").alias("plays"))
            .first()  # small: one row
        )
        top_plays = int(top["plays"] or 0) if top else 0
    finally:
        per_user.unpersist()
    user_days = plays.select("user_id", "dt").distinct().count()
    return {
        "plays_counted": n_plays,
        "users_with_plays": n_users,
        "user_days_with_plays": user_days,
        "user_show_pairs": n_pairs,
        "events_per_user_day": n_plays / user_days if user_days else 0.0,
        "pairs_per_event": n_pairs / n_plays if n_plays else 0.0,
        "top1pct_users": top_k,
        "top1pct_share_of_plays": top_plays / n_plays if n_plays else 0.0,
    }


# -- file system (works for local folders and s3a:// alike through Hadoop) ------------------------


def _hadoop(spark: SparkSession, path: str) -> tuple[Any, Any]:
    sc: Any = spark.sparkContext
    jpath = sc._jvm.org.apache.hadoop.fs.Path(path)
    return jpath.getFileSystem(sc._jsc.hadoopConfiguration()), jpath


def _clear_lake(spark: SparkSession, out: str) -> None:
    """Remove a lake at ``out`` so that Delta and Parquet leftovers never mix."""
    fs, root = _hadoop(spark, out)
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
        fs.delete(_hadoop(spark, join(out, name))[1], True)
    log.info("generate: removed the previous lake at %s", out)


def _write_text(spark: SparkSession, path: str, text: str) -> None:
    fs, jpath = _hadoop(spark, path)
    stream = fs.create(jpath, True)
    try:
        stream.write(bytearray(text.encode("utf-8")))
    finally:
        stream.close()


def read_report(spark: SparkSession, out: str) -> dict[str, Any]:
    """The JSON report of the lake at ``out``."""
    fs, jpath = _hadoop(spark, join(out, REPORT_NAME))
    if not fs.exists(jpath):
        raise ConfigError(f"out: no {REPORT_NAME} in {out}; was it written by generate?")
    sc: Any = spark.sparkContext
    stream = fs.open(jpath)
    try:
        text = sc._jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    loaded: dict[str, Any] = json.loads(text)
    return loaded
