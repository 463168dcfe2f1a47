"""Is a day's raw data there yet? A cheap listing check for the DAG's sensor.

It looks at storage only (a local folder, or ``s3a://`` through ``amp_features.files``, the one
non-Spark storage layer) and never starts Spark, so the sensor can poke every few minutes without
holding a JVM. It is a readiness hint: the ``validate_inputs`` stage afterwards does the
authoritative schema and content checks.

A day is ready when each event table (``playback``, ``engagement``) has a ``dt=YYYY-MM-DD``
partition folder holding at least one Parquet file, and each dimension table (``shows``,
``users``) holds data. Delta and plain Parquet tables look the same to this check (Delta
writes ``dt=`` partition folders too).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from amp_features import files
from amp_features.layout import Lake, join

EVENT_TABLES = ("playback", "engagement")
DIMENSION_TABLES = ("shows", "users")


@dataclass(frozen=True)
class Readiness:
    day: dt.date
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing


def missing_raw_partitions(lake: str, day: dt.date | str) -> Readiness:
    """Which of the day's raw inputs are not there yet (empty ``missing`` means ready)."""
    from amp_features.orchestration.plan import parse_day

    when = parse_day(day)
    tables = Lake(lake)
    missing: list[str] = []
    for name in (*EVENT_TABLES, *DIMENSION_TABLES):
        table = tables.table(name)
        if not files.exists(table):
            missing.append(f"{name}: no table at {table}")
            continue
        if name in EVENT_TABLES:
            folder = join(table, f"dt={when.isoformat()}")
            if not files.has_file(folder, ".parquet"):
                missing.append(f"{name}: no data in partition dt={when.isoformat()}")
        elif not files.has_file(table, ".parquet"):
            missing.append(f"{name}: table has no data files")
    return Readiness(when, tuple(missing))
