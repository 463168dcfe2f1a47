"""Delta writes at the edge of the pipeline.

Every write replaces exactly the partitions it owns in one Delta commit, so re-running a date
never duplicates rows, and a run that dies midway leaves each table either with its previous
content or with the new partition, never half of one.

A ``replaceWhere`` overwrite first reconstructs the table's state to find the files it removes:
two to three Spark jobs, about 2 s on a small table whatever its size, against 0.4 s for an append
(measured in ``docs/benchmarks.md``). Most daily writes go to a partition that was never written
(the new as_of, the new dt), so those are appended instead. The test is the partition's folder:
Delta writes a partition's files under ``column=value/`` and never elsewhere (the tables here use
no column mapping or random prefixes), and only ``VACUUM`` deletes files and emptied folders, so a
missing folder proves that the partition holds no live file. A re-run, a retry after a crash, or
late data finds the folder and takes the overwrite.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from amp_features.logs import log


def _literal(value: dt.date | str) -> str:
    return f"'{value.isoformat() if isinstance(value, dt.date) else value}'"


def partition_predicate(column: str, values: Iterable[dt.date | str]) -> str:
    literals = sorted({_literal(v) for v in values})
    if not literals:
        raise ValueError(f"no {column} values to replace")
    if len(literals) == 1:
        return f"{column} = {literals[0]}"
    return f"{column} IN ({', '.join(literals)})"


def with_comments(df: DataFrame, comments: Mapping[str, str]) -> DataFrame:
    """Attach column comments (Delta keeps them in the table schema)."""
    return df.select(
        *(
            F.col(c).alias(c, metadata={"comment": comments[c]}) if c in comments else F.col(c)
            for c in df.columns
        )
    )


def _text(value: dt.date | str) -> str:
    return value.isoformat() if isinstance(value, dt.date) else value


def _filesystem(spark: SparkSession, path: str) -> tuple[Any, Any, Any]:
    """(JVM, Hadoop FileSystem, Hadoop Path) of ``path``, as Delta opens it: the session's
    Hadoop configuration, so S3A settings and credentials are Spark's own."""
    jvm = spark.sparkContext._jvm
    assert jvm is not None  # a classic session always has its gateway
    root = jvm.org.apache.hadoop.fs.Path(path)
    conf = spark._jsparkSession.sessionState().newHadoopConf()  # type: ignore[attr-defined]
    return jvm, root.getFileSystem(conf), root


def partitions_never_written(
    spark: SparkSession, path: str, column: str, values: Iterable[dt.date | str]
) -> bool:
    """True when no ``column=value`` folder of ``values`` exists under the table at ``path``.

    Uses the session's Hadoop FileSystem, so S3A settings and credentials are Spark's own: one
    metadata request per value (a HEAD and a LIST on S3), no Spark job.
    """
    jvm, fs, root = _filesystem(spark, path)
    hpath = jvm.org.apache.hadoop.fs.Path
    escape = jvm.org.apache.spark.sql.catalyst.catalog.ExternalCatalogUtils.escapePathName
    return not any(fs.exists(hpath(root, f"{column}={escape(_text(v))}")) for v in values)


def replace_partitions(
    df: DataFrame,
    path: str,
    column: str,
    values: Sequence[dt.date | str],
    *,
    comments: Mapping[str, str] | None = None,
    also_delete: str | None = None,
) -> None:
    """Replace the partitions ``column IN values`` of the Delta table at ``path`` with ``df``.

    ``also_delete`` is a predicate for other partitions to drop in the same commit (retention),
    which saves a separate DELETE commit. Creates the table (partitioned by ``column``) on first
    use. Appends when none of the partitions was ever written (see the module's docstring).
    """
    if comments:
        df = with_comments(df, comments)
    predicate = partition_predicate(column, values)
    if not also_delete and partitions_never_written(df.sparkSession, path, column, values):
        df.write.format("delta").mode("append").partitionBy(column).save(path)
        log.debug("appended new partitions %s to %s", predicate, path)
        return
    if also_delete:
        predicate = f"({predicate}) OR ({also_delete})"
    (
        df.write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", predicate)
        .partitionBy(column)
        .save(path)
    )
    log.debug("replaced %s in %s", predicate, path)


def table_exists(spark: SparkSession, path: str) -> bool:
    from delta.tables import DeltaTable

    return bool(DeltaTable.isDeltaTable(spark, path))


def load(spark: SparkSession, path: str, version: int | None = None) -> DataFrame:
    """The Delta table at ``path``, at ``version`` if given (else the latest)."""
    reader = spark.read.format("delta")
    if version is not None:
        reader = reader.option("versionAsOf", version)
    return reader.load(path)


def read_table(spark: SparkSession, path: str) -> DataFrame | None:
    return load(spark, path) if table_exists(spark, path) else None


RECORDED_AT = "recorded_at"


def append_records(df: DataFrame, path: str) -> None:
    """Append bookkeeping rows in one Delta commit, each stamped with when it was recorded.

    The bookkeeping tables are append-only logs: a row recorded again for the same key (a re-run,
    a retry) supersedes the older one in ``read_latest``. An append costs about a fifth of a
    ``replaceWhere`` overwrite, which would scan and rewrite the table's files.
    """
    (
        df.withColumn(RECORDED_AT, F.current_timestamp())
        .write.format("delta")
        .mode("append")
        .option("mergeSchema", "true")  # a table written before ``recorded_at`` gains it
        .save(path)
    )


def read_latest(spark: SparkSession, path: str, keys: Sequence[str]) -> DataFrame | None:
    """The newest row of each key of an ``append_records`` table, or None if there is none."""
    df = read_table(spark, path)
    return None if df is None else latest_rows(df, keys)


def latest_rows(df: DataFrame, keys: Sequence[str]) -> DataFrame:
    """The newest row of each key of a frame read from an ``append_records`` table."""
    if RECORDED_AT not in df.columns:  # written before the column: one row per key
        return df
    others = [c for c in df.columns if c not in keys]
    order = F.coalesce(F.col(RECORDED_AT), F.lit(0).cast("timestamp"))
    newest = df.groupBy(*keys).agg(F.max_by(F.struct(*others), order).alias("_newest"))
    return newest.select(*keys, *(F.col("_newest")[c].alias(c) for c in others)).select(*df.columns)


_COMMIT_FILE = re.compile(r"\d{20}\.json")


def last_commit(spark: SparkSession, path: str) -> tuple[int, dict[str, str]] | None:
    """(version, operation metrics) of the Delta table's latest commit; None if not a table.

    Read from the table's ``_delta_log`` through the session's Hadoop filesystem (the one Delta
    uses, with the same S3A settings): one listing and one small JSON file. ``DeltaTable.history``
    runs a Spark job for the same answer, about a dozen of them in a daily run. The latest
    commit file is never removed by log clean-up, so the highest one is the table's version.
    """
    jvm, fs, log_dir = _filesystem(spark, f"{path.rstrip('/')}/_delta_log")
    if not fs.exists(log_dir):
        return None
    names = [status.getPath().getName() for status in fs.listStatus(log_dir)]
    commits = sorted(n for n in names if _COMMIT_FILE.fullmatch(n))
    if not commits:
        return None
    stream = fs.open(jvm.org.apache.hadoop.fs.Path(log_dir, commits[-1]))
    try:
        text = jvm.org.apache.commons.io.IOUtils.toString(stream, "UTF-8")
    finally:
        stream.close()
    metrics: dict[str, str] = {}
    for line in str(text).splitlines():
        action = json.loads(line) if line.strip() else {}
        if "commitInfo" in action:
            metrics = dict(action["commitInfo"].get("operationMetrics") or {})
            break
    return int(commits[-1].removesuffix(".json")), metrics


def last_commit_rows(spark: SparkSession, path: str) -> int:
    """Rows written by the table's latest commit, from Delta's operation metrics (no scan)."""
    latest = last_commit(spark, path)
    return int(latest[1].get("numOutputRows", 0)) if latest else 0


def delete_where(spark: SparkSession, path: str, predicate: str) -> None:
    from delta.tables import DeltaTable

    if table_exists(spark, path):
        DeltaTable.forPath(spark, path).delete(predicate)


def smoke_test(spark: SparkSession, path: str) -> tuple[int, list[tuple[int, str]]]:
    """Write a 1,000-row Delta table at ``path`` and read it back: the rows read and the table's
    (version, operation) history. Proves that the session's Delta (and storage) set-up works."""
    from delta.tables import DeltaTable

    df = spark.range(1000).select(F.col("id"), (F.col("id") % 7).alias("bucket"))
    df.write.format("delta").mode("overwrite").save(path)
    table = DeltaTable.forPath(spark, path)
    history = table.history().select("version", "operation").collect()  # small: one row a commit
    return table.toDF().count(), [(int(r["version"]), str(r["operation"])) for r in history]
