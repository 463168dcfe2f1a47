"""Helpers for the DAG and jobs tests: paths, spark-submit, a standalone cluster's handle, and
feature rows for equality checks. A module of its own name (not ``conftest``), so that test files
import it unambiguously when several test folders run in one pytest call."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

# The cluster's handle and spark-submit's environment live in tests/sparkcluster.py (shared with
# tests/e2e); re-exported here for the tests of this folder.
from sparkcluster import (  # noqa: F401
    MASTER_CLASS,
    WORKER_CLASS,
    StandaloneCluster,
    free_port,
    spark_home,
    submit_env,
)

REPO = Path(__file__).resolve().parents[2]
DAGS = REPO / "dags"
JOBS = REPO / "jobs"
VENV_BIN = Path(sys.executable).parent


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


def committed_tables(spark: object, warehouse: str) -> dict[str, object]:
    """Each feature group as readers see it: every committed as_of at its commit's version."""
    from amp_features.offline.snapshots import read_history
    from amp_features.registry import GROUPS

    return {group: read_history(spark, warehouse, group) for group in GROUPS}  # type: ignore[arg-type]


def feature_rows(spark: object, warehouse: str) -> dict[str, list[tuple[object, ...]]]:
    """Every committed feature row per group, sorted (tiny tables only: for equality checks)."""
    return {
        group: sorted((tuple(r) for r in df.collect()), key=repr)  # type: ignore[attr-defined]
        for group, df in committed_tables(spark, warehouse).items()
    }
