"""CLI subcommands of amp_features.generate (registered by amp_features.cli)."""

from __future__ import annotations

import argparse
from typing import Any

from amp_features.generate.options import ACTIVITY, DEFAULT_CLI_BAD_ROWS, INVALID_CLASSES

# (flag, GeneratorOptions field, help) for every awkward family that can be switched off.
_SWITCHES = (
    ("--no-redeliveries", "redeliveries", "no exact re-deliveries of an event_id"),
    ("--no-conflicting-duplicates", "conflicting_duplicates", "no conflicting duplicates"),
    ("--no-invalid-rows", "invalid_rows", "no invalid rows at all (same as --bad-rows 0)"),
    ("--no-orphans", "orphan_plays", "no plays of shows missing from shows"),
    (
        "--no-unknown-attributes",
        "unknown_show_attributes",
        "no shows with a null or empty creator_id or topic",
    ),
    ("--no-engage-only-users", "engage_only_users", "no users who only engage"),
    ("--no-declared-only-users", "declared_only_users", "no users without any event"),
    ("--no-unregistered-users", "unregistered_users", "no users with events missing from users"),
    ("--no-midnight", "midnight_events", "no events at exactly 00:00:00 / 23:59:59 UTC"),
)


def register(sub: Any) -> None:
    """Add this area's subcommands to the CLI."""
    p = sub.add_parser(
        "generate",
        help="write a synthetic Amp lake (playback, engagement, shows, users)",
        description="Write a synthetic Amp lake with realistic shape and switchable awkward "
        "data. The same arguments give the same rows. See docs/data_dictionary.md.",
    )
    p.add_argument("--out", required=True, metavar="LAKE", help="lake folder (replaced)")
    p.add_argument("--users", required=True, type=int, metavar="N", help="rows of users")
    p.add_argument("--days", required=True, type=int, metavar="N", help="days of events")
    p.add_argument(
        "--end-date", required=True, metavar="YYYY-MM-DD", help="the last dt (UTC) of events"
    )
    p.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    p.add_argument("--format", choices=["delta", "parquet"], default="delta", dest="fmt")
    p.add_argument(
        "--bad-rows",
        type=float,
        default=DEFAULT_CLI_BAD_ROWS,
        metavar="FRACTION",
        help=f"fraction of rows in each invalid-row class (default {DEFAULT_CLI_BAD_ROWS})",
    )
    p.add_argument(
        "--shows", type=int, default=None, metavar="N", help="shows (default: users / 10)"
    )
    p.add_argument(
        "--activity",
        choices=sorted(ACTIVITY),
        default="dense",
        help="dense (default): heavy-tailed, about 7.8 plays per user-day with a play; "
        "sparse: about 20%% of the users active on a day with 2.5 plays each",
    )
    p.add_argument(
        "--active-share",
        type=float,
        default=None,
        metavar="FRACTION",
        help="mean share of the users active on a day (overrides --activity's)",
    )
    p.add_argument(
        "--plays-per-day",
        type=float,
        default=None,
        metavar="N",
        help="mean plays per active user-day (overrides --activity's)",
    )
    p.add_argument(
        "--clean", action="store_true", help="switch every awkward class off (valid, unique data)"
    )
    for flag, _, text in _SWITCHES:
        p.add_argument(flag, action="store_true", help=text)
    p.add_argument(
        "--skip-class",
        action="append",
        default=[],
        choices=INVALID_CLASSES,
        metavar="CLASS",
        help=f"leave out one invalid-row class; repeatable ({', '.join(INVALID_CLASSES)})",
    )
    p.add_argument(
        "--no-stats", action="store_true", help="skip reading playback back for the shape figures"
    )
    p.set_defaults(handler=_generate)


def options_from_args(args: argparse.Namespace) -> Any:
    from amp_features.generate.options import GeneratorOptions

    base = GeneratorOptions.activity(args.activity)
    if args.clean:
        base = GeneratorOptions.clean(
            active_share=base.active_share, plays_per_day=base.plays_per_day
        )
    changes: dict[str, object] = {
        "skip_classes": frozenset(args.skip_class),
        "shows": args.shows,
        "shape_stats": not args.no_stats,
    }
    for name in ("active_share", "plays_per_day"):
        if getattr(args, name) is not None:
            changes[name] = getattr(args, name)
    for flag, field_name, _ in _SWITCHES:
        if getattr(args, flag[2:].replace("-", "_")):
            changes[field_name] = False
    return base.replace(**changes)


def _generate(args: argparse.Namespace) -> int:
    from amp_features.cli import spark_from_args
    from amp_features.contract import parse_date
    from amp_features.generate.lake import check_arguments, generate_lake

    end_date = parse_date(args.end_date)
    options = options_from_args(args)
    # Fail on a bad flag before a JVM is started for nothing.
    check_arguments(
        args.out, args.users, args.days, end_date, args.seed, args.fmt, args.bad_rows, options
    )
    spark = spark_from_args(args)
    report = generate_lake(
        spark,
        args.out,
        users=args.users,
        days=args.days,
        end_date=end_date,
        seed=args.seed,
        fmt=args.fmt,
        bad_rows=args.bad_rows,
        options=options,
    )
    print("\n".join(report.summary_lines()))
    return 0
