"""Command-line pieces shared by the ``amp-features`` CLI and the ``jobs/`` entry points: the
one-line-error parser, the Spark flags (``--master``, ``--conf``, ``--log-level``) and the
session built from them. Kept apart from ``session`` so that parsing flags imports no Spark."""

from __future__ import annotations

import argparse
import importlib
import threading
from collections.abc import Sequence
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


# What a command that validates imports later: Great Expectations alone is about 5 s of pure
# Python on this machine, the JVM's start about as long spent waiting on a child process.
QUALITY_MODULES = ("great_expectations",)


def _import_in_background(modules: Sequence[str]) -> None:
    """Import ``modules`` on a daemon thread, so that their import overlaps the JVM's start.

    What they share with the main thread (pandas, PySpark) is imported before the thread starts,
    so the two never wait on one module's import lock. A failure is left to the real import
    later, which raises it where it is used.
    """
    import pandas  # noqa: F401
    import pyspark.sql  # noqa: F401

    def work() -> None:
        for name in modules:
            try:
                importlib.import_module(name)
            except Exception:  # re-raised where the module is really imported
                continue

    threading.Thread(target=work, name="amp-features-preload", daemon=True).start()


def session_from_args(
    app_name: str, args: argparse.Namespace, *, validates: bool = False
) -> SparkSession:
    """A session built from the flags of ``add_spark_args``; for a command that ``validates``,
    the quality modules are imported while the JVM starts."""
    from amp_features.session import build_session, parse_conf_pairs

    if validates:
        _import_in_background(QUALITY_MODULES)
    return build_session(app_name, master=args.master, conf=parse_conf_pairs(args.conf))
