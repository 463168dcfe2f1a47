"""CLI subcommands of amp_features.export (registered by amp_features.cli).

``export``: publish an as_of snapshot to the online store (after the quality gate).
``online status | rollback | vectors``: inspect the store's versions, move the pointer back, or
print the ranking vectors of one user for a few shows.
"""

from __future__ import annotations

import argparse
import json
from typing import Any

from amp_features.logs import log

URL_HELP = "online store: sqlite:///path/online.db or redis://[:password@]host:port/db (rediss://)"


def register(sub: Any) -> None:
    """Add this area's subcommands to the CLI."""
    p = sub.add_parser("export", help="publish an as_of snapshot to the online store")
    p.add_argument("--as-of", required=True, help="the as_of date D (YYYY-MM-DD)")
    p.add_argument("--warehouse", required=True, help="warehouse root (the offline store)")
    p.add_argument("--online", required=True, metavar="URL", help=URL_HELP)
    p.add_argument(
        "--skip-quality-gate",
        action="store_true",
        help="publish even if the output quality suites did not pass (logged as a warning)",
    )
    p.add_argument(
        "--keep-versions", type=int, default=3, help="versions to keep, the live one included"
    )
    p.set_defaults(handler=_export)

    online = sub.add_parser("online", help="inspect or roll back the online store")
    osub = online.add_subparsers(dest="online_command", metavar="ACTION")
    osub.required = True
    p = osub.add_parser("status", help="list the store's versions and the live one")
    p.add_argument("--online", required=True, metavar="URL", help=URL_HELP)
    p.set_defaults(handler=_status)
    p = osub.add_parser("rollback", help="point readers at an earlier version")
    p.add_argument("--online", required=True, metavar="URL", help=URL_HELP)
    p.add_argument("--to", metavar="VERSION", help="version id (default: the previous one)")
    p.set_defaults(handler=_rollback)
    p = osub.add_parser("vectors", help="print one user's ranking vectors for some shows (JSON)")
    p.add_argument("--online", required=True, metavar="URL", help=URL_HELP)
    p.add_argument("--user", required=True, help="user_id")
    p.add_argument("--show", action="append", required=True, help="show_id; repeat for more")
    p.set_defaults(handler=_vectors)


def _export(args: argparse.Namespace) -> int:
    from amp_features.cli import spark_from_args
    from amp_features.contract import parse_date
    from amp_features.export.publish import check_store, publish
    from amp_features.quality.gate import assert_publishable

    as_of = parse_date(args.as_of)
    check_store(args.online, as_of)  # an unreachable store fails before the JVM starts
    spark = spark_from_args(args)
    if args.skip_quality_gate:
        log.warning(
            "export %s: --skip-quality-gate given: publishing without a passed quality gate",
            as_of,
        )
    commit = assert_publishable(spark, args.warehouse, as_of, override=args.skip_quality_gate)
    report = publish(
        spark,
        args.warehouse,
        as_of,
        args.online,
        keep_versions=args.keep_versions,
        commit=commit,
    )
    print(
        f"published as_of {report.as_of} to {report.url} as version {report.version} "
        f"(previous: {report.previous_version or 'none'}): {report.total_rows} rows "
        f"in {report.seconds:.1f}s; deleted versions: "
        f"{', '.join(report.deleted_versions) or 'none'}"
    )
    return 0


def _status(args: argparse.Namespace) -> int:
    from amp_features.export.publish import status
    from amp_features.serve.backends import redact

    live, versions = status(args.online)
    print(f"online store {redact(args.online)}: live version {live or 'none'}")
    print(f"  {'version':<16} {'as_of':<10}  {'state':<8} {'rows':>12}  published_at")
    for v in reversed(versions):
        mark = "*" if v.version == live else " "
        rows = sum(v.rows.values()) if v.rows else 0
        print(
            f"{mark} {v.version:<16} {v.as_of:<10}  {v.state:<8} {rows:>12}  "
            f"{v.published_at or '-'}"
        )
    return 0


def _rollback(args: argparse.Namespace) -> int:
    from amp_features.export.publish import rollback
    from amp_features.serve.backends import redact

    info = rollback(args.online, args.to)
    print(f"online store {redact(args.online)}: live version is now {info.version} "
          f"(as_of {info.as_of})")  # fmt: skip
    return 0


def _vectors(args: argparse.Namespace) -> int:
    from amp_features.serve.store import OnlineStore

    with OnlineStore.from_url(args.online) as store:
        vectors = store.ranking_vectors(args.user, args.show)
        out = {
            "version": store.current_version(),
            "user_id": args.user,
            "vectors": [
                {"show_id": s, **dict(zip(store.columns, v, strict=True))}
                for s, v in zip(args.show, vectors, strict=True)
            ],
        }
    print(json.dumps(out, indent=2))
    return 0
