"""From the window state and the dimensions to the five feature groups (contract section 4).

Pure transforms: window-state DataFrames and dimensions in, one DataFrame per group out, each
ending in a ``select`` of the registry's columns and types.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from amp_features.registry import REGISTRY, table_columns
from amp_features.tiles.daily import HOUR_PLAYS, HOUR_SECONDS, HOURS
from amp_features.tiles.decay import ratio, window_units

SHOW_ATTRIBUTES = "show_attributes"


def _known(name: str) -> Column:
    """A dimension attribute, with null/empty/blank normalised to null (unknown)."""
    return F.when(F.trim(F.col(name)) != "", F.col(name))


def _finish(df: DataFrame, group: str, as_of: dt.date) -> DataFrame:
    """The group's columns in registry order and types, with the as_of partition column."""
    cols = []
    for name in table_columns(group):
        if name == "as_of":
            cols.append(F.lit(as_of).cast("date").alias("as_of"))
        elif name in REGISTRY:
            cols.append(F.col(name).cast(REGISTRY[name].dtype).alias(name))
        else:
            cols.append(F.col(name).cast("string").alias(name))
    return df.select(*cols)


def _zero(name: str) -> Column:
    return F.coalesce(F.col(name), F.lit(0))


def show_attributes(shows: DataFrame, as_of: dt.date) -> DataFrame:
    """Each show's creator_id and topic (unknown -> null) as used for this as_of."""
    return shows.select(
        "show_id",
        _known("creator_id").alias("creator_id"),
        _known("topic").alias("topic"),
        F.lit(as_of).cast("date").alias("as_of"),
    )


def _with_attributes(user_show: DataFrame, attributes: DataFrame) -> DataFrame:
    """(user, show) window rows with the show's creator and topic (null for orphans).

    The shows dimension is small: broadcast, so the (user, show) rows keep their partitioning
    by user and are not shuffled by show."""
    return user_show.join(
        F.broadcast(attributes.select("show_id", "creator_id", "topic")), on="show_id", how="left"
    )


def _preferred_hour() -> Column:
    """The lowest hour among those with plays whose summed seconds is the largest."""
    played = [F.when(F.col(p) > 0, F.col(s)) for p, s in zip(HOUR_PLAYS, HOUR_SECONDS, strict=True)]
    best = F.greatest(*played)
    return F.coalesce(
        *(
            F.when((F.col(p) > 0) & (F.col(s) == best), F.lit(h))
            for h, p, s in zip(HOURS, HOUR_PLAYS, HOUR_SECONDS, strict=True)
        )
    )


def _event_counts(engagement: DataFrame, key: str, types: dict[str, str]) -> DataFrame:
    return engagement.groupBy(key).agg(
        *(
            F.sum(F.when(F.col("event_type") == t, F.col("events")).otherwise(0)).alias(alias)
            for t, alias in types.items()
        )
    )


def user_features(
    user_show: DataFrame,
    user_day: DataFrame,
    engagement: DataFrame,
    attributes: DataFrame,
    users: DataFrame,
    as_of: dt.date,
) -> DataFrame:
    """Features 1-12, one row per user with a valid playback or engagement event in W."""
    plays = user_show.groupBy("user_id").agg(
        F.sum("plays").alias("sessions_60d"),
        F.sum("seconds").alias("seconds"),
        F.sum("long_plays").alias("long_sessions_60d"),
        F.count(F.lit(1)).alias("distinct_shows_60d"),
        F.max("last_dt").alias("last_dt"),
    )
    creators = (
        _with_attributes(user_show, attributes)
        .where(F.col("creator_id").isNotNull())
        .groupBy("user_id")
        .agg(F.countDistinct("creator_id").alias("distinct_creators_60d"))
    )
    days = user_day.select(
        "user_id",
        F.col("active_days").alias("active_days_60d"),
        _preferred_hour().alias("preferred_hour_utc"),
    )
    events = _event_counts(
        engagement,
        "user_id",
        {
            "like_show": "likes_60d",
            "follow_creator": "follows_60d",
            "enable_notification": "notifications_enabled_60d",
        },
    )
    ids = plays.select("user_id").unionByName(events.select("user_id")).distinct()
    # Two columns of the users dimension: broadcast, the per-user rows stay where they are.
    signup = F.broadcast(users.select("user_id", F.to_date("signup_at").alias("signup_date")))
    joined = (
        ids.join(plays, on="user_id", how="left")
        .join(creators, on="user_id", how="left")
        .join(days, on="user_id", how="left")
        .join(events, on="user_id", how="left")
        .join(signup, on="user_id", how="left")
    )
    out = joined.select(
        "user_id",
        _zero("sessions_60d").alias("sessions_60d"),
        (_zero("seconds") / F.lit(60.0)).alias("listen_minutes_60d"),
        _zero("long_sessions_60d").alias("long_sessions_60d"),
        _zero("active_days_60d").alias("active_days_60d"),
        _zero("distinct_shows_60d").alias("distinct_shows_60d"),
        _zero("distinct_creators_60d").alias("distinct_creators_60d"),
        _zero("likes_60d").alias("likes_60d"),
        _zero("follows_60d").alias("follows_60d"),
        _zero("notifications_enabled_60d").alias("notifications_enabled_60d"),
        F.datediff(F.lit(as_of), F.col("last_dt")).alias("days_since_last_listen"),
        F.col("preferred_hour_utc"),
        F.datediff(F.lit(as_of), F.col("signup_date")).alias("tenure_days"),
    )
    return _finish(out, "user", as_of)


def _show_totals(user_show: DataFrame) -> DataFrame:
    return user_show.groupBy("show_id").agg(
        F.sum("plays").alias("plays"),
        F.sum("seconds").alias("seconds"),
        F.count(F.lit(1)).alias("listeners"),
    )


def show_features(user_show: DataFrame, engagement: DataFrame, as_of: dt.date) -> DataFrame:
    """Features 13-16, one row per show with a valid playback or like_show in W."""
    likes = (
        engagement.where(F.col("event_type") == "like_show")
        .groupBy(F.col("target_id").alias("show_id"))
        .agg(F.sum("events").alias("likes"))
    )
    joined = _show_totals(user_show).join(likes, on="show_id", how="full_outer")
    plays = _zero("plays")
    out = joined.select(
        "show_id",
        plays.alias("show_plays_60d"),
        _zero("listeners").alias("show_unique_listeners_60d"),
        _zero("likes").alias("show_likes_60d"),
        F.when(plays > 0, F.col("seconds") / F.lit(60.0) / plays).alias(
            "show_avg_listen_minutes_60d"
        ),
    )
    return _finish(out, "show", as_of)


def creator_features(
    user_show: DataFrame, engagement: DataFrame, attributes: DataFrame, as_of: dt.date
) -> DataFrame:
    """Features 17-18, one row per creator with a play of their shows or a follow in W."""
    plays = (
        _show_totals(user_show)
        .join(F.broadcast(attributes.select("show_id", "creator_id")), on="show_id", how="inner")
        .where(F.col("creator_id").isNotNull())
        .groupBy("creator_id")
        .agg(F.sum("plays").alias("creator_plays_60d"))
    )
    follows = (
        engagement.where(F.col("event_type") == "follow_creator")
        .groupBy(F.col("target_id").alias("creator_id"))
        .agg(F.sum("events").alias("creator_new_follows_60d"))
    )
    joined = plays.join(follows, on="creator_id", how="full_outer")
    out = joined.select(
        "creator_id",
        _zero("creator_plays_60d").alias("creator_plays_60d"),
        _zero("creator_new_follows_60d").alias("creator_new_follows_60d"),
    )
    return _finish(out, "creator", as_of)


def _affinity(pairs: DataFrame, attribute: str, as_of: dt.date) -> DataFrame:
    """(user, attribute, affinity) over the pairs whose show has a known ``attribute``."""
    known = pairs.where(F.col(attribute).isNotNull()).select(
        "user_id", attribute, window_units(as_of).alias("units")
    )
    numerators = known.groupBy("user_id", attribute).agg(F.sum("units").alias("num"))
    denominators = known.groupBy("user_id").agg(F.sum("units").alias("den"))
    return numerators.join(denominators, on="user_id", how="inner").select(
        "user_id", attribute, ratio(F.col("num"), F.col("den")).alias("affinity")
    )


def user_topic_features(
    user_show: DataFrame, attributes: DataFrame, users: DataFrame, as_of: dt.date
) -> DataFrame:
    """Features 19-20: topics played in W plus every declared topic of every user in users."""
    played = _affinity(_with_attributes(user_show, attributes), "topic", as_of)
    declared = (
        users.select(
            "user_id",
            F.explode(
                F.array_distinct(
                    F.filter("declared_topics", lambda t: t.isNotNull() & (F.trim(t) != ""))
                )
            ).alias("topic"),
        )
        .where(F.col("user_id").isNotNull())
        .select("user_id", "topic", F.lit(True).alias("declared"))
    )
    joined = played.join(declared, on=["user_id", "topic"], how="full_outer")
    out = joined.select(
        "user_id",
        "topic",
        F.coalesce(F.col("affinity"), F.lit(0.0)).alias("topic_affinity"),
        F.coalesce(F.col("declared"), F.lit(False)).alias("topic_declared"),
    )
    return _finish(out, "user_topic", as_of)


def user_creator_features(
    user_show: DataFrame, engagement: DataFrame, attributes: DataFrame, as_of: dt.date
) -> DataFrame:
    """Feature 21: creators played in W (orphans left out) plus creators followed in W."""
    played = _affinity(_with_attributes(user_show, attributes), "creator_id", as_of)
    followed = (
        engagement.where(F.col("event_type") == "follow_creator")
        .select("user_id", F.col("target_id").alias("creator_id"))
        .distinct()
    )
    joined = played.join(followed, on=["user_id", "creator_id"], how="full_outer")
    out = joined.select(
        "user_id",
        "creator_id",
        F.coalesce(F.col("affinity"), F.lit(0.0)).alias("creator_affinity"),
    )
    return _finish(out, "user_creator", as_of)


def feature_groups(
    state: dict[str, DataFrame], shows: DataFrame, users: DataFrame, as_of: dt.date
) -> dict[str, DataFrame]:
    """All five groups plus the show attributes they used, from one as-of's window state."""
    attributes = show_attributes(shows, as_of)
    us, ud, en = state["user_show"], state["user_day"], state["engagement"]
    return {
        "user": user_features(us, ud, en, attributes, users, as_of),
        "show": show_features(us, en, as_of),
        "creator": creator_features(us, en, attributes, as_of),
        "user_topic": user_topic_features(us, attributes, users, as_of),
        "user_creator": user_creator_features(us, en, attributes, as_of),
        SHOW_ATTRIBUTES: attributes,
    }
