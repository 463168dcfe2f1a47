"""Daily tiles: the compact state of one ``dt``, built from that day's valid, deduplicated events.

Every tile is keyed by ``dt`` plus its entity key, and every measure is a count or a sum, so a
window of days is the sum of its tiles and a window can move by one day by adding the new tile
and subtracting the one that leaves (see ``amp_features.rollup.window``).

Tiles keep ``show_id``, not the show's creator or topic: those come from the ``shows``
dimension at roll-up time, so a show that appears in ``shows`` late, or changes creator, is
attributed the same way by an incremental run and by a full recompute.
"""

from __future__ import annotations

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from amp_features.contract import LONG_SESSION_SECONDS
from amp_features.tiles.decay import EVEN, ODD, split_units

HOURS = range(24)
HOUR_SECONDS = [f"hour_seconds_{h:02d}" for h in HOURS]
HOUR_PLAYS = [f"hour_plays_{h:02d}" for h in HOURS]

USER_SHOW_MEASURES = ["plays", "seconds", "long_plays", EVEN, ODD]
USER_DAY_MEASURES = ["active_days", *HOUR_SECONDS, *HOUR_PLAYS]
ENGAGEMENT_MEASURES = ["events"]

TILES: dict[str, tuple[list[str], list[str]]] = {
    # name: (keys, measures)
    "user_show": (["user_id", "show_id"], USER_SHOW_MEASURES),
    "user_day": (["user_id"], USER_DAY_MEASURES),
    "engagement": (["user_id", "event_type", "target_id"], ENGAGEMENT_MEASURES),
}
TILE_SOURCES = {"user_show": "playback", "user_day": "playback", "engagement": "engagement"}


def user_show_tile(playback: DataFrame) -> DataFrame:
    """Per (dt, user, show): plays, listen seconds, long plays and decayed units."""
    daily = playback.groupBy("dt", "user_id", "show_id").agg(
        F.count(F.lit(1)).alias("plays"),
        F.sum("listen_seconds").alias("seconds"),
        F.count(F.when(F.col("listen_seconds") >= LONG_SESSION_SECONDS, 1)).alias("long_plays"),
    )
    even, odd = split_units(F.col("seconds"), "dt")
    return daily.select(
        "dt",
        "user_id",
        "show_id",
        F.col("plays").cast("bigint").alias("plays"),
        F.col("seconds").cast("bigint").alias("seconds"),
        F.col("long_plays").cast("bigint").alias("long_plays"),
        even.alias(EVEN),
        odd.alias(ODD),
    )


def user_day_tile(playback: DataFrame) -> DataFrame:
    """Per (dt, user): one active day, and listen seconds and plays per UTC hour of started_at."""
    hour = F.hour("started_at")
    return (
        playback.groupBy("dt", "user_id")
        .agg(
            F.lit(1).alias("active_days"),
            *(
                F.sum(F.when(hour == h, F.col("listen_seconds")).otherwise(0))
                .cast("bigint")
                .alias(c)
                for h, c in zip(HOURS, HOUR_SECONDS, strict=True)
            ),
            *(
                F.count(F.when(hour == h, 1)).cast("bigint").alias(c)
                for h, c in zip(HOURS, HOUR_PLAYS, strict=True)
            ),
        )
        .select("dt", "user_id", F.col("active_days").cast("bigint"), *HOUR_SECONDS, *HOUR_PLAYS)
    )


def engagement_tile(engagement: DataFrame) -> DataFrame:
    """Per (dt, user, event_type, target): event count; the target is the id the type needs."""
    target = F.when(F.col("event_type") == "follow_creator", F.col("creator_id")).otherwise(
        F.col("show_id")
    )
    return (
        engagement.select("dt", "user_id", "event_type", target.alias("target_id"))
        .groupBy("dt", "user_id", "event_type", "target_id")
        .agg(F.count(F.lit(1)).cast("bigint").alias("events"))
        .select("dt", "user_id", "event_type", "target_id", "events")
    )


def build_tiles(playback: DataFrame, engagement: DataFrame) -> dict[str, DataFrame]:
    """All tiles of the days present in the (valid, deduplicated) inputs."""
    return {
        "user_show": user_show_tile(playback),
        "user_day": user_day_tile(playback),
        "engagement": engagement_tile(engagement),
    }
