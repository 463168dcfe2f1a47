"""The pipeline's own Delta tables: quarantine, input accounting, daily states (tiles), the
carried window state and the per-run metrics. The engine asks this module; nobody else builds
their paths or reads them directly.

Each write is one Delta commit (``offline.delta``): the partitioned tables replace exactly the
partitions they own (an append when the partition is new); the accounting and metrics tables
are append-only logs read through ``read_latest``.
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
    append_records,
    last_commit_rows,
    read_latest,
    read_table,
    replace_partitions,
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
    """Record the accounting rows of every (table, dt) in ``rows`` in one commit; each row is
    (table, dt, rows_read, rows_kept, duplicates_dropped, rows_quarantined)."""
    if not rows:
        return
    df = spark.createDataFrame([(*r, run_id) for r in rows], INPUT_COUNTS_SCHEMA)
    append_records(df, Warehouse(warehouse).input_counts)


def read_input_counts(spark: SparkSession, warehouse: str) -> DataFrame | None:
    """The newest accounting row of each (table, dt)."""
    return read_latest(spark, Warehouse(warehouse).input_counts, ["table", "dt"])


# -- daily states ----------------------------------------------------------------------------------
def write_tiles(df: DataFrame, warehouse: str, name: str, days: Sequence[dt.date]) -> None:
    replace_partitions(df, Warehouse(warehouse).tile(name), "dt", days)


def read_tiles(spark: SparkSession, warehouse: str, name: str) -> DataFrame:
    return spark.read.format("delta").load(Warehouse(warehouse).tile(name))


# -- window state ----------------------------------------------------------------------------------
def write_window_state(
    spark: SparkSession, df: DataFrame, warehouse: str, name: str, day: dt.date, keep_days: int
) -> int:
    """Write the window state of ``day``; returns the rows written (Delta's operation metrics).

    Old states are dropped once every ``keep_days`` days, in the same commit as that day's state:
    a daily drop would turn every day's write into an overwrite (``offline.delta``), so between
    drops up to ``2 * keep_days - 1`` states are kept.
    """
    path = Warehouse(warehouse).window_state(name)
    retention = None
    if day.toordinal() % keep_days == 0:
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
    """Record the metrics rows of (as_of, run_id, stage in records): one row per stage."""
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
    append_records(df, Warehouse(warehouse).runs)


def read_runs(spark: SparkSession, warehouse: str) -> DataFrame | None:
    """The newest row of each (as_of, run_id, stage): a retried stage supersedes its attempt."""
    return read_latest(spark, Warehouse(warehouse).runs, ["as_of", "run_id", "stage"])
