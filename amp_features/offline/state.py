"""The pipeline's own Delta tables: quarantine, input accounting, daily states (tiles), the
carried window state and the per-run metrics. The engine asks this module; nobody else builds
their paths or reads them directly.

Every write replaces exactly the partitions it owns in one Delta commit (``offline.delta``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    DoubleType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

from amp_features.layout import Warehouse
from amp_features.offline.delta import (
    last_commit_rows,
    partition_predicate,
    read_table,
    replace_partitions,
    upsert,
)


# -- validation ------------------------------------------------------------------------------------
def write_quarantine(df: DataFrame, warehouse: str, source: str, days: Sequence[dt.date]) -> None:
    replace_partitions(df, Warehouse(warehouse).quarantine(source), "dt", days)


def read_quarantine(spark: SparkSession, warehouse: str, source: str) -> DataFrame | None:
    return read_table(spark, Warehouse(warehouse).quarantine(source))


INPUT_COUNTS_SCHEMA = StructType(
    [
        StructField("table", StringType(), False),
        StructField("dt", DateType(), False),
        *(
            StructField(c, LongType(), False)
            for c in ("rows_read", "rows_kept", "duplicates_dropped", "rows_quarantined")
        ),
        StructField("run_id", StringType(), False),
    ]
)


def write_input_counts(
    spark: SparkSession,
    warehouse: str,
    rows: Sequence[tuple],  # type: ignore[type-arg]
    run_id: str,
) -> None:
    """Replace the accounting rows of every (table, dt) in ``rows`` in one commit; each row is
    (table, dt, rows_read, rows_kept, duplicates_dropped, rows_quarantined)."""
    if not rows:
        return
    days: dict[str, list[dt.date]] = {}
    for r in rows:
        days.setdefault(r[0], []).append(r[1])
    where = " OR ".join(
        f"(table = '{table}' AND {partition_predicate('dt', d)})"
        for table, d in sorted(days.items())
    )
    df = spark.createDataFrame([(*r, run_id) for r in rows], INPUT_COUNTS_SCHEMA)
    upsert(spark, df, Warehouse(warehouse).input_counts, ["table", "dt"], where=where)


def read_input_counts(spark: SparkSession, warehouse: str) -> DataFrame | None:
    return read_table(spark, Warehouse(warehouse).input_counts)


# -- daily states ----------------------------------------------------------------------------------
def write_tiles(df: DataFrame, warehouse: str, name: str, days: Sequence[dt.date]) -> None:
    replace_partitions(df, Warehouse(warehouse).tile(name), "dt", days)


def read_tiles(spark: SparkSession, warehouse: str, name: str) -> DataFrame:
    return spark.read.format("delta").load(Warehouse(warehouse).tile(name))


# -- window state ----------------------------------------------------------------------------------
def write_window_state(
    spark: SparkSession, df: DataFrame, warehouse: str, name: str, day: dt.date, keep_days: int
) -> int:
    """Write the window state of ``day``; states older than ``keep_days`` go in the same commit.
    Returns the rows written (from Delta's operation metrics, no scan)."""
    path = Warehouse(warehouse).window_state(name)
    retention = f"as_of < '{(day - dt.timedelta(days=keep_days)).isoformat()}'"
    replace_partitions(df, path, "as_of", [day], also_delete=retention)
    return last_commit_rows(spark, path)


def read_window_state(spark: SparkSession, warehouse: str, name: str, day: dt.date) -> DataFrame:
    path = Warehouse(warehouse).window_state(name)
    return spark.read.format("delta").load(path).where(F.col("as_of") == F.lit(day))


# -- metrics ---------------------------------------------------------------------------------------
RUNS_SCHEMA = StructType(
    [
        StructField("as_of", StringType(), False),
        StructField("run_id", StringType(), False),
        StructField("stage", StringType(), False),
        StructField("seconds", DoubleType(), True),
        StructField("rows", MapType(StringType(), StringType()), True),
        StructField("external_run_id", StringType(), True),
    ]
)


def write_runs(
    spark: SparkSession,
    warehouse: str,
    as_of: dt.date,
    run_id: str,
    records: list[tuple],  # type: ignore[type-arg]
) -> None:
    """Replace the metrics rows of (as_of, run_id, stage in records): one row per stage."""
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
        "external_run_id",
    )
    stages = ", ".join(sorted({f"'{r[2]}'" for r in records}))
    upsert(
        spark,
        df,
        Warehouse(warehouse).runs,
        ["as_of", "run_id", "stage"],
        where=f"as_of = '{as_of.isoformat()}' AND run_id = '{run_id}' AND stage IN ({stages})",
    )


def read_runs(spark: SparkSession, warehouse: str) -> DataFrame | None:
    return read_table(spark, Warehouse(warehouse).runs)
