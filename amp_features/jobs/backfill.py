"""spark-submit entry point: backfill a range of as-of dates.

    spark-submit $(amp-features jars spark-submit-args) "$(amp-features jobs path backfill)" \
        --start 2026-01-01 --end 2026-01-31 --lake LAKE --warehouse WH [--online URL] \
        [--force] [--dry-run]

Builds each missing daily state once and rolls up every date oldest first. Dates already complete
in the warehouse are skipped unless ``--force``, so running the same command again after a crash
resumes where it stopped. ``--dry-run`` prints the plan and writes nothing. With ``--online`` the
last date is validated and published to the online store after the range is done.
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from amp_features.cliargs import OneLineErrorParser, add_spark_args
from amp_features.logs import configure_logging, log
from amp_features.orchestration.jobargs import (
    add_storage_args,
    job_main,
    job_session,
    targets_from,
)
from amp_features.orchestration.plan import date_range


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(prog="backfill.py", description="Backfill a range of as-of dates.")
    parser.add_argument("--start", required=True, help="first as-of date, YYYY-MM-DD")
    parser.add_argument("--end", required=True, help="last as-of date, YYYY-MM-DD (included)")
    parser.add_argument(
        "--force", action="store_true", help="recompute dates already complete (and their states)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, write nothing")
    parser.add_argument(
        "--run-id",
        default="",
        help="an outer run id (e.g. Airflow's), recorded with each date's metrics and commit",
    )
    add_storage_args(parser)
    add_spark_args(parser)
    return parser


def run(argv: Sequence[str]) -> None:
    from amp_features.orchestration.backfill import plan_for, run_backfill

    args = build_parser().parse_args(list(argv))
    configure_logging(args.log_level)
    days = date_range(args.start, args.end)  # fail on a bad range before starting Spark
    targets = targets_from(args)
    with job_session(f"amp-features backfill {days[0]}..{days[-1]}", args) as spark:
        plan = plan_for(spark, days[0], days[-1], targets.warehouse, force=args.force)
        if args.dry_run:
            print("\n".join(plan.describe()))
            return
        run_backfill(spark, plan, targets, external_run_id=args.run_id or None)
        log.info("backfill: %s..%s done (%d rolled up)", plan.start, plan.end, len(plan.todo))


def main(argv: Sequence[str] | None = None) -> int:
    return job_main("backfill.py", run, argv)


if __name__ == "__main__":
    sys.exit(main())
