"""The DAG file imports cleanly, parses fast, stays thin, and has the agreed shape."""

from __future__ import annotations

import datetime as dt
import itertools
import json
import subprocess
import sys
import time
from pathlib import Path

import pytest

from amp_features.pipeline.runner import RUN_STAGES, STAGES

REPO = Path(__file__).resolve().parents[2]
DAG_FILE = REPO / "dags" / "amp_features_daily.py"
DAG_ID = "amp_features_daily"
# The DAG file keeps its own copy of the stage names (it must not import amp_features at parse
# time); its tasks are checked against the library's list, the one the jobs use.
ALL_TASKS = ["wait_for_raw_partitions", *STAGES]


@pytest.fixture(autouse=True)
def _default_layout(monkeypatch: pytest.MonkeyPatch) -> None:
    # The shape under test is the default one: a developer's shell must not change it.
    for key in ("AMP_FEATURES_EXECUTION", "AMP_FEATURES_TASKS"):
        monkeypatch.delenv(key, raising=False)


def load_dag(monkeypatch: pytest.MonkeyPatch | None = None, **env: str):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    if monkeypatch is not None:
        for key, value in env.items():
            monkeypatch.setenv(key, value)
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert bag.import_errors == {}, bag.import_errors
    return bag, bag.dags[DAG_ID]


def test_dagbag_imports_without_errors_and_parses_fast() -> None:
    load_dag()  # warm Airflow's own imports; the parse below is the DAG file alone
    start = time.perf_counter()
    bag, dag = load_dag()
    elapsed = time.perf_counter() - start
    assert list(bag.dags) == [DAG_ID]
    stat = bag.dagbag_stats[0]
    assert stat.duration.total_seconds() < 0.5, stat
    assert elapsed < 1.0, elapsed
    assert len(dag.tasks) == 7


def test_dag_file_has_no_heavy_top_level_imports() -> None:
    # In a fresh interpreter: importing the DAG file must not pull in Spark, pandas or the library.
    code = (
        "import importlib.util, json, sys\n"
        f"spec = importlib.util.spec_from_file_location('d', {str(DAG_FILE)!r})\n"
        "mod = importlib.util.module_from_spec(spec); spec.loader.exec_module(mod)\n"
        "heavy = ('pyspark', 'pandas', 'amp_features', 'delta', 'boto3', 'great_expectations')\n"
        "print(json.dumps(sorted(m for m in sys.modules if m.split('.')[0] in heavy)))\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    assert json.loads(out.stdout.strip().splitlines()[-1]) == []


def test_schedule_catchup_and_run_limits() -> None:
    _, dag = load_dag()
    timetable = dag.timetable
    assert type(timetable).__name__ == "CronDataIntervalTimetable"
    assert timetable.expression == "0 22 * * *"
    assert str(timetable.timezone) in ("UTC", "Timezone('UTC')")
    assert dag.catchup is False
    assert dag.max_active_runs == 1
    assert dag.start_date is not None
    assert set(dag.tags) >= {"amp", "features"}
    assert dag.owner == "amp-data-platform"
    assert dag.doc_md and "as of D = `ds`" in dag.doc_md


def test_tasks_run_in_order_with_explicit_retries() -> None:
    _, dag = load_dag()
    assert sorted(dag.task_ids) == sorted(ALL_TASKS)
    for upstream, downstream in itertools.pairwise(ALL_TASKS):
        assert dag.get_task(downstream).upstream_task_ids == {upstream}
    assert dag.get_task("wait_for_raw_partitions").upstream_task_ids == set()
    for stage in STAGES:
        task = dag.get_task(stage)
        assert task.retries == 3, stage
        assert task.retry_exponential_backoff == 2.0
        assert task.retry_delay == dt.timedelta(minutes=5)
        assert task.max_retry_delay == dt.timedelta(hours=1)
        assert task.execution_timeout == dt.timedelta(hours=4)
    # Publish must not run after a failed output validation: it waits for all_success.
    publish = dag.get_task("publish")
    assert str(publish.trigger_rule) in ("all_success", "TriggerRule.ALL_SUCCESS")


def test_sensor_reschedules_and_times_out() -> None:
    _, dag = load_dag()
    sensor = dag.get_task("wait_for_raw_partitions")
    assert sensor.mode == "reschedule"
    assert 0 < sensor.timeout <= 24 * 3600
    assert sensor.poke_interval >= 60
    assert sensor.retries == 0


def test_catchup_switch_for_range_backfills(monkeypatch: pytest.MonkeyPatch) -> None:
    _, dag = load_dag(
        monkeypatch, AMP_FEATURES_CATCHUP="true", AMP_FEATURES_START_DATE="2026-02-01"
    )
    assert dag.catchup is True
    assert dag.start_date.date() == dt.date(2026, 2, 1)


def _submitted_stages(task) -> str:  # type: ignore[no-untyped-def]
    assert type(task).__name__ == "SparkSubmitOperator"
    args = task.application_args
    assert args[args.index("--as-of") + 1] == "{{ ds }}"
    return str(args[args.index("--stage") + 1])


def test_spark_submit_mode_runs_one_application_per_task_group(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, dag = load_dag(
        monkeypatch,
        AMP_FEATURES_EXECUTION="spark-submit",
        AMP_FEATURES_SPARK_CONN_ID="my_spark",
        AMP_FEATURES_JOBS_DIR="/opt/amp/jobs",
    )
    assert dag.get_task("wait_for_raw_partitions").mode == "reschedule"
    # Grouped by default: `compute` is what `amp-features run` does, then `publish` after it.
    assert sorted(dag.task_ids) == ["compute", "publish", "wait_for_raw_partitions"]
    assert dag.get_task("compute").upstream_task_ids == {"wait_for_raw_partitions"}
    assert dag.get_task("publish").upstream_task_ids == {"compute"}
    assert _submitted_stages(dag.get_task("compute")) == ",".join(RUN_STAGES)
    assert _submitted_stages(dag.get_task("publish")) == "publish"
    for task_id in ("compute", "publish"):
        task = dag.get_task(task_id)
        assert task._conn_id == "my_spark"
        assert task.application == "/opt/amp/jobs/compute_features.py"
        assert task.retries == 3 and task.execution_timeout == dt.timedelta(hours=4)
    assert str(dag.get_task("publish").trigger_rule) in ("all_success", "TriggerRule.ALL_SUCCESS")
    assert "tasks **grouped**" in dag.doc_md


def test_spark_submit_mode_can_run_one_application_per_stage(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    _, dag = load_dag(
        monkeypatch, AMP_FEATURES_EXECUTION="spark-submit", AMP_FEATURES_TASKS="stages"
    )
    assert sorted(dag.task_ids) == sorted(ALL_TASKS)
    for stage in STAGES:
        assert _submitted_stages(dag.get_task(stage)) == stage


def test_embedded_mode_can_group_its_tasks(monkeypatch: pytest.MonkeyPatch) -> None:
    _, dag = load_dag(monkeypatch, AMP_FEATURES_TASKS="Grouped")
    assert sorted(dag.task_ids) == ["compute", "publish", "wait_for_raw_partitions"]
    assert type(dag.get_task("compute")).__name__ != "SparkSubmitOperator"


def test_unknown_execution_mode_is_an_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AMP_FEATURES_EXECUTION", "kubernetes")
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert any("AMP_FEATURES_EXECUTION" in err for err in bag.import_errors.values())


def test_unknown_task_grouping_is_an_import_error(monkeypatch: pytest.MonkeyPatch) -> None:
    from airflow.dag_processing.dagbag import DagBag

    monkeypatch.setenv("AMP_FEATURES_TASKS", "per-table")
    bag = DagBag(dag_folder=str(DAG_FILE))
    assert any("AMP_FEATURES_TASKS" in err for err in bag.import_errors.values())
