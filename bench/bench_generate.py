"""Benchmark of ``amp-features generate``: time the benchmark lake and record its shape.

Usage (the figures go into the generate section of docs/benchmarks.md):

    .venv/bin/python bench/bench_generate.py --out /tmp/amp-bench/lake \\
        --users 200000 --days 75 --end-date 2026-11-20 --seed 7

The lake stays at ``--out`` (the engine benchmark reads it).
"""

from __future__ import annotations

import argparse
import os
import sys
import time

from docsection import write_section

from amp_features.contract import parse_date
from amp_features.generate import generate_lake
from amp_features.logs import configure_logging
from amp_features.session import build_session


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def section(command: str, report: dict, seconds: float, load_before: str, load_after: str) -> str:
    t, shape = report["tables"], report["shape"]
    pb = report["injected"]["playback"]
    invalid = sum(
        v for k, v in pb.items()
        if k not in ("exact_redelivery", "conflicting_duplicate", "orphan_plays", "midnight_events")
    )  # fmt: skip
    rows = "\n".join(
        f"| `{name}` | {t[name]['rows']:,} |"
        for name in ("playback", "engagement", "shows", "users")
    )
    return f"""## Synthetic lake generation (`amp-features generate`)

Command (run once, {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}):

```
{command}
```

Machine: {os.cpu_count()} cores, local[*] Spark, Delta output. Load average (1/5/15 min)
before: {load_before}; after: {load_after}. Other engineers' test suites shared the CPU
during the run, so the wall time is an upper bound for this machine.

| figure | value |
|---|---|
| wall time, all four tables + report + shape read-back | {seconds:.0f} s ({seconds / 60:.1f} min) |
| playback rows per second | {t["playback"]["rows"] / seconds:,.0f} |
| events per user-day (plays / distinct (user, dt) with a play) | {shape["events_per_user_day"]:.2f} |
| distinct (user, show) pairs per playback event | {shape["pairs_per_event"]:.3f} |
| top 1% of users' share of plays ({shape["top1pct_users"]:,} of {shape["users_with_plays"]:,} users who played) | {shape["top1pct_share_of_plays"]:.1%} |
| invalid playback rows (9 classes at `--bad-rows` 0.001 each) | {invalid:,} |
| exact re-deliveries / conflicting duplicates (extra playback rows) | {pb["exact_redelivery"]:,} / {pb["conflicting_duplicate"]:,} |
| orphan plays | {pb["orphan_plays"]:,} |

| table | rows |
|---|---|
{rows}

The full counts per injected class are in `_generation_report.json` at the lake root.
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", default="/tmp/amp-bench/lake")
    p.add_argument("--users", type=int, default=200_000)
    p.add_argument("--days", type=int, default=75)
    p.add_argument("--end-date", default="2026-11-20")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--bad-rows", type=float, default=0.001)
    p.add_argument("--no-doc", action="store_true", help="print the figures, leave the doc alone")
    args = p.parse_args(argv)
    configure_logging()
    command = f"amp-features generate --out {args.out} --users {args.users} --days {args.days} --end-date {args.end_date} --seed {args.seed} --bad-rows {args.bad_rows}"
    command = (
        f".venv/bin/python bench/bench_generate.py --out {args.out} --users {args.users} "
        f"--days {args.days} --end-date {args.end_date} --seed {args.seed} --bad-rows {args.bad_rows}"
        f"\n# the same lake as: {command}"
    )
    spark = build_session("amp-bench-generate")
    load_before = _load()
    started = time.perf_counter()
    report = generate_lake(
        spark,
        args.out,
        users=args.users,
        days=args.days,
        end_date=parse_date(args.end_date),
        seed=args.seed,
        bad_rows=args.bad_rows,
    )
    seconds = time.perf_counter() - started
    print("\n".join(report.summary_lines()))
    text = section(command, report.as_dict(), seconds, load_before, _load())
    if args.no_doc:
        print(text)
    else:
        write_section("generate", text)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
