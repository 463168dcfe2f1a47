"""The engine end to end on Delta: incremental equals full over consecutive as-of dates and
after late data; a re-run commits a new snapshot; a failure midway leaves readers on the previous
commit; bad inputs fail early. Feature rows are read as a reader does: through D's commit."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from chispa import assert_df_equality
from engine_testdata import SHOWS, USERS, D, days_before, engage, play, write_lake
from pyspark.sql import functions as F

from amp_features.errors import BrokenTableError, InputSchemaError
from amp_features.offline import snapshots
from amp_features.offline import state as offline_state
from amp_features.pipeline import api
from amp_features.registry import GROUPS

DAY0 = days_before(2)  # first as-of of the sequence
DATES = [DAY0 + dt.timedelta(days=i) for i in range(3)]


def _events():
    plays, engs = [], []
    users, shows = ["u1", "u2", "u3", "u4"], ["s1", "s2", "s3", "s4", "s5", "s9"]
    for i in range(64):  # days D-63 .. D: the window's edges move over real data
        day = days_before(i)
        for j, user in enumerate(users):
            if (i + j) % 3 == 0:
                show = shows[(i * 7 + j) % len(shows)]
                plays.append(play(f"p{i}-{j}", user, show, day, 37 * (i + 1) + j, hh=(i + j) % 24))
            if (i + j) % 5 == 0:
                engs.append(engage(f"e{i}-{j}", user, "like_show", day, show=shows[j]))
            if (i + 2 * j) % 11 == 0:
                engs.append(engage(f"f{i}-{j}", user, "follow_creator", day, creator=f"c{j}"))
    plays.append(play("p0-0", "u1", "s1", D, 1, hh=3))  # conflicting duplicate
    plays.append(play("bad", "", "s1", D))  # quarantined
    return plays, engs


def _table(spark, wh: str, group: str, day: dt.date):
    """What readers see of ``group`` as of ``day``: the table at the version D's commit pinned."""
    return snapshots.read(spark, wh, snapshots.resolve(spark, wh, day), group)


def _rows(spark, wh: str, day: dt.date) -> dict[str, list[tuple]]:
    return {g: sorted(map(tuple, _table(spark, wh, g, day).collect()), key=repr) for g in GROUPS}


@pytest.fixture(scope="module")
def lake(spark, tmp_path_factory) -> str:
    plays, engs = _events()
    return write_lake(
        spark,
        tmp_path_factory.mktemp("lake"),
        playback=plays,
        engagement=engs,
        shows=SHOWS,
        users=USERS,
    )


@pytest.fixture(scope="module")
def runs(spark, lake, tmp_path_factory) -> dict[str, object]:
    """Incremental runs over three consecutive as-of dates into one warehouse."""
    inc = str(tmp_path_factory.mktemp("wh_inc"))
    results = [api.run_features(spark, lake, inc, d) for d in DATES]
    return {"inc": inc, "results": results}


def _assert_equals_full(spark, lake: str, wh: str, day: dt.date) -> None:
    """The warehouse's tables for ``day`` equal a full recompute from raw events."""
    full = api.compute_features(spark, lake, day)
    for group in GROUPS:
        assert_df_equality(
            _table(spark, wh, group, day),
            full[group],
            ignore_row_order=True,
            ignore_nullable=True,
            ignore_metadata=True,
        )
    spark.catalog.clearCache()


def test_incremental_equals_full(spark, lake, runs):
    assert [r.carried for r in runs["results"]] == [False, True, True]
    for day in DATES:
        _assert_equals_full(spark, lake, runs["inc"], day)


def test_full_mode_writes_the_same_tables(spark, lake, runs, tmp_path):
    wh = str(tmp_path / "wh_full")
    result = api.run_features(spark, lake, wh, D, mode="full")
    assert result.rows == runs["results"][-1].rows
    for group in GROUPS:
        assert_df_equality(
            _table(spark, wh, group, D),
            _table(spark, runs["inc"], group, D),
            ignore_row_order=True,
            ignore_nullable=True,
        )


def test_rows_add_up_and_quarantine_recorded(spark, runs):
    counts = offline_state.read_input_counts(spark, runs["inc"])
    bad = counts.where(
        F.col("rows_read")
        != F.col("rows_kept") + F.col("duplicates_dropped") + F.col("rows_quarantined")
    )
    assert bad.count() == 0
    today = counts.where((F.col("table") == "playback") & (F.col("dt") == F.lit(D))).first()
    assert (today.duplicates_dropped, today.rows_quarantined) == (1, 1)
    quarantined = offline_state.read_quarantine(spark, runs["inc"], "playback").collect()
    assert [(r.event_id, r.rule) for r in quarantined] == [("bad", "user_id_missing")]


def test_rerun_commits_a_new_snapshot_with_the_same_rows(spark, lake, runs):
    wh = runs["inc"]
    first = snapshots.resolve(spark, wh, D)
    before = _rows(spark, wh, D)
    result = api.rollup(spark, lake, wh, D)
    # The commit log is append-only: D now has two commit rows and readers use the newer one.
    assert [c.commit_id for c in snapshots.history(spark, wh, D)][-2:] == [
        first.commit_id,
        result.commit.commit_id,
    ]
    assert snapshots.resolve(spark, wh, D).commit_id == result.commit.commit_id != first.commit_id
    assert all(result.commit.versions[g] > first.versions[g] for g in GROUPS)
    assert _rows(spark, wh, D) == before
    assert {g: len(rows) for g, rows in before.items()} == {g: result.rows[g] for g in GROUPS}
    assert D in api.completed_dates(spark, wh)


def test_column_comments_come_from_registry(spark, runs):
    from amp_features.registry import REGISTRY

    schema = _table(spark, runs["inc"], "user", D).schema
    assert schema["sessions_60d"].metadata["comment"] == REGISTRY["sessions_60d"].description


def test_late_data_rebuilds_the_day_and_matches_full(spark, lake, runs, tmp_path):
    late_day = days_before(5)
    write_lake_append = [play("late-1", "u2", "s3", late_day, 4321, hh=21)]
    spark.createDataFrame(
        write_lake_append, spark.read.format("delta").load(f"{lake}/playback").schema
    ).write.format("delta").mode("append").partitionBy("dt").save(f"{lake}/playback")
    rebuilt = api.build_states(spark, lake, runs["inc"], D)
    assert rebuilt == {"playback_days_built": 1, "engagement_days_built": 0}
    result = api.rollup(spark, lake, runs["inc"], D)
    assert not result.carried  # the window's tiles changed, so it was rebuilt from the tiles
    _assert_equals_full(spark, lake, runs["inc"], D)


def test_failure_midway_leaves_readers_on_the_previous_commit(spark, lake, runs, monkeypatch):
    wh, day = runs["inc"], DATES[1]
    committed = snapshots.resolve(spark, wh, day)
    before = _rows(spark, wh, day)
    calls = {"n": 0}
    real = snapshots.replace_partitions

    def failing(df, path, column, values, **kw):
        if "/features/" in path:
            calls["n"] += 1
            if calls["n"] == 3:
                raise RuntimeError("disk full (injected)")
        return real(df, path, column, values, **kw)

    monkeypatch.setattr(snapshots, "replace_partitions", failing)
    with pytest.raises(RuntimeError, match="injected"):
        api.rollup(spark, lake, wh, day)
    # Two feature tables were rewritten, but no commit row landed: readers still see the old
    # commit, each table at its old version, and exactly the old rows.
    assert snapshots.resolve(spark, wh, day) == committed
    assert _rows(spark, wh, day) == before
    monkeypatch.setattr(snapshots, "replace_partitions", real)
    result = api.rollup(spark, lake, wh, day)
    assert snapshots.resolve(spark, wh, day).commit_id == result.commit.commit_id
    # (The lake may have changed since the first run: the truth is a full recompute.)
    _assert_equals_full(spark, lake, wh, day)


def test_missing_column_fails_before_writing(spark, tmp_path):
    lake = write_lake(spark, tmp_path / "lake", shows=SHOWS, users=USERS)
    spark.read.format("delta").load(f"{lake}/playback").drop("listen_seconds").write.format(
        "delta"
    ).mode("overwrite").option("overwriteSchema", "true").save(f"{lake}/playback")
    wh = tmp_path / "wh"
    with pytest.raises(
        InputSchemaError, match="table playback: missing required column listen_seconds"
    ):
        api.run_features(spark, lake, str(wh), D)
    # Not a file: the warehouse lease was taken before the first stage and released at the end.
    assert [str(p.relative_to(wh)) for p in wh.rglob("*") if p.is_file()] == []
    assert snapshots.committed_dates(spark, str(wh)) == []


def test_repeated_dimension_key_is_broken_table(spark, tmp_path):
    lake = write_lake(spark, tmp_path / "lake", shows=[*SHOWS, SHOWS[0]], users=USERS)
    with pytest.raises(BrokenTableError, match="table shows: key show_id is repeated") as err:
        api.check_inputs(spark, lake, D)
    # One key repeated once: the count and the example name it.
    assert f"repeated for 1 value(s), e.g. {SHOWS[0][0]!r} x2" in str(err.value)


def test_parquet_lake_and_extra_columns(spark, tmp_path: Path):
    plays, engs = _events()
    lake = write_lake(
        spark,
        tmp_path / "lake",
        playback=plays,
        engagement=engs,
        shows=SHOWS,
        users=USERS,
        fmt="parquet",
    )
    users = spark.read.parquet(f"{lake}/users").withColumn("extra", F.lit(1))
    users.write.mode("overwrite").parquet(f"{lake}/users_tmp")
    spark.read.parquet(f"{lake}/users_tmp").write.mode("overwrite").parquet(f"{lake}/users")
    groups = api.compute_features(spark, lake, D)
    assert set(groups) == {*GROUPS, "show_attributes"}
    assert groups["user"].count() == 4
