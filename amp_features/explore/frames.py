"""Notebook helpers that return DataFrames: one group or ranking vectors for a date, the catalog,
and per-date summary statistics of every feature (so drift between dates shows).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING

from pyspark.sql import DataFrame, SparkSession, Window
from pyspark.sql import functions as F

from amp_features.contract import parse_date
from amp_features.errors import ConfigError
from amp_features.registry import FEATURES, GROUPS, REGISTRY, Feature, features_of
from amp_features.serve.vector import ranking_vectors
from amp_features.training.snapshots import (
    SnapshotMissingError,
    available_as_of,
    describe_dates,
    group_as_of,
    read_group,
    read_show_attributes,
)

if TYPE_CHECKING:
    import pandas as pd

SUMMARY_COLUMNS = [
    "as_of",
    "number",
    "feature",
    "group",
    "rows",
    "nulls",
    "mean",
    "stddev",
    "min",
    "p50",
    "max",
    "mean_change",
]


def feature(name: str) -> Feature:
    """The registry entry of a feature, with a helpful error for a typo."""
    found = REGISTRY.get(name)
    if found is None:
        raise ConfigError(f"unknown feature {name!r}; see amp_features.explore.describe()")
    return found


def _require(day: dt.date, dates: Sequence[dt.date], what: str) -> None:
    if day not in dates:
        raise SnapshotMissingError(
            f"no {what} snapshot as_of {day}; the warehouse has as_of {describe_dates(dates)}"
        )


def load_group(spark: SparkSession, warehouse: str, group: str, as_of: dt.date | str) -> DataFrame:
    """One feature group's rows for one as_of (keys, features, as_of)."""
    day = parse_date(as_of)
    _require(day, group_as_of(spark, warehouse, group), f"{group!r}")
    return read_group(spark, warehouse, group, [day])


def load_vectors(
    spark: SparkSession,
    warehouse: str,
    as_of: dt.date | str,
    pairs: DataFrame | Sequence[tuple[str, str]],
) -> DataFrame:
    """Ranking vectors (contract section 5) of (user_id, show_id) pairs as of one date.

    ``pairs`` is a DataFrame with ``user_id`` and ``show_id`` (other columns are kept) or a short
    list of ``(user_id, show_id)`` tuples. The output has the pairs' columns, ``as_of``, the show's
    creator and topic and the 21 features, as :func:`amp_features.serve.vector.ranking_vectors`.
    """
    day = parse_date(as_of)
    _require(day, available_as_of(spark, warehouse), "complete")
    if not isinstance(pairs, DataFrame):
        pairs = spark.createDataFrame(list(pairs), "user_id string, show_id string")
    if "as_of" in pairs.columns:
        raise ConfigError("pairs already have an as_of column; drop it or use build_training_set")
    dated = pairs.withColumn("as_of", F.lit(day))
    groups = {g: read_group(spark, warehouse, g, [day]) for g in GROUPS}
    attrs = read_show_attributes(spark, warehouse, [day])
    return ranking_vectors(dated, groups, attrs, by=["as_of"])


def describe(group: str | None = None) -> pd.DataFrame:
    """The feature catalog from the registry as a table (one row per feature, contract order)."""
    import pandas as pd

    chosen = features_of(group) if group is not None else list(FEATURES)
    return pd.DataFrame(
        [
            {
                "number": f.number,
                "feature": f.name,
                "group": f.group,
                "keys": ", ".join(f.keys),
                "dtype": f.dtype,
                "vector_default": f.vector_default,
                "description": f.description,
                "definition": f.definition,
            }
            for f in chosen
        ]
    )


def summarize(tables: Mapping[str, DataFrame], features: Sequence[str] | None = None) -> DataFrame:
    """Pure transform: per-as_of statistics of each feature of the given group tables.

    ``tables`` maps group names to frames with ``as_of`` and the group's feature columns. One
    output row per (as_of, feature): rows, nulls, mean, stddev, min, p50 (approximate), max over
    the rows present (booleans count as 0/1, so the mean is the share of true), and
    ``mean_change``, the mean minus the mean on the first as_of of the frame (drift at a glance).
    """
    wanted = [feature(name) for name in features] if features else list(FEATURES)
    long_parts = []
    for group, table in tables.items():
        chosen = [f for f in wanted if f.group == group]
        if not chosen:
            continue
        # Cast every feature to double so all of them fit one value column.
        wide = table.select("as_of", *(F.col(f.name).cast("double").alias(f.name) for f in chosen))
        long_parts.append(
            wide.unpivot("as_of", [f.name for f in chosen], "feature", "value").withColumn(
                "group", F.lit(group)
            )
        )
    if not long_parts:
        raise ConfigError(f"none of the features {', '.join(f.name for f in wanted)} is in tables")
    values = long_parts[0]
    for part in long_parts[1:]:
        values = values.unionByName(part)

    number = F.create_map(*(x for f in wanted for x in (F.lit(f.name), F.lit(f.number))))
    stats = values.groupBy("as_of", "group", "feature").agg(
        F.count(F.lit(1)).alias("rows"),
        (F.count(F.lit(1)) - F.count("value")).alias("nulls"),
        F.mean("value").alias("mean"),
        F.stddev_samp("value").alias("stddev"),
        F.min("value").alias("min"),
        F.percentile_approx("value", 0.5).alias("p50"),
        F.max("value").alias("max"),
    )
    first_date = Window.partitionBy("feature").orderBy("as_of")
    first_mean = F.first("mean").over(
        first_date.rowsBetween(Window.unboundedPreceding, Window.currentRow)
    )
    return stats.select(
        "as_of",
        number[F.col("feature")].alias("number"),
        "feature",
        "group",
        "rows",
        "nulls",
        "mean",
        "stddev",
        "min",
        "p50",
        "max",
        (F.col("mean") - first_mean).alias("mean_change"),
    )


def read_range(
    spark: SparkSession,
    warehouse: str,
    groups: Sequence[str],
    start: dt.date | str,
    end: dt.date | str,
) -> dict[str, DataFrame]:
    """The given groups' tables restricted to as_of in [start, end], with a clear error if empty."""
    first, last = parse_date(start), parse_date(end)
    if first > last:
        raise ConfigError(f"start {first} is after end {last}")
    tables = {}
    for group in groups:
        dates = group_as_of(spark, warehouse, group)
        if not any(first <= d <= last for d in dates):
            raise SnapshotMissingError(
                f"no {group!r} snapshot between {first} and {last}; "
                f"the warehouse has as_of {describe_dates(dates)}"
            )
        tables[group] = read_group(
            spark, warehouse, group, [d for d in dates if first <= d <= last]
        )
    return tables


def feature_summary(
    spark: SparkSession,
    warehouse: str,
    start: dt.date | str,
    end: dt.date | str,
    *,
    features: Sequence[str] | None = None,
) -> DataFrame:
    """Summary statistics of each feature (or of ``features``) per as_of in [start, end].

    A small DataFrame (one row per as_of and feature, see :func:`summarize`), ordered by feature
    then date; ``.toPandas()`` it to read it in a notebook.
    """
    chosen = [feature(name) for name in features] if features else list(FEATURES)
    groups = list(dict.fromkeys(f.group for f in chosen))
    tables = read_range(spark, warehouse, groups, start, end)
    return summarize(tables, [f.name for f in chosen]).orderBy("number", "as_of")
