"""Contract section 2 as pure transforms: flag invalid rows, split, deduplicate, count.

Each invalid row is tagged with the FIRST rule it breaks, in the order listed below, so every
quarantined row has exactly one rule and the per-rule counts add up.
"""

from __future__ import annotations

from collections.abc import Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from amp_features.contract import ENGAGEMENT, EVENT_TYPE_NEEDS, MAX_LISTEN_SECONDS, PLAYBACK

RULE_COL = "_rule"


def _blank(name: str) -> Column:
    """Null, empty or only whitespace: an id nobody can join on."""
    return F.col(name).isNull() | (F.trim(F.col(name)) == "")


def _dt_mismatch(ts: str) -> Column:
    # The session time zone is UTC, so to_date gives the UTC date; <=> makes a null dt a mismatch.
    return ~F.to_date(F.col(ts)).eqNullSafe(F.col("dt"))


def playback_rules() -> tuple[tuple[str, Column], ...]:
    """Contract section 2 for playback, in the order rules are checked."""
    return (
        ("user_id_missing", _blank("user_id")),
        ("show_id_missing", _blank("show_id")),
        ("started_at_missing", F.col("started_at").isNull()),
        ("listen_seconds_missing", F.col("listen_seconds").isNull()),
        ("listen_seconds_negative", F.col("listen_seconds") < 0),
        ("listen_seconds_above_86400", F.col("listen_seconds") > MAX_LISTEN_SECONDS),
        ("dt_not_utc_date_of_started_at", _dt_mismatch("started_at")),
    )


def engagement_rules() -> tuple[tuple[str, Column], ...]:
    """Contract section 2 for engagement, in the order rules are checked."""
    return (
        ("user_id_missing", _blank("user_id")),
        ("occurred_at_missing", F.col("occurred_at").isNull()),
        ("dt_not_utc_date_of_occurred_at", _dt_mismatch("occurred_at")),
        (
            "event_type_unknown",
            F.col("event_type").isNull() | ~F.col("event_type").isin(*EVENT_TYPE_NEEDS),
        ),
        *(
            (
                f"{needed}_missing_for_{event_type}",
                (F.col("event_type") == event_type) & _blank(needed),
            )
            for event_type, needed in EVENT_TYPE_NEEDS.items()
        ),
    )


# Columns need a live SparkContext, so rules are built on call, not at import.
RULES = {"playback": playback_rules, "engagement": engagement_rules}


def rule_names(table: str) -> list[str]:
    return [name for name, _ in RULES[table]()]


def _first_broken(rules: Sequence[tuple[str, Column]]) -> Column:
    expr = F.lit(None).cast("string")
    for name, broken in reversed(rules):
        expr = F.when(F.coalesce(broken, F.lit(False)), F.lit(name)).otherwise(expr)
    return expr


def flag_playback(df: DataFrame) -> DataFrame:
    """Add ``_rule``: the first playback rule the row breaks, or null when it is valid."""
    return df.select(*PLAYBACK.columns, _first_broken(playback_rules()).alias(RULE_COL))


def flag_engagement(df: DataFrame) -> DataFrame:
    """Add ``_rule``: the first engagement rule the row breaks, or null when it is valid."""
    return df.select(*ENGAGEMENT.columns, _first_broken(engagement_rules()).alias(RULE_COL))


FLAGGERS = {"playback": flag_playback, "engagement": flag_engagement}


COPIES_COL = "_copies"


def _keep_one(valid: DataFrame, columns: Sequence[str], order: Sequence[Column]) -> DataFrame:
    """One row per (dt, event_id), the minimum of ``order``, plus how many copies it had.

    A min over a struct whose leading fields are the tie-break keys is a hash aggregate, cheaper
    than a sorted window. Rows without an event_id cannot be matched to a re-delivery, so each
    counts as its own event.
    """
    payload = [c for c in columns if c not in ("dt", "event_id")]
    best = (
        valid.where(F.col("event_id").isNotNull())
        .groupBy("dt", "event_id")
        .agg(
            F.min(F.struct(*[o.alias(f"_k{i}") for i, o in enumerate(order)], *payload)).alias("w"),
            F.count(F.lit(1)).alias(COPIES_COL),
        )
    )
    kept = best.select(
        *[F.col(f"w.{c}").alias(c) if c in payload else F.col(c) for c in columns], COPIES_COL
    )
    unkeyed = valid.where(F.col("event_id").isNull()).select(
        *columns, F.lit(1).cast("bigint").alias(COPIES_COL)
    )
    return kept.unionByName(unkeyed).select(*columns, COPIES_COL)


def dedup_playback_counted(valid: DataFrame) -> DataFrame:
    """Playback duplicates: keep the largest listen_seconds, then the earliest started_at, then
    the smallest show_id, then the smallest user_id (contract section 2)."""
    order = [-F.col("listen_seconds"), F.col("started_at"), F.col("show_id"), F.col("user_id")]
    return _keep_one(valid, PLAYBACK.columns, order)


def dedup_engagement_counted(valid: DataFrame) -> DataFrame:
    """Engagement duplicates: keep the earliest occurred_at, then the smallest event_type,
    show_id, creator_id, user_id, nulls first (Spark orders null below any value)."""
    order = [F.col(c) for c in ("occurred_at", "event_type", "show_id", "creator_id", "user_id")]
    return _keep_one(valid, ENGAGEMENT.columns, order)


def dedup_playback(valid: DataFrame) -> DataFrame:
    return dedup_playback_counted(valid).select(*PLAYBACK.columns)


def dedup_engagement(valid: DataFrame) -> DataFrame:
    return dedup_engagement_counted(valid).select(*ENGAGEMENT.columns)


DEDUPERS = {"playback": dedup_playback_counted, "engagement": dedup_engagement_counted}


def quarantine_rows(flagged: DataFrame) -> DataFrame:
    """The invalid rows, each with the rule it broke."""
    return flagged.where(F.col(RULE_COL).isNotNull()).select(
        *[c for c in flagged.columns if c != RULE_COL], F.col(RULE_COL).alias("rule")
    )


def valid_rows(flagged: DataFrame) -> DataFrame:
    return flagged.where(F.col(RULE_COL).isNull()).drop(RULE_COL)


def input_counts(flagged: DataFrame, kept_counted: DataFrame, table: str) -> DataFrame:
    """Per dt: rows read and quarantined (from the flagged rows), rows kept and duplicates
    dropped (from the deduplicated rows and their copy counts). Computed independently so that
    ``rows_read = rows_kept + duplicates_dropped + rows_quarantined`` is a real check."""
    read = flagged.groupBy("dt").agg(
        F.count(F.lit(1)).alias("rows_read"),
        F.count(F.col(RULE_COL)).alias("rows_quarantined"),
    )
    kept = kept_counted.groupBy("dt").agg(
        F.count(F.lit(1)).alias("rows_kept"),
        F.sum(F.col(COPIES_COL) - 1).alias("duplicates_dropped"),
    )
    return read.join(kept, on="dt", how="left").select(
        F.lit(table).alias("table"),
        "dt",
        F.col("rows_read").cast("bigint").alias("rows_read"),
        F.coalesce(F.col("rows_kept"), F.lit(0)).cast("bigint").alias("rows_kept"),
        F.coalesce(F.col("duplicates_dropped"), F.lit(0))
        .cast("bigint")
        .alias("duplicates_dropped"),
        F.col("rows_quarantined").cast("bigint").alias("rows_quarantined"),
    )
