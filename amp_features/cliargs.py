"""Command-line pieces shared by the ``amp-features`` CLI and the ``jobs/`` entry points: the
one-line-error parser, the Spark flags (``--master``, ``--conf``, ``--log-level``) and the
session built from them. Kept apart from ``session`` so that parsing flags imports no Spark."""

from __future__ import annotations

import argparse
from typing import TYPE_CHECKING, NoReturn

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


class OneLineErrorParser(argparse.ArgumentParser):
    """argparse prints the whole usage on a bad flag; we print one line and exit 2."""

    def error(self, message: str) -> NoReturn:
        self.exit(2, f"{self.prog}: error: {message} (see --help)\n")


def add_spark_args(parser: argparse.ArgumentParser) -> None:
    """``--master``, repeatable ``--conf KEY=VALUE`` and ``--log-level``."""
    parser.add_argument("--master", help="Spark master URL (default: spark-submit's, else local)")
    parser.add_argument(
        "--conf",
        action="append",
        default=[],
        metavar="KEY=VALUE",
        help="a Spark setting; repeat for more (also AMP_SPARK_CONF)",
    )
    parser.add_argument("--log-level", default=None, help="INFO (default), DEBUG, WARNING")


def session_from_args(app_name: str, args: argparse.Namespace) -> SparkSession:
    """A session built from the flags of ``add_spark_args``."""
    from amp_features.session import build_session, parse_conf_pairs

    return build_session(app_name, master=args.master, conf=parse_conf_pairs(args.conf))
