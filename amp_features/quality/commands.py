"""CLI subcommands of amp_features.quality (registered by amp_features.cli).

``amp-features validate inputs|outputs``: run the suites for an as_of (exit 1 when they fail);
``amp-features quality gate``: the publish gate (exit 1 unless the output suites passed);
``amp-features quality show``: print the stored results; ``quality report``: rewrite the HTML;
``amp-features quality suites --write|--check``: regenerate / verify ``expectations/*.json``.
"""

from __future__ import annotations

import argparse
from typing import Any


def _as_of(p: argparse.ArgumentParser) -> None:
    p.add_argument("--as-of", required=True, help="the as-of date D (YYYY-MM-DD)")


def register(sub: Any) -> None:
    """Add this area's subcommands to the CLI."""
    p = sub.add_parser("validate", help="run the Great Expectations suites for an as_of")
    p.add_argument("target", choices=["inputs", "outputs"])
    p.add_argument("--lake", help="lake root (for inputs)")
    p.add_argument("--warehouse", required=True, help="warehouse root")
    _as_of(p)
    p.add_argument("--no-report", action="store_true", help="outputs: skip the HTML report")
    from amp_features.quality import policy

    policy.add_arguments(p)
    p.set_defaults(handler=_validate)

    p = sub.add_parser("quality", help="quality gate, stored results, report and suites")
    qsub = p.add_subparsers(dest="quality_command", metavar="ACTION")
    qsub.required = True

    q = qsub.add_parser("gate", help="exit 1 unless the output suites passed for the as_of")
    q.add_argument("--warehouse", required=True)
    _as_of(q)
    q.add_argument("--override", action="store_true", help="let it through anyway (logged)")
    q.set_defaults(handler=_gate)

    q = qsub.add_parser("show", help="print the stored validation results of an as_of")
    q.add_argument("--warehouse", required=True)
    _as_of(q)
    q.set_defaults(handler=_show)

    q = qsub.add_parser("report", help="(re)write the HTML report of an as_of and print its path")
    q.add_argument("--warehouse", required=True)
    _as_of(q)
    q.set_defaults(handler=_report)

    q = qsub.add_parser("suites", help="write or check expectations/*.json from the registry")
    action = q.add_mutually_exclusive_group(required=True)
    action.add_argument("--write", action="store_true")
    action.add_argument("--check", action="store_true")
    q.set_defaults(handler=_suites)


def _validate(args: argparse.Namespace) -> int:
    from amp_features.cli import spark_from_args
    from amp_features.errors import ConfigError
    from amp_features.quality import validate_inputs, validate_outputs

    if args.target == "inputs" and not args.lake:
        raise ConfigError("validate inputs needs --lake")
    spark = spark_from_args(args, validates=True)
    if args.target == "inputs":
        # Raises QualityGateError (exit 1, one line) when a table is broken.
        from amp_features.quality import policy

        result = validate_inputs(
            spark, args.lake, args.warehouse, args.as_of, policy=policy.from_args(args)
        )
    else:
        import uuid

        from amp_features.contract import parse_date
        from amp_features.offline.lease import hold

        # Binding the result to the commit writes the commit log: one writer at a time.
        run_id = uuid.uuid4().hex[:12]
        with hold(args.warehouse, run_id, f"validate outputs {args.as_of} (run {run_id})"):
            result = validate_outputs(
                spark, args.warehouse, parse_date(args.as_of), report=not args.no_report
            )
    print(result.summary())
    print(f"results: {result.path}" + (f"\nreport: {result.report}" if result.report else ""))
    return 0 if result.success else 1


def _gate(args: argparse.Namespace) -> int:
    from amp_features.cli import spark_from_args
    from amp_features.quality.gate import assert_publishable

    commit = assert_publishable(
        spark_from_args(args), args.warehouse, args.as_of, override=args.override
    )
    print(f"publishable: {commit.describe()}" + (" (override)" if args.override else ""))
    return 0


def _show(args: argparse.Namespace) -> int:
    from amp_features.errors import ConfigError
    from amp_features.quality import load_result

    found = False
    for kind in ("inputs", "outputs"):
        result = load_result(args.warehouse, args.as_of, kind)
        if result is not None:
            found = True
            print(result.summary())
            print(
                f"  results: {result.path}"
                + (f"\n  report: {result.report}" if result.report else "")
            )
    if not found:
        raise ConfigError(f"no validation results for as_of {args.as_of} in {args.warehouse}")
    return 0


def _report(args: argparse.Namespace) -> int:
    from amp_features.cli import spark_from_args
    from amp_features.errors import ConfigError
    from amp_features.quality import load_result
    from amp_features.quality.report import write_report

    result = load_result(args.warehouse, args.as_of, "outputs")
    if result is None:
        raise ConfigError(
            f"no output validation for as_of {args.as_of}; run `amp-features validate outputs`"
        )
    print(write_report(spark_from_args(args), args.warehouse, result))
    return 0


def _suites(args: argparse.Namespace) -> int:
    from amp_features.errors import ConfigError
    from amp_features.quality.suites import expectations_dir, stale_suites, write_suites

    if args.write:
        for path in write_suites():
            print(path)
        return 0
    stale = stale_suites()
    if stale:
        raise ConfigError(
            f"expectation suites out of date in {expectations_dir()}: {', '.join(stale)}; "
            "run `amp-features quality suites --write` and review the diff"
        )
    print(f"expectation suites up to date in {expectations_dir()}")
    return 0
