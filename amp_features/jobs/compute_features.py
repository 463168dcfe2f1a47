"""spark-submit entry point: run the daily pipeline's stages for one as-of date.

    spark-submit $(amp-features jars spark-submit-args) \
        "$(amp-features jobs path compute_features)" \
        --as-of 2026-03-01 --stage all --lake LAKE --warehouse WH --online sqlite:///online.db

``--stage`` takes ``all``, one stage or a comma-separated list (validate_inputs, build_states,
rollup, validate_outputs, publish, record_metrics). Each task of the Airflow DAG runs one stage
or a group of them (``AMP_FEATURES_TASKS``), either through spark-submit or by calling ``run()``
in its own process (embedded mode).
"""

from __future__ import annotations

import sys
from collections.abc import Sequence

from amp_features.cliargs import OneLineErrorParser, add_spark_args
from amp_features.errors import AmpFeaturesError
from amp_features.logs import configure_logging, log
from amp_features.orchestration.jobargs import (
    add_storage_args,
    job_main,
    job_session,
    targets_from,
)
from amp_features.orchestration.plan import parse_day


def build_parser() -> OneLineErrorParser:
    parser = OneLineErrorParser(
        prog="compute_features.py", description="Compute one as-of date's features."
    )
    parser.add_argument("--as-of", required=True, help="the as-of date D, YYYY-MM-DD")
    parser.add_argument(
        "--stage",
        default="all",
        help="all (default), or one or more of: validate_inputs, build_states, rollup, "
        "validate_outputs, publish, record_metrics (comma-separated)",
    )
    parser.add_argument("--mode", choices=["incremental", "full"], default="incremental")
    parser.add_argument(
        "--run-id", default="", help="recorded with the run's metrics (Airflow passes its run_id)"
    )
    parser.add_argument(
        "--skip-validation", action="store_true", help="skip the suites (export will refuse)"
    )
    parser.add_argument(
        "--override-gate", action="store_true", help="publish without passed validation (logged)"
    )
    add_storage_args(parser)
    add_spark_args(parser)
    return parser


def run(argv: Sequence[str]) -> None:
    """Parse ``argv`` and run the stages; raises on failure (the DAG calls this in-process)."""
    from amp_features.pipeline.runner import RunContext, parse_stages, run_stages

    args = build_parser().parse_args(list(argv))
    configure_logging(args.log_level)
    as_of = parse_day(args.as_of)
    stages = parse_stages(args.stage)
    targets = targets_from(args)
    if "publish" in stages and not targets.online:
        raise AmpFeaturesError("--stage publish needs --online (or $AMP_FEATURES_ONLINE)")
    with job_session(f"amp-features compute {as_of} {args.stage}", args) as spark:
        ctx = RunContext(
            spark,
            as_of,
            targets,
            mode=args.mode,
            external_run_id=args.run_id or None,
            skip_validation=args.skip_validation,
            override_gate=args.override_gate,
        )
        run_stages(ctx, stages)
        log.info("compute_features: as_of %s done (%s)", as_of, ",".join(stages))


def main(argv: Sequence[str] | None = None) -> int:
    return job_main("compute_features.py", run, argv)


if __name__ == "__main__":
    sys.exit(main())
