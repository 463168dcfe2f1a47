"""Airflow 3 DAG: compute the Amp batch features once a day (see ``doc_md`` below).

This file stays thin on purpose: only Airflow and the standard library at the top level, no
Spark, no pandas, no amp_features internals and no I/O, so the DAG processor parses it in
milliseconds. Tasks import what they need inside their bodies. Parse-time choices come from
environment variables (reading Airflow Variables at the top level would hit the metadata DB on
every parse); run-time settings (where the data lives) come from Airflow Variables, read inside
tasks or through templates.
"""

from __future__ import annotations

import os
from datetime import datetime, timedelta
from typing import Any

from airflow.sdk import CronDataIntervalTimetable, PokeReturnValue, chain, dag, task

DAG_ID = "amp_features_daily"
STAGES = (
    "validate_inputs",
    "build_states",
    "rollup",
    "validate_outputs",
    "publish",
    "record_metrics",
)
# Tasks when grouped: each runs its stages in one process (one spark-submit application), so a
# date pays two JVM and executor start-ups instead of six. "compute" is what `amp-features run`
# does and ends with the output gate; "publish" is `amp-features export`, alone so that an
# online-store outage retries only the export.
GROUPED_TASKS = {
    "compute": ("validate_inputs", "build_states", "rollup", "validate_outputs", "record_metrics"),
    "publish": ("publish",),
}

# -- parse-time configuration (environment of the DAG processor, scheduler and workers) ---------
# embedded: each task runs Spark in the Airflow worker's own process (local master by default).
# spark-submit: each task is a SparkSubmitOperator running JOBS_DIR/compute_features.py --stage.
EXECUTION = os.environ.get("AMP_FEATURES_EXECUTION", "embedded").strip().lower()
CATCHUP = os.environ.get("AMP_FEATURES_CATCHUP", "false").strip().lower() in ("1", "true", "yes")
START_DATE = datetime.fromisoformat(os.environ.get("AMP_FEATURES_START_DATE", "2026-01-01"))
SPARK_CONN_ID = os.environ.get("AMP_FEATURES_SPARK_CONN_ID", "amp_features_spark")
# stages: one task per stage (the default when embedded). grouped: the two tasks of
# GROUPED_TASKS (the default under spark-submit, where every task is a new application).
TASKS = (
    os.environ.get("AMP_FEATURES_TASKS", "grouped" if EXECUTION == "spark-submit" else "stages")
    .strip()
    .lower()
)


def _installed_jobs_dir() -> str:
    """The job scripts shipped in the installed package (``amp_features/jobs``), found without
    importing it; a checkout next to this file (``../jobs``) when the package is not installed."""
    import importlib.util

    spec = importlib.util.find_spec("amp_features")
    if spec is not None and spec.submodule_search_locations:
        return os.path.join(next(iter(spec.submodule_search_locations)), "jobs")
    return os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "jobs")


JOBS_DIR = os.environ.get("AMP_FEATURES_JOBS_DIR") or _installed_jobs_dir()


def _spark_conf(value: str) -> dict[str, str]:
    """``key=value`` pairs separated by ``;`` or newlines (the syntax of AMP_SPARK_CONF)."""
    pairs = {}
    for item in value.replace(";", "\n").splitlines():
        key, sep, val = item.strip().partition("=")
        if item.strip() and (not sep or not key.strip()):
            raise ValueError(f"AMP_FEATURES_SPARK_CONF: expected key=value, got {item.strip()!r}")
        if sep:
            pairs[key.strip()] = val.strip()
    return pairs


# spark-submit --conf of every task, e.g. spark.pyspark.python (the executors' Python, where
# amp_features is installed) and resources; never credentials (the command line is logged).
SPARK_CONF = {
    "spark.sql.session.timeZone": "UTC",
    **_spark_conf(os.environ.get("AMP_FEATURES_SPARK_CONF", "")),
}
SENSOR_TIMEOUT = timedelta(hours=float(os.environ.get("AMP_FEATURES_SENSOR_TIMEOUT_HOURS", "12")))
SENSOR_POKE = timedelta(minutes=float(os.environ.get("AMP_FEATURES_SENSOR_POKE_MINUTES", "10")))
if EXECUTION not in ("embedded", "spark-submit"):
    raise ValueError(f"AMP_FEATURES_EXECUTION must be embedded or spark-submit, got {EXECUTION!r}")
if TASKS not in ("stages", "grouped"):
    raise ValueError(f"AMP_FEATURES_TASKS must be stages or grouped, got {TASKS!r}")
TASK_STAGES: dict[str, tuple[str, ...]] = (
    dict(GROUPED_TASKS) if TASKS == "grouped" else {stage: (stage,) for stage in STAGES}
)

# -- run-time settings: Airflow Variable, else the worker's environment -----------------------
SETTINGS = {  # Variable name -> environment fallback
    "amp_features_lake": "AMP_FEATURES_LAKE",
    "amp_features_warehouse": "AMP_FEATURES_WAREHOUSE",
    "amp_features_online": "AMP_FEATURES_ONLINE",
}

DOC_MD = f"""
### Amp batch features, daily

Computes the 21 features of the data contract **as of D = `ds`** (the run's logical date) and
publishes them to the online store.

* **Schedule** `0 22 * * *` UTC as data intervals: the run with logical date D covers the day D
  and starts at 22:00 UTC on D+1, once D's raw partitions are complete. It never reads the clock.
* **Tasks**: `wait_for_raw_partitions` (reschedule-mode sensor, times out after
  {SENSOR_TIMEOUT}) → {" → ".join(f"`{t}`" for t in TASK_STAGES)}. Publish runs only when
  `validate_outputs` succeeded. `AMP_FEATURES_TASKS=stages` gives one task per stage
  ({" → ".join(f"`{s}`" for s in STAGES)}); `grouped` runs `compute`
  ({", ".join(GROUPED_TASKS["compute"])}) and `publish`, each in one process.
* **Idempotent**: states already built are kept, D's partitions are overwritten, the online
  store is rewritten for D. Clearing any task and running it again is safe.
* **Settings**: Variables `amp_features_lake`, `amp_features_warehouse`, `amp_features_online`
  (or env `AMP_FEATURES_LAKE`, ...). Mode `AMP_FEATURES_EXECUTION` = `embedded` (Spark in the
  worker) or `spark-submit` (connection `{SPARK_CONN_ID}`, job scripts in `{JOBS_DIR}`,
  extra `--conf` from `AMP_FEATURES_SPARK_CONF`). Catch-up:
  `AMP_FEATURES_CATCHUP=true` with `AMP_FEATURES_START_DATE`.
* **One writer**: `max_active_runs=1`, and every writing stage takes the warehouse's write
  lease, so a backfill started while a run writes fails fast naming the holder (Delta's S3 log
  store is safe for a single writer per table only).
* **Backfill**: `airflow backfill create --dag-id {DAG_ID} --from-date D1 --to-date D2`, or the
  faster `spark-submit "$(amp-features jobs path backfill)"` (see docs/deploy.md).

Current mode: **{EXECUTION}**, tasks **{TASKS}**.
"""

default_args = {
    "owner": "amp-data-platform",
    "depends_on_past": False,
    # Explicit retries with exponential backoff: 5 min, 10 min, 20 min (capped at 1 hour).
    "retries": 3,
    "retry_delay": timedelta(minutes=5),
    "retry_exponential_backoff": 2.0,
    "max_retry_delay": timedelta(hours=1),
    "execution_timeout": timedelta(hours=4),
}


def _setting(name: str) -> str | None:
    """An Airflow Variable, falling back to the worker's environment (read at run time only)."""
    from airflow.sdk import Variable

    value = Variable.get(name, default=None) or os.environ.get(SETTINGS[name])
    return str(value).strip() if value else None


def _storage_args() -> list[str]:
    lake, warehouse = _setting("amp_features_lake"), _setting("amp_features_warehouse")
    if not lake or not warehouse:
        raise ValueError(
            "set the Airflow Variables amp_features_lake and amp_features_warehouse "
            "(or AMP_FEATURES_LAKE / AMP_FEATURES_WAREHOUSE on the workers)"
        )
    args = ["--lake", lake, "--warehouse", warehouse]
    online = _setting("amp_features_online")
    return [*args, "--online", online] if online else args


def _embedded_task(task_id: str, stages: tuple[str, ...]) -> Any:
    @task(task_id=task_id)
    def run_stage(ds: str | None = None, run_id: str | None = None) -> None:
        import importlib.util
        import sys

        # Spark's Python workers run this task's interpreter unless told otherwise.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
        # The job script is the single entry point for a stage: the same code runs here
        # in-process and under spark-submit in the other mode.
        path = os.path.join(JOBS_DIR, "compute_features.py")
        spec = importlib.util.spec_from_file_location("amp_features_job_compute_features", path)
        if spec is None or spec.loader is None:
            raise FileNotFoundError(f"job script not found: {path} (set AMP_FEATURES_JOBS_DIR)")
        job = importlib.util.module_from_spec(spec)
        spec.loader.exec_module(job)
        argv = ["--as-of", str(ds), "--stage", ",".join(stages), "--run-id", str(run_id or "")]
        job.run([*argv, *_storage_args()])

    return run_stage()


def _spark_submit_task(task_id: str, stages: tuple[str, ...]) -> Any:
    from airflow.providers.apache.spark.operators.spark_submit import SparkSubmitOperator

    def var(name: str) -> str:
        # Rendered at run time; the worker's environment is the fallback.
        fallback = os.environ.get(SETTINGS.get(name, ""), "")
        return f"{{{{ var.value.get({name!r}, {fallback!r}) }}}}"

    return SparkSubmitOperator(
        task_id=task_id,
        conn_id=SPARK_CONN_ID,
        application=os.path.join(JOBS_DIR, "compute_features.py"),
        name=f"amp-features {task_id} {{{{ ds }}}}",
        application_args=[
            "--as-of",
            "{{ ds }}",
            "--stage",
            ",".join(stages),
            "--run-id",
            "{{ run_id }}",
            "--lake",
            var("amp_features_lake"),
            "--warehouse",
            var("amp_features_warehouse"),
            "--online",
            var("amp_features_online"),
        ],
        # Comma-separated Delta jars (and hadoop-aws for s3a); see docs/deploy.md.
        jars="{{ var.value.get('amp_features_spark_jars', '') }}",
        packages="{{ var.value.get('amp_features_spark_packages', '') }}",
        py_files="{{ var.value.get('amp_features_spark_py_files', '') }}",
        conf=dict(SPARK_CONF),
    )


@dag(
    dag_id=DAG_ID,
    schedule=CronDataIntervalTimetable("0 22 * * *", timezone="UTC"),
    start_date=START_DATE,
    catchup=CATCHUP,
    # One run at a time: Delta's default S3 log store is safe for one writer per table, and the
    # warehouse lease (amp_features.offline.lease) makes any other writer fail fast.
    max_active_runs=1,
    dagrun_timeout=timedelta(hours=20),
    default_args=default_args,
    tags=["amp", "features", "spark", "delta"],
    doc_md=DOC_MD,
)
def amp_features_daily() -> None:
    @task.sensor(
        task_id="wait_for_raw_partitions",
        mode="reschedule",  # frees the worker slot between pokes
        poke_interval=SENSOR_POKE,
        timeout=SENSOR_TIMEOUT,
        retries=0,  # a timeout means the data is late: alert now, do not retry for hours
    )
    def wait_for_raw_partitions(ds: str | None = None) -> PokeReturnValue:
        from amp_features.logs import configure_logging, log
        from amp_features.orchestration.presence import missing_raw_partitions

        lake = _setting("amp_features_lake")
        if not lake:
            raise ValueError("set the Airflow Variable amp_features_lake (or AMP_FEATURES_LAKE)")
        configure_logging()
        readiness = missing_raw_partitions(lake, str(ds))
        for reason in readiness.missing:
            log.info("waiting for %s: %s", ds, reason)
        return PokeReturnValue(is_done=readiness.ready)

    make_task = _spark_submit_task if EXECUTION == "spark-submit" else _embedded_task
    chain(wait_for_raw_partitions(), *[make_task(t, stages) for t, stages in TASK_STAGES.items()])


amp_features_daily()
