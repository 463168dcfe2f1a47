"""dag.test() of the daily DAG for one logical date, embedded mode, over a tiny generated lake."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from airflow_helpers import DAGS, committed_tables

pytestmark = pytest.mark.slow

AS_OF = dt.date(2026, 3, 3)
DAG_ID = "amp_features_daily"


def _run_dag(monkeypatch: pytest.MonkeyPatch, lake: str, warehouse: str, online: str):  # type: ignore[no-untyped-def]
    from airflow.dag_processing.dagbag import DagBag

    # Run-time settings arrive as Airflow Variables (here through AIRFLOW_VAR_*).
    monkeypatch.setenv("AIRFLOW_VAR_AMP_FEATURES_LAKE", lake)
    monkeypatch.setenv("AIRFLOW_VAR_AMP_FEATURES_WAREHOUSE", warehouse)
    monkeypatch.setenv("AIRFLOW_VAR_AMP_FEATURES_ONLINE", online)
    dag = DagBag(dag_folder=str(DAGS / "amp_features_daily.py")).dags[DAG_ID]
    for task in dag.tasks:
        # dag.test() honours retries and their backoff; a test should fail at the first error.
        task.retries = 0
    # Logical date D at 22:00 UTC: ds is D, so the run computes as of D.
    logical = dt.datetime(AS_OF.year, AS_OF.month, AS_OF.day, 22, tzinfo=dt.UTC)
    return dag.test(logical_date=logical)


def test_dag_test_computes_and_publishes_one_date(
    airflow_db: Path,
    spark: object,
    tiny_lake: str,
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    from amp_features.export import status
    from amp_features.offline.snapshots import resolve
    from amp_features.pipeline.api import completed_dates

    warehouse = str(tmp_path / "warehouse")
    online = f"sqlite:///{tmp_path / 'online.db'}"
    run = _run_dag(monkeypatch, tiny_lake, warehouse, online)

    states = {ti.task_id: str(ti.state) for ti in run.get_task_instances()}
    assert set(states.values()) == {"success"}, states
    assert len(states) == 7
    assert str(run.state) == "success"
    assert run.logical_date.date() == AS_OF

    assert AS_OF in completed_dates(spark, warehouse)  # type: ignore[arg-type]
    for group, df in committed_tables(spark, warehouse).items():
        assert [r["as_of"] for r in df.select("as_of").distinct().collect()] == [AS_OF], group  # type: ignore[attr-defined]
        assert df.count() > 0, group  # type: ignore[attr-defined]
    # One run id from the DAG run: on the commit (with Airflow's run id), validated by the DAG.
    commit = resolve(spark, warehouse, AS_OF)  # type: ignore[arg-type]
    assert commit.external_run_id == run.run_id and commit.validation_passed is True
    live, versions = status(online)
    assert live is not None
    assert [v.as_of for v in versions if v.version == live] == [AS_OF.isoformat()]
