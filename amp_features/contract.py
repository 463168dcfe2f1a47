"""Section 1 of the contract: the four raw inputs of the lake and the window arithmetic."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from pyspark.sql.types import (
    ArrayType,
    DataType,
    DateType,
    LongType,
    StringType,
    StructField,
    StructType,
    TimestampType,
)

WINDOW_DAYS = 60
HALF_LIFE_DAYS = 14
MAX_LISTEN_SECONDS = 86_400
LONG_SESSION_SECONDS = 300
EVENT_TYPES = ("like_show", "follow_creator", "enable_notification")
# The id column each event type needs (section 1).
EVENT_TYPE_NEEDS = {
    "like_show": "show_id",
    "follow_creator": "creator_id",
    "enable_notification": "show_id",
}


@dataclass(frozen=True)
class RawTable:
    name: str
    schema: StructType
    partition_by: str | None
    key: str  # the event id of a fact table, or the primary key of a dimension
    is_dimension: bool

    @property
    def columns(self) -> list[str]:
        return [f.name for f in self.schema.fields]

    def type_of(self, column: str) -> DataType:
        return self.schema[column].dataType


PLAYBACK = RawTable(
    "playback",
    StructType(
        [
            StructField("event_id", StringType()),
            StructField("user_id", StringType()),
            StructField("show_id", StringType()),
            StructField("started_at", TimestampType()),
            StructField("listen_seconds", LongType()),
            StructField("dt", DateType()),
        ]
    ),
    partition_by="dt",
    key="event_id",
    is_dimension=False,
)

ENGAGEMENT = RawTable(
    "engagement",
    StructType(
        [
            StructField("event_id", StringType()),
            StructField("user_id", StringType()),
            StructField("event_type", StringType()),
            StructField("show_id", StringType()),
            StructField("creator_id", StringType()),
            StructField("occurred_at", TimestampType()),
            StructField("dt", DateType()),
        ]
    ),
    partition_by="dt",
    key="event_id",
    is_dimension=False,
)

SHOWS = RawTable(
    "shows",
    StructType(
        [
            StructField("show_id", StringType()),
            StructField("creator_id", StringType()),
            StructField("topic", StringType()),
            StructField("scheduled_start", TimestampType()),
        ]
    ),
    partition_by=None,
    key="show_id",
    is_dimension=True,
)

USERS = RawTable(
    "users",
    StructType(
        [
            StructField("user_id", StringType()),
            StructField("signup_at", TimestampType()),
            StructField("country", StringType()),
            StructField("declared_topics", ArrayType(StringType())),
        ]
    ),
    partition_by=None,
    key="user_id",
    is_dimension=True,
)

RAW_TABLES: dict[str, RawTable] = {t.name: t for t in (PLAYBACK, ENGAGEMENT, SHOWS, USERS)}
FACT_TABLES = ("playback", "engagement")


def window_bounds(as_of: dt.date) -> tuple[dt.date, dt.date]:
    """The 60 UTC days [D-59, D] of the window, both ends included."""
    return as_of - dt.timedelta(days=WINDOW_DAYS - 1), as_of


def parse_date(value: str | dt.date) -> dt.date:
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(value)
    except ValueError as exc:
        from amp_features.errors import ConfigError

        raise ConfigError(f"not a date (YYYY-MM-DD): {value!r}") from exc
