"""Committed snapshots under faults, with real processes: ``amp-features run`` is started as its
own process group on a small generated lake and killed with SIGKILL in each of its stages; two
runs start on one warehouse at once; a run meets an empty window. After each fault the readers
(the export CLI to SQLite and the online store it fills, ``build_training_set``,
``explore.load_group``) must see one whole commit, exactly: the previous one while the new commit
row has not landed, never a mix of tables.

One story per module (processes are expensive), told in ``story``; each test checks one part of
what it recorded. The lake is generated once: 300 users over 8 days (younger than the 60-day
window, which the input suites accept).
"""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import logging
import os
import re
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from handmade import append_hand_commit

# The export writes from Spark's Python workers, which need this interpreter's packages.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from amp_features.errors import SnapshotMissingError
from amp_features.offline import snapshots
from amp_features.registry import GROUPS

AMP_FEATURES = str(Path(sys.executable).with_name("amp-features"))
D = dt.date(2026, 5, 20)
LATE_DAY = D - dt.timedelta(days=2)
LATE_USER = "u-late-0001"
NOBODY = "u-nobody"
TABLES = (*GROUPS, snapshots.SHOW_ATTRIBUTES)
# Small-machine settings for every `amp-features run` process.
SPARK_FLAGS = [
    "--conf", "spark.sql.shuffle.partitions=2",
    "--conf", "spark.ui.enabled=false",
    "--conf", "spark.driver.memory=1g",
]  # fmt: skip
# A run of this lake takes about a minute on an idle machine; a loaded one needs far longer.
RUN_TIMEOUT = float(os.environ.get("AMP_TEST_RUN_TIMEOUT", "1800"))


# -- processes ------------------------------------------------------------------------------------
class Run:
    """``amp-features run`` in its own process group, its stderr read line by line."""

    def __init__(self, lake: str, warehouse: str, *extra: str, as_of: dt.date = D) -> None:
        cmd = [AMP_FEATURES, *SPARK_FLAGS, "run", "--as-of", str(as_of), "--lake", lake]
        self.proc = subprocess.Popen(
            [*cmd, "--warehouse", warehouse, *extra],
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
            start_new_session=True,  # its own process group: kill -9 takes the JVM too
            env={**os.environ, "AMP_LOG_LEVEL": "INFO"},
        )
        self.lines: list[str] = []
        self._reader = threading.Thread(target=self._read, daemon=True)
        self._reader.start()
        self.stdout = ""

    def _read(self) -> None:
        assert self.proc.stderr is not None
        for line in self.proc.stderr:
            self.lines.append(line)

    @property
    def stderr(self) -> str:
        return "".join(self.lines)

    def wait_for(self, condition: Callable[[], bool], what: str) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT
        while not condition():
            if self.proc.poll() is not None:
                self._reader.join(10)
                tail = self.stderr[-4000:]
                raise AssertionError(f"run exited ({self.proc.returncode}) before {what}:\n{tail}")
            if time.monotonic() > deadline:
                self.kill()
                raise AssertionError(f"timed out waiting for {what}")
            time.sleep(0.05)

    def logged(self, text: str) -> Callable[[], bool]:
        return lambda: any(text in line for line in self.lines)

    def kill(self) -> None:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(self.proc.pid, signal.SIGKILL)
        self.proc.wait(60)  # reaped: its pid is gone, as after a crash
        self._reader.join(10)

    def finish(self) -> int:
        assert self.proc.stdout is not None  # stderr is the reader thread's
        self.stdout = self.proc.stdout.read()
        self.proc.wait(RUN_TIMEOUT)
        self._reader.join(10)
        return self.proc.returncode

    @property
    def run_id(self) -> str:
        found = re.search(r"as_of \S+ \(run (\w+)\): stages", self.stderr)
        assert found, self.stderr[-3000:]
        return found.group(1)


def delta_versions(table_path: str) -> int:
    """How many commits the Delta table at ``table_path`` has on disk (no Spark)."""
    log = Path(table_path) / "_delta_log"
    return sum(1 for p in log.glob("*.json") if re.fullmatch(r"\d{20}\.json", p.name))


def new_delta_commit(path: str) -> Callable[[], bool]:
    before = delta_versions(path)
    return lambda: delta_versions(path) > before


@contextlib.contextmanager
def quiet_cli_logging() -> Iterator[None]:
    """The CLI configures the library's logger; put it back as it was for the other tests."""
    logger = logging.getLogger("amp_features")
    saved = (list(logger.handlers), logger.propagate, logger.level)
    try:
        yield
    finally:
        logger.handlers[:], logger.propagate = saved[0], saved[1]
        logger.setLevel(saved[2])


def cli(*argv: str) -> tuple[int, str, str]:
    """``amp-features ARGV`` in this process (it reuses the test's Spark session)."""
    from amp_features.cli import main

    out, err = io.StringIO(), io.StringIO()
    with quiet_cli_logging(), contextlib.redirect_stdout(out), contextlib.redirect_stderr(err):
        code = main(list(argv))
    return code, out.getvalue(), err.getvalue()


# -- what readers see -------------------------------------------------------------------------------
Rows = dict[str, list[tuple[Any, ...]]]


def sorted_rows(df: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in df.collect()), key=repr)  # small lake: a few thousand rows


def explore_view(spark: Any, warehouse: str) -> Rows:
    """Every table of D as the notebook helpers read it."""
    from amp_features.explore import load_group
    from amp_features.training.snapshots import read_show_attributes

    view = {g: sorted_rows(load_group(spark, warehouse, g, D)) for g in GROUPS}
    view[snapshots.SHOW_ATTRIBUTES] = sorted_rows(read_show_attributes(spark, warehouse, [D]))
    return view


def training_view(spark: Any, warehouse: str, pairs: list[tuple[str, str]]) -> list[Any]:
    """The training set's vectors of ``pairs`` for examples on D+1 (so: the snapshot of D)."""
    from amp_features import build_training_set

    when = dt.datetime(D.year, D.month, D.day, 12, tzinfo=dt.UTC) + dt.timedelta(days=1)
    examples = spark.createDataFrame(
        [(f"e{i}", u, s, when) for i, (u, s) in enumerate(pairs)],
        "example_id string, user_id string, show_id string, event_ts timestamp",
    )
    out = build_training_set(spark, examples, warehouse).drop("features_as_of")
    return sorted_rows(out)


def served(url: str, user: str, show: str) -> dict[str, Any]:
    from amp_features.serve import OnlineStore

    with OnlineStore.from_url(url) as store:
        (vector,) = store.ranking_vectors(user, [show])
        return dict(zip(store.columns, vector, strict=True))


def row_of(rows: Rows, group: str, key: str) -> tuple[Any, ...] | None:
    return next((r for r in rows[group] if r[0] == key), None)


# -- the story ---------------------------------------------------------------------------------------
RUN_STAGES = ("validate_inputs", "build_states", "rollup", "validate_outputs", "record_metrics")


@dataclass
class Kill:
    stage: str
    tables_on_disk: dict[str, int]  # Delta commits per table right after the kill
    explore: Rows
    training: list[Any]
    latest: snapshots.Commit
    export: tuple[int, str, str] | None = None
    served_late_user: dict[str, Any] | None = None
    served_nobody: dict[str, Any] | None = None  # a user with no record, at the same moment


@dataclass
class Story:
    lake: str
    warehouse: str
    online: str
    show: str  # the show the late rows play
    user: str  # an existing listener of it
    first: snapshots.Commit  # D's commit before the lake changed
    disk_after_first: dict[str, int]  # Delta commits per table on disk then
    old: Rows  # what readers saw then
    old_training: list[Any]
    truth: Rows  # a full recompute of D from the changed lake (no I/O)
    kills: dict[str, Kill] = field(default_factory=dict)
    winner: Run | None = None
    loser: Run | None = None
    loser_done_while_winner_ran: bool = False
    final: Rows | None = None
    final_training: list[Any] | None = None
    final_export: tuple[int, str, str] | None = None


def _append_late_rows(spark: Any, lake: str, show: str, user: str) -> None:
    """10 late playback rows for a day inside D's window: 6 of a new user, 4 of an old one."""
    from amp_features.contract import RAW_TABLES

    rows = [
        (f"late-{i}", LATE_USER if i < 6 else user, show,
         dt.datetime(LATE_DAY.year, LATE_DAY.month, LATE_DAY.day, 9 + i), 400 + i, LATE_DAY)
        for i in range(10)
    ]  # fmt: skip
    df = spark.createDataFrame(rows, RAW_TABLES["playback"].schema)
    df.write.format("delta").mode("append").partitionBy("dt").save(f"{lake}/playback")


def _pick_show_and_user(rows: Rows) -> tuple[str, str]:
    """The most played show, and a user with plays (who will play it late too)."""
    from amp_features.registry import table_columns

    plays = table_columns("show").index("show_plays_60d")
    show = max(rows["show"], key=lambda r: (r[plays], r[0]))[0]
    users = {r[0] for r in rows["user_topic"]}
    return str(show), str(sorted(users)[0])


def _kill_in(stage: str, lake: str, warehouse: str) -> Run:
    # The input suites only cost time before these two kill points (check_inputs still runs).
    skip = ["--skip-validation"] if stage in ("build_states", "rollup") else []
    run = Run(lake, warehouse, *skip)
    if stage == "build_states":
        # Between two tile writes: user_show of the late day is rewritten, user_day not yet.
        trigger = new_delta_commit(f"{warehouse}/state/tiles/user_show")
    elif stage == "rollup":
        # The scenario: features/user has a new version, the other tables do not.
        trigger = new_delta_commit(snapshots.table_path(warehouse, "user"))
    else:
        trigger = run.logged(f"stage {stage}: started")
    run.wait_for(trigger, f"the kill point in {stage}")
    run.kill()
    return run


@pytest.fixture(scope="module")
def story(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Story:
    from amp_features.generate import generate_lake
    from amp_features.pipeline.api import compute_features

    root = tmp_path_factory.mktemp("snapshot-faults")
    lake, warehouse = str(root / "lake"), str(root / "warehouse")
    online = f"sqlite:///{root / 'online.db'}"
    generate_lake(spark, lake, users=300, days=8, end_date=D, seed=16)

    # The first run is not under test: in this process, on the warm session (a cold process
    # costs a minute of both cores). The kills and the race below are real processes.
    code, _, err = cli("run", "--as-of", str(D), "--lake", lake, "--warehouse", warehouse)
    assert code == 0, err[-5000:]
    spark.catalog.clearCache()
    first = snapshots.resolve(spark, warehouse, D)
    assert first.validated
    disk = {t: delta_versions(snapshots.table_path(warehouse, t)) for t in TABLES}
    assert cli("export", "--as-of", str(D), "--warehouse", warehouse, "--online", online)[0] == 0
    old = explore_view(spark, warehouse)
    show, user = _pick_show_and_user(old)
    pairs = [(LATE_USER, show), (user, show)]
    story = Story(
        lake, warehouse, online, show, user, first, disk, old,
        training_view(spark, warehouse, pairs), truth={},
    )  # fmt: skip

    _append_late_rows(spark, lake, show, user)
    truth = compute_features(spark, lake, D)
    story.truth = {t: sorted_rows(truth[t]) for t in TABLES}
    spark.catalog.clearCache()

    for stage in RUN_STAGES:
        _kill_in(stage, lake, warehouse)
        kill = Kill(
            stage,
            {t: delta_versions(snapshots.table_path(warehouse, t)) for t in TABLES},
            explore_view(spark, warehouse),
            training_view(spark, warehouse, pairs),
            snapshots.resolve(spark, warehouse, D),
        )
        if stage in ("rollup", "validate_outputs"):
            kill.export = cli(
                "export", "--as-of", str(D), "--warehouse", warehouse, "--online", online
            )
            kill.served_late_user = served(online, LATE_USER, show)
            kill.served_nobody = served(online, NOBODY, show)
        story.kills[stage] = kill

    # Two runs at once: the second starts while the first holds the warehouse lease.
    story.winner = Run(lake, warehouse)
    story.winner.wait_for(story.winner.logged("holds the warehouse"), "the first run's lease")
    story.loser = Run(lake, warehouse)
    story.loser.finish()
    story.loser_done_while_winner_ran = story.winner.proc.poll() is None
    assert story.winner.finish() == 0, story.winner.stderr[-5000:]
    story.final = explore_view(spark, warehouse)
    story.final_training = training_view(spark, warehouse, pairs)
    story.final_export = cli(
        "export", "--as-of", str(D), "--warehouse", warehouse, "--online", online
    )
    return story


# -- (a) a kill in each stage ------------------------------------------------------------------------
BEFORE_THE_COMMIT = ("validate_inputs", "build_states", "rollup")


@pytest.mark.slow
@pytest.mark.parametrize("stage", RUN_STAGES)
def test_a_kill_in_each_stage_leaves_readers_on_one_whole_commit(story: Story, stage: str) -> None:
    kill = story.kills[stage]
    assert story.truth != story.old  # the late rows changed D: a mix would show
    if stage in BEFORE_THE_COMMIT:
        # No new commit row: readers see the previous commit, every table, exactly.
        assert kill.latest == story.first
        assert kill.explore == story.old
        assert kill.training == story.old_training
    else:
        # The new commit row landed before the kill: readers see all of it, exactly the full
        # recompute of the changed lake; it is not validated yet (validate_outputs) or is.
        assert kill.latest.commit_id != story.first.commit_id
        assert kill.latest.validated is (stage == "record_metrics")
        assert kill.explore == story.truth
        assert kill.training == story.final_training


@pytest.mark.slow
def test_the_rerun_after_the_kills_gives_the_rows_of_an_uninterrupted_run(story: Story) -> None:
    assert story.final == story.truth
    code, _, err = story.final_export or (1, "", "")
    assert code == 0, err
    late = served(story.online, LATE_USER, story.show)
    assert late["sessions_60d"] == 6
    assert late["show_plays_60d"] == row_of(story.truth, "show", story.show)[1]  # type: ignore[index]


# -- (b) the scenario: a re-run killed between two feature-table writes -----------------------
@pytest.mark.slow
def test_export_after_a_rerun_killed_midway_publishes_the_old_commit(story: Story) -> None:
    kill = story.kills["rollup"]
    # On disk the mix exists: features/user has a version the commit does not pin, and the
    # last table of the roll-up does not.
    assert kill.tables_on_disk["user"] == story.disk_after_first["user"] + 1
    assert kill.tables_on_disk["user_creator"] == story.disk_after_first["user_creator"]
    assert kill.export is not None
    code, out, err = kill.export
    assert code == 0, err
    assert f"published as_of {D}" in out
    # The late user is not served and the show keeps its old play count: the old commit, whole.
    # Read right after that export: the story's last export has since published a newer commit.
    late, nobody = kill.served_late_user, kill.served_nobody
    assert late is not None and nobody is not None
    old_plays = row_of(story.old, "show", story.show)[1]  # type: ignore[index]
    new_plays = row_of(story.truth, "show", story.show)[1]  # type: ignore[index]
    assert old_plays != new_plays
    assert late["show_plays_60d"] == old_plays
    assert late == nobody  # no user record: the contract's defaults for an unknown user
    assert row_of(story.old, "user", LATE_USER) is None


@pytest.mark.slow
def test_export_refuses_a_commit_whose_validation_did_not_run(story: Story) -> None:
    kill = story.kills["validate_outputs"]
    assert kill.export is not None
    code, _, err = kill.export
    assert code == 1
    assert "publish blocked" in err and "has no output validation of its own" in err
    assert kill.latest.commit_id in err
    # Readers of the online store still get the old commit (published after the rollup kill).
    assert kill.served_late_user is not None and kill.served_late_user["sessions_60d"] == 0


# -- (c) two runs on one warehouse -----------------------------------------------------------------
@pytest.mark.slow
def test_a_second_writer_fails_fast_naming_the_holder_and_nothing_is_lost(
    spark: Any, story: Story
) -> None:
    winner, loser = story.winner, story.loser
    assert winner is not None and loser is not None
    assert loser.proc.returncode == 1
    assert story.loser_done_while_winner_ran  # it did not wait for the first run
    err = loser.stderr
    assert "is busy: another run holds its write lease" in err, err[-3000:]
    assert f"run {winner.run_id} (as_of {D})" in err and f"pid {winner.proc.pid}" in err
    assert "Concurrent" not in err and "Traceback" not in err
    # The first run committed whole; the second left no commit, metrics or quarantine rows.
    latest = snapshots.resolve(spark, story.warehouse, D)
    assert latest.run_id == winner.run_id and latest.validated
    assert story.final == story.truth
    assert all(c.run_id != loser.run_id for c in snapshots.history(spark, story.warehouse))
    from amp_features.offline import state as offline_state

    runs = offline_state.read_runs(spark, story.warehouse)
    assert runs is not None and runs.where(f"run_id = '{loser.run_id}'").count() == 0
    assert runs.where(f"run_id = '{winner.run_id}'").count() >= 5
    quarantine = offline_state.read_quarantine(spark, story.warehouse, "playback")
    if quarantine is not None:
        assert quarantine.where(f"run_id = '{loser.run_id}'").count() == 0


# -- `amp-features commits list` --------------------------------------------------------------------
@pytest.mark.slow
def test_commits_list_shows_the_history_and_the_live_commit(story: Story) -> None:
    code, out, err = cli("commits", "list", "--warehouse", story.warehouse)
    assert code == 0, err
    lines = [line for line in out.splitlines() if f" {D} " in line]
    # The first run, the runs killed after their commit (validate_outputs, record_metrics) and
    # the winner of the race: four commits of D, the newest live.
    assert len(lines) == 4, out
    assert [line.startswith("*") for line in lines] == [False, False, False, True]
    assert story.first.commit_id in lines[0] and "passed" in lines[0]
    assert "unvalidated" in lines[1] and "passed" in lines[2] and "passed" in lines[3]
    assert story.winner is not None and story.winner.run_id in lines[3]
    code, out, _ = cli("commits", "list", "--warehouse", story.warehouse, "--json")
    import json

    records = [json.loads(line) for line in out.splitlines() if line.startswith("{")]
    assert [r["live"] for r in records] == [False, False, False, True]
    assert records[0]["versions"] == {t: v for t, v in story.first.versions.items()}


# -- (d) an empty window -----------------------------------------------------------------------------
def test_a_window_without_events_refuses_to_commit_even_without_validation(
    spark: Any, tmp_path: Path
) -> None:
    from amp_features.generate import generate_lake

    lake, warehouse = str(tmp_path / "lake"), str(tmp_path / "warehouse")
    generate_lake(spark, lake, users=40, days=2, end_date=D, seed=3)
    quiet = D + dt.timedelta(days=90)  # its window starts a month after the last event
    code, _, err = cli(
        "run", "--as-of", str(quiet), "--lake", lake, "--warehouse", warehouse,
        "--skip-validation",
    )  # fmt: skip
    assert code == 1
    assert f"as_of {quiet}: the window" in err
    assert "holds no valid playback events; nothing is committed" in err
    assert snapshots.committed_dates(spark, warehouse) == []
    for table in TABLES:
        assert delta_versions(snapshots.table_path(warehouse, table)) == 0, table


# -- (e) a date with no commit ------------------------------------------------------------------------
def _committed_empty_snapshots(spark: Any, warehouse: str, dates: list[dt.date]) -> None:
    """Empty tables (the registry's columns) committed for ``dates``: a store where every
    other date has no commit."""
    from amp_features.registry import REGISTRY

    versions = {}
    for table in TABLES:
        columns = snapshots.columns_of(table)
        types = {c: REGISTRY[c].dtype if c in REGISTRY else "string" for c in columns}
        ddl = ", ".join(f"{c} {'date' if c == 'as_of' else types[c]}" for c in columns)
        versions[table], _ = snapshots.write_table(
            spark, spark.createDataFrame([], ddl), warehouse, table, dates[0]
        )
    for day in dates:
        append_hand_commit(spark, warehouse, day, "empty", versions)


def test_a_date_without_a_commit_is_a_clear_error_for_every_reader(
    spark: Any, tmp_path: Path
) -> None:
    from amp_features import build_training_set
    from amp_features.explore import load_group
    from amp_features.export import publish

    warehouse = str(tmp_path / "warehouse")
    _committed_empty_snapshots(spark, warehouse, [dt.date(2026, 3, 3), dt.date(2026, 3, 5)])
    missing = dt.date(2026, 3, 4)
    online = f"sqlite:///{tmp_path / 'online.db'}"
    code, _, err = cli(
        "export", "--as-of", str(missing), "--warehouse", warehouse, "--online", online
    )
    assert code == 1
    assert f"as_of {missing} has no committed snapshot" in err
    assert "committed: 2026-03-03..2026-03-05 (2 dates, 1 missing in between)" in err
    with pytest.raises(SnapshotMissingError, match=f"as_of {missing} has no committed snapshot"):
        publish(spark, warehouse, missing, online)
    assert not (tmp_path / "online.db").exists()  # nothing was opened, let alone written
    examples = spark.createDataFrame(
        [("e", "u1", "s1", dt.datetime(2026, 3, 5, 12, tzinfo=dt.UTC))],
        "example_id string, user_id string, show_id string, event_ts timestamp",
    )
    with pytest.raises(SnapshotMissingError, match="need as_of 2026-03-04"):
        build_training_set(spark, examples, warehouse)
    with pytest.raises(SnapshotMissingError, match="no 'user' snapshot as_of 2026-03-04"):
        load_group(spark, warehouse, "user", missing)
