"""spark-submit entry point: backfill a range of as-of dates.

    spark-submit $(amp-features jars spark-submit-args) jobs/backfill.py \
        --start 2026-01-01 --end 2026-01-31 --lake LAKE --warehouse WH [--online URL] \
        [--force] [--dry-run]

Builds each missing daily state once and rolls up every date oldest first. Dates already complete
in the warehouse are skipped unless ``--force``, so running the same command again after a crash
resumes where it stopped. ``--dry-run`` prints the plan and writes nothing. With ``--online`` the
last date is validated and published to the online store after the range is done.
"""

from __future__ import annotations

import argparse
import sys
from collections.abc import Sequence
from typing import TYPE_CHECKING

from amp_features.errors import AmpFeaturesError
from amp_features.logs import configure_logging, log
from amp_features.orchestration.jobargs import (
    JobArgumentParser,
    add_spark_args,
    add_storage_args,
    targets_from,
)
from amp_features.orchestration.plan import date_range

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _session(app_name: str, args: argparse.Namespace) -> tuple[SparkSession, bool]:
    """The session and whether this job owns it (and so stops it at the end).

    A JVM already running in this process (Airflow's dag.test, a notebook) is reused as it is,
    without applying our settings to it, and left running.
    """
    from pyspark import SparkContext
    from pyspark.sql import SparkSession

    from amp_features.session import build_session, parse_conf_pairs

    if SparkContext._active_spark_context is not None:
        return SparkSession.active(), False
    return build_session(app_name, master=args.master, conf=parse_conf_pairs(args.conf)), True


def build_parser() -> JobArgumentParser:
    parser = JobArgumentParser(prog="backfill.py", description="Backfill a range of as-of dates.")
    parser.add_argument("--start", required=True, help="first as-of date, YYYY-MM-DD")
    parser.add_argument("--end", required=True, help="last as-of date, YYYY-MM-DD (included)")
    parser.add_argument(
        "--force", action="store_true", help="recompute dates already complete (and their states)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    parser.add_argument("--run-id", default="", help="recorded with each date's metrics")
    add_storage_args(parser)
    add_spark_args(parser)
    return parser


def run(argv: Sequence[str]) -> None:
    from amp_features.orchestration.backfill import plan_for, run_backfill

    args = build_parser().parse_args(list(argv))
    configure_logging(args.log_level)
    days = date_range(args.start, args.end)  # fail on a bad range before starting Spark
    targets = targets_from(args)
    spark, owned = _session(f"amp-features backfill {days[0]}..{days[-1]}", args)
    try:
        plan = plan_for(spark, days[0], days[-1], targets.warehouse, force=args.force)
        if args.dry_run:
            print("\n".join(plan.describe()))
            return
        run_id = args.run_id or f"backfill {days[0]}..{days[-1]}"
        run_backfill(spark, plan, targets, run_id=run_id)
        log.info("backfill: %s..%s done (%d rolled up)", plan.start, plan.end, len(plan.todo))
    finally:
        if owned:
            spark.stop()


def main(argv: Sequence[str] | None = None) -> int:
    try:
        run(sys.argv[1:] if argv is None else argv)
    except AmpFeaturesError as exc:
        print(f"backfill.py: error: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
