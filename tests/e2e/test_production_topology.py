"""The production topology, end to end: the wheel installed in a fresh virtualenv, the lake and the
warehouse on S3 (S3Proxy), every Spark stage submitted to a standalone cluster, Redis online.

What the test does is what docs/deploy.md ("Recipe: standalone cluster, S3, Airflow") tells a user
to do; keep the two in step. From a folder outside the repository, with only the installed
package (its job scripts found by ``amp-features jobs path``):

1. ``amp-features generate --out s3a://...``: a six-day lake onto S3.
2. Airflow runs the DAG in spark-submit mode (``dag.test()``) for two consecutive dates against
   the cluster: D1 through its two writing stages only (``build_states`` and ``rollup``; the
   others are marked successful, to save a minute of CI), D2 through all seven tasks, publishing
   to Redis.
3. ``spark-submit .../jobs/backfill.py`` over D2..D3 on the cluster: D2 is already done (skipped),
   D3 is computed, validated and published.

Meanwhile ``amp-features demo`` runs from the installed wheel on embedded defaults (local Spark,
local disk, SQLite) in a folder of its own, and this process computes D1..D3 from a copy of the
lake on a local disk. The feature tables on S3 must equal those row for row, the vectors Redis
serves must equal the offline ones, every application must have run on the cluster, and the S3
secret must appear in no output.
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

import pytest
from installed import REPO, build_wheel, fresh_venv, installed_env, run
from redisserver import RedisServer
from s3proxy import S3Proxy
from sparkcluster import StandaloneCluster

pytestmark = [pytest.mark.slow, pytest.mark.nightly]

HERE = Path(__file__).resolve().parent
D1, D2, D3 = dt.date(2026, 3, 4), dt.date(2026, 3, 5), dt.date(2026, 3, 6)
LAKE = ["--users", "60", "--days", "6", "--end-date", str(D3), "--seed", "3"]
TABLES = ("user", "show", "creator", "user_topic", "user_creator", "show_attributes")
STAGES = ("validate_inputs", "build_states", "rollup", "validate_outputs", "publish", "record_metrics")  # fmt: skip
D1_SKIPPED = "^(validate_inputs|validate_outputs|publish|record_metrics)$"
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


@pytest.fixture(scope="module")
def topology(
    s3_spark: Any,
    s3proxy: S3Proxy,
    redis_server: RedisServer,
    spark_standalone: StandaloneCluster,
    airflow_db: Path,
    tmp_path_factory: pytest.TempPathFactory,
) -> Topology:
    seconds: dict[str, float] = {}
    work = tmp_path_factory.mktemp("production")
    assert not work.is_relative_to(REPO)
    started = time.monotonic()
    venv_bin = fresh_venv(build_wheel(work / "build"), work / "venv")
    _timed(seconds, "wheel and venv", started)

    cwd = work / "cwd"  # the user's working directory: no checkout in sight
    cwd.mkdir()
    root = f"s3a://{s3proxy.bucket}/production"
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
        *submit, backfill, "--start", str(D2), "--end", str(D3),
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
    fs.copy_files(f"{s3proxy.bucket}/production/lake", str(lake), source_filesystem=remote)
    for day in (D1, D2, D3):
        run_features(spark, str(lake), str(warehouse), day)
    return str(warehouse)


def rows(df: Any) -> list[tuple[Any, ...]]:
    return sorted((tuple(r) for r in df.collect()), key=repr)  # tiny tables: equality checks


def test_everything_ran_from_the_installed_wheel(topology: Topology) -> None:
    site = topology.venv_bin.parent / "lib"
    assert Path(topology.jobs_dir).is_relative_to(site), topology.jobs_dir
    assert Path(topology.jobs_dir, "compute_features.py").is_file()
    # The DAG, copied away from the checkout, found the job script in the installed package.
    apps = topology.dag["applications"]
    assert {apps[stage] for stage in STAGES} == {f"{topology.jobs_dir}/compute_features.py"}
    assert str(REPO) not in topology.outputs["dag"].replace(str(REPO / ".venv"), "")


def test_the_dag_ran_both_dates_and_every_stage_on_the_cluster(
    topology: Topology, spark_standalone: StandaloneCluster
) -> None:
    first, second = topology.dag["runs"]
    assert (first["day"], first["state"], second["day"], second["state"]) == (
        str(D1), "success", str(D2), "success",
    )  # fmt: skip
    assert set(second["tasks"].values()) == {"success"} and len(second["tasks"]) == 7
    completed = [app["name"] for app in spark_standalone.status()["completedapps"]]  # type: ignore[union-attr]
    # Each stage task was a spark-submit application on the master, named by its job.
    submitted = [f"amp-features compute {D1} {s}" for s in ("build_states", "rollup")]
    submitted += [f"amp-features compute {D2} {s}" for s in STAGES]
    submitted.append(f"amp-features backfill {D2}..{D3}")
    assert not [name for name in submitted if name not in completed], completed
    assert spark_standalone.status()["aliveworkers"] == 2


def test_the_backfill_skipped_the_date_the_dag_had_done(topology: Topology, s3_spark: Any) -> None:
    from amp_features.offline.snapshots import latest_commits

    commits = latest_commits(s3_spark, topology.warehouse)
    assert sorted(commits) == [D1, D2, D3]
    assert "1 to roll up, 1 already complete" in topology.outputs["backfill"]
    # D2 is still the DAG's commit (with its Airflow run id); D3 is the backfill's, validated.
    assert commits[D2].external_run_id == topology.dag["runs"][1]["run_id"]
    assert commits[D2].validation_passed is True
    assert commits[D3].external_run_id is None and commits[D3].validation_passed is True


def test_feature_tables_on_s3_equal_the_local_disk_row_for_row(
    topology: Topology, s3_spark: Any
) -> None:
    from amp_features.offline.snapshots import read_history
    from amp_features.registry import GROUPS

    for table in (*GROUPS, "show_attributes"):
        on_s3 = rows(read_history(s3_spark, topology.warehouse, table))
        assert {r[-1] for r in on_s3} == {D1, D2, D3}, table  # as_of is the last column
        assert on_s3 == rows(read_history(s3_spark, topology.local_warehouse, table)), table


def test_redis_serves_the_offline_vectors_of_the_last_date(
    topology: Topology, s3_spark: Any
) -> None:
    from amp_features.explore import load_group, load_vectors
    from amp_features.export import status
    from amp_features.registry import vector_columns
    from amp_features.serve import OnlineStore

    live, versions = status(topology.online)
    assert [v.as_of for v in versions if v.version == live] == [str(D3)]
    users = sorted(r["user_id"] for r in load_group(s3_spark, topology.warehouse, "user", D3).collect())  # fmt: skip
    shows = sorted(r["show_id"] for r in load_group(s3_spark, topology.warehouse, "show", D3).collect())  # fmt: skip
    users, shows = [*users[:10], "no-such-user"], [*shows[:8], "no-such-show"]
    served = []
    with OnlineStore.from_url(topology.online) as store:
        for user in users:
            vectors = store.ranking_vectors(user, shows)
            served += [(user, show, *v) for show, v in zip(shows, vectors, strict=True)]
    pairs = [(u, s) for u in users for s in shows]
    columns = ["user_id", "show_id", *vector_columns()]
    assert rows(load_vectors(s3_spark, topology.warehouse, D3, pairs).select(*columns)) == sorted(
        served, key=repr
    )


def test_no_output_shows_the_s3_secret(topology: Topology, s3proxy: S3Proxy) -> None:
    assert set(topology.outputs) == {"generate", "demo", "dag", "backfill"}
    assert f"{topology.warehouse}" in topology.outputs["dag"]  # the real, verbose logs
    for step, output in topology.outputs.items():
        assert s3proxy.secret_key not in output, step


# -- the installed demo ----------------------------------------------------------------------------
def test_the_installed_demo_ran_on_embedded_defaults(topology: Topology, spark: Any) -> None:
    from amp_features.explore import load_group, load_vectors
    from amp_features.offline.snapshots import committed_dates
    from amp_features.registry import vector_columns
    from amp_features.serve import OnlineStore

    out = topology.outputs["demo"]
    assert topology.demo_code == 0, out[-5000:]
    assert "quality:    passed" in out, out[-3000:]
    assert committed_dates(spark, topology.demo_warehouse) == [D3]
    # What its SQLite store serves is its offline snapshot of D3.
    online = f"sqlite:///{Path(topology.demo_warehouse).parent / 'online.db'}"
    assert f"online:     {online} (version " in out, out[-3000:]
    users = sorted(r["user_id"] for r in load_group(spark, topology.demo_warehouse, "user", D3).collect())  # fmt: skip
    shows = sorted(r["show_id"] for r in load_group(spark, topology.demo_warehouse, "show", D3).collect())  # fmt: skip
    assert users and shows
    users, shows = users[:6], shows[:6]
    with OnlineStore.from_url(online) as store:
        served = [
            (user, show, *vector)
            for user in users
            for show, vector in zip(shows, store.ranking_vectors(user, shows), strict=True)
        ]
    pairs = [(u, s) for u in users for s in shows]
    columns = ["user_id", "show_id", *vector_columns()]
    offline = load_vectors(spark, topology.demo_warehouse, D3, pairs).select(*columns)
    assert rows(offline) == sorted(served, key=repr)
