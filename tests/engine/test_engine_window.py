"""Property: carrying the window state day by day equals summing the window's tiles, exactly
(integers and fixed-point decay units), so incremental and full runs give identical rows."""

from __future__ import annotations

import datetime as dt
from collections import Counter

from engine_testdata import D, engage, play
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from amp_features.contract import RAW_TABLES
from amp_features.rollup.window import carry, rebase, state_columns
from amp_features.tiles.daily import TILES, build_tiles

START = D - dt.timedelta(days=66)

events = st.lists(
    st.tuples(
        st.sampled_from(["u1", "u2", "u3"]),
        st.sampled_from(["s1", "s2", "s3"]),
        st.integers(min_value=0, max_value=70),  # day offset from START
        st.integers(min_value=0, max_value=7200),
        st.integers(min_value=0, max_value=23),
        st.sampled_from(["like_show", "follow_creator", "enable_notification"]),
    ),
    min_size=1,
    max_size=40,
)
# Each example holds several independent "worlds" (their user and show ids prefixed apart, so no
# state row mixes two of them): the cost of an example is planning its one Spark job, not its
# rows, so a batch of worlds tries many event lists for the price of one.
worlds = st.lists(events, min_size=1, max_size=8)


def _rows(name: str, df: DataFrame, label: str) -> DataFrame:
    """A state as (label, one JSON string per row), so that states of every tile fit one union."""
    return df.select(
        F.lit(label).alias("label"), F.to_json(F.struct(*state_columns(name))).alias("row")
    )


def _move(name: str, tile: DataFrame, previous: DataFrame, day: dt.date) -> DataFrame:
    """The state of ``day`` carried from ``previous`` (the state of the day before)."""
    leaving = day - dt.timedelta(days=60)
    return carry(
        name,
        previous,
        tile.where(F.col("dt") == F.lit(day)),
        tile.where(F.col("dt") == F.lit(leaving)),
    )


# Examples come from the profile (tests/engine/conftest.py): 5 in `make test`, 30 in
# `make test-all`, 100 with HYPOTHESIS_PROFILE=slow, each with up to 8 worlds. Each example is one
# Spark job (all worlds, tiles and steps in one union); its cost is planning that union.
@settings(deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(batch=worlds)
def test_carry_equals_rebase(spark, batch):
    plays, engs = [], []
    for w, rows in enumerate(batch):
        for i, (user, show, offset, seconds, hour, etype) in enumerate(rows):
            day = START + dt.timedelta(days=offset)
            user, show = f"w{w}{user}", f"w{w}{show}"
            plays.append(play(f"w{w}p{i}", user, show, day, seconds, hh=hour))
            target = {"show": show} if etype != "follow_creator" else {"creator": "c" + show}
            engs.append(engage(f"w{w}e{i}", user, etype, day, hh=hour, **target))
    built = build_tiles(
        spark.createDataFrame(plays, RAW_TABLES["playback"].schema),
        spark.createDataFrame(engs, RAW_TABLES["engagement"].schema),
    )
    # Each tile is read by every rebase and carry below: materialised once, it is one leaf of
    # the union's plan instead of a copy of the tile build in each of about 80 branches.
    tiles = {name: tile.localCheckpoint() for name, tile in built.items()}
    first = D - dt.timedelta(days=3)
    parts = []
    for name in TILES:
        tile = tiles[name]
        state = rebase(name, tile, first)
        for step in range(1, 4):
            day = first + dt.timedelta(days=step)
            rebased = rebase(name, tile, day)
            # One step from the exact previous state, and the state carried all the way.
            state = _move(name, tile, state, day)
            one_step = _move(name, tile, rebase(name, tile, day - dt.timedelta(days=1)), day)
            parts += [
                _rows(name, rebased, f"{name} {day} rebase"),
                _rows(name, one_step, f"{name} {day} one step"),
                _rows(name, state, f"{name} {day} carried"),
            ]
    union = parts[0]
    for part in parts[1:]:
        union = union.unionByName(part)
    seen: dict[str, Counter[str]] = {}
    for r in union.collect():  # small: a few hundred rows at most
        seen.setdefault(r["label"], Counter())[r["row"]] += 1
    for name in TILES:
        for step in range(1, 4):
            day = first + dt.timedelta(days=step)
            want = seen.get(f"{name} {day} rebase", Counter())
            for how in ("one step", "carried"):
                assert seen.get(f"{name} {day} {how}", Counter()) == want, (name, day, how)
