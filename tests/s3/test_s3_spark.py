"""Delta on S3 through S3A, against a real S3-compatible server (S3Proxy on loopback).

How the tests reach S3: the shared ``spark`` session (tests/conftest.py) is built before the
``s3proxy`` fixture exists, so its JVM never saw the server's variables; it does carry the S3A
jars, which ``amp_features.session`` adds whenever they are cached (``scripts/bootstrap.sh`` runs
``amp-features jars fetch --s3``). The ``s3_spark`` fixture therefore sets the very settings the
session derives from those variables (``s3a_env_conf``), plus the test credential, at run time as
per-bucket keys (``fs.s3a.bucket.<bucket>.*``) on the context's Hadoop configuration: Delta and
Spark copy that configuration whenever they open a path, and per-bucket keys leave every other
test's file systems untouched. The environment-only path (variables -> session -> S3A's default
credential chain) is covered end to end by the spark-submit test below, in a JVM of its own.
"""

from __future__ import annotations

import os
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
from s3proxy import S3Proxy

from amp_features.session import S3A, s3a_env_conf

pytestmark = [pytest.mark.slow, pytest.mark.nightly]

VENV_BIN = Path(sys.executable).parent
HERE = Path(__file__).resolve().parent
OLD = [("2026-11-01", "u1", 3), ("2026-11-01", "u2", 5), ("2026-11-02", "u1", 7)]
NEW_DAY_2 = [("2026-11-02", "u3", 11), ("2026-11-02", "u4", 13)]


def _keys(client: Any, bucket: str, prefix: str) -> list[str]:
    pages = client.get_paginator("list_objects_v2").paginate(Bucket=bucket, Prefix=prefix)
    return [obj["Key"] for page in pages for obj in page.get("Contents", [])]


@pytest.fixture(scope="module")
def s3_spark(spark: Any, s3proxy: S3Proxy) -> Iterator[Any]:
    """The shared session, pointed at S3Proxy's bucket at run time (see the module docstring)."""
    if "hadoop-aws" not in spark.conf.get("spark.jars", ""):
        pytest.fail("the test session has no S3A jars: run `amp-features jars fetch --s3` first")
    hadoop = spark.sparkContext._jsc.hadoopConfiguration()
    per_bucket = f"fs.s3a.bucket.{s3proxy.bucket}."
    settings = {
        per_bucket + key.removeprefix(S3A): value
        for key, value in s3a_env_conf(s3proxy.env()).items()
    }
    settings[per_bucket + "access.key"] = s3proxy.access_key
    settings[per_bucket + "secret.key"] = s3proxy.secret_key
    for key, value in settings.items():
        hadoop.set(key, value)
    yield spark
    for key in settings:
        hadoop.unset(key)


def test_partitioned_delta_table_on_s3_replace_where_and_time_travel(
    s3_spark: Any, s3proxy: S3Proxy
) -> None:
    spark = s3_spark
    path = f"s3a://{s3proxy.bucket}/lake/daily"
    schema = "dt string, user_id string, plays int"
    spark.createDataFrame(OLD, schema).write.format("delta").partitionBy("dt").save(path)
    (
        spark.createDataFrame(NEW_DAY_2, schema)
        .write.format("delta")
        .mode("overwrite")
        .option("replaceWhere", "dt = '2026-11-02'")
        .save(path)
    )

    def rows(reader: Any) -> list[tuple[str, str, int]]:
        df = reader.load(path).select("dt", "user_id", "plays")
        return sorted(tuple(r) for r in df.collect())  # five rows

    latest = rows(spark.read.format("delta"))
    assert latest == sorted(OLD[:2] + NEW_DAY_2)  # day 1 kept, day 2 replaced
    assert rows(spark.read.format("delta").option("versionAsOf", 0)) == sorted(OLD)

    # What another reader of the bucket sees: two commits and one folder per partition.
    keys = _keys(s3proxy.client(), s3proxy.bucket, "lake/daily/")
    log = {k.rsplit("/", 1)[1] for k in keys if "/_delta_log/" in k}
    assert {"00000000000000000000.json", "00000000000000000001.json"} <= log
    assert "00000000000000000002.json" not in log
    data = [k for k in keys if k.endswith(".parquet")]
    assert {k.split("/")[2] for k in data} == {"dt=2026-11-01", "dt=2026-11-02"}


def _s3_jars_arg() -> list[Path]:
    out = subprocess.run(
        [str(VENV_BIN / "amp-features"), "jars", "spark-submit-args", "--s3"],
        check=True,
        capture_output=True,
        text=True,
        timeout=300,
    ).stdout.strip()
    flag, _, jars = out.partition(" ")
    assert flag == "--jars" and jars, out
    return [Path(p) for p in jars.split(",")]


def test_spark_submit_args_s3_lists_existing_jars_pyspark_lacks() -> None:
    import pyspark

    paths = _s3_jars_arg()
    names = [p.name for p in paths]
    assert all(p.is_file() for p in paths), [p for p in paths if not p.is_file()]
    for expected in ("delta-storage-4.4.0.jar", "hadoop-aws-3.5.0.jar", "s3-2.35.4.jar"):
        assert expected in names
    assert len(names) == len(set(names))
    shipped = {p.name for p in (Path(pyspark.__file__).parent / "jars").glob("*.jar")}
    assert not shipped & set(names)  # nothing PySpark already has (netty, httpclient, slf4j)
    assert not [n for n in names if n.startswith(("bundle-", "netty-c", "httpc", "slf4j"))]


def test_spark_submit_job_reaches_s3_from_the_environment_alone(s3proxy: S3Proxy) -> None:
    import pyspark

    path = f"s3a://{s3proxy.bucket}/submitted/smoke"
    env = {
        **os.environ,
        **s3proxy.env(),
        "PYSPARK_PYTHON": sys.executable,
        "PYSPARK_DRIVER_PYTHON": sys.executable,
        "SPARK_HOME": str(Path(pyspark.__file__).parent),
    }
    env.pop("AMP_SPARK_CONF", None)
    cmd = [
        str(VENV_BIN / "spark-submit"), "--master", "local[1]",
        "--jars", ",".join(str(p) for p in _s3_jars_arg()),
        "--conf", "spark.ui.enabled=false", "--conf", "spark.driver.memory=1g",
        "--conf", "spark.sql.shuffle.partitions=2",
        "--conf", "spark.databricks.delta.snapshotPartitions=2",
        str(HERE / "submit_smoke.py"), "smoke", "--path", path,
    ]  # fmt: skip
    done = subprocess.run(cmd, env=env, capture_output=True, text=True, timeout=600)
    assert done.returncode == 0, done.stderr[-4000:]
    assert f"wrote 1000 rows to Delta table {path}" in done.stdout
    keys = _keys(s3proxy.client(), s3proxy.bucket, "submitted/smoke/")
    assert "submitted/smoke/_delta_log/00000000000000000000.json" in keys
    assert s3proxy.secret_key not in done.stdout + done.stderr  # never logged
