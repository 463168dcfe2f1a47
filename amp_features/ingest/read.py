"""Reading the lake: Delta or Parquet, checked against the contract's columns and types.

Inside ``one_lake_version()`` (the stage runner wraps every run in it) each raw table is looked up
once: whether it is Delta, its version, its DataFrame (Delta tables read at that version, so
every stage of the run sees the same data) and its partitions' fingerprints. Each of those is a
listing of the table's ``_delta_log`` or a Spark job over it; a run needs them in several stages.
"""

from __future__ import annotations

import contextvars
import datetime as dt
import hashlib
import re
from collections.abc import Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field as _field

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DataType, IntegerType, LongType, ShortType

from amp_features.contract import RAW_TABLES, RawTable
from amp_features.errors import BrokenTableError, InputSchemaError
from amp_features.layout import Lake

# Integer widths that are safe to widen to the contract's bigint.
_WIDENABLE: dict[DataType, tuple[DataType, ...]] = {LongType(): (IntegerType(), ShortType())}
NO_FILES = "no-files"  # the fingerprint of a dt with no partition at all
_DT_IN_PATH = re.compile(r"/dt=(\d{4}-\d{2}-\d{2})/")


@dataclass
class _Memo:
    """What one run has looked up about the lake, by table path."""

    delta: dict[str, bool] = _field(default_factory=dict)
    versions: dict[str, int | None] = _field(default_factory=dict)
    frames: dict[str, DataFrame] = _field(default_factory=dict)
    prints: dict[str, dict[dt.date, str]] = _field(default_factory=dict)


_MEMO: contextvars.ContextVar[_Memo | None] = contextvars.ContextVar("amp_lake_memo", default=None)


@contextmanager
def one_lake_version() -> Iterator[None]:
    """Look each raw table up once for the block (re-entrant: an outer block is reused)."""
    if _MEMO.get() is not None:
        yield
        return
    token = _MEMO.set(_Memo())
    try:
        yield
    finally:
        _MEMO.reset(token)


def _delta_check(spark: SparkSession, path: str) -> bool:
    from amp_features.offline.delta import table_exists

    return table_exists(spark, path)


def is_delta(spark: SparkSession, path: str) -> bool:
    """A folder with a ``_delta_log/`` is Delta, otherwise Parquet (contract section 1)."""
    memo = _MEMO.get()
    if memo is None:
        return _delta_check(spark, path)
    if path not in memo.delta:
        memo.delta[path] = _delta_check(spark, path)
    return memo.delta[path]


def _latest_version(spark: SparkSession, path: str) -> int | None:
    from amp_features.offline.delta import last_commit  # no Spark job

    latest = last_commit(spark, path)
    return None if latest is None else latest[0]


def _load(spark: SparkSession, path: str, table: RawTable) -> DataFrame:
    try:
        if is_delta(spark, path):
            from amp_features.offline import delta  # the one owner of Delta reads and writes

            # Inside a run: the version the run recorded, whatever lands meanwhile.
            version = _version(spark, path) if _MEMO.get() is not None else None
            return delta.load(spark, path, version)
        return spark.read.option("basePath", path).parquet(path)
    except Exception as exc:  # Spark raises AnalysisException subclasses for missing paths
        if "PATH_NOT_FOUND" in str(exc) or "does not exist" in str(exc):
            raise InputSchemaError(f"table {table.name}: not found at {path}") from exc
        raise


def conform(df: DataFrame, table: RawTable) -> DataFrame:
    """Check required columns and types, then select exactly the contract's columns.

    Extra columns are ignored. A missing column or an incompatible type is an error naming the
    table and the column.
    """
    present = {f.name: f.dataType for f in df.schema.fields}
    missing = [c for c in table.columns if c not in present]
    if missing:
        raise InputSchemaError(
            f"table {table.name}: missing required column{'s' if len(missing) > 1 else ''} "
            f"{', '.join(missing)}"
        )
    cols = []
    for field in table.schema.fields:
        actual = present[field.name]
        if actual == field.dataType:
            cols.append(F.col(field.name))
        elif actual in _WIDENABLE.get(field.dataType, ()):
            cols.append(F.col(field.name).cast(field.dataType).alias(field.name))
        else:
            raise InputSchemaError(
                f"table {table.name}: column {field.name} has type {actual.simpleString()}, "
                f"the contract says {field.dataType.simpleString()}"
            )
    return df.select(*cols)


def read_raw(spark: SparkSession, lake: str, name: str) -> DataFrame:
    """One raw table with exactly the contract's columns (Delta or Parquet)."""
    table = RAW_TABLES[name]
    path = Lake(lake).table(name)
    memo = _MEMO.get()
    if memo is None:
        return conform(_load(spark, path, table), table)
    if path not in memo.frames:
        memo.frames[path] = conform(_load(spark, path, table), table)
    return memo.frames[path]


def read_as_stored(spark: SparkSession, lake: str, name: str) -> DataFrame:
    """One raw table with the columns and types it has on disk, for the input suites (which
    check the schema themselves); at the run's pinned version, like ``read_raw``."""
    return _load(spark, Lake(lake).table(name), RAW_TABLES[name])


def read_window(
    spark: SparkSession, lake: str, name: str, first: dt.date, last: dt.date
) -> DataFrame:
    """A fact table restricted to ``dt`` in [first, last] (partition pruning)."""
    return read_raw(spark, lake, name).where(F.col("dt").between(F.lit(first), F.lit(last)))


def check_unique_key(df: DataFrame, table: RawTable) -> int:
    """A dimension with a repeated key is a broken table (contract section 1); returns its rows.

    One aggregation gives both the rows and the number of repeated keys; only a broken table
    pays for a second query that picks the examples of its message.
    """
    per_key = df.groupBy(table.key).count()
    summary = per_key.agg(
        F.sum("count").alias("rows"),
        F.sum(F.when(F.col("count") > 1, 1).otherwise(0)).alias("repeated"),
    ).first()  # small: one row
    rows = int(summary["rows"] or 0) if summary else 0
    repeated = int(summary["repeated"] or 0) if summary else 0
    if repeated:
        dupes = per_key.where(F.col("count") > 1)
        examples = dupes.orderBy(F.col("count").desc(), table.key).limit(3).collect()  # small: 3
        shown = ", ".join(f"{r[table.key]!r} x{r['count']}" for r in examples)
        raise BrokenTableError(
            f"table {table.name}: key {table.key} is repeated for {repeated} value(s), e.g. {shown}"
        )
    return rows


def partition_fingerprints(
    spark: SparkSession, lake: str, name: str, dates: Iterable[dt.date]
) -> dict[dt.date, str]:
    """A fingerprint of each ``dt`` partition's files, from metadata only (no data scan).

    Delta and Spark-written Parquet files are immutable and uniquely named, so the set of file
    names under ``dt=...`` changes exactly when the partition's content changes.
    """
    dates = sorted(set(dates))
    if not dates:
        return {}
    memo = _MEMO.get()
    known = memo.prints.get(Lake(lake).table(name), {}) if memo is not None else {}
    if all(d in known for d in dates):
        return {d: known[d] for d in dates}
    prints = _fingerprints(spark, lake, name, dates)
    if memo is not None:
        memo.prints.setdefault(Lake(lake).table(name), {}).update(prints)
    return prints


def _fingerprints(
    spark: SparkSession, lake: str, name: str, dates: list[dt.date]
) -> dict[dt.date, str]:
    df = read_window(spark, lake, name, dates[0], dates[-1])
    files: dict[dt.date, list[str]] = {d: [] for d in dates}
    for path in df.inputFiles():  # small: one entry per file of the window
        match = _DT_IN_PATH.search(path)
        if match:
            day = dt.date.fromisoformat(match.group(1))
            if day in files:
                files[day].append(path.rsplit("/", 1)[-1])
    return {
        d: hashlib.sha1("\n".join(sorted(names)).encode()).hexdigest()[:16] if names else NO_FILES
        for d, names in files.items()
    }


def _version(spark: SparkSession, path: str) -> int | None:
    memo = _MEMO.get()
    if memo is None:
        return _latest_version(spark, path)
    if path not in memo.versions:
        memo.versions[path] = _latest_version(spark, path)
    return memo.versions[path]


def table_version(spark: SparkSession, lake: str, name: str) -> int | None:
    """The Delta version of a raw table (None for Parquet), recorded with each daily state."""
    path = Lake(lake).table(name)
    if not is_delta(spark, path):
        return None
    return _version(spark, path)
