"""``dag.test()`` of the daily DAG for a few logical dates, as an Airflow worker would run it.

Run by the production-topology test with the installed wheel's Python, from a folder outside the
repository (it is copied there with the DAG file). Usage::

    python run_dag.py DAG_FILE RESULT_JSON DAY[:SKIP_PATTERN] ...

``SKIP_PATTERN`` is a regex of task ids marked successful instead of run (``dag.test``'s
``mark_success_pattern``). Writes each run's state and task states, and each task's application
(the job script spark-submit runs) to RESULT_JSON.
"""

from __future__ import annotations

import datetime as dt
import json
import sys
from pathlib import Path

from airflow.dag_processing.dagbag import DagBag

DAG_ID = "amp_features_daily"


def main(dag_file: str, result: str, *days: str) -> int:
    bag = DagBag(dag_folder=dag_file)
    if DAG_ID not in bag.dags:
        print(f"DAG {DAG_ID} did not load: {bag.import_errors}", file=sys.stderr)
        return 2
    dag = bag.dags[DAG_ID]
    for task in dag.tasks:
        task.retries = 0  # fail at the first error instead of backing off for minutes
    out: dict[str, object] = {
        "applications": {t.task_id: getattr(t, "application", None) for t in dag.tasks},
        "runs": [],
    }
    for item in days:
        day, _, skip = item.partition(":")
        # Logical date D at 22:00 UTC: ds is D, so the run computes as of D.
        logical = dt.datetime.combine(dt.date.fromisoformat(day), dt.time(22, tzinfo=dt.UTC))
        run = dag.test(logical_date=logical, mark_success_pattern=skip or None)
        out["runs"].append(  # type: ignore[attr-defined]
            {
                "day": day,
                "run_id": run.run_id,
                "state": str(run.state),
                "tasks": {ti.task_id: str(ti.state) for ti in run.get_task_instances()},
            }
        )
        Path(result).write_text(json.dumps(out, indent=2))
        if str(run.state) != "success":
            return 1
    return 0


if __name__ == "__main__":
    sys.exit(main(*sys.argv[1:]))
