"""Pure transforms that shape what the suites validate (no I/O, no session creation).

Row rules that compare columns (a timestamp within its partition's day, the id an event type
needs) become derived columns; whole-table checks (volume, per-user sums, null rates) become
small derived DataFrames that GX validates like any other.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame, Window
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, TimestampType

from amp_features.contract import EVENT_TYPE_NEEDS, RawTable

EVENT_DATE = "_q_event_date"
NEEDED_ID = "_q_needed_id"


def _timestamp_column(table: RawTable) -> str | None:
    for field in table.schema.fields:
        if isinstance(field.dataType, TimestampType) and field.name in (
            "started_at",
            "occurred_at",
        ):
            return field.name
    return None


def with_row_checks(df: DataFrame, table: RawTable) -> DataFrame:
    """The raw rows plus ``_q_event_date`` (UTC date of the event time) and, for engagement,
    ``_q_needed_id`` (the id the event type needs, null when missing or empty).

    A column that is missing or of another type yields nulls here: the suite's schema
    expectations report it, and the row expectations must not crash on it.
    """
    present = dict(df.dtypes)
    ts = _timestamp_column(table)
    if ts is not None and present.get(ts) == "timestamp":
        # The session time zone is UTC, so to_date is the UTC date.
        event_date: Column = F.to_date(F.col(ts))
    else:
        event_date = F.lit(None).cast(DateType())
    extra = [event_date.alias(EVENT_DATE)]
    if table.name == "engagement":
        needed: Column = F.lit(None).cast("string")
        for event_type, id_column in EVENT_TYPE_NEEDS.items():
            if present.get(id_column) == "string" and "event_type" in present:
                needed = F.when(
                    (F.col("event_type") == F.lit(event_type)) & (F.length(id_column) > 0),
                    F.col(id_column),
                ).otherwise(needed)
        extra.append(needed.alias(NEEDED_ID))
    return df.select(*[F.col(c) for c in df.columns], *extra)


def day_counts(df: DataFrame, partition: str, first: dt.date, last: dt.date) -> DataFrame:
    """One row per ``dt`` in [first, last] that has rows: ``dt`` (ISO string), ``rows``."""
    return (
        df.where(F.col(partition).between(F.lit(first), F.lit(last)))
        .groupBy(F.col(partition).alias("day"))
        .agg(F.count(F.lit(1)).alias("rows"))
        .select(F.date_format("day", "yyyy-MM-dd").alias("dt"), F.col("rows"))
    )


def affinity_sums(df: DataFrame, user: str, affinity: str) -> DataFrame:
    """Per user with any positive affinity: the sum of the affinity over the user's rows.

    A user whose affinities are all 0.0 has no plays of a known topic/creator (or listened 0
    seconds), so the sum-to-1 rule does not apply to them.
    """
    return (
        df.groupBy(F.col(user))
        .agg(F.sum(F.col(affinity)).alias("affinity_sum"))
        .where(F.col("affinity_sum") > 0)
        .select(F.col(user), F.col("affinity_sum"))
    )


def rows_and_nulls(df: DataFrame, as_ofs: list[dt.date], features: list[str]) -> DataFrame:
    """Per as_of in ``as_ofs``: ``rows`` and ``nulls_<feature>`` for every feature."""
    aggs = [F.count(F.lit(1)).alias("rows")]
    aggs += [F.sum(F.col(f).isNull().cast("bigint")).alias(f"nulls_{f}") for f in features]
    return (
        df.where(F.col("as_of").isin([F.lit(d) for d in as_ofs]))
        .groupBy(F.col("as_of"))
        .agg(*aggs)
        .select("as_of", "rows", *[f"nulls_{f}" for f in features])
    )


def histogram_counts(
    df: DataFrame, as_ofs: list[dt.date], features: list[str], bins: int
) -> DataFrame:
    """Per (feature, as_of, bin): count of non-null values, with bins shared by the as_ofs.

    Output columns: feature, as_of, bin, lo, hi, count. Values are cast to double; booleans
    fall in bins 0 (false) and ``bins - 1`` (true).
    """
    long = (
        df.where(F.col("as_of").isin([F.lit(d) for d in as_ofs]))
        .select(
            F.col("as_of"),
            F.explode(
                F.array(
                    *[
                        F.struct(F.lit(f).alias("feature"), F.col(f).cast("double").alias("v"))
                        for f in features
                    ]
                )
            ).alias("fv"),
        )
        .select("as_of", F.col("fv.feature").alias("feature"), F.col("fv.v").alias("v"))
        .where(F.col("v").isNotNull())
    )
    # The range of each feature as a window over its values, not a grouped table joined back:
    # the rows are shuffled once, by feature, and the count by (feature, ...) below reuses that
    # partitioning (one shuffle and no broadcast instead of two shuffles and a broadcast).
    whole = Window.partitionBy("feature").rowsBetween(
        Window.unboundedPreceding, Window.unboundedFollowing
    )
    ranged = long.select(
        "feature",
        "as_of",
        "v",
        F.min("v").over(whole).alias("lo"),
        F.max("v").over(whole).alias("hi"),
    )
    width = (F.col("hi") - F.col("lo")) / F.lit(bins)
    binned = ranged.select(
        "feature",
        "as_of",
        "lo",
        "hi",
        F.when(width == 0, F.lit(0))
        .otherwise(F.least(F.floor((F.col("v") - F.col("lo")) / width), F.lit(bins - 1)))
        .cast("int")
        .alias("bin"),
    )
    return (
        binned.groupBy("feature", "as_of", "bin", "lo", "hi")
        .agg(F.count(F.lit(1)).alias("count"))
        .select("feature", "as_of", "bin", "lo", "hi", "count")
    )
