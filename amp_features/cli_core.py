"""Core subcommands: ``describe``, ``jars``, ``jobs`` and ``smoke``."""

from __future__ import annotations

import argparse
import tempfile
from typing import Any

from amp_features.logs import log


def register(sub: Any) -> None:
    p = sub.add_parser("describe", help="print the feature catalog from the registry")
    p.add_argument("--format", choices=["text", "markdown"], default="text")
    p.add_argument("--feature", help="show one feature in full")
    p.set_defaults(handler=_describe)

    p = sub.add_parser(
        "jars", help="fetch or list Delta's and S3A's jars (cached for offline runs)"
    )
    p.add_argument("action", choices=["fetch", "list", "spark-submit-args"])
    p.add_argument("--s3", action="store_true", help="also the S3A jars (hadoop-aws, AWS SDK)")
    p.set_defaults(handler=_jars)

    p = sub.add_parser(
        "jobs", help="where the installed spark-submit job scripts are (for spark-submit, the DAG)"
    )
    p.add_argument("action", choices=["path"])
    p.add_argument(
        "name", nargs="?", help="a job (compute_features, backfill): its file instead of the folder"
    )
    p.set_defaults(handler=_jobs)

    p = sub.add_parser("smoke", help="write a Delta table, read it back and show its history")
    p.add_argument("--path", help="table path (default: a temporary folder)")
    p.set_defaults(handler=_smoke)


def _describe(args: argparse.Namespace) -> int:
    from amp_features.errors import ConfigError
    from amp_features.registry import REGISTRY, catalog_markdown, catalog_text

    if args.feature:
        f = REGISTRY.get(args.feature)
        if f is None:
            raise ConfigError(f"unknown feature {args.feature!r}; try `amp-features describe`")
        print(f"#{f.number} {f.name}\n  group: {f.group} (key {', '.join(f.keys)})")
        print(f"  type: {f.dtype}\n  description: {f.description}\n  definition: {f.definition}")
        print(f"  ranking-vector default: {f.vector_default}")
        return 0
    print(catalog_markdown() if args.format == "markdown" else catalog_text())
    return 0


def _jars(args: argparse.Namespace) -> int:
    from amp_features import jars

    groups = {"delta": jars.delta_jars()}
    fetchers = {"delta": jars.fetch_delta_jars, "s3": jars.fetch_s3_jars}
    if args.s3 or args.action == "list":
        groups["s3"] = jars.s3_jars()
    if args.action == "list":
        for name, group in groups.items():
            for jar in group:
                state = "cached" if (jars.jars_dir() / jar.filename).is_file() else "missing"
                print(f"{name}\t{jar.coordinate}\t{state}")
        return 0
    paths = []
    for name, group in groups.items():
        cached = jars.local_jars(group)
        state = "cached" if cached is not None else "downloaded"
        if cached is None:
            cached = fetchers[name]()
        if args.action == "fetch":
            print(f"[jars] {name} jars {state} in {jars.jars_dir()}: {len(cached)} files")
        paths += cached
    if args.action == "spark-submit-args":
        print("--jars " + ",".join(str(p) for p in paths))
    return 0


def _jobs(args: argparse.Namespace) -> int:
    from amp_features.jobs import job_script, jobs_dir

    print(job_script(args.name) if args.name else jobs_dir())
    return 0


def _smoke(args: argparse.Namespace) -> int:
    from amp_features.cli import spark_from_args
    from amp_features.offline.delta import smoke_test

    spark = spark_from_args(args)
    path = args.path or tempfile.mkdtemp(prefix="amp-smoke-") + "/table"
    rows, history = smoke_test(spark, path)
    log.info("smoke: wrote and read back %d rows at %s", rows, path)
    print(f"wrote {rows} rows to Delta table {path}; history: {history}")
    return 0
