"""Exploration helpers on the hand-written warehouse of conftest.py."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from matplotlib.figure import Figure

from amp_features.explore import (
    describe,
    feature_summary,
    load_group,
    load_vectors,
    plot_daily_mean,
    plot_distribution,
)
from amp_features.registry import FEATURES, table_columns, vector_columns
from amp_features.training import SnapshotMissingError

D = dt.date


def test_describe_is_the_registry():
    catalog = describe()
    assert list(catalog["feature"]) == [f.name for f in FEATURES]
    assert list(catalog["number"]) == list(range(1, 22))
    show = describe("show")
    assert list(show["feature"]) == [
        "show_plays_60d",
        "show_unique_listeners_60d",
        "show_likes_60d",
        "show_avg_listen_minutes_60d",
    ]
    assert set(show["keys"]) == {"show_id"}


def test_load_group_for_a_date(spark, pit_warehouse):
    users = load_group(spark, pit_warehouse, "user", "2026-03-05")
    assert users.columns == table_columns("user")
    # small: two hand-written rows
    assert sorted((r["user_id"], r["sessions_60d"]) for r in users.collect()) == [
        ("u1", 5),
        ("u2", 0),
    ]
    with pytest.raises(SnapshotMissingError, match=r"no 'show' snapshot as_of 2026-03-04"):
        load_group(spark, pit_warehouse, "show", D(2026, 3, 4))
    # 03-06 has rows in the user table but no commit: readers never see it.
    with pytest.raises(SnapshotMissingError, match=r"no 'user' snapshot as_of 2026-03-06"):
        load_group(spark, pit_warehouse, "user", "2026-03-06")


def test_load_vectors_for_pairs(spark, pit_warehouse):
    vectors = load_vectors(spark, pit_warehouse, "2026-03-03", [("u1", "s1"), ("u2", "s9")])
    assert vectors.columns[-21:] == vector_columns()
    # small: two pairs
    rows = {r["user_id"]: r for r in vectors.collect()}
    assert rows["u1"]["sessions_60d"] == 3 and rows["u1"]["show_plays_60d"] == 9
    assert rows["u1"]["show_topic"] == "music" and rows["u1"]["topic_declared"] is False
    assert rows["u2"]["show_plays_60d"] == 0 and rows["u2"]["show_creator_id"] is None
    # 03-06 exists only in the user table: not a complete snapshot for a ranking vector.
    with pytest.raises(SnapshotMissingError, match=r"no complete snapshot as_of 2026-03-06"):
        load_vectors(spark, pit_warehouse, "2026-03-06", [("u1", "s1")])


def test_feature_summary_shows_drift(spark, pit_warehouse):
    summary = feature_summary(
        spark,
        pit_warehouse,
        "2026-03-01",
        "2026-03-03",
        features=["sessions_60d", "topic_declared"],
    ).select(
        "as_of", "number", "feature", "group", "rows", "nulls", "mean", "min", "max", "mean_change"
    )
    # sessions_60d: u1 has n sessions on day n, u2 none. topic_declared: u1's flips, u2's is true.
    expected = spark.createDataFrame(
        [
            (D(2026, 3, 1), 1, "sessions_60d", "user", 2, 0, 0.5, 0.0, 1.0, 0.0),
            (D(2026, 3, 2), 1, "sessions_60d", "user", 2, 0, 1.0, 0.0, 2.0, 0.5),
            (D(2026, 3, 3), 1, "sessions_60d", "user", 2, 0, 1.5, 0.0, 3.0, 1.0),
            (D(2026, 3, 1), 20, "topic_declared", "user_topic", 2, 0, 0.5, 0.0, 1.0, 0.0),
            (D(2026, 3, 2), 20, "topic_declared", "user_topic", 2, 0, 1.0, 1.0, 1.0, 0.5),
            (D(2026, 3, 3), 20, "topic_declared", "user_topic", 2, 0, 0.5, 0.0, 1.0, 0.0),
        ],
        "as_of date, number int, feature string, group string, rows bigint, nulls bigint, "
        "mean double, min double, max double, mean_change double",
    )
    assert_df_equality(summary, expected, ignore_row_order=True, ignore_nullable=True)


def test_feature_summary_names_an_empty_range(spark, pit_warehouse):
    with pytest.raises(SnapshotMissingError, match=r"between 2026-02-01 and 2026-02-10"):
        feature_summary(spark, pit_warehouse, "2026-02-01", "2026-02-10", features=["likes_60d"])


def test_plots_return_figures(spark, pit_warehouse):
    fig = plot_distribution(spark, pit_warehouse, "sessions_60d", "2026-03-01", "2026-03-05")
    assert isinstance(fig, Figure)
    left, right = fig.axes
    assert left.get_title().startswith("as_of 2026-03-01") and "rows 2" in left.get_title()
    assert right.get_title().startswith("as_of 2026-03-05")
    # Whole numbers 0..5 get one bar each; each panel has 2 rows in its bars.
    assert sum(p.get_height() for p in left.patches) == 2
    assert sum(p.get_height() for p in right.patches) == 2
    # ...centred on the value: on 03-05 u2 has 0 sessions and u1 has 5.
    tall = {p.get_x() + p.get_width() / 2: p.get_height() for p in right.patches if p.get_height()}
    assert tall == pytest.approx({0.0: 1, 5.0: 1})

    fig = plot_distribution(spark, pit_warehouse, "topic_declared", "2026-03-01", "2026-03-02")
    left, right = fig.axes
    assert [t.get_text() for t in left.get_xticklabels()] == ["false", "true"]
    assert [p.get_height() for p in left.patches] == [1, 1]  # u1 false, u2 true
    assert [p.get_height() for p in right.patches] == [2]  # both true on 03-02

    fig = plot_daily_mean(spark, pit_warehouse, "listen_minutes_60d", "2026-03-01", "2026-03-31")
    (ax,) = fig.axes
    (line,) = ax.get_lines()
    # Committed dates only: 03-06's uncommitted user rows (mean 30.0) are not shown.
    assert list(line.get_ydata()) == [5.0, 10.0, 15.0, 25.0]

    with pytest.raises(SnapshotMissingError, match=r"as_of 2026-03-04"):
        plot_distribution(spark, pit_warehouse, "show_plays_60d", "2026-03-01", "2026-03-04")
