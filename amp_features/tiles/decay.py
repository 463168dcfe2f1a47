"""Exact, order-independent decayed sums for the affinities.

The weight of a day is ``w = 0.5 ** ((D - dt) / 14)``. An affinity is a ratio of two such sums
over the same user, so any factor common to both cancels: multiplying every weight by
``2 ** (D / 14)`` gives day weights ``2 ** (n / 14)`` (n = days since 1970-01-01) that do not
depend on D. That lets a window sum be carried from one day to the next by adding the new day
and subtracting the day that leaves, with no re-weighting.

To make those additions exact (so an incremental run and a full recompute give bit-identical
affinities), each day's contribution is a fixed-point integer (decimal(38,0)):

    units(L, n) = round(L * 2 ** ((n mod 70) / 14) * 2 ** 40)

and days are split into 70-day buckets (70 is a multiple of 14, so bucket b+1 weighs exactly
2 ** 5 times bucket b). A 60-day window spans at most two consecutive buckets, so two columns,
one for even and one for odd buckets, hold everything; a bucket has always fully left the window
before its column is reused. The window sum, up to the common factor, is
``newer * 32 + older``. Magnitudes stay below 2 ** 100, far inside decimal(38,0).

The units are what the daily tiles store, so the module lives with them; the roll-up imports
``window_units`` and ``ratio`` from here (imports go from ``rollup`` down to ``tiles``).
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import Column
from pyspark.sql import functions as F

BUCKET_DAYS = 70
BUCKET_RATIO = 32  # 2 ** (70 / 14)
FIXED_POINT = float(2**40)
UNITS_TYPE = "decimal(38,0)"
EVEN, ODD = "decay_even", "decay_odd"
EPOCH = dt.date(1970, 1, 1)


def epoch_day(col: str) -> Column:
    return F.datediff(F.col(col), F.lit(EPOCH))


def decay_units(seconds: Column, dt_col: str) -> Column:
    """Fixed-point decayed listen seconds of one day (see the module docstring)."""
    k = epoch_day(dt_col) % BUCKET_DAYS
    value = seconds.cast("double") * F.pow(F.lit(2.0), k / F.lit(14.0)) * F.lit(FIXED_POINT)
    return F.round(value).cast(UNITS_TYPE)


def is_even_bucket(dt_col: str) -> Column:
    return (F.floor(epoch_day(dt_col) / BUCKET_DAYS) % 2) == 0


def split_units(seconds: Column, dt_col: str) -> tuple[Column, Column]:
    """(even-bucket units, odd-bucket units) of a day's seconds; the other one is 0."""
    units = decay_units(seconds, dt_col)
    zero = F.lit(0).cast(UNITS_TYPE)
    even = F.when(is_even_bucket(dt_col), units).otherwise(zero)
    odd = F.when(is_even_bucket(dt_col), zero).otherwise(units)
    return even, odd


def window_units(as_of: dt.date) -> Column:
    """The decayed window sum (up to a factor shared by a whole as-of date) of a row holding
    ``decay_even`` and ``decay_odd``."""
    bucket = (as_of - EPOCH).days // BUCKET_DAYS
    newer, older = (EVEN, ODD) if bucket % 2 == 0 else (ODD, EVEN)
    return F.col(newer) * F.lit(BUCKET_RATIO) + F.col(older)


def ratio(numerator: Column, denominator: Column) -> Column:
    """numerator / denominator as a double, 0.0 when either is 0 (contract section 4, #19)."""
    return (
        F.when((numerator == 0) | (denominator == 0) | denominator.isNull(), F.lit(0.0))
        .otherwise(numerator.cast("double") / denominator.cast("double"))
        .cast("double")
    )
