"""Fixtures for the DAG and jobs tests: Airflow's metadata DB, spark-submit, a standalone cluster.

Airflow reads its settings when first imported, so the DAG folder is set here, at import time
(the root conftest already points AIRFLOW_HOME at a temporary folder).
"""

from __future__ import annotations

import contextlib
import os
import shutil
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from airflow_helpers import (
    DAGS,
    MASTER_CLASS,
    WORKER_CLASS,
    StandaloneCluster,
    free_port,
    spark_home,
    submit_env,
)

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
    port, ui_port = free_port(), free_port()
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
                "--webui-port", str(free_port()), "--cores", "1", "--memory", "1g",
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
