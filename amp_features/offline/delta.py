"""Delta writes at the edge of the pipeline.

Every write replaces exactly the partitions it owns (``replaceWhere``) in one Delta commit, so
re-running a date never duplicates rows, and a run that dies midway leaves each table either
with its previous content or with the new partition, never half of one.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping, Sequence

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
    use.
    """
    if comments:
        df = with_comments(df, comments)
    predicate = partition_predicate(column, values)
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


def read_table(spark: SparkSession, path: str) -> DataFrame | None:
    return spark.read.format("delta").load(path) if table_exists(spark, path) else None


def _sql_literal(value: object) -> str:
    if isinstance(value, dt.date | dt.datetime):
        return f"'{value.isoformat()}'"
    if isinstance(value, int | float):
        return str(value)
    return "'" + str(value).replace("'", "''") + "'"


def upsert(
    spark: SparkSession,
    df: DataFrame,
    path: str,
    keys: Sequence[str],
    *,
    where: str | None = None,
) -> None:
    """Insert-or-replace small bookkeeping rows by key, in one Delta commit.

    ``where`` is the predicate covering the rows' keys; without it the keys are read back to the
    driver (bookkeeping frames are a handful of rows). One ``replaceWhere`` overwrite commit is
    much cheaper than a MERGE.
    """
    if where is not None:
        writer = df.write.format("delta").mode("overwrite")
        if table_exists(spark, path):
            writer = writer.option("replaceWhere", where)
        writer.save(path)
        return
    rows = df.select(*keys).distinct().collect()  # small: bookkeeping keys of one run
    if not rows:
        return
    if len(keys) == 1:
        literals = ", ".join(sorted({_sql_literal(r[keys[0]]) for r in rows}))
        predicate = f"`{keys[0]}` IN ({literals})"
    else:
        predicate = " OR ".join(
            "(" + " AND ".join(f"`{k}` = {_sql_literal(r[k])}" for k in keys) + ")" for r in rows
        )
    writer = df.write.format("delta").mode("overwrite")
    if table_exists(spark, path):
        writer = writer.option("replaceWhere", predicate)
    writer.save(path)


def last_commit_rows(spark: SparkSession, path: str) -> int:
    """Rows written by the table's latest commit, from Delta's operation metrics (no scan)."""
    from delta.tables import DeltaTable

    row = DeltaTable.forPath(spark, path).history(1).select("operationMetrics").first()
    metrics = (row["operationMetrics"] if row else None) or {}
    return int(metrics.get("numOutputRows", 0))


def delete_where(spark: SparkSession, path: str, predicate: str) -> None:
    from delta.tables import DeltaTable

    if table_exists(spark, path):
        DeltaTable.forPath(spark, path).delete(predicate)
