"""``amp-features``: the command line. Each area registers its own subcommands.

Every failure exits non-zero with one line on stderr: ``amp-features: error: <reason>``.
"""

from __future__ import annotations

import argparse
import importlib
import importlib.metadata
import sys
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from amp_features import __version__
from amp_features.cliargs import OneLineErrorParser, add_spark_args, session_from_args
from amp_features.errors import AmpFeaturesError
from amp_features.logs import configure_logging

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Modules that add subcommands; each defines ``register(subparsers)``.
COMMAND_MODULES = (
    "amp_features.cli_core",
    "amp_features.generate.commands",
    "amp_features.pipeline.commands",
    "amp_features.export.commands",
    "amp_features.quality.commands",
)


def spark_from_args(args: argparse.Namespace, *, validates: bool = False) -> SparkSession:
    """Build the session from the global --master/--conf flags (only the CLI does this); for a
    command that ``validates``, Great Expectations is imported while the JVM starts."""
    return session_from_args(f"amp-features {args.command}", args, validates=validates)


def installed_version() -> str:
    """The version pip installed (the distribution's metadata); the source's in a bare checkout."""
    try:
        return importlib.metadata.version("amp-features")
    except importlib.metadata.PackageNotFoundError:
        return __version__


def build_parser() -> argparse.ArgumentParser:
    parser = OneLineErrorParser(
        prog="amp-features",
        description="Daily batch features for the Amp show recommender (Spark + Delta).",
    )
    parser.add_argument(
        "--version", action="version", version=f"amp-features {installed_version()}"
    )
    add_spark_args(parser)
    sub = parser.add_subparsers(dest="command", metavar="COMMAND", parser_class=OneLineErrorParser)
    sub.required = True
    for name in COMMAND_MODULES:
        importlib.import_module(name).register(sub)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    configure_logging(args.log_level)
    handler: Callable[[argparse.Namespace], Any] = args.handler
    try:
        code = handler(args)
    except AmpFeaturesError as exc:
        print(f"amp-features: error: {exc}", file=sys.stderr)
        return 1
    except KeyboardInterrupt:
        print("amp-features: error: interrupted", file=sys.stderr)
        return 130
    except Exception as exc:  # Spark and I/O errors: one line here, the traceback at DEBUG
        import logging

        logging.getLogger("amp_features").debug("traceback", exc_info=True)
        first = (str(exc).strip().splitlines() or [""])[0][:500]
        print(f"amp-features: error: {type(exc).__name__}: {first}", file=sys.stderr)
        return 1
    return int(code or 0)


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
