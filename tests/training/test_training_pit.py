"""build_training_set: point-in-time correctness, lag, missing snapshots, and the same numbers as the
one ranking-vector join."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_df_equality
from handmade import append_hand_commit
from pyspark.sql import functions as F

from amp_features import build_training_set
from amp_features.errors import ConfigError
from amp_features.registry import vector_columns
from amp_features.serve.vector import ranking_vectors
from amp_features.training import AS_OF_COL, MISSING_COL, SnapshotMissingError, available_as_of
from amp_features.training.snapshots import read_group, read_show_attributes

UTC = dt.UTC


def ts(day: int, hour: int = 12, minute: int = 0, second: int = 0, micro: int = 0) -> dt.datetime:
    return dt.datetime(2026, 3, day, hour, minute, second, micro, tzinfo=UTC)


def by_id(df):  # small: a handful of hand-written examples
    return {r["example_id"]: r for r in df.collect()}


def test_available_snapshots_are_the_committed_ones(spark, pit_warehouse):
    # 03-06 is only in the user table and uncommitted, 03-04 nowhere.
    days = [dt.date(2026, 3, d) for d in (1, 2, 3, 5)]
    assert available_as_of(spark, pit_warehouse) == days


def test_readers_see_the_commit_not_later_writes(spark, pit_warehouse, examples_of, tmp_path):
    """A write to a committed date's partition (a re-run that died before its commit, or a
    manual write) changes nothing for training or explore until a new commit pins it."""
    import shutil

    from amp_features.explore import load_group
    from amp_features.layout import Warehouse
    from amp_features.offline import snapshots

    wh = str(tmp_path / "wh")
    shutil.copytree(pit_warehouse, wh)
    day = dt.date(2026, 3, 3)
    examples = examples_of([("e", "u1", "s1", ts(4), 1)])
    before = build_training_set(spark, examples, wh).first()
    path = Warehouse(wh).feature_table("user")
    rewritten = (
        spark.read.format("delta")
        .load(path)
        .where(F.col("as_of") == F.lit(day))
        .withColumn("sessions_60d", F.lit(1000).cast("bigint"))
        .localCheckpoint()  # read fully before the same table is overwritten
    )
    rewritten.write.format("delta").mode("overwrite").option(
        "replaceWhere", f"as_of = '{day}'"
    ).save(path)
    assert build_training_set(spark, examples, wh).first() == before
    assert before["sessions_60d"] == 3
    assert {r["sessions_60d"] for r in load_group(spark, wh, "user", day).collect()} == {3, 0}
    # A commit that pins the new version is what makes it visible.
    old = snapshots.resolve(spark, wh, day)
    versions = {**old.versions, "user": old.versions["user"] + 1}
    append_hand_commit(spark, wh, day, "again", versions)
    assert build_training_set(spark, examples, wh).first()["sessions_60d"] == 1000


def test_example_never_sees_features_of_its_own_day(spark, pit_warehouse, examples_of):
    examples = examples_of(
        [
            # Last microsecond of 03-02 and first of 03-03: one day apart in what they may see.
            ("late", "u1", "s1", ts(2, 23, 59, 59, 999_999), 1),
            ("midnight", "u1", "s1", ts(3, 0), 0),
            ("evening", "u1", "s1", ts(3, 22), 1),
            ("orphan", "u1", "s3", ts(4), 1),  # s3 has show features but no attributes
            ("stranger", "u9", "s9", ts(4), 0),  # nobody has rows
        ]
    )
    out = by_id(build_training_set(spark, examples, pit_warehouse))
    # Snapshot 03-03 counts the session u1 played on 03-03; an example on 03-03 must not see it.
    assert out["midnight"]["sessions_60d"] == 2
    assert out["evening"]["sessions_60d"] == 2
    assert out["late"]["sessions_60d"] == 1
    assert out["midnight"][AS_OF_COL] == dt.date(2026, 3, 2)
    assert out["late"][AS_OF_COL] == dt.date(2026, 3, 1)
    assert not any(r[MISSING_COL] for r in out.values())
    # Labels and ids pass through untouched, one row per example.
    assert {k: r["label"] for k, r in out.items()} == {
        "late": 1,
        "midnight": 0,
        "evening": 1,
        "orphan": 1,
        "stranger": 0,
    }
    # Rows absent from a snapshot that exists get the contract's defaults, not nulls.
    orphan, stranger = out["orphan"], out["stranger"]
    assert orphan["show_plays_60d"] == 3 and orphan["creator_plays_60d"] == 0
    assert orphan["topic_declared"] is False and orphan["creator_affinity"] == 0.0
    assert stranger["sessions_60d"] == 0 and stranger["tenure_days"] is None
    assert stranger["show_avg_listen_minutes_60d"] is None


def test_utc_date_does_not_depend_on_session_time_zone(spark, pit_warehouse, examples_of):
    examples = examples_of([("midnight", "u1", "s1", ts(3, 0), 0)])
    spark.conf.set("spark.sql.session.timeZone", "America/Los_Angeles")
    try:
        # In Los Angeles this instant is still 03-02; the contract's days are UTC days.
        row = build_training_set(spark, examples, pit_warehouse).first()
    finally:
        spark.conf.set("spark.sql.session.timeZone", "UTC")
    assert row[AS_OF_COL] == dt.date(2026, 3, 2)
    assert row["sessions_60d"] == 2


def test_lag_days_moves_the_snapshot_back(spark, pit_warehouse, examples_of):
    examples = examples_of([("e", "u1", "s1", ts(3, 8), 1)])
    row = build_training_set(spark, examples, pit_warehouse, lag_days=1).first()
    assert row[AS_OF_COL] == dt.date(2026, 3, 1)
    assert row["sessions_60d"] == 1
    assert row["show_plays_60d"] == 3


def test_date_typed_event_column(spark, pit_warehouse):
    examples = spark.createDataFrame(
        [("u1", "s1", dt.date(2026, 3, 6))], "user_id string, show_id string, day date"
    )
    row = build_training_set(spark, examples, pit_warehouse, timestamp_col="day").first()
    assert row[AS_OF_COL] == dt.date(2026, 3, 5)
    assert row["sessions_60d"] == 5


def test_missing_snapshots_are_an_error_naming_the_dates(spark, pit_warehouse, examples_of):
    examples = examples_of(
        [
            ("ok", "u1", "s1", ts(4), 1),
            ("early", "u1", "s1", ts(1), 0),
            ("gap", "u1", "s1", ts(5), 0),
            ("late", "u1", "s1", ts(7), 0),  # 03-06 is only in the user table: incomplete
            ("none", "u1", "s1", None, 0),
        ]
    )
    with pytest.raises(SnapshotMissingError) as caught:
        build_training_set(spark, examples, pit_warehouse)
    message = str(caught.value)
    for part in (
        "some examples have a null event_ts",
        "3 needed snapshot(s) absent",
        "examples dated 2026-03-01 need as_of 2026-02-28 (no snapshot is that old)",
        "examples dated 2026-03-05 need as_of 2026-03-04 (missing from the range)",
        "examples dated 2026-03-07 need as_of 2026-03-06 (newer than the latest snapshot)",
        "[lag_days=0]",
        "The warehouse has as_of 2026-03-01..2026-03-05 (4 dates, 1 missing in between)",
        "on_missing='null'",
    ):
        assert part in message, (part, message)
    assert "2026-03-02 (" not in message  # the example that has its snapshot is not named


def test_lag_can_push_examples_before_the_first_snapshot(spark, pit_warehouse, examples_of):
    examples = examples_of([("e", "u1", "s1", ts(3), 1)])
    with pytest.raises(SnapshotMissingError, match=r"dated 2026-03-03 need as_of 2026-02-28 \("):
        build_training_set(spark, examples, pit_warehouse, lag_days=2)


def test_on_missing_null_keeps_examples_with_null_features_and_a_flag(
    spark, pit_warehouse, examples_of
):
    examples = examples_of(
        [
            ("ok", "u1", "s1", ts(4), 1),
            ("early", "u1", "s1", ts(1), 0),
            ("gap", "u1", "s1", ts(5), 1),
            ("late", "u2", "s2", ts(9), 0),
            ("none", "u1", "s1", None, 1),
        ]
    )
    out = build_training_set(spark, examples, pit_warehouse, on_missing="null")
    assert out.columns == [*examples.columns, AS_OF_COL, MISSING_COL, *vector_columns()]
    rows = by_id(out)
    assert len(rows) == 5
    assert rows["ok"][AS_OF_COL] == dt.date(2026, 3, 3)
    assert rows["ok"][MISSING_COL] is False
    assert rows["ok"]["sessions_60d"] == 3
    for key in ("early", "gap", "late", "none"):
        assert rows[key][MISSING_COL] is True
        assert rows[key][AS_OF_COL] is None
        # Null, not the contract's 0 / false defaults: a missing snapshot is not a missing row.
        assert all(rows[key][name] is None for name in vector_columns()), key
    assert rows["gap"]["label"] == 1


def test_training_vector_equals_the_ranking_vector_join(spark, pit_warehouse, examples_of):
    examples = examples_of(
        [
            ("a", "u1", "s1", ts(2, 9), 1),
            ("b", "u1", "s1", ts(4, 9), 0),
            ("c", "u1", "s2", ts(6, 9), 1),
            ("d", "u2", "s2", ts(6, 9), 0),
            ("e", "u2", "s3", ts(3, 9), 1),
            ("f", "u1", "s3", ts(3, 9), 1),
        ]
    )
    training = build_training_set(spark, examples, pit_warehouse).select(
        "user_id", "show_id", F.col(AS_OF_COL).alias("as_of"), *vector_columns()
    )
    # The same pairs at the same as_of, straight through the one ranking-vector join.
    pairs = examples.select(
        "user_id", "show_id", F.date_sub(F.to_date("event_ts"), 1).alias("as_of")
    )
    groups = {g: read_group(spark, pit_warehouse, g) for g in ("user", "show", "creator")}
    groups |= {g: read_group(spark, pit_warehouse, g) for g in ("user_topic", "user_creator")}
    direct = ranking_vectors(
        pairs, groups, read_show_attributes(spark, pit_warehouse), by=["as_of"]
    ).select("user_id", "show_id", "as_of", *vector_columns())
    assert_df_equality(training, direct, ignore_row_order=True, ignore_nullable=True)


def test_argument_errors(spark, pit_warehouse, examples_of):
    examples = examples_of([("a", "u1", "s1", ts(4), 1)])
    with pytest.raises(ConfigError, match="on_missing"):
        build_training_set(spark, examples, pit_warehouse, on_missing="zero")  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="lag_days"):
        build_training_set(spark, examples, pit_warehouse, lag_days=-1)
    with pytest.raises(ConfigError, match=r"lack column.*clicked_at"):
        build_training_set(spark, examples, pit_warehouse, timestamp_col="clicked_at")
    with pytest.raises(ConfigError, match=r"already have column.*sessions_60d"):
        build_training_set(spark, examples.withColumn("sessions_60d", F.lit(1)), pit_warehouse)
    with pytest.raises(ConfigError, match="'label' must be a timestamp or a date, not int"):
        build_training_set(spark, examples, pit_warehouse, timestamp_col="label")
    with pytest.raises(SnapshotMissingError, match="the warehouse has no snapshot at all"):
        build_training_set(spark, examples, pit_warehouse + "-nowhere")
