"""Engine test data: the as-of date, row builders and tiny hand-written lakes (Delta or Parquet).

A module of its own name (not ``conftest``), so that test files import it unambiguously
when several test folders run in one pytest call."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from pathlib import Path
from typing import Any

from amp_features.contract import RAW_TABLES

D = dt.date(2024, 3, 31)  # the as-of date most engine tests use


def ts(day: dt.date, hh: int = 12, mm: int = 0, ss: int = 0) -> dt.datetime:
    return dt.datetime(day.year, day.month, day.day, hh, mm, ss)


def days_before(n: int, base: dt.date = D) -> dt.date:
    return base - dt.timedelta(days=n)


def play(
    event_id: str,
    user: str | None,
    show: str | None,
    day: dt.date,
    seconds: int | None = 600,
    hh: int = 12,
    mm: int = 0,
    ss: int = 0,
    dt_override: dt.date | None = None,
) -> tuple[Any, ...]:
    started = ts(day, hh, mm, ss)
    return (event_id, user, show, started, seconds, dt_override or day)


def engage(
    event_id: str,
    user: str | None,
    event_type: str | None,
    day: dt.date,
    show: str | None = None,
    creator: str | None = None,
    hh: int = 12,
    dt_override: dt.date | None = None,
) -> tuple[Any, ...]:
    return (event_id, user, event_type, show, creator, ts(day, hh), dt_override or day)


def write_lake(
    spark: Any,
    root: Path,
    *,
    playback: Sequence[tuple[Any, ...]] = (),
    engagement: Sequence[tuple[Any, ...]] = (),
    shows: Sequence[tuple[Any, ...]] = (),
    users: Sequence[tuple[Any, ...]] = (),
    fmt: str = "delta",
    mode: str = "overwrite",
) -> str:
    data = {"playback": playback, "engagement": engagement, "shows": shows, "users": users}
    for name, rows in data.items():
        table = RAW_TABLES[name]
        df = spark.createDataFrame(list(rows), table.schema)
        writer = df.write.format(fmt).mode(mode)
        if table.partition_by:
            writer = writer.partitionBy(table.partition_by)
        writer.save(str(root / name))
    return str(root)


SHOWS = [
    ("s1", "c1", "pop", ts(D)),
    ("s2", "c1", "sports", ts(D)),
    ("s3", "c2", "pop", ts(D)),
    ("s4", "", "news", ts(D)),  # unknown creator
    ("s5", "c3", None, ts(D)),  # unknown topic
]
USERS = [
    ("u1", ts(dt.date(2024, 1, 1), 23, 59, 59), "US", ["pop", "news"]),
    ("u2", ts(dt.date(2024, 3, 30)), "GB", []),
    ("u9", ts(dt.date(2023, 3, 31)), "FR", ["sports", "sports", "", None]),  # declared only
]
