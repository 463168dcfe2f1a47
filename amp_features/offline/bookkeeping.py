"""Small Delta tables the engine keeps about itself: which raw files each daily state was built
from, and which daily states each window state was built from (the commit log of complete as-of
dates is ``offline.snapshots``).

They are tiny (one row per day or per as-of date), so reading them whole into the driver is fine.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import (
    DateType,
    LongType,
    MapType,
    StringType,
    StructField,
    StructType,
)

from amp_features.layout import Warehouse
from amp_features.offline.delta import append_records, read_latest

TILE_LOG_SCHEMA = StructType(
    [
        StructField("source", StringType(), False),
        StructField("dt", DateType(), False),
        StructField("fingerprint", StringType(), False),
        StructField("source_version", LongType(), True),
        StructField("build_id", StringType(), False),
        StructField("run_id", StringType(), False),
    ]
)

WINDOW_LOG_SCHEMA = StructType(
    [
        StructField("as_of", DateType(), False),
        StructField("tiles", MapType(StringType(), StringType()), False),
        StructField("run_id", StringType(), False),
    ]
)


@dataclass(frozen=True)
class TileBuild:
    fingerprint: str
    build_id: str
    source_version: int | None


def tile_key(source: str, day: dt.date) -> str:
    return f"{source}|{day.isoformat()}"


def read_tile_log(
    spark: SparkSession, warehouse: str, first: dt.date, last: dt.date
) -> dict[str, TileBuild]:
    """``source|dt`` -> the build that is current for that day."""
    df = read_latest(spark, Warehouse(warehouse).tile_log, ["source", "dt"])
    if df is None:
        return {}
    rows = df.where(F.col("dt").between(F.lit(first), F.lit(last))).collect()  # small: <= days
    return {
        tile_key(r["source"], r["dt"]): TileBuild(
            r["fingerprint"], r["build_id"], r["source_version"]
        )
        for r in rows
    }


def write_tile_log(
    spark: SparkSession,
    warehouse: str,
    source: str,
    builds: Mapping[dt.date, TileBuild],
    run_id: str,
) -> None:
    write_tile_logs(spark, warehouse, {source: builds}, run_id)


def write_tile_logs(
    spark: SparkSession,
    warehouse: str,
    builds: Mapping[str, Mapping[dt.date, TileBuild]],
    run_id: str,
) -> None:
    """Record the builds of several raw tables (source -> day -> build) in one commit."""
    rows = [
        (source, day, b.fingerprint, b.source_version, b.build_id, run_id)
        for source, days in sorted(builds.items())
        for day, b in sorted(days.items())
    ]
    if not rows:
        return
    append_records(spark.createDataFrame(rows, TILE_LOG_SCHEMA), Warehouse(warehouse).tile_log)


def read_window_tiles(spark: SparkSession, warehouse: str, as_of: dt.date) -> dict[str, str] | None:
    """The tile builds the window state of ``as_of`` was made from, or None if there is none."""
    df = read_latest(spark, Warehouse(warehouse).window_log, ["as_of"])
    if df is None:
        return None
    row = df.where(F.col("as_of") == F.lit(as_of)).select("tiles").first()
    return None if row is None else dict(row["tiles"])


def write_window_log(
    spark: SparkSession, warehouse: str, as_of: dt.date, tiles: Mapping[str, str], run_id: str
) -> None:
    df = spark.createDataFrame([(as_of, dict(tiles), run_id)], WINDOW_LOG_SCHEMA)
    append_records(df, Warehouse(warehouse).window_log)


def tiles_token(builds: Mapping[str, TileBuild], keys: Iterable[str]) -> dict[str, str]:
    return {k: builds[k].build_id for k in keys if k in builds}
