"""A real Spark standalone cluster on loopback (one master, two 1-core workers), for the tests that
submit jobs to a cluster (tests/airflow, tests/e2e). The ``spark_standalone`` fixture in
``tests/conftest.py`` starts it once per test process. A module of its own name (not
``conftest``), so that test files import it unambiguously.
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
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from pathlib import Path

MASTER_CLASS = "org.apache.spark.deploy.master.Master"
WORKER_CLASS = "org.apache.spark.deploy.worker.Worker"


def spark_home() -> Path:
    import pyspark

    return Path(pyspark.__file__).parent


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def submit_env() -> dict[str, str]:
    env = dict(os.environ)
    # The driver and any Python worker must use this venv (where amp_features is installed).
    env["PYSPARK_PYTHON"] = sys.executable
    env["PYSPARK_DRIVER_PYTHON"] = sys.executable
    env["SPARK_HOME"] = str(spark_home())
    env.setdefault("AMP_SPARK_LOG_LEVEL", "WARN")
    return env


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


@contextlib.contextmanager
def standalone_cluster(work: Path, worker_env: Mapping[str, str]) -> Iterator[StandaloneCluster]:
    """One master and two workers (1 core, 1 GB each) on 127.0.0.1, started with PySpark's own
    ``sbin/spark-daemon.sh`` (the script start-master.sh/start-worker.sh wrap; the pip package
    ships only the daemon script) and always stopped afterwards, also when a test fails.

    ``worker_env`` is added to the daemons' environment, which their executors inherit (what
    ``conf/spark-env.sh`` does on a real cluster)."""
    daemon = spark_home() / "sbin" / "spark-daemon.sh"
    env = submit_env()
    env.update(worker_env)
    env.update(
        SPARK_LOG_DIR=str(work / "logs"),
        # Own pid folder and ident: stopping touches only the daemons started here.
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
        # Safety net: a daemon whose stop failed is killed by the pid recorded for it.
        for pid_file in (work / "pids").glob("*.pid"):
            with contextlib.suppress(OSError, ValueError):
                pid = int(pid_file.read_text().strip())
                # Only if that pid is still one of ours (its command line names our port).
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
                if str(port) in cmdline and "org.apache.spark.deploy" in cmdline:
                    os.kill(pid, 9)
        shutil.rmtree(work / "work", ignore_errors=True)
