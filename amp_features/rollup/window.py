"""The 60-day window state, as pure transforms.

The window state of as-of D holds, per tile key, the sum of its tiles over [D-59, D] (only keys
with activity in the window) and, for (user, show) pairs, the last dt with a play. It is built
either by summing the window's 60 tiles (``rebase``) or, much cheaper, from the state of D-1 by
adding tile D and subtracting tile D-60 (``carry``). Every measure is an integer, so both give
identical rows.

Every state is hash-partitioned by ``user_id`` (the one shuffle of the sum does it): the user,
user x topic and user x creator features group and join the states by user, so a state kept in
memory with that partitioning feeds them without shuffling it again.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from amp_features.contract import window_bounds
from amp_features.tiles.daily import TILES

# The measure that is positive exactly when a key has activity in the window.
ALIVE = {"user_show": "plays", "user_day": "active_days", "engagement": "events"}
TRACKS_LAST_DT = {"user_show"}
USER = "user_id"  # the leading key of every state


def _by_user(parts: DataFrame) -> DataFrame:
    """``parts`` hash-partitioned by user into ``spark.sql.shuffle.partitions`` partitions: an
    explicit count, so that adaptive execution keeps every state's partitions aligned (joins of
    two states by user then need no shuffle)."""
    partitions = int(parts.sparkSession.conf.get("spark.sql.shuffle.partitions") or "200")
    return parts.repartition(partitions, USER)


def state_columns(name: str) -> list[str]:
    keys, measures = TILES[name]
    return [*keys, *measures, *(["last_dt"] if name in TRACKS_LAST_DT else [])]


def _q(name: str) -> str:
    """A column name quoted for a SQL expression."""
    return f"`{name}`"


# The state's expressions are SQL strings handed over in one call per operator: user_day alone
# has 49 measures, and building them as Column objects cost about 4 Py4J round trips each (half
# of a test example's 60 s went there), for the same plan.
def _sum_by_key(name: str, parts: DataFrame) -> DataFrame:
    keys, measures = TILES[name]
    types = {f.name: f.dataType.simpleString() for f in parts.schema.fields}  # one schema read
    aggs = [F.expr(f"sum({_q(m)}) AS {_q(m)}") for m in measures]
    if name in TRACKS_LAST_DT:
        aggs.append(F.expr("max(`last_dt`) AS `last_dt`"))
    # Grouping by (user_id, ...) over rows partitioned by user_id needs no further shuffle.
    summed = _by_user(parts).groupBy(*keys).agg(*aggs)
    # Sums widen (int to bigint, decimal(p, s) to decimal(p + 10, s)): back to the tile's types.
    return summed.where(f"{_q(ALIVE[name])} > 0").selectExpr(
        *(_q(k) for k in keys),
        *(f"CAST({_q(m)} AS {types[m]}) AS {_q(m)}" for m in measures),
        *(["`last_dt`"] if name in TRACKS_LAST_DT else []),
    )


def _as_state_rows(name: str, tile: DataFrame, sign: int) -> DataFrame:
    """Tile rows shaped like state rows; sign -1 turns a leaving day into a subtraction (unary
    minus keeps each measure's type)."""
    keys, measures = TILES[name]
    cols = [_q(k) for k in keys]
    cols += [_q(m) if sign > 0 else f"-{_q(m)} AS {_q(m)}" for m in measures]
    if name in TRACKS_LAST_DT:
        # A leaving day never sets last_dt: if the pair is still alive, its last play is later.
        cols.append("`dt` AS `last_dt`" if sign > 0 else "CAST(NULL AS DATE) AS `last_dt`")
    return tile.selectExpr(*cols)


def rebase(name: str, tiles: DataFrame, as_of: dt.date) -> DataFrame:
    """The window state of ``as_of`` from the tiles of its 60 days (other days are ignored)."""
    first, last = window_bounds(as_of)
    in_window = tiles.where(F.col("dt").between(F.lit(first), F.lit(last)))
    return _sum_by_key(name, _as_state_rows(name, in_window, +1))


def carry(name: str, previous: DataFrame, entering: DataFrame, leaving: DataFrame) -> DataFrame:
    """The window state of D from the state of D-1, the tile of D and the tile of D-60."""
    parts = (
        previous.select(*state_columns(name))
        .unionByName(_as_state_rows(name, entering, +1))
        .unionByName(_as_state_rows(name, leaving, -1))
    )
    return _sum_by_key(name, parts)
