"""Benchmark of ``amp-features generate``: time the benchmark lake and record its shape.

Usage (the figures go into the generator section of docs/benchmarks.md):

    .venv/bin/python bench/bench_generate.py --out /tmp/amp-bench/lake-sparse \\
        --users 540000 --days 75 --activity sparse --dense-users 200000

The main run is the sparse benchmark lake (about 20 M plays: a fifth of the users active on a
day, 2.5 plays each). ``--dense-users N`` adds a second run of the dense default shape with N
users at ``--dense-out`` (the 22 M-event lake the engine benchmarks read at 200,000 users); 0
skips it. Both lakes stay where they were written. Every run reports its wall time, the CPU
seconds of the Spark JVM and its Python workers (what a shared machine hardly changes) and the
load average around it.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from typing import Any

from docsection import write_section

from amp_features.contract import parse_date
from amp_features.generate import GeneratorOptions, generate_lake
from amp_features.logs import configure_logging
from amp_features.session import build_session

# The generator before issue 17 (Spark column expressions, whole-stage code generation off),
# measured with this script's predecessor on this machine.
BEFORE = (
    "Before issue 17 (column expressions over a grid of user-days, whole-stage code generation "
    "off, sessions kept on disk between the two fact tables): the dense 200,000-user lake "
    "(22,222,824 plays) took 2018 s, 11,014 plays/s, at load average 18-29; 10,000 users "
    "(1,104,985 plays, `--users 10000 --days 75`) took 167 s, 6,633 plays/s, at load average "
    "1.4-7.8 on 2026-12-01."
)


def _load() -> str:
    try:
        one, five, fifteen = os.getloadavg()
    except OSError:
        return "unknown"
    return f"{one:.1f} / {five:.1f} / {fifteen:.1f}"


def spark_cpu_seconds() -> float:
    """CPU seconds (user + system) used so far by this process's Spark JVM and its Python
    workers, exited workers included (their parent reaped them)."""
    import psutil

    total = 0.0
    for child in psutil.Process().children(recursive=True):
        try:
            t = child.cpu_times()
            total += t.user + t.system + t.children_user + t.children_system
        except psutil.Error:  # a Python worker that just exited
            pass
    return total


def run(spark: Any, args: argparse.Namespace, out: str, users: int, activity: str) -> dict:
    overrides = {}
    if activity != "dense":
        for name in ("active_share", "plays_per_day"):
            if getattr(args, name) is not None:
                overrides[name] = getattr(args, name)
    options = GeneratorOptions.activity(activity, **overrides)
    flags = f"--activity {activity}"
    flags += "".join(f" --{k.replace('_', '-')} {v}" for k, v in overrides.items())
    command = (
        f"amp-features generate --out {out} --users {users} --days {args.days} "
        f"--end-date {args.end_date} --seed {args.seed} --bad-rows {args.bad_rows} "
        f"--format {args.format} {flags}"
    )
    load_before, cpu_before = _load(), spark_cpu_seconds()
    started = time.perf_counter()
    report = generate_lake(
        spark,
        out,
        users=users,
        days=args.days,
        end_date=parse_date(args.end_date),
        seed=args.seed,
        fmt=args.format,
        bad_rows=args.bad_rows,
        options=options,
    )
    seconds = time.perf_counter() - started
    print("\n".join(report.summary_lines()), flush=True)
    return {
        "command": command,
        "activity": activity,
        "report": report.as_dict(),
        "seconds": seconds,
        "cpu": spark_cpu_seconds() - cpu_before,
        "load": (load_before, _load()),
    }


def _figures(r: dict) -> list[tuple[str, str]]:
    rep, seconds = r["report"], r["seconds"]
    t, shape, pb = rep["tables"], rep["shape"], rep["injected"]["playback"]
    invalid = sum(
        v for k, v in pb.items()
        if k not in ("exact_redelivery", "conflicting_duplicate", "orphan_plays", "midnight_events")
    )  # fmt: skip
    phases = ", ".join(f"{name} {t[name]['seconds']:.0f} s" for name in t)
    users = rep["arguments"]["users"]
    days = rep["arguments"]["days"]
    return [
        ("wall time, four tables + report + shape", f"{seconds:.0f} s ({seconds / 60:.1f} min)"),
        ("playback rows per second (wall)", f"{t['playback']['rows'] / seconds:,.0f}"),
        ("CPU seconds, Spark JVM + Python workers", f"{r['cpu']:.0f}"),
        ("load average before / after (1 / 5 / 15 min)", f"{r['load'][0]} / {r['load'][1]}"),
        ("phases", f"{phases}, shape {rep.get('shape_seconds', 0):.0f} s"),
        ("`playback` / `engagement` rows", f"{t['playback']['rows']:,} / {t['engagement']['rows']:,}"),
        ("`users` / `shows` rows", f"{t['users']['rows']:,} / {t['shows']['rows']:,}"),
        ("users with a play per day / users", f"{shape['user_days_with_plays'] / days / users:.3f}"),
        ("plays per user-day with a play", f"{shape['events_per_user_day']:.2f}"),
        ("distinct (user, show) pairs per play", f"{shape['pairs_per_event']:.3f}"),
        ("top 1% of players' share of plays", f"{shape['top1pct_share_of_plays']:.1%}"),
        ("invalid playback rows (9 classes)", f"{invalid:,}"),
        ("extra rows: exact re-deliveries / conflicting", f"{pb['exact_redelivery']:,} / {pb['conflicting_duplicate']:,}"),
        ("orphan plays / midnight plays", f"{pb['orphan_plays']:,} / {pb['midnight_events']:,}"),
    ]  # fmt: skip


def _sharing(runs: list[dict]) -> str:
    """What the load average says about the machine: idle but for the generator, or shared."""
    try:
        before = max(float(r["load"][0].split(" / ")[0]) for r in runs)
    except ValueError:  # no load average on this system
        before = float("inf")
    if before <= (os.cpu_count() or 2):
        return (
            "Nothing else ran on the machine (the load average before each lake is at most "
            f"{before}; during it, the generator itself)."
        )
    return (
        "Other work shared the cores during the run (see the load average): the wall time is "
        "an upper bound for this machine, the CPU seconds are what the generator itself used."
    )


def section(command: str, runs: list[dict]) -> str:
    commands = "\n".join(f"# {r['activity']}: the same lake as\n# {r['command']}" for r in runs)
    head = "| figure | " + " | ".join(f"{r['activity']}" for r in runs) + " |"
    rows = [head, "|---|" + "---|" * len(runs)]
    table = [_figures(r) for r in runs]
    for i, (name, _) in enumerate(table[0]):
        rows.append(f"| {name} | " + " | ".join(t[i][1] for t in table) + " |")
    body = "\n".join(rows)
    return f"""## Generator (`amp-features generate`, issue 17)

Command (run once, {time.strftime("%Y-%m-%d %H:%M UTC", time.gmtime())}; {os.cpu_count()} cores,
local Spark, one session for both lakes, the JVM started before the clock):

```
{command}
{commands}
```

Each task (one day of one slice of at most 400,000 users) is generated by NumPy in a Python
worker and handed to Spark as one Arrow batch (`mapInArrow`), so the rows cost no Python per
row and no shuffle; the shape figures regenerate the plays without their strings. {_sharing(runs)}

{body}

{BEFORE}

The full counts per injected class are in `_generation_report.json` at each lake's root.
"""


def main(argv: list[str] | None = None) -> int:
    p = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawTextHelpFormatter)
    p.add_argument("--out", default="/tmp/amp-bench/lake-sparse")
    p.add_argument("--users", type=int, default=540_000)
    p.add_argument("--days", type=int, default=75)
    p.add_argument("--end-date", default="2026-11-20")
    p.add_argument("--seed", type=int, default=7)
    p.add_argument("--bad-rows", type=float, default=0.001)
    p.add_argument("--format", choices=["delta", "parquet"], default="delta")
    p.add_argument("--activity", choices=["dense", "sparse"], default="sparse")
    p.add_argument("--active-share", type=float, default=None)
    p.add_argument("--plays-per-day", type=float, default=None)
    p.add_argument("--dense-users", type=int, default=0, help="also a dense lake of N users")
    p.add_argument("--dense-out", default="/tmp/amp-bench/lake")
    p.add_argument("--no-doc", action="store_true", help="print the figures, leave the doc alone")
    args = p.parse_args(argv)
    command = " ".join([".venv/bin/python bench/bench_generate.py", *(argv or sys.argv[1:])])
    configure_logging()
    spark = build_session("amp-bench-generate")
    runs = [run(spark, args, args.out, args.users, args.activity)]
    if args.dense_users:
        runs.append(run(spark, args, args.dense_out, args.dense_users, "dense"))
    text = section(command, runs)
    if args.no_doc:
        print(text)
    else:
        write_section("generate", text)
    spark.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
