"""Committed snapshots: the one owner of feature-table writes, the commit log and snapshot reads.

A run for as_of D writes each of the six snapshot tables (five feature groups and
``show_attributes``) with one Delta commit, then appends one row to ``features/_commits`` holding
the Delta version of each table it wrote. Readers resolve D through the latest commit row and read
every table *at its recorded version* (Delta time travel). So a re-run that dies halfway, a
concurrent writer or a manual write to a partition never changes what readers see: only a new
commit row does. Output validation is bound to a commit by its ``commit_id``; export refuses a
commit whose own validation did not pass.

The commit log is tiny (one row per completed run and date), so it is read whole.
"""

from __future__ import annotations

import datetime as dt
import uuid
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field

from pyspark.sql import DataFrame, Row, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    BooleanType,
    DateType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

from amp_features.errors import SnapshotMissingError, SnapshotNotValidatedError
from amp_features.layout import Warehouse
from amp_features.logs import log
from amp_features.offline.delta import (
    append_records,
    last_commit,
    latest_rows,
    replace_partitions,
    table_exists,
)
from amp_features.registry import GROUPS, table_columns

SHOW_ATTRIBUTES = "show_attributes"
SNAPSHOT_TABLES: tuple[str, ...] = (*GROUPS, SHOW_ATTRIBUTES)
SHOW_ATTRIBUTE_COLUMNS = ["show_id", "creator_id", "topic", "as_of"]
# Readers time-travel to the version a commit pinned, which needs the table's log back to that
# version. Delta deletes log entries older than 30 days by default, which would break training
# sets over older dates; the snapshot tables keep theirs (data files are never vacuumed here).
LOG_RETENTION = "interval 3650 days"

COMMITS_SCHEMA = StructType(
    [
        StructField("as_of", DateType(), False),
        StructField("commit_id", StringType(), False),
        StructField("run_id", StringType(), False),
        StructField("external_run_id", StringType(), True),
        StructField("mode", StringType(), False),
        StructField("committed_at", TimestampType(), False),
        StructField("versions", MapType(StringType(), LongType()), False),
        StructField("inputs", MapType(StringType(), LongType()), True),
        StructField("rows", MapType(StringType(), LongType()), False),
        StructField("validation_id", StringType(), True),
        StructField("validation_passed", BooleanType(), True),
    ]
)


@dataclass(frozen=True)
class Commit:
    """One committed snapshot of an as_of: which version of each table readers must see."""

    as_of: dt.date
    commit_id: str
    run_id: str
    mode: str
    committed_at: dt.datetime
    versions: dict[str, int]
    rows: dict[str, int]
    inputs: dict[str, int] = field(default_factory=dict)
    external_run_id: str | None = None
    validation_id: str | None = None
    validation_passed: bool | None = None

    @property
    def validated(self) -> bool:
        return bool(self.validation_passed)

    def describe(self) -> str:
        state = {True: "passed", False: "FAILED", None: "not validated"}[self.validation_passed]
        return f"commit {self.commit_id} of as_of {self.as_of} (run {self.run_id}, {state})"


def commit_id(run_id: str, as_of: dt.date) -> str:
    """Unique per commit: a retried task of one Airflow run reuses its run id, and its two
    commits of a date must not share the validation bound to either."""
    return f"{run_id}-{as_of.strftime('%Y%m%d')}-{uuid.uuid4().hex[:6]}"


def table_path(warehouse: str, table: str) -> str:
    wh = Warehouse(warehouse)
    return wh.show_attributes if table == SHOW_ATTRIBUTES else wh.feature_table(table)


def commits_path(warehouse: str) -> str:
    return "/".join([Warehouse(warehouse).root.rstrip("/"), "features", "_commits"])


def columns_of(table: str) -> list[str]:
    return SHOW_ATTRIBUTE_COLUMNS if table == SHOW_ATTRIBUTES else table_columns(table)


# -- writes -------------------------------------------------------------------------------------
def write_table(
    spark: SparkSession,
    df: DataFrame,
    warehouse: str,
    table: str,
    as_of: dt.date,
    *,
    comments: Mapping[str, str] | None = None,
) -> tuple[int, int]:
    """Replace the as_of partition of one snapshot table; returns (Delta version, rows written).

    The version is read from the table's log right after the write: the warehouse lease
    (``offline.lease``) guarantees no other run commits to it in between.
    """
    path = table_path(warehouse, table)
    created = not table_exists(spark, path)
    replace_partitions(df, path, "as_of", [as_of], comments=comments)
    latest = last_commit(spark, path)
    if latest is None:  # pragma: no cover - a table that was just written has a commit
        raise SnapshotMissingError(f"table {table} at {path} has no commit after a write")
    version, metrics = latest
    if created:  # once per table; a later version holds the same rows as this one
        spark.sql(
            f"ALTER TABLE delta.`{path}` SET TBLPROPERTIES "
            f"('delta.logRetentionDuration' = '{LOG_RETENTION}')"
        )
    return version, int(metrics.get("numOutputRows", 0))


def append_commit(spark: SparkSession, warehouse: str, commit: Commit) -> None:
    """Written last: readers see the new snapshot of ``commit.as_of`` from this moment on."""
    _append(spark, warehouse, commit)
    log.info("committed %s: versions %s", commit.describe(), commit.versions)


def _append(spark: SparkSession, warehouse: str, commit: Commit) -> None:
    row = (
        commit.as_of,
        commit.commit_id,
        commit.run_id,
        commit.external_run_id,
        commit.mode,
        commit.committed_at,
        dict(commit.versions),
        dict(commit.inputs),
        dict(commit.rows),
        commit.validation_id,
        commit.validation_passed,
    )
    # An append-only log (``delta.append_records``): a commit's row is appended again when its
    # validation is recorded, and readers use the newest row of each commit id.
    append_records(spark.createDataFrame([row], COMMITS_SCHEMA), commits_path(warehouse))


def record_validation(
    spark: SparkSession, warehouse: str, commit: Commit, validation_id: str, passed: bool
) -> Commit:
    """Bind an output validation result to the commit it validated.

    The commit log is append-only: the commit's row is appended again with the result, and
    readers keep the last row of each commit id (``history``). An append costs a fraction of an
    UPDATE, which would scan and rewrite the log's files.
    """
    bound = Commit(
        **{**commit.__dict__, "validation_id": validation_id, "validation_passed": passed}
    )
    _append(spark, warehouse, bound)
    log.info("validation %s of %s recorded: passed=%s", validation_id, commit.describe(), passed)
    return bound


# -- reads ---------------------------------------------------------------------------------------
def describe_dates(dates: Iterable[dt.date]) -> str:
    """``2026-01-01..2026-01-05 (5 dates)``, or ``none``, for error messages."""
    ordered = sorted(dates)
    if not ordered:
        return "none"
    if len(ordered) == 1:
        return f"{ordered[0]} (1 date)"
    gaps = (ordered[-1] - ordered[0]).days + 1 - len(ordered)
    gap_note = f", {gaps} missing in between" if gaps else ""
    return f"{ordered[0]}..{ordered[-1]} ({len(ordered)} dates{gap_note})"


def _to_commit(r: Row) -> Commit:
    get = r.__getitem__
    return Commit(
        as_of=get("as_of"),
        commit_id=get("commit_id"),
        run_id=get("run_id"),
        mode=get("mode"),
        # Naive and in the Python process's local time, as PySpark returns timestamps.
        committed_at=get("committed_at").astimezone(dt.UTC),
        versions={k: int(v) for k, v in (get("versions") or {}).items()},
        rows={k: int(v) for k, v in (get("rows") or {}).items()},
        inputs={k: int(v) for k, v in (get("inputs") or {}).items() if v is not None},
        external_run_id=get("external_run_id"),
        validation_id=get("validation_id"),
        validation_passed=get("validation_passed"),
    )


def history(spark: SparkSession, warehouse: str, as_of: dt.date | None = None) -> list[Commit]:
    """Every commit row, oldest first (optionally of one as_of)."""
    path = commits_path(warehouse)
    if not table_exists(spark, path):
        return []
    df = spark.read.format("delta").load(path)
    if "commit_id" not in df.columns:
        raise SnapshotMissingError(
            f"the commit log at {path} predates pinned snapshots: re-run the dates you need"
        )
    if as_of is not None:
        df = df.where(F.col("as_of") == F.lit(as_of))
    df = latest_rows(df, ["commit_id"])  # a commit's validation row supersedes its first row
    rows = df.collect()  # small: one row per completed run and date
    return sorted((_to_commit(r) for r in rows), key=lambda c: (c.committed_at, c.commit_id))


def latest_commits(spark: SparkSession, warehouse: str) -> dict[dt.date, Commit]:
    """The commit readers use for each as_of: the latest one."""
    out: dict[dt.date, Commit] = {}
    for c in history(spark, warehouse):
        out[c.as_of] = c
    return out


def committed_dates(spark: SparkSession, warehouse: str) -> list[dt.date]:
    return sorted(latest_commits(spark, warehouse))


def resolve(
    spark: SparkSession, warehouse: str, as_of: dt.date, *, require_validated: bool = False
) -> Commit:
    """The latest commit of ``as_of``; a clear error if there is none (or it is not validated)."""
    commits = latest_commits(spark, warehouse)
    commit = commits.get(as_of)
    if commit is None:
        raise SnapshotMissingError(
            f"as_of {as_of} has no committed snapshot in {Warehouse(warehouse).root} "
            f"(committed: {describe_dates(commits)}); run `amp-features run --as-of {as_of}`"
        )
    if require_validated and not commit.validated:
        raise SnapshotNotValidatedError(
            f"the latest {commit.describe()} cannot be published: its output validation "
            + ("failed" if commit.validation_passed is False else "has not run")
        )
    return commit


def read(spark: SparkSession, warehouse: str, commit: Commit, table: str) -> DataFrame:
    """One table of a committed snapshot, at the version the commit recorded."""
    if table not in commit.versions:
        raise SnapshotMissingError(f"{commit.describe()} has no version for table {table}")
    path = table_path(warehouse, table)
    df = spark.read.format("delta").option("versionAsOf", commit.versions[table]).load(path)
    missing = [c for c in columns_of(table) if c not in df.columns]
    if missing:
        raise SnapshotMissingError(
            f"table {table} at {path} (version {commit.versions[table]}) lacks column(s) "
            f"{', '.join(missing)}"
        )
    return df.where(F.col("as_of") == F.lit(commit.as_of)).select(*columns_of(table))


def read_snapshot(spark: SparkSession, warehouse: str, commit: Commit) -> dict[str, DataFrame]:
    """All six tables of a committed snapshot."""
    return {table: read(spark, warehouse, commit, table) for table in SNAPSHOT_TABLES}


def read_history(
    spark: SparkSession, warehouse: str, table: str, as_ofs: list[dt.date] | None = None
) -> DataFrame:
    """One table across committed as_of dates, each date at its own commit's version.

    For training sets and exploration. Dates are unioned; ``as_ofs`` limits them.
    """
    commits = latest_commits(spark, warehouse)
    days = sorted(commits if as_ofs is None else set(as_ofs) & set(commits))
    path = table_path(warehouse, table)
    if not days and as_ofs is not None and table_exists(spark, path):
        # Asked for dates none of which is committed: an empty frame of the right shape.
        return spark.read.format("delta").load(path).select(*columns_of(table)).limit(0)
    if not days:
        raise SnapshotMissingError(
            f"no committed snapshot of {table} in {Warehouse(warehouse).root}"
            f" (committed: {describe_dates(commits)}); run the pipeline first (amp-features run)"
        )
    # Dates committed by one run often share one version: read each version once.
    by_version: dict[int, list[dt.date]] = {}
    for day in days:
        by_version.setdefault(commits[day].versions[table], []).append(day)
    frames = [
        spark.read.format("delta")
        .option("versionAsOf", version)
        .load(path)
        .where(F.col("as_of").isin(*dates))
        .select(*columns_of(table))
        for version, dates in sorted(by_version.items())
    ]
    out = frames[0]
    for frame in frames[1:]:
        out = out.unionByName(frame)
    return out.select(*columns_of(table))
