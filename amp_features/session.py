"""The one place that builds a SparkSession (for the CLI, ``jobs/`` and tests).

Library functions never create a session: they take ``spark`` or use the active one.

Settings, lowest precedence first:
1. local defaults for a small machine (below);
2. ``AMP_SPARK_CONF``: ``key=value`` pairs separated by newlines or ``;``;
3. the ``conf`` argument (the CLI's repeated ``--conf key=value``).
``AMP_SPARK_MASTER`` (or ``--master``) picks the master. Under ``spark-submit`` the master, jars and
resources come from spark-submit and are left alone.

S3 (``s3a://``): when the S3A jars are cached (``amp-features jars fetch --s3``) or asked for
(``AMP_S3=true``), an in-process session adds them, and any session (spark-submit too) maps the
standard AWS variables to S3A settings (``s3a_env_conf``) below the explicit ones. Credentials are
left to hadoop-aws 3.5's default chain (``fs.s3a.access.key``/``secret.key``, then the
``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY`` variables, then the container or instance role),
so no secret passes through the settings this module derives.
"""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Mapping
from pathlib import Path

from pyspark.sql import SparkSession

from amp_features.errors import ConfigError
from amp_features.jars import check_s3_hadoop_version, delta_jars, local_delta_jars, local_s3_jars

log = logging.getLogger(__name__)

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


S3A = "spark.hadoop.fs.s3a."
_TRUE, _FALSE = ("true", "1", "yes"), ("false", "0", "no")


def _flag(env: Mapping[str, str], name: str) -> bool | None:
    value = env.get(name, "").strip().lower()
    if value in ("", "auto"):
        return None
    if value not in _TRUE + _FALSE:
        raise ConfigError(f"{name} must be true or false, got {env[name]!r}")
    return value in _TRUE


def s3a_env_conf(env: Mapping[str, str] | None = None) -> dict[str, str]:
    """S3A settings from the standard AWS variables (and ``AMP_S3_PATH_STYLE``)."""
    env = os.environ if env is None else env
    out: dict[str, str] = {}
    endpoint = env.get("AWS_ENDPOINT_URL_S3") or env.get("AWS_ENDPOINT_URL")
    if endpoint:
        out[S3A + "endpoint"] = endpoint
        if endpoint.lower().startswith("http://"):
            out[S3A + "connection.ssl.enabled"] = "false"
    region = env.get("AWS_REGION") or env.get("AWS_DEFAULT_REGION")
    if region:
        out[S3A + "endpoint.region"] = region
    # A custom endpoint (MinIO, S3Proxy, Ceph) rarely has wildcard DNS for virtual-host buckets.
    path_style = _flag(env, "AMP_S3_PATH_STYLE")
    if path_style is not None or endpoint:
        out[S3A + "path.style.access"] = "false" if path_style is False else "true"
    return out


def _s3_jar_paths(s3: bool | None) -> list[Path]:
    """The S3A jars to add: cached ones when ``s3`` is None (auto), required when True."""
    s3 = _flag(os.environ, "AMP_S3") if s3 is None else s3
    if s3 is False:
        return []
    paths = local_s3_jars()
    if paths is None and s3:
        raise ConfigError(
            "S3 jars are not in the jar cache: run `amp-features jars fetch --s3` "
            "(or set AMP_JARS_DIR to a folder holding them)"
        )
    if paths is not None:
        check_s3_hadoop_version()
    return paths or []


_SECRET_WORDS = ("secret", "password", "token", "credential")


def redacted(conf: Mapping[str, str]) -> dict[str, str]:
    """``conf`` fit for a log: values of secret-looking keys replaced."""
    return {k: "***" if any(w in k.lower() for w in _SECRET_WORDS) else v for k, v in conf.items()}


def session_conf(
    conf: Mapping[str, str] | None = None, *, for_tests: bool = False, s3: bool | None = None
) -> dict[str, str]:
    """The merged settings ``build_session`` would apply (useful for --dry-run and docs).

    ``s3``: None adds the S3A jars when cached (or ``AMP_S3`` says), True requires them, False
    leaves them out; under spark-submit the jars are spark-submit's business.
    """
    merged = dict(BASE_CONF)
    s3_paths: list[Path] = []
    if not under_spark_submit():
        merged.update(LOCAL_CONF)
        if for_tests:
            merged.update(TEST_CONF)
        delta = local_delta_jars()
        s3_paths = _s3_jar_paths(s3)
        jars = (delta or []) + s3_paths
        if jars:
            merged["spark.jars"] = ",".join(str(p) for p in jars)
        if delta is None:
            # Let Spark's own resolver fetch Delta (it caches under ~/.ivy2).
            merged["spark.jars.packages"] = ",".join(j.coordinate for j in delta_jars())
    if under_spark_submit() or s3_paths:
        merged.update(s3a_env_conf())
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
    s3: bool | None = None,
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
    settings = session_conf(conf, for_tests=for_tests, s3=s3)
    log.debug("session settings: %s", redacted(settings))
    for key, value in settings.items():
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
