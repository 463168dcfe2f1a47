"""Builds the production topology of test_production_topology.py (its docstring tells the steps):
the wheel in a fresh venv, a lake on S3, the DAG for two dates and a backfill on the cluster, the
installed demo, and the same dates computed on a local disk by this process.
"""

from __future__ import annotations

import datetime as dt
import json
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from installed import REPO, build_wheel, fresh_venv, installed_env, run
from redisserver import RedisServer
from s3proxy import S3Proxy
from sparkcluster import StandaloneCluster

HERE = Path(__file__).resolve().parent
PREFIX = "production"  # of every object the topology writes to the bucket
D1, D2, D3 = dt.date(2026, 3, 4), dt.date(2026, 3, 5), dt.date(2026, 3, 6)
LAKE = ["--users", "60", "--days", "6", "--end-date", str(D3), "--seed", "3"]
TABLES = ("user", "show", "creator", "user_topic", "user_creator", "show_attributes")
# The DAG's tasks under spark-submit (grouped): one application each.
TASKS = {
    "compute": "validate_inputs,build_states,rollup,validate_outputs,record_metrics",
    "publish": "publish",
}
D1_SKIPPED = "^publish$"  # D1 is computed and validated; only D2 is published by the DAG
# The cluster has two 1-core, 1 GB workers; the data is tiny.
SUBMIT_CONF = {
    "spark.executor.memory": "512m",
    "spark.cores.max": "2",
    "spark.driver.memory": "1g",
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.databricks.delta.snapshotPartitions": "2",
    # Each task is a short-lived app: C1-only JIT and the serial collector start the driver and
    # executor JVMs with less CPU on the 2 shared cores (UTC as the library's own default).
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC -XX:TieredStopAtLevel=1 -XX:+UseSerialGC",
}


@dataclass
class Topology:
    venv_bin: Path
    lake: str
    warehouse: str
    online: str
    local_warehouse: str
    jobs_dir: str
    dag: dict[str, Any]  # run_dag.py's result
    demo_warehouse: str  # ``amp-features demo`` of the installed wheel (D3, local, SQLite)
    demo_code: int
    outputs: dict[str, str] = field(default_factory=dict)  # step -> stdout + stderr
    seconds: dict[str, float] = field(default_factory=dict)


def _timed(topology_seconds: dict[str, float], step: str, started: float) -> None:
    topology_seconds[step] = round(time.monotonic() - started, 1)


def build(
    s3_spark: Any,
    s3proxy: S3Proxy,
    redis_server: RedisServer,
    spark_standalone: StandaloneCluster,
    work: Path,
) -> Topology:
    """Every step of the module docstring, timed; what the tests check is in the result."""
    seconds: dict[str, float] = {}
    assert not work.is_relative_to(REPO)
    started = time.monotonic()
    venv_bin = fresh_venv(build_wheel(work / "build"), work / "venv")
    _timed(seconds, "wheel and venv", started)

    cwd = work / "cwd"  # the user's working directory: no checkout in sight
    cwd.mkdir()
    root = f"s3a://{s3proxy.bucket}/{PREFIX}"
    lake, warehouse = f"{root}/lake", f"{root}/warehouse"
    online = redis_server.url("production")
    env = installed_env(venv_bin, s3proxy.env())

    def installed(*args: str, extra: dict[str, str] | None = None) -> str:
        done = run(list(args), cwd=cwd, env={**env, **(extra or {})})
        return done.stdout + done.stderr

    outputs: dict[str, str] = {}
    jars = installed("amp-features", "jars", "spark-submit-args", "--s3").strip()
    assert jars.startswith("--jars "), jars
    jars = jars.removeprefix("--jars ")
    jobs_dir = installed("amp-features", "jobs", "path").strip()

    started = time.monotonic()
    small = ";".join(f"{k}={v}" for k, v in SUBMIT_CONF.items() if "executor" not in k)
    outputs["generate"] = installed(
        "amp-features", "--master", "local[2]", "generate", "--out", lake, *LAKE,
        extra={"AMP_SPARK_CONF": small},
    )  # fmt: skip
    _timed(seconds, "generate on S3", started)

    # -- Airflow: the DAG file in a dags folder of its own, spark-submit mode --------------------
    dags = work / "airflow" / "dags"
    dags.mkdir(parents=True)
    shutil.copy2(REPO / "dags" / "amp_features_daily.py", dags)
    shutil.copy2(HERE / "run_dag.py", cwd)
    python = str(venv_bin / "python")
    host, port = spark_standalone.master_url.removeprefix("spark://").split(":")
    airflow_env = {
        **env,
        "AIRFLOW__CORE__DAGS_FOLDER": str(dags),
        "AMP_FEATURES_EXECUTION": "spark-submit",
        "AMP_FEATURES_SPARK_CONF": ";".join(
            [f"spark.pyspark.python={python}", *(f"{k}={v}" for k, v in SUBMIT_CONF.items())]
        ),
        "AIRFLOW_CONN_AMP_FEATURES_SPARK": json.dumps(
            {"conn_type": "spark", "host": f"spark://{host}", "port": int(port)}
        ),
        "AIRFLOW_VAR_AMP_FEATURES_LAKE": lake,
        "AIRFLOW_VAR_AMP_FEATURES_WAREHOUSE": warehouse,
        "AIRFLOW_VAR_AMP_FEATURES_ONLINE": online,
        "AIRFLOW_VAR_AMP_FEATURES_SPARK_JARS": jars,
    }
    result = cwd / "dag-result.json"
    log = cwd / "dag.log"
    started = time.monotonic()
    # The README's first command as a user of the wheel runs it: embedded defaults (local Spark,
    # local disk, SQLite) in a folder of its own, on a small lake of its own.
    demo_dir = work / "demo-cwd"
    demo_dir.mkdir()
    demo_args = ["amp-features", "--master", "local[1]", "demo", "--out", "out",
                 "--users", "120", "--days", "6", "--end-date", str(D3), "--seed", "3"]  # fmt: skip
    # Output to files: a pipe would stall a process once full.
    with open(log, "w") as out, open(demo_dir / "demo.log", "w") as demo_out:
        demo = subprocess.Popen(
            [str(venv_bin / demo_args[0]), *demo_args[1:]],
            cwd=demo_dir, env={**env, "AMP_SPARK_CONF": small},
            stdout=demo_out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        dag_run = subprocess.Popen(
            [python, "run_dag.py", str(dags / "amp_features_daily.py"), str(result),
             f"{D1}:{D1_SKIPPED}", str(D2)],
            cwd=cwd, env=airflow_env, stdout=out, stderr=subprocess.STDOUT,
        )  # fmt: skip
        try:
            # While the cluster works: the same dates from a copy of the lake on a local disk.
            local_warehouse = _local_reference(s3_spark, s3proxy, work)
            _timed(seconds, "local reference (overlapped)", started)
            demo.wait(timeout=3000)
            _timed(seconds, "demo (overlapped)", started)
            code = dag_run.wait(timeout=3000)
        finally:
            for proc in (demo, dag_run):
                if proc.poll() is None:
                    proc.kill()
                    proc.wait()
    outputs["demo"] = (demo_dir / "demo.log").read_text(errors="replace")
    _timed(seconds, "DAG, two dates", started)
    outputs["dag"] = log.read_text(errors="replace")
    assert code == 0, outputs["dag"][-8000:] + spark_standalone.logs()
    dag = json.loads(result.read_text())

    # -- the backfill, as an engineer submits it ------------------------------------------------
    started = time.monotonic()
    backfill = installed("amp-features", "jobs", "path", "backfill").strip()
    submit = ["spark-submit", "--master", spark_standalone.master_url, "--jars", jars]
    for key, value in {**SUBMIT_CONF, "spark.pyspark.python": python}.items():
        submit += ["--conf", f"{key}={value}"]
    outputs["backfill"] = installed(
        *submit, backfill, "--start", str(D2), "--end", str(D3), "--log-level", "DEBUG",
        "--lake", lake, "--warehouse", warehouse, "--online", online,
    )  # fmt: skip
    _timed(seconds, "backfill D2..D3", started)
    print(f"\nproduction topology, seconds per step: {seconds}")
    return Topology(
        venv_bin, lake, warehouse, online, local_warehouse, jobs_dir, dag,
        str(demo_dir / "out" / "warehouse"), demo.returncode, outputs, seconds,
    )  # fmt: skip


def _local_reference(spark: Any, s3proxy: S3Proxy, work: Path) -> str:
    """D1..D3 computed in this process from a copy of the S3 lake on a local disk."""
    from pyarrow import fs

    from amp_features.pipeline.api import run_features

    remote = fs.S3FileSystem(
        access_key=s3proxy.access_key,
        secret_key=s3proxy.secret_key,
        endpoint_override=s3proxy.endpoint.removeprefix("http://"),
        scheme="http",
        region=s3proxy.region,
    )
    lake, warehouse = work / "local" / "lake", work / "local" / "warehouse"
    lake.mkdir(parents=True)
    fs.copy_files(f"{s3proxy.bucket}/{PREFIX}/lake", str(lake), source_filesystem=remote)
    for day in (D1, D2, D3):
        run_features(spark, str(lake), str(warehouse), day)
    return str(warehouse)


def keys(s3proxy: S3Proxy, prefix: str) -> list[str]:
    """What another client of the bucket sees under ``prefix``."""
    pages = s3proxy.client().get_paginator("list_objects_v2")
    return [
        obj["Key"]
        for page in pages.paginate(Bucket=s3proxy.bucket, Prefix=prefix)
        for obj in page.get("Contents", [])
    ]
