"""Shared fixtures: one session-scoped SparkSession (local[2], UTC, Delta, UI off)."""

from __future__ import annotations

import atexit
import logging
import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from redisserver import RedisServer
from s3proxy import ACCESS_KEY, REGION, SECRET_KEY, S3Proxy
from sparkcluster import StandaloneCluster, standalone_cluster

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


@pytest.fixture(scope="module")
def s3_spark(spark: Any, s3proxy: S3Proxy) -> Iterator[Any]:
    """The shared ``spark`` reaching the ``s3proxy`` bucket, plus the server's AWS variables in
    this process (for ``amp_features.files``, which reads them like any AWS client).

    The session was built before the server existed, so it gets the settings the session would
    derive from those variables (``s3a_env_conf``) and the test credential at run time, as
    per-bucket keys (``fs.s3a.bucket.<bucket>.*``) on the context's Hadoop configuration: Delta
    and Spark copy it whenever they open a path, and no other bucket is affected. Both are undone
    after the module."""
    from amp_features.session import S3A, s3a_env_conf

    if "hadoop-aws" not in spark.conf.get("spark.jars", ""):
        pytest.fail("the test session has no S3A jars: run `amp-features jars fetch --s3` first")
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    per_bucket = f"fs.s3a.bucket.{s3proxy.bucket}."
    settings = {per_bucket + k.removeprefix(S3A): v for k, v in s3a_env_conf(s3proxy.env()).items()}
    settings[per_bucket + "access.key"] = s3proxy.access_key
    settings[per_bucket + "secret.key"] = s3proxy.secret_key
    for key, value in settings.items():
        hadoop.set(key, value)
    with pytest.MonkeyPatch.context() as env:
        for key, value in s3proxy.env().items():
            env.setenv(key, value)
        yield spark
    for key in settings:
        hadoop.unset(key)


@pytest.fixture(scope="session")
def redis_server() -> Iterator[RedisServer]:
    """A real redis-server on 127.0.0.1 (tests/redisserver.py), stopped after the session."""
    folder = tempfile.mkdtemp(prefix="amp-redis-")
    server = RedisServer(Path(folder))
    server.start()
    yield server
    server.stop()
    shutil.rmtree(folder, ignore_errors=True)


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
    """A real standalone cluster on 127.0.0.1: one master, two 1-core workers
    (tests/sparkcluster.py), always stopped afterwards. Its workers hold the S3 test identity in
    their environment, as ``spark-env.sh`` or an instance role gives a real cluster's executors
    credentials, so jobs reach the ``s3proxy`` fixture's server (its endpoint travels with each
    job's S3A settings). That identity is valid only for the local test server."""
    s3_identity = {
        "AWS_ACCESS_KEY_ID": ACCESS_KEY,
        "AWS_SECRET_ACCESS_KEY": SECRET_KEY,
        "AWS_REGION": REGION,
        "AWS_EC2_METADATA_DISABLED": "true",
    }
    with standalone_cluster(tmp_path_factory.mktemp("spark-standalone"), s3_identity) as cluster:
        yield cluster


@pytest.fixture()
def tmp_dir(tmp_path: Path) -> Path:
    return tmp_path
