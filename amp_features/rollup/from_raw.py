"""The whole computation as one pure function: raw DataFrames in, feature DataFrames out.

This is the full path without any I/O: ``pipeline.api.compute_features`` (notebooks) runs it on
the lake's tables, and the per-feature tests run it on hand-written frames: validate, deduplicate, build the daily tiles of the window's days, sum
them into the window state, roll up the five groups.
"""

from __future__ import annotations

import datetime as dt

from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from amp_features.contract import window_bounds
from amp_features.ingest.validate import (
    dedup_engagement,
    dedup_playback,
    flag_engagement,
    flag_playback,
    valid_rows,
)
from amp_features.rollup.features import feature_groups
from amp_features.rollup.window import rebase
from amp_features.tiles.daily import TILES, build_tiles


def window_state_from_raw(
    playback: DataFrame, engagement: DataFrame, as_of: dt.date
) -> dict[str, DataFrame]:
    """The window state of ``as_of`` from raw fact rows (any days; others are ignored)."""
    first, last = window_bounds(as_of)

    def in_window(df: DataFrame) -> DataFrame:
        return df.where(F.col("dt").between(F.lit(first), F.lit(last)))

    pb = dedup_playback(valid_rows(flag_playback(in_window(playback))))
    en = dedup_engagement(valid_rows(flag_engagement(in_window(engagement))))
    tiles = build_tiles(pb, en)
    return {name: rebase(name, tiles[name], as_of) for name in TILES}


def features_from_raw(
    playback: DataFrame,
    engagement: DataFrame,
    shows: DataFrame,
    users: DataFrame,
    as_of: dt.date,
) -> dict[str, DataFrame]:
    """The five feature groups (and show attributes) of ``as_of`` from raw DataFrames."""
    state = window_state_from_raw(playback, engagement, as_of)
    return feature_groups(state, shows, users, as_of)
