"""Contract section 2: every quarantine rule, the duplicate tie-breaks, and the row accounting."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality
from engine_testdata import D, engage, play, ts

from amp_features.contract import RAW_TABLES
from amp_features.ingest.validate import (
    dedup_engagement,
    dedup_playback,
    dedup_playback_counted,
    flag_engagement,
    flag_playback,
    input_counts,
    quarantine_rows,
    rule_names,
    valid_rows,
)

NEXT = D + dt.timedelta(days=1)


def rules_of(df):
    return {r["event_id"]: r["_rule"] for r in df.select("event_id", "_rule").collect()}


def test_playback_rules(spark):
    rows = [
        play("ok", "u", "s", D, 600),
        play("ok_max", "u", "s", D, 86400),
        play("ok_zero", "u", "s", D, 0, hh=0),
        play("ok_late", "u", "s", D, 10, hh=23, mm=59, ss=59),
        play("user_null", None, "s", D),
        play("user_empty", "", "s", D),
        play("user_blank", "  ", "s", D),
        play("show_null", "u", None, D),
        play("show_empty", "u", "", D),
        ("started_null", "u", "s", None, 10, D),
        play("seconds_null", "u", "s", D, None),
        play("seconds_negative", "u", "s", D, -1),
        play("seconds_big", "u", "s", D, 86401),
        play("dt_next", "u", "s", D, 10, hh=23, mm=59, ss=59, dt_override=NEXT),
        play("dt_prev", "u", "s", NEXT, 10, hh=0, dt_override=D),
        ("dt_null", "u", "s", ts(D), 10, None),
        play("two_rules", None, None, D, -5),  # first rule in contract order wins
    ]
    df = spark.createDataFrame(rows, RAW_TABLES["playback"].schema)
    got = rules_of(flag_playback(df))
    assert got == {
        "ok": None,
        "ok_max": None,
        "ok_zero": None,
        "ok_late": None,
        "user_null": "user_id_missing",
        "user_empty": "user_id_missing",
        "user_blank": "user_id_missing",
        "show_null": "show_id_missing",
        "show_empty": "show_id_missing",
        "started_null": "started_at_missing",
        "seconds_null": "listen_seconds_missing",
        "seconds_negative": "listen_seconds_negative",
        "seconds_big": "listen_seconds_above_86400",
        "dt_next": "dt_not_utc_date_of_started_at",
        "dt_prev": "dt_not_utc_date_of_started_at",
        "dt_null": "dt_not_utc_date_of_started_at",
        "two_rules": "user_id_missing",
    }
    assert set(got.values()) - {None} == set(rule_names("playback"))


def test_engagement_rules(spark):
    rows = [
        engage("like", "u", "like_show", D, show="s"),
        engage("follow", "u", "follow_creator", D, creator="c"),
        engage("notif", "u", "enable_notification", D, show="s", hh=0),
        engage("user_null", None, "like_show", D, show="s"),
        engage("user_empty", "", "like_show", D, show="s"),
        ("occurred_null", "u", "like_show", "s", None, None, D),
        engage("dt_mismatch", "u", "like_show", D, show="s", dt_override=NEXT),
        engage("type_unknown", "u", "share_show", D, show="s"),
        engage("type_null", "u", None, D, show="s"),
        engage("like_no_show", "u", "like_show", D, creator="c"),
        engage("follow_no_creator", "u", "follow_creator", D, show="s"),
        engage("follow_empty_creator", "u", "follow_creator", D, creator=""),
        engage("notif_no_show", "u", "enable_notification", D, show=""),
    ]
    df = spark.createDataFrame(rows, RAW_TABLES["engagement"].schema)
    got = rules_of(flag_engagement(df))
    assert got == {
        "like": None,
        "follow": None,
        "notif": None,
        "user_null": "user_id_missing",
        "user_empty": "user_id_missing",
        "occurred_null": "occurred_at_missing",
        "dt_mismatch": "dt_not_utc_date_of_occurred_at",
        "type_unknown": "event_type_unknown",
        "type_null": "event_type_unknown",
        "like_no_show": "show_id_missing_for_like_show",
        "follow_no_creator": "creator_id_missing_for_follow_creator",
        "follow_empty_creator": "creator_id_missing_for_follow_creator",
        "notif_no_show": "show_id_missing_for_enable_notification",
    }
    assert set(got.values()) - {None} == set(rule_names("engagement"))


def test_quarantine_keeps_row_and_rule(spark):
    df = spark.createDataFrame(
        [play("bad", "", "s", D), play("ok", "u", "s", D)], RAW_TABLES["playback"].schema
    )
    q = quarantine_rows(flag_playback(df))
    assert q.columns == [*RAW_TABLES["playback"].columns, "rule"]
    assert [(r["event_id"], r["rule"]) for r in q.collect()] == [("bad", "user_id_missing")]


def test_playback_duplicates_tie_breaks(spark):
    schema = RAW_TABLES["playback"].schema
    rows = [
        # largest listen_seconds wins
        play("p1", "u1", "s1", D, 100),
        play("p1", "u1", "s1", D, 300, hh=14),
        # equal seconds: earliest started_at
        play("p2", "u1", "s2", D, 50, hh=10),
        play("p2", "u1", "s2", D, 50, hh=9),
        # equal seconds and time: smallest show_id, then smallest user_id
        play("p3", "u2", "s9", D, 50),
        play("p3", "u2", "s3", D, 50),
        play("p3", "u1", "s3", D, 50),
        # same event_id on another dt is another event (re-deliveries land in the same dt)
        play("p1", "u1", "s1", NEXT, 20),
        # exact re-delivery
        play("p4", "u3", "s4", D, 5),
        play("p4", "u3", "s4", D, 5),
    ]
    got = dedup_playback(valid_rows(flag_playback(spark.createDataFrame(rows, schema))))
    want = spark.createDataFrame(
        [
            play("p1", "u1", "s1", D, 300, hh=14),
            play("p2", "u1", "s2", D, 50, hh=9),
            play("p3", "u1", "s3", D, 50),
            play("p1", "u1", "s1", NEXT, 20),
            play("p4", "u3", "s4", D, 5),
        ],
        schema,
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_engagement_duplicates_tie_breaks_nulls_first(spark):
    schema = RAW_TABLES["engagement"].schema
    rows = [
        engage("e1", "u1", "like_show", D, show="s2", hh=9),
        engage("e1", "u1", "like_show", D, show="s1", hh=10),  # later: loses
        # same time: smallest event_type
        engage("e2", "u1", "like_show", D, show="s1"),
        engage("e2", "u1", "enable_notification", D, show="s1"),
        # same time and type: show_id null sorts first
        engage("e3", "u1", "follow_creator", D, show="s1", creator="c1"),
        engage("e3", "u1", "follow_creator", D, show=None, creator="c2"),
    ]
    got = dedup_engagement(valid_rows(flag_engagement(spark.createDataFrame(rows, schema))))
    want = spark.createDataFrame(
        [
            engage("e1", "u1", "like_show", D, show="s2", hh=9),
            engage("e2", "u1", "enable_notification", D, show="s1"),
            engage("e3", "u1", "follow_creator", D, show=None, creator="c2"),
        ],
        schema,
    )
    assert_df_equality(got, want, ignore_row_order=True, ignore_nullable=True)


def test_rows_add_up_per_dt(spark):
    rows = [
        play("p1", "u1", "s1", D, 10),
        play("p1", "u1", "s1", D, 20),
        play("p1", "u1", "s1", D, 30),
        play("p2", "", "s1", D, 10),
        play("p3", "u1", "s1", NEXT, 10),
        (None, "u1", "s1", ts(NEXT), 10, NEXT),  # no event_id: its own event
        (None, "u1", "s1", ts(NEXT), 10, NEXT),
    ]
    flagged = flag_playback(spark.createDataFrame(rows, RAW_TABLES["playback"].schema))
    kept = dedup_playback_counted(valid_rows(flagged))
    counts = {r["dt"]: r for r in input_counts(flagged, kept, "playback").collect()}
    d, n = counts[D], counts[NEXT]
    assert (d.rows_read, d.rows_kept, d.duplicates_dropped, d.rows_quarantined) == (4, 1, 2, 1)
    assert (n.rows_read, n.rows_kept, n.duplicates_dropped, n.rows_quarantined) == (3, 3, 0, 0)
