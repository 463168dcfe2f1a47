"""Command-line flags shared by ``jobs/compute_features.py`` and ``jobs/backfill.py``."""

from __future__ import annotations

import argparse
import os
from typing import NoReturn

from amp_features.errors import ConfigError
from amp_features.orchestration.stages import Targets

# Environment fallbacks, so a cluster's spark-submit wrapper can set the storage once.
ENV_LAKE = "AMP_FEATURES_LAKE"
ENV_WAREHOUSE = "AMP_FEATURES_WAREHOUSE"
ENV_ONLINE = "AMP_FEATURES_ONLINE"


class JobArgumentParser(argparse.ArgumentParser):
    """One line on a bad flag (not the whole usage), exit code 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


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


def add_spark_args(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--master", help="Spark master (default: spark-submit's, else local)")
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="extra Spark setting, repeatable (also AMP_SPARK_CONF)",
    )
    parser.add_argument("--log-level", default=None, help="INFO (default), DEBUG, WARNING")


def targets_from(args: argparse.Namespace) -> Targets:
    """Lake/warehouse/online from parsed flags, with a clear error when one is missing."""
    for flag, env in (("lake", ENV_LAKE), ("warehouse", ENV_WAREHOUSE)):
        if not getattr(args, flag):
            raise ConfigError(f"--{flag} is required (or set ${env})")
    return Targets(lake=args.lake, warehouse=args.warehouse, online=args.online or None)
