"""Point-in-time training sets: each labelled example joined with what the model saw at that moment.

An example at UTC date d sees the ranking vector (contract section 5) of the snapshot
``as_of = d - 1 - lag_days``: features as of D are computed from events up to the end of day D, so
only snapshots strictly before the example's day are free of its own day's events. ``lag_days``
models serving delay on top (the daily run for D finishes on D+1, so a model serving during D+1
may still hold D-1's vector).

The snapshot is exactly that date, never an older one: a warehouse with a gap or examples newer
than the last run would otherwise silently get stale vectors. When it is absent, ``on_missing``
picks the behaviour: ``"error"`` raises naming the dates, ``"null"`` keeps the example with null
features and ``features_missing = true``.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from typing import Literal

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import DateType, TimestampNTZType, TimestampType

from amp_features.errors import ConfigError
from amp_features.registry import GROUPS, vector_columns
from amp_features.serve.vector import ranking_vectors
from amp_features.training.snapshots import (
    SnapshotMissingError,
    available_as_of,
    describe_dates,
    snapshot_tables,
)

OnMissing = Literal["error", "null"]
ON_MISSING: tuple[str, ...] = ("error", "null")

AS_OF_COL = "features_as_of"  # the snapshot used; null when none was usable
MISSING_COL = "features_missing"  # true when the features are null because no snapshot was usable
_SECONDS_PER_DAY = 86_400
# ranking_vectors adds these to its output; examples must not already carry them.
_RESERVED = ("as_of", "show_creator_id", "show_topic", AS_OF_COL, MISSING_COL)


def utc_date(examples: DataFrame, column: str) -> Column:
    """The UTC calendar date of ``column``, whatever the session time zone.

    A TIMESTAMP is an instant, so its date is taken from seconds since the epoch rather than
    ``to_date`` (which uses the session zone). A TIMESTAMP_NTZ is read as UTC wall-clock time and a
    DATE is taken as the example's UTC date.
    """
    dtype = examples.schema[column].dataType
    if isinstance(dtype, TimestampType):
        # Whole seconds keep the division far from floating-point trouble at midnight.
        days = F.floor(F.unix_seconds(F.col(column)) / _SECONDS_PER_DAY).cast("int")
        return F.date_from_unix_date(days)
    if isinstance(dtype, TimestampNTZType):
        return F.to_date(F.col(column))
    if isinstance(dtype, DateType):
        return F.col(column)
    raise ConfigError(
        f"examples column {column!r} must be a timestamp or a date, not {dtype.simpleString()}"
    )


def expected_as_of(examples: DataFrame, timestamp_col: str, lag_days: int) -> Column:
    """The snapshot an example may see: its UTC date minus one day minus ``lag_days``."""
    return F.date_sub(utc_date(examples, timestamp_col), 1 + lag_days)


def point_in_time_vectors(
    examples: DataFrame,
    groups: Mapping[str, DataFrame],
    show_attributes: DataFrame,
    snapshots: Sequence[dt.date],
    *,
    timestamp_col: str = "event_ts",
    lag_days: int = 0,
) -> DataFrame:
    """Pure transform: examples joined with the vector of their expected snapshot.

    ``snapshots`` are the as_of dates that exist (small). Examples whose expected as_of is not
    among them get null features, a null ``features_as_of`` and ``features_missing = true``.
    Output: the examples' columns, ``features_as_of``, ``features_missing``, the 21 features.
    """
    expected = expected_as_of(examples, timestamp_col, lag_days)
    usable = expected.isin(list(snapshots)) if snapshots else F.lit(False)
    pairs = examples.withColumn("as_of", F.when(usable, expected).cast("date"))
    vectors = ranking_vectors(pairs, groups, show_attributes, by=["as_of"])
    found = F.col("as_of").isNotNull()
    # ranking_vectors fills absent rows with the contract's defaults (0, false); an absent
    # snapshot is not an absent row, so its features become null instead.
    return vectors.select(
        *examples.columns,
        F.col("as_of").alias(AS_OF_COL),
        (~found).alias(MISSING_COL),
        *(F.when(found, F.col(name)).alias(name) for name in vector_columns()),
    )


def _check_examples(examples: DataFrame, timestamp_col: str) -> None:
    columns = set(examples.columns)
    missing = [c for c in ("user_id", "show_id", timestamp_col) if c not in columns]
    if missing:
        raise ConfigError(
            f"examples lack column(s) {', '.join(missing)} "
            f"(they have {', '.join(examples.columns)}); set timestamp_col= for another name"
        )
    clashes = [c for c in (*_RESERVED, *vector_columns()) if c in columns]
    if clashes:
        raise ConfigError(
            f"examples already have column(s) {', '.join(clashes)}, which the training set adds; "
            "rename or drop them first"
        )


def _missing_message(
    needed: Sequence[dt.date | None], available: Sequence[dt.date], lag_days: int, ts: str
) -> str:
    parts = []
    if None in needed:
        parts.append(f"some examples have a null {ts}, so no snapshot can be chosen")
    absent = sorted(d for d in needed if d is not None and d not in set(available))
    if absent:
        first, last = (available[0], available[-1]) if available else (None, None)

        def why(day: dt.date) -> str:
            if first is None or last is None:
                return "the warehouse has no snapshot at all"
            if day < first:
                return "no snapshot is that old"
            if day > last:
                return "newer than the latest snapshot"
            return "missing from the range"

        shown = [
            f"examples dated {d + dt.timedelta(days=1 + lag_days)} need as_of {d} ({why(d)})"
            for d in absent[:10]
        ]
        more = f"; and {len(absent) - 10} more" if len(absent) > 10 else ""
        parts.append(
            f"{len(absent)} needed snapshot(s) absent: {'; '.join(shown)}{more} "
            f"[lag_days={lag_days}]"
        )
    return (
        f"{'. '.join(parts)}. The warehouse has as_of {describe_dates(available)}. "
        "Run the pipeline for those dates, or pass on_missing='null' to keep these examples "
        f"with null features and {MISSING_COL} = true."
    )


def build_training_set(
    spark: SparkSession,
    examples: DataFrame,
    warehouse: str,
    *,
    timestamp_col: str = "event_ts",
    lag_days: int = 0,
    on_missing: OnMissing = "error",
) -> DataFrame:
    """Join labelled examples with the 21-feature ranking vector the model could have seen.

    ``examples`` need ``user_id``, ``show_id`` and ``timestamp_col`` (a timestamp or a date); every
    other column (labels, ids) is kept as is, row for row. Each example gets the snapshot
    ``as_of = UTC date - 1 - lag_days`` (never its own day, which would leak its own events),
    recorded in ``features_as_of``, plus ``features_missing``.

    When that snapshot is absent (before the first one, a gap, or after the latest one),
    ``on_missing="error"`` raises :class:`SnapshotMissingError` naming the dates, and
    ``on_missing="null"`` gives null features and ``features_missing = true``.

    Reads the examples once eagerly to collect their distinct dates (cache them if expensive);
    everything else is lazy Spark joins, pruned to the needed as_of partitions.
    """
    if on_missing not in ON_MISSING:
        raise ConfigError(f"on_missing must be one of {', '.join(ON_MISSING)}, not {on_missing!r}")
    if isinstance(lag_days, bool) or not isinstance(lag_days, int) or lag_days < 0:
        raise ConfigError(f"lag_days must be a whole number of days >= 0, not {lag_days!r}")
    _check_examples(examples, timestamp_col)

    available = available_as_of(spark, warehouse)
    wanted = examples.select(expected_as_of(examples, timestamp_col, lag_days).alias("d"))
    # small: one row per distinct example date.
    needed = [row["d"] for row in wanted.distinct().collect()]  # small: distinct dates
    usable = sorted(set(needed) & set(available))
    if on_missing == "error" and len(usable) != len(needed):
        raise SnapshotMissingError(_missing_message(needed, available, lag_days, timestamp_col))

    # Prune every table to the snapshots the examples use before the joins.
    tables = snapshot_tables(spark, warehouse, usable)
    return point_in_time_vectors(
        examples,
        {group: tables[group] for group in GROUPS},
        tables["show_attributes"],
        usable,
        timestamp_col=timestamp_col,
        lag_days=lag_days,
    )
