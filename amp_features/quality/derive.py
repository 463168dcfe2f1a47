"""Pure transforms that shape what the suites validate (no I/O, no session creation).

Row rules that compare columns (a timestamp within its partition's day, the id an event type
needs) become derived columns; whole-table checks (volume, per-user sums, null rates) become
small derived DataFrames that GX validates like any other.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
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
    """Per as_of in ``as_ofs``: ``rows``, and ``nulls_<f>``, ``min_<f>`` and ``max_<f>`` (as
    doubles) for every feature ``f``: the null rates and the histograms' ranges in one pass."""
    aggs = [F.count(F.lit(1)).alias("rows")]
    for f in features:
        value = F.col(f).cast("double")
        aggs += [
            F.sum(F.col(f).isNull().cast("bigint")).alias(f"nulls_{f}"),
            F.min(value).alias(f"min_{f}"),
            F.max(value).alias(f"max_{f}"),
        ]
    return (
        df.where(F.col("as_of").isin([F.lit(d) for d in as_ofs]))
        .groupBy(F.col("as_of"))
        .agg(*aggs)
        .select("as_of", "rows", *[f"{k}_{f}" for f in features for k in ("nulls", "min", "max")])
    )


def histogram_counts(
    df: DataFrame,
    as_ofs: list[dt.date],
    ranges: dict[str, tuple[float, float]],
    bins: int,
) -> DataFrame:
    """Per (feature, as_of, bin): count of non-null values, in ``bins`` equal bins over the
    feature's ``ranges[f] = (lo, hi)`` (shared by the as_ofs, from ``rows_and_nulls``).

    Output columns: feature, as_of, bin, lo, hi, count. Values are cast to double; booleans
    fall in bins 0 (false) and ``bins - 1`` (true). The bounds are literals, so the counts are
    one aggregation whose partial sums are all that is shuffled (at most features x as_ofs x
    bins rows), not every value.
    """
    binned = [
        F.struct(
            F.lit(f).alias("feature"),
            _bin(F.col(f).cast("double"), lo, hi, bins).alias("bin"),
            F.lit(float(lo)).alias("lo"),
            F.lit(float(hi)).alias("hi"),
        )
        for f, (lo, hi) in ranges.items()
    ]
    if not binned:
        empty = "feature string, as_of date, bin int, lo double, hi double, count bigint"
        return df.sparkSession.createDataFrame([], empty)
    return (
        df.where(F.col("as_of").isin([F.lit(d) for d in as_ofs]))
        .select("as_of", F.explode(F.array(*binned)).alias("fb"))
        .where(F.col("fb.bin").isNotNull())
        .groupBy("fb.feature", "as_of", "fb.bin", "fb.lo", "fb.hi")
        .agg(F.count(F.lit(1)).alias("count"))
        .select("feature", "as_of", "bin", "lo", "hi", "count")
    )


def _bin(value: Column, lo: float, hi: float, bins: int) -> Column:
    """The bin of ``value`` in [lo, hi] (null for a null value; all in bin 0 when lo == hi)."""
    if hi <= lo:
        return F.when(value.isNotNull(), F.lit(0))
    width = (hi - lo) / bins
    return F.least(F.floor((value - F.lit(lo)) / F.lit(width)), F.lit(bins - 1)).cast("int")
