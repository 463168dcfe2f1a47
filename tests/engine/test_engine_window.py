"""Property: carrying the window state day by day equals summing the window's tiles, exactly
(integers and fixed-point decay units), so incremental and full runs give identical rows."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from engine_testdata import D, engage, play
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from amp_features.contract import RAW_TABLES
from amp_features.rollup.window import carry, rebase
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


@settings(
    max_examples=2, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(rows=events)
def test_carry_equals_rebase(spark, rows):
    plays, engs = [], []
    for i, (user, show, offset, seconds, hour, etype) in enumerate(rows):
        day = START + dt.timedelta(days=offset)
        plays.append(play(f"p{i}", user, show, day, seconds, hh=hour))
        target = {"show": show} if etype != "follow_creator" else {"creator": "c" + show}
        engs.append(engage(f"e{i}", user, etype, day, hh=hour, **target))
    tiles = build_tiles(
        spark.createDataFrame(plays, RAW_TABLES["playback"].schema),
        spark.createDataFrame(engs, RAW_TABLES["engagement"].schema),
    )
    tiles = {name: df.cache() for name, df in tiles.items()}
    first = D - dt.timedelta(days=3)
    for name in TILES:
        state = rebase(name, tiles[name], first)
        for step in range(1, 4):
            day = first + dt.timedelta(days=step)
            state = carry(
                name,
                state,
                tiles[name].where(f"dt = '{day}'"),
                tiles[name].where(f"dt = '{day - dt.timedelta(days=60)}'"),
            ).localCheckpoint()
            assert_df_equality(
                state, rebase(name, tiles[name], day), ignore_row_order=True, ignore_nullable=True
            )
