"""Fixtures for the DAG and jobs tests: Airflow's metadata DB, spark-submit, a standalone cluster.

Airflow reads its settings when first imported, so the DAG folder is set here, at import time
(the root conftest already points AIRFLOW_HOME at a temporary folder).
"""

from __future__ import annotations

import contextlib
import json
import os
import shutil
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
JOBS = REPO / "jobs"
VENV_BIN = Path(sys.executable).parent
os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS))
# Spark's Python workers (the online export runs Python on the executors) must use this venv,
# also when pytest is started without the venv on PATH.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture(scope="session")
def airflow_db() -> Path:
    """A migrated SQLite metadata DB in the session's temporary AIRFLOW_HOME."""
    from airflow.utils import db

    home = Path(os.environ["AIRFLOW_HOME"])
    assert str(home).startswith(("/tmp", os.environ.get("TMPDIR", "/tmp"))), home
    db.initdb()
    return home


# -- spark-submit ---------------------------------------------------------------------------------
def delta_jars_arg() -> str:
    """The comma-separated jar list printed by ``amp-features jars spark-submit-args``."""
    out = subprocess.run(
        [str(VENV_BIN / "amp-features"), "jars", "spark-submit-args"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout.strip()
    flag, _, jars = out.partition(" ")
    assert flag == "--jars" and jars, out
    return jars


def submit_env() -> dict[str, str]:
    env = dict(os.environ)
    # The driver and any Python worker must use this venv (where amp_features is installed).
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["SPARK_HOME"] = str(spark_home())
    env.setdefault("AMP_SPARK_LOG_LEVEL", "WARN")
    return env


# Small-data settings: under spark-submit the session leaves resources to spark-submit, so a tiny
# test must say itself that 200 shuffle partitions are too many.
SMALL_SUBMIT_CONF = {
    "spark.sql.shuffle.partitions": "4",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
    "spark.databricks.delta.snapshotPartitions": "2",
}


def spark_submit(
    script: Path | str,
    args: list[str],
    *,
    master: str = "local[2]",
    extra_conf: dict[str, str] | None = None,
    env: dict[str, str] | None = None,
    timeout: float = 2400,
) -> subprocess.CompletedProcess[str]:
    cmd = [str(VENV_BIN / "spark-submit"), "--master", master, "--jars", delta_jars_arg()]
    for key, value in {**SMALL_SUBMIT_CONF, **(extra_conf or {})}.items():
        cmd += ["--conf", f"{key}={value}"]
    cmd += [str(script), *args]
    return subprocess.run(
        cmd,
        env={**submit_env(), **(env or {})},
        capture_output=True,
        text=True,
        timeout=timeout,
        cwd=REPO,
    )


# -- a real standalone cluster ------------------------------------------------------------------------
def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


@dataclass
class StandaloneCluster:
    master_url: str
    ui_url: str
    log_dir: Path

    def status(self) -> dict[str, object]:
        with urllib.request.urlopen(self.ui_url + "/json/", timeout=5) as response:
            return dict(json.loads(response.read()))

    def logs(self) -> str:
        return "\n".join(
            f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}"
            for p in sorted(self.log_dir.glob("*.out"))
        )


MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


@pytest.fixture(scope="session")
def spark_standalone(tmp_path_factory: pytest.TempPathFactory) -> Iterator[StandaloneCluster]:
    """One master and two workers (1 core, 1 GB each) on 127.0.0.1, started with PySpark's own
    ``sbin/spark-daemon.sh`` (the script start-master.sh/start-worker.sh wrap; the pip package
    ships only the daemon script) and always stopped afterwards, also when a test fails."""
    work = tmp_path_factory.mktemp("spark-standalone")
    daemon = spark_home() / "sbin" / "spark-daemon.sh"
    env = submit_env()
    env.update(
        SPARK_LOG_DIR=str(work / "logs"),
        # Own pid folder and ident: stopping touches only the daemons this fixture started.
        SPARK_PID_DIR=str(work / "pids"),
        SPARK_IDENT_STRING=f"amp-test-{os.getpid()}",
        SPARK_LOCAL_IP="127.0.0.1",
        SPARK_DAEMON_MEMORY="256m",
        SPARK_WORKER_DIR=str(work / "work"),
    )
    env.pop("SPARK_NO_DAEMONIZE", None)
    port, ui_port = _free_port(), _free_port()
    cluster = StandaloneCluster(
        f"spark://127.0.0.1:{port}", f"http://127.0.0.1:{ui_port}", work / "logs"
    )
    daemons = [(MASTER_CLASS, 1)]

    def daemon_cmd(action: str, cls: str, instance: int, *args: str) -> None:
        subprocess.run(
            ["bash", str(daemon), action, cls, str(instance), *args],
            env=env,
            check=action == "start",
            capture_output=True,
            timeout=60,
        )

    try:
        daemon_cmd(
            "start", MASTER_CLASS, 1, "--host", "127.0.0.1", "--port", str(port),
            "--webui-port", str(ui_port),
        )  # fmt: skip
        for instance in (1, 2):
            daemons.append((WORKER_CLASS, instance))
            daemon_cmd(
                "start", WORKER_CLASS, instance, "--host", "127.0.0.1",
                "--webui-port", str(_free_port()), "--cores", "1", "--memory", "1g",
                "--work-dir", str(work / f"work{instance}"), cluster.master_url,
            )  # fmt: skip
        deadline = time.monotonic() + 90
        while True:
            try:
                if cluster.status().get("aliveworkers") == 2:
                    break
            except OSError:
                pass
            if time.monotonic() > deadline:
                raise RuntimeError("standalone cluster did not come up:\n" + cluster.logs())
            time.sleep(1)
        yield cluster
    finally:
        for cls, instance in reversed(daemons):
            daemon_cmd("stop", cls, instance)
        # Safety net: a daemon whose stop failed is killed by the pid this fixture recorded.
        for pid_file in (work / "pids").glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(pid_file.read_text().strip())
                # Only if that pid is still one of ours (its command line names our port).
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                if str(port) in cmdline and "org.apache.spark.deploy" in cmdline:
                    os.kill(pid, 9)
        shutil.rmtree(work / "work", ignore_errors=True)


# -- a tiny generated lake, shared by the DAG and backfill tests -----------------------------------
LAKE_END = "2026-03-03"  # the last raw dt; the tests compute as of 2026-03-01..2026-03-03


@pytest.fixture(scope="session")
def tiny_lake(spark: object, tmp_path_factory: pytest.TempPathFactory) -> str:
    """62 days of raw data for 200 users: three full 60-day windows, and every day has both
    playback and engagement rows (the input suites fail a window with a missing day)."""
    import datetime as dt

    from amp_features.generate import generate_lake

    out = str(tmp_path_factory.mktemp("amp-airflow-lake") / "lake")
    generate_lake(
        spark,  # type: ignore[arg-type]
        out,
        users=200,
        days=62,
        end_date=dt.date.fromisoformat(LAKE_END),
        seed=11,
    )
    return out


def feature_rows(spark: object, warehouse: str) -> dict[str, list[tuple[object, ...]]]:
    """Every feature row per group, sorted (tiny tables only: for equality checks in tests)."""
    from amp_features.layout import Warehouse
    from amp_features.registry import GROUPS

    out = {}
    for group in GROUPS:
        df = spark.read.format("delta").load(Warehouse(warehouse).feature_table(group))  # type: ignore[attr-defined]
        out[group] = sorted((tuple(r) for r in df.collect()), key=repr)
    return out
