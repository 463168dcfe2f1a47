"""The pure transforms behind the derived checks, and the suite files' sync with the registry."""

from __future__ import annotations

import datetime as dt
from typing import Any

from chispa import assert_df_equality

from amp_features.contract import ENGAGEMENT, PLAYBACK
from amp_features.quality import derive
from amp_features.quality.suites import FEATURE_RANGES, build_all, stale_suites
from amp_features.quality.validate import volume
from amp_features.registry import GROUPS, REGISTRY


def test_suite_files_match_the_registry_and_contract() -> None:
    assert stale_suites() == [], "run `amp-features quality suites --write`"
    assert set(FEATURE_RANGES) <= set(REGISTRY)
    suites = build_all()
    for group in GROUPS:
        columns = {e["kwargs"].get("column") for e in suites[f"output_{group}"]["expectations"]}
        missing = {f.name for f in REGISTRY.values() if f.group == group} - columns
        assert not missing, f"features without expectations in output_{group}: {missing}"


def test_affinity_sums_keep_users_with_any_affinity(spark: Any) -> None:
    df = spark.createDataFrame(
        [("u1", "a", 0.25), ("u1", "b", 0.75), ("u2", "a", 0.0), ("u3", "a", 0.9)],
        "user_id string, topic string, topic_affinity double",
    )
    expected = spark.createDataFrame(
        [("u1", 1.0), ("u3", 0.9)], "user_id string, affinity_sum double"
    )
    assert_df_equality(
        derive.affinity_sums(df, "user_id", "topic_affinity"),
        expected,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_row_checks_add_event_date_and_needed_id(spark: Any) -> None:
    at = dt.datetime(2026, 3, 10, 23, 59)
    eng = spark.createDataFrame(
        [
            ("e1", "u1", "like_show", "s1", None, at, dt.date(2026, 3, 10)),
            ("e2", "u1", "follow_creator", "s1", "", at, dt.date(2026, 3, 10)),
            ("e3", "u1", "follow_creator", None, "c1", at, dt.date(2026, 3, 10)),
        ],
        ENGAGEMENT.schema,
    )
    out = derive.with_row_checks(eng, ENGAGEMENT).select(
        "event_id", "_q_event_date", "_q_needed_id"
    )
    expected = spark.createDataFrame(
        [
            ("e1", dt.date(2026, 3, 10), "s1"),
            ("e2", dt.date(2026, 3, 10), None),
            ("e3", dt.date(2026, 3, 10), "c1"),
        ],
        "event_id string, _q_event_date date, _q_needed_id string",
    )
    assert_df_equality(out, expected, ignore_row_order=True, ignore_nullable=True)
    # A missing timestamp column yields null dates instead of an error (the schema check names it).
    play = spark.createDataFrame([("p1", dt.date(2026, 3, 10))], "event_id string, dt date")
    dates = derive.with_row_checks(play, PLAYBACK).select("_q_event_date")
    assert dates.where("_q_event_date is not null").isEmpty()


def test_volume_compares_the_day_with_the_previous_days() -> None:
    day = dt.date(2026, 3, 10)
    rows = [("2026-03-08", 100), ("2026-03-09", 300), ("2026-03-10", 50)]
    got = volume(rows, day, 7).to_dict("records")[0]
    assert (got["rows"], got["baseline"], got["ratio"]) == (50, 200.0, 0.25)
    first = volume([("2026-03-10", 5)], day, 7).to_dict("records")[0]
    assert first["ratio"] is None


def test_histogram_counts_bin_each_feature_over_its_range_at_both_as_ofs(spark: Any) -> None:
    d1, d2 = dt.date(2026, 5, 19), dt.date(2026, 5, 20)
    df = spark.createDataFrame(
        [
            (d2, 0, 1.0, None, True),
            (d2, 10, 1.0, None, False),
            (d2, 5, 1.0, None, True),
            (d1, 9, None, None, True),
            (dt.date(2026, 5, 1), 3, 7.0, None, True),  # another as_of: not counted
        ],
        "as_of date, n bigint, flat double, gone double, flag boolean",
    )
    profile = {
        r["as_of"]: r
        for r in derive.rows_and_nulls(df, [d1, d2], ["n", "flat", "gone", "flag"]).collect()
    }
    assert (profile[d2]["rows"], profile[d2]["nulls_flat"], profile[d1]["nulls_flat"]) == (3, 0, 1)
    assert (profile[d2]["min_n"], profile[d2]["max_n"], profile[d1]["max_n"]) == (0.0, 10.0, 9.0)
    assert profile[d2]["min_gone"] is None
    ranges = {"n": (0.0, 10.0), "flat": (1.0, 1.0), "flag": (0.0, 1.0)}  # "gone": all null
    got = {
        (r["feature"], r["as_of"], r["bin"]): (r["count"], r["lo"], r["hi"])
        for r in derive.histogram_counts(df, [d1, d2], ranges, 4).collect()
    }
    assert got == {
        ("n", d2, 0): (1, 0.0, 10.0),
        ("n", d2, 2): (1, 0.0, 10.0),  # 5 of 0..10 in 4 bins
        ("n", d2, 3): (1, 0.0, 10.0),  # the maximum falls in the last bin
        ("n", d1, 3): (1, 0.0, 10.0),
        ("flat", d2, 0): (3, 1.0, 1.0),  # a constant: one bin
        ("flag", d2, 0): (1, 0.0, 1.0),
        ("flag", d2, 3): (2, 0.0, 1.0),
        ("flag", d1, 3): (1, 0.0, 1.0),
    }
