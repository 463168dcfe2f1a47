"""CLI subcommands of the pipeline: ``run`` (one as-of date) and ``demo`` (everything, locally)."""

from __future__ import annotations

import argparse
import os
from typing import Any

DEMO_END_DATE = "2026-11-20"


def register(sub: Any) -> None:
    p = sub.add_parser(
        "run",
        help="compute the 21 features as of a date and write them to the Delta offline store",
    )
    p.add_argument("--as-of", required=True, help="the as-of date D (YYYY-MM-DD)")
    p.add_argument(
        "--lake", required=True, help="lake root with playback, engagement, shows, users"
    )
    p.add_argument(
        "--warehouse", required=True, help="warehouse root (Delta tables are written here)"
    )
    p.add_argument("--mode", choices=["incremental", "full"], default="incremental")
    p.add_argument(
        "--skip-validation",
        action="store_true",
        help="do not run the input/output quality suites (the export gate will then refuse)",
    )
    _add_policy_args(p)
    p.set_defaults(handler=_run)

    p = sub.add_parser("commits", help="the commit log: which snapshot readers see per as_of")
    csub = p.add_subparsers(dest="commits_command", required=True)
    c = csub.add_parser("list", help="every commit, newest last (the latest per as_of is live)")
    c.add_argument("--warehouse", required=True)
    c.add_argument("--as-of", default=None, help="only this as-of date")
    c.add_argument("--json", action="store_true", help="one JSON object per line")
    c.set_defaults(handler=_commits_list)

    p = sub.add_parser(
        "demo",
        help="generate a small lake, compute the features for one date, write Delta, export SQLite",
    )
    p.add_argument("--out", default="demo-output", help="folder for the lake, warehouse and db")
    p.add_argument("--users", type=int, default=2000)
    p.add_argument("--days", type=int, default=65)
    p.add_argument("--end-date", default=DEMO_END_DATE, help="the as-of date (and last lake day)")
    p.add_argument("--seed", type=int, default=7)
    p.set_defaults(handler=_demo)


def _spark(args: argparse.Namespace, *, validates: bool = False) -> Any:
    """The session from the global flags (from ``cliargs``: a command never imports the CLI);
    for a command that ``validates``, Great Expectations is imported while the JVM starts."""
    from amp_features.cliargs import session_from_args

    return session_from_args(f"amp-features {args.command}", args, validates=validates)


def _print_result(result: Any) -> None:
    commit = result.commit
    print(f"as_of {result.as_of} ({result.mode}, run {result.run_id}, commit {commit.commit_id}):")
    for group, path in result.tables.items():
        version = commit.versions.get(group)
        print(f"  {group:<16} {result.rows.get(group, 0):>10,} rows  -> {path} (version {version})")


def _run(args: argparse.Namespace) -> int:
    from amp_features.contract import parse_date
    from amp_features.pipeline.runner import RUN_STAGES, RunContext, Targets, run_stages

    as_of = parse_date(args.as_of)
    spark = _spark(args, validates=not args.skip_validation)
    ctx = RunContext(
        spark,
        as_of,
        Targets(args.lake, args.warehouse),
        mode=args.mode,
        skip_validation=args.skip_validation,
        input_policy=_input_policy(args),
    )
    # A broken input table or a failed output suite raises QualityGateError (exit 1): the
    # commit row of D is then either absent (inputs) or marked as failed (outputs).
    run_stages(ctx, RUN_STAGES)
    assert ctx.result is not None
    _print_result(ctx.result)
    return 0


def _input_policy(args: argparse.Namespace) -> object:
    """The empty-day policy from the flags and $AMP_EMPTY_DAY_POLICY (default: a missing day of
    an event table stops the run, naming the day)."""
    from amp_features.quality import policy

    return policy.from_args(args)


def _add_policy_args(p: Any) -> None:
    from amp_features.quality import policy

    policy.add_arguments(p)


def _commits_list(args: argparse.Namespace) -> int:
    import json

    from amp_features.contract import parse_date
    from amp_features.offline import snapshots

    spark = _spark(args)
    day = parse_date(args.as_of) if args.as_of else None
    commits = snapshots.history(spark, args.warehouse, day)
    live = {c.commit_id for c in snapshots.latest_commits(spark, args.warehouse).values()}
    if not commits:
        print(f"no commits in {args.warehouse}")
        return 0
    for c in commits:
        if args.json:
            print(json.dumps({**c.__dict__, "live": c.commit_id in live}, default=str))
            continue
        state = {True: "passed", False: "FAILED", None: "unvalidated"}[c.validation_passed]
        mark = "*" if c.commit_id in live else " "
        versions = ",".join(f"{k}@{v}" for k, v in sorted(c.versions.items()))
        print(
            f"{mark} {c.as_of}  {c.commit_id:<24} {c.committed_at:%Y-%m-%d %H:%M:%S}  "
            f"{c.mode:<11} {state:<11} {versions}"
            + (f"  airflow={c.external_run_id}" if c.external_run_id else "")
        )
    print("(* = the commit readers see for that as_of)")
    return 0


def _demo(args: argparse.Namespace) -> int:
    from amp_features.contract import parse_date
    from amp_features.export import publish
    from amp_features.generate import generate_lake
    from amp_features.logs import log
    from amp_features.pipeline.api import run_features
    from amp_features.serve import OnlineStore

    out = os.path.abspath(args.out)
    lake, warehouse = os.path.join(out, "lake"), os.path.join(out, "warehouse")
    online = f"sqlite:///{os.path.join(out, 'online.db')}"
    end = parse_date(args.end_date)
    spark = _spark(args, validates=True)

    log.info("demo: generating a lake of %d users over %d days in %s", args.users, args.days, lake)
    generate_lake(spark, lake, users=args.users, days=args.days, end_date=end, seed=args.seed)
    result = run_features(spark, lake, warehouse, end, validate=True)
    from amp_features.offline import snapshots
    from amp_features.quality import assert_publishable

    commit = assert_publishable(spark, warehouse, end)
    print(f"quality:    passed ({commit.describe()})")
    report = publish(spark, warehouse, end, online, commit=commit)
    print(f"lake:       {lake}")
    print(f"warehouse:  {warehouse}")
    _print_result(result)
    print(f"online:     {online} (version {getattr(report, 'version', '?')})")

    # A taste of serving: one user's ranking vectors for a few shows, read from the commit.
    user = snapshots.read(spark, warehouse, commit, "user")
    first_user = user.orderBy("sessions_60d", ascending=False).select("user_id").first()
    shows = (
        snapshots.read(spark, warehouse, commit, "show")
        .orderBy("show_plays_60d", ascending=False)
        .select("show_id")
        .limit(3)
        .collect()  # small: three rows
    )
    if first_user is not None and shows:
        with OnlineStore.from_url(online) as store:
            vectors = store.ranking_vectors(first_user["user_id"], [r["show_id"] for r in shows])
        print(f"ranking vectors of user {first_user['user_id']} (from {online}):")
        print(f"  {vectors}")
    print(f"done: features as of {end} are in the warehouse and the online store above")
    return 0
