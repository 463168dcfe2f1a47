"""``spark-submit jobs/backfill.py`` over 3 days: local mode with a crash and a resume, then the
last day again with --force on a real standalone cluster, which must leave the same rows."""

from __future__ import annotations

import datetime as dt
import importlib.util
import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest
from airflow_helpers import JOBS, StandaloneCluster, committed_tables, feature_rows, spark_submit

pytestmark = [pytest.mark.slow, pytest.mark.nightly]

DATES = [dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)]
BACKFILL = JOBS / "backfill.py"

# Runs jobs/backfill.py with the driver killed (os._exit, no cleanup) as the rollup of one date
# starts: the closest a test gets to a lost machine.
CRASHING_WRAPPER = """
import os, runpy, sys
import amp_features.pipeline.runner as runner

real_rollup = runner.rollup

def rollup(spark, lake, warehouse, day, **kwargs):
    if str(day) == os.environ["AMP_TEST_CRASH_AT"]:
        with open(os.environ["AMP_TEST_CRASH_MARK"], "w") as mark:
            mark.write(str(day))
        os._exit(3)
    return real_rollup(spark, lake, warehouse, day, **kwargs)

runner.rollup = rollup
sys.argv = sys.argv[1:]
runpy.run_path(sys.argv[0], run_name="__main__")
"""


@dataclass
class LocalBackfill:
    lake: str
    warehouse: str
    crashed: subprocess.CompletedProcess[str]
    resumed: subprocess.CompletedProcess[str]
    crash_mark: Path
    # as_of -> run_id of its commit row, right after the crash
    commits_after_crash: dict[dt.date, str]

    def args(self, *extra: str, start: dt.date = DATES[0], end: dt.date = DATES[-1]) -> list[str]:
        return [
            "--start", str(start), "--end", str(end),
            "--lake", self.lake, "--warehouse", self.warehouse, *extra,
        ]  # fmt: skip


@pytest.fixture(scope="module")
def local_backfill(
    tiny_lake: str, tmp_path_factory: pytest.TempPathFactory, spark: object
) -> LocalBackfill:
    work = tmp_path_factory.mktemp("backfill")
    wrapper = work / "crash_then_run.py"
    wrapper.write_text(CRASHING_WRAPPER)
    run = LocalBackfill(tiny_lake, str(work / "warehouse"), None, None, work / "crashed", {})  # type: ignore[arg-type]
    run.crashed = spark_submit(
        wrapper,
        [str(BACKFILL), *run.args()],
        env={"AMP_TEST_CRASH_AT": str(DATES[1]), "AMP_TEST_CRASH_MARK": str(run.crash_mark)},
    )
    run.commits_after_crash = commit_run_ids(spark, run.warehouse)
    run.resumed = spark_submit(BACKFILL, run.args())
    return run


def commit_run_ids(spark: object, warehouse: str) -> dict[dt.date, str]:
    """as_of -> run_id of its latest commit row (a date is complete once such a row exists)."""
    from amp_features.offline.snapshots import latest_commits

    return {d: c.run_id for d, c in latest_commits(spark, warehouse).items()}  # type: ignore[arg-type]


def test_local_spark_submit_backfill_resumes_after_a_crash(
    local_backfill: LocalBackfill, spark: object, capsys: pytest.CaptureFixture[str]
) -> None:
    from amp_features.pipeline.api import completed_dates

    # (The driver's log lines are not asserted on: spark-submit may exit before it has copied
    # a killed driver's output, so the warehouse itself is the evidence.)
    crashed, resumed = local_backfill.crashed, local_backfill.resumed
    assert crashed.returncode != 0
    assert local_backfill.crash_mark.read_text() == "2026-03-02"
    # The crash came after the first date was complete and before the second was.
    assert set(local_backfill.commits_after_crash) == {DATES[0]}
    assert resumed.returncode == 0, resumed.stderr[-5000:]

    warehouse = local_backfill.warehouse
    assert completed_dates(spark, warehouse) >= set(DATES)  # type: ignore[arg-type]
    # The rerun skipped the date finished before the crash (same commit) and did the other two.
    commits = commit_run_ids(spark, warehouse)
    assert commits[DATES[0]] == local_backfill.commits_after_crash[DATES[0]]
    assert {DATES[1], DATES[2]} <= set(commits)
    for group, df in committed_tables(spark, warehouse).items():
        days = {r["as_of"] for r in df.select("as_of").distinct().collect()}  # type: ignore[attr-defined]
        assert days == set(DATES), group

    # A dry run now plans nothing (in this process, reusing the test session).
    spec = importlib.util.spec_from_file_location("job_backfill", BACKFILL)
    assert spec is not None and spec.loader is not None
    job = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(job)
    capsys.readouterr()
    job.run(local_backfill.args("--dry-run"))
    assert "0 to roll up, 3 already complete" in capsys.readouterr().out


def test_backfill_on_standalone_cluster_is_idempotent(
    local_backfill: LocalBackfill,
    spark_standalone: StandaloneCluster,
    spark: object,
    tmp_path: Path,
) -> None:
    from amp_features.pipeline.api import completed_dates

    assert local_backfill.resumed.returncode == 0
    before = feature_rows(spark, local_backfill.warehouse)
    assert all(before.values())
    commits_before = commit_run_ids(spark, local_backfill.warehouse)
    # The last date again, forced (its daily states are rebuilt too), on one master and two
    # 1-core workers. One date is enough to prove the job on a cluster; the local run above
    # already covers ranges, and each extra date costs a minute of CI.
    last = DATES[-1]
    result = spark_submit(
        BACKFILL,
        local_backfill.args("--force", start=last, end=last),
        master=spark_standalone.master_url,
        extra_conf={"spark.executor.memory": "512m", "spark.cores.max": "2"},
    )
    assert result.returncode == 0, result.stderr[-5000:] + spark_standalone.logs()
    # --force recomputed that date (a new commit row) and no other, with the same rows.
    commits = commit_run_ids(spark, local_backfill.warehouse)
    assert commits[last] != commits_before[last]
    assert all(commits[d] == commits_before[d] for d in DATES if d != last)
    status = spark_standalone.status()
    assert status["aliveworkers"] == 2
    # The job really ran on the cluster (and the cluster's two workers stayed up).
    names = [app["name"] for app in status["completedapps"]]  # type: ignore[union-attr]
    assert f"amp-features backfill {last}..{last}" in names, names
    assert feature_rows(spark, local_backfill.warehouse) == before
    assert completed_dates(spark, local_backfill.warehouse) >= set(DATES)  # type: ignore[arg-type]
