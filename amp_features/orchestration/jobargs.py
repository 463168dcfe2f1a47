"""Command-line flags shared by ``jobs/compute_features.py`` and ``jobs/backfill.py`` (the Spark
flags and the parser come from ``amp_features.cliargs``, shared with the CLI)."""

from __future__ import annotations

import argparse
import os
import sys
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from typing import TYPE_CHECKING

from amp_features.cliargs import session_from_args
from amp_features.errors import AmpFeaturesError, ConfigError

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from amp_features.pipeline.runner import Targets

# Environment fallbacks, so a cluster's spark-submit wrapper can set the storage once.
ENV_LAKE = "AMP_FEATURES_LAKE"
ENV_WAREHOUSE = "AMP_FEATURES_WAREHOUSE"
ENV_ONLINE = "AMP_FEATURES_ONLINE"

__all__ = [
    "add_storage_args",
    "job_main",
    "job_session",
    "targets_from",
]


def add_storage_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--lake",
        default=os.environ.get(ENV_LAKE),
        help=f"raw lake root: a local path or s3a://bucket/prefix (default ${ENV_LAKE})",
    )
    parser.add_argument(
        "--warehouse",
        default=os.environ.get(ENV_WAREHOUSE),
        help=f"warehouse root for states, features and metrics (default ${ENV_WAREHOUSE})",
    )
    parser.add_argument(
        "--online",
        default=os.environ.get(ENV_ONLINE),
        help=f"online store URL, sqlite:///path.db or redis://host:port/db (default ${ENV_ONLINE})",
    )


def targets_from(args: argparse.Namespace) -> Targets:
    """Lake/warehouse/online from parsed flags, with a clear error when one is missing."""
    from amp_features.pipeline.runner import Targets

    for flag, env in (("lake", ENV_LAKE), ("warehouse", ENV_WAREHOUSE)):
        if not getattr(args, flag):
            raise ConfigError(f"--{flag} is required (or set ${env})")
    return Targets(lake=args.lake, warehouse=args.warehouse, online=args.online or None)


@contextmanager
def job_session(app_name: str, args: argparse.Namespace) -> Iterator[SparkSession]:
    """The job's session, stopped at the end only if the job created it.

    A JVM already running in this process (Airflow's dag.test, a notebook) is reused as it is,
    without applying the job's settings to it, and left running.
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    if SparkContext._active_spark_context is not None:
        yield SparkSession.active()
        return
    # Every job runs a quality suite (the compute stages, the backfill's days).
    spark = session_from_args(app_name, args, validates=True)
    try:
        yield spark
    finally:
        spark.stop()


def job_main(prog: str, run: Callable[[Sequence[str]], None], argv: Sequence[str] | None) -> int:
    """Run a job's ``run(argv)``: exit 0, or 1 with a one-line reason for the library's errors."""
    try:
        run(sys.argv[1:] if argv is None else argv)
    except AmpFeaturesError as exc:
        print(f"{prog}: error: {exc}", file=sys.stderr)
        return 1
    return 0
