"""Shared fixtures: one session-scoped SparkSession (local[2], UTC, Delta, UI off)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import pytest
from s3proxy import S3Proxy

# Keep Airflow (imported by DAG tests) off the user's home, and quiet. Every test process gets
# its own home (pytest-xdist workers inherit the controller's environment, and two workers must
# not share one SQLite metadata DB), removed when the process exits.
_AIRFLOW_HOME = tempfile.mkdtemp(prefix="amp-airflow-")
os.environ["AIRFLOW_HOME"] = _AIRFLOW_HOME
atexit.register(shutil.rmtree, _AIRFLOW_HOME, ignore_errors=True)
os.environ.setdefault("AIRFLOW__CORE__LOAD_EXAMPLES", "False")
os.environ.setdefault("AIRFLOW__CORE__UNIT_TEST_MODE", "True")
# Airflow's dag.test() points the root logger at pytest's captured stderr; py4j then logs its
# INFO "Closing down clientserver connection" at interpreter exit into that closed stream and
# prints a "--- Logging error ---" traceback after a green run. Its INFO lines add nothing here.
logging.getLogger("py4j").setLevel(logging.WARNING)


@pytest.fixture(scope="session")
def spark_warehouse() -> Iterator[Path]:
    path = Path(tempfile.mkdtemp(prefix="amp-spark-warehouse-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture(scope="session")
def spark(spark_warehouse: Path) -> Iterator[object]:
    from amp_features.session import build_session

    session = build_session(
        "amp-features-tests",
        for_tests=True,
        conf={"spark.sql.warehouse.dir": str(spark_warehouse)},
    )
    yield session
    session.stop()


@pytest.fixture(scope="session")
def s3proxy() -> Iterator[S3Proxy]:
    """A real S3-compatible server (S3Proxy) on 127.0.0.1 with one empty bucket, stopped after
    the session (and at exit). Its ``env()`` holds the variables a client needs; the shared
    ``spark`` was started without them, see tests/s3/test_s3_spark.py for how it reaches S3."""
    folder = tempfile.mkdtemp(prefix="amp-s3proxy-")
    server = S3Proxy(Path(folder))
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


@pytest.fixture()
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path
