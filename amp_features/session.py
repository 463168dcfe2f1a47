"""The one place that builds a SparkSession (for the CLI, ``jobs/`` and tests).

Library functions never create a session: they take ``spark`` or use the active one.

Settings, lowest precedence first:
1. local defaults for a small machine (below);
2. ``AMP_SPARK_CONF``: ``key=value`` pairs separated by newlines or ``;``;
3. the ``conf`` argument (the CLI's repeated ``--conf key=value``).
``AMP_SPARK_MASTER`` (or ``--master``) picks the master. Under ``spark-submit`` the master, jars and
resources come from spark-submit and are left alone.
"""

from __future__ import annotations

import os
import sys
from collections.abc import Mapping

from pyspark.sql import SparkSession

from amp_features.errors import ConfigError
from amp_features.jars import delta_jars, local_delta_jars

DELTA_SQL_CONF: dict[str, str] = {
    "spark.sql.extensions": "io.delta.sql.DeltaSparkSessionExtension",
    "spark.sql.catalog.spark_catalog": "org.apache.spark.sql.delta.catalog.DeltaCatalog",
}

BASE_CONF: dict[str, str] = {
    **DELTA_SQL_CONF,
    "spark.sql.session.timeZone": "UTC",
    "spark.driver.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.executor.extraJavaOptions": "-Duser.timezone=UTC",
    "spark.sql.adaptive.enabled": "true",
    "spark.ui.showConsoleProgress": "false",
    # Delta writes column statistics and checkpoints; these keep it lean on 2 cores.
    "spark.databricks.delta.snapshotPartitions": "4",
    "spark.databricks.delta.optimizeWrite.enabled": "false",
}

# Only applied when Spark runs in-process (not under spark-submit / on a cluster).
LOCAL_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "8",
    "spark.default.parallelism": "4",
    "spark.driver.memory": "4g",
    "spark.sql.autoBroadcastJoinThreshold": str(64 * 1024 * 1024),
    # Python workers run this interpreter (the venv), not whatever python3 is first on PATH, so
    # executor-side code (e.g. the online export) sees the same packages as the driver.
    "spark.pyspark.python": sys.executable,
    "spark.pyspark.driver.python": sys.executable,
    # In-process Spark talks to itself only: stay on loopback.
    "spark.driver.host": "127.0.0.1",
    "spark.driver.bindAddress": "127.0.0.1",
}

TEST_CONF: dict[str, str] = {
    "spark.sql.shuffle.partitions": "2",
    "spark.default.parallelism": "2",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "2g",
    "spark.databricks.delta.snapshotPartitions": "2",
    "spark.sql.adaptive.coalescePartitions.initialPartitionNum": "2",
}


def parse_conf_pairs(pairs: str | list[str] | None) -> dict[str, str]:
    """Parse ``key=value`` pairs (a list, or a string split on newlines and ``;``)."""
    if not pairs:
        return {}
    items = pairs if isinstance(pairs, list) else pairs.replace(";", "\n").splitlines()
    out: dict[str, str] = {}
    for item in items:
        item = item.strip()
        if not item:
            continue
        key, sep, value = item.partition("=")
        if not sep or not key.strip():
            raise ConfigError(f"Spark setting must be key=value, got {item!r}")
        out[key.strip()] = value.strip()
    return out


def under_spark_submit() -> bool:
    """True when a JVM was launched for us (spark-submit, or a notebook kernel with Spark)."""
    return "PYSPARK_GATEWAY_PORT" in os.environ


def session_conf(
    conf: Mapping[str, str] | None = None, *, for_tests: bool = False
) -> dict[str, str]:
    """The merged settings ``build_session`` would apply (useful for --dry-run and docs)."""
    merged = dict(BASE_CONF)
    if not under_spark_submit():
        merged.update(LOCAL_CONF)
        if for_tests:
            merged.update(TEST_CONF)
        jars = local_delta_jars()
        if jars is not None:
            merged["spark.jars"] = ",".join(str(p) for p in jars)
        else:
            # Let Spark's own resolver fetch Delta (it caches under ~/.ivy2).
            merged["spark.jars.packages"] = ",".join(j.coordinate for j in delta_jars())
    merged.update(parse_conf_pairs(os.environ.get("AMP_SPARK_CONF")))
    merged.update(conf or {})
    return merged


def _spark_submit_settings() -> set[str]:
    """Keys spark-submit already set (its --conf), read from the JVM it launched."""
    if not under_spark_submit():
        return set()
    from pyspark import SparkConf, SparkContext

    SparkContext._ensure_initialized()  # connects to spark-submit's gateway; starts nothing
    return {key for key, _ in SparkConf().getAll()}


def build_session(
    app_name: str = "amp-features",
    *,
    master: str | None = None,
    conf: Mapping[str, str] | None = None,
    for_tests: bool = False,
) -> SparkSession:
    """Create the SparkSession with UTC, Delta and small-machine defaults.

    If a session is already active (a notebook, a test, a job that built one), it is returned
    with only the explicitly passed ``conf`` applied, so that defaults never clobber the
    settings its owner chose.
    """
    existing = SparkSession.getActiveSession()
    if existing is not None:
        for key, value in (conf or {}).items():
            existing.conf.set(key, value)
        return existing
    if not under_spark_submit():
        # PySpark starts its Python workers from PYSPARK_PYTHON (the conf alone is not read for
        # an in-process session); without it they may run a python3 lacking this venv's packages.
        os.environ.setdefault("PYSPARK_PYTHON", sys.executable)
    builder = SparkSession.builder.appName(app_name)
    master = master or os.environ.get("AMP_SPARK_MASTER")
    if master:
        builder = builder.master(master)
    elif not under_spark_submit():
        builder = builder.master("local[2]" if for_tests else "local[*]")
    preset = _spark_submit_settings()
    for key, value in session_conf(conf, for_tests=for_tests).items():
        # Under spark-submit, a --conf the user gave wins over our defaults (explicit conf wins).
        if key in preset and key not in (conf or {}):
            continue
        builder = builder.config(key, value)
    spark = builder.getOrCreate()
    spark.sparkContext.setLogLevel(os.environ.get("AMP_SPARK_LOG_LEVEL", "WARN"))
    return spark


def active_session() -> SparkSession:
    """The active session, for library functions that were not handed one."""
    spark = SparkSession.getActiveSession()
    if spark is None:
        raise ConfigError(
            "no active SparkSession: create one with amp_features.session.build_session()"
        )
    return spark
