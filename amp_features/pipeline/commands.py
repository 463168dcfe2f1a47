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
    p.set_defaults(handler=_run)

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


def _print_result(result: Any) -> None:
    print(f"as_of {result.as_of} ({result.mode}, run {result.run_id}):")
    for group, path in result.tables.items():
        print(f"  {group:<16} {result.rows.get(group, 0):>10,} rows  -> {path}")


def _run(args: argparse.Namespace) -> int:
    from amp_features.cli import spark_from_args
    from amp_features.contract import parse_date
    from amp_features.pipeline.api import run_features

    as_of = parse_date(args.as_of)
    spark = spark_from_args(args)
    if not args.skip_validation:
        from amp_features.quality import validate_inputs

        # Raises QualityGateError (exit 1) on a broken table, before anything is written.
        validate_inputs(spark, args.lake, args.warehouse, as_of)
    result = run_features(spark, args.lake, args.warehouse, as_of, mode=args.mode)
    _print_result(result)
    if not args.skip_validation:
        from amp_features.quality import validate_outputs

        quality = validate_outputs(spark, args.warehouse, as_of)
        print(quality.summary())
        print(f"quality report: {quality.report}")
        if not quality.success:
            return 1
    return 0


def _demo(args: argparse.Namespace) -> int:
    from amp_features.cli import spark_from_args
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
    spark = spark_from_args(args)

    log.info("demo: generating a lake of %d users over %d days in %s", args.users, args.days, lake)
    generate_lake(spark, lake, users=args.users, days=args.days, end_date=end, seed=args.seed)
    result = run_features(spark, lake, warehouse, end)
    from amp_features.quality import assert_publishable, validate_outputs

    quality = validate_outputs(spark, warehouse, end)
    print(f"quality:    {'passed' if quality.success else 'FAILED'} ({quality.report})")
    assert_publishable(spark, warehouse, end)
    report = publish(spark, warehouse, end, online)
    print(f"lake:       {lake}")
    print(f"warehouse:  {warehouse}")
    _print_result(result)
    print(f"online:     {online} (version {getattr(report, 'version', '?')})")

    # A taste of serving: one user's ranking vectors for a few shows.
    user = spark.read.format("delta").load(result.tables["user"]).where(f"as_of = '{end}'")
    first_user = user.orderBy("sessions_60d", ascending=False).select("user_id").first()
    shows = (
        spark.read.format("delta")
        .load(result.tables["show"])
        .where(f"as_of = '{end}'")
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
