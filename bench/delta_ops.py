"""What a daily run asks of Spark and Delta, side by side with a baseline commit of this repository.

Each side runs in a process of its own, on the same small generated lake, with a warm session:
three consecutive incremental days (``pipeline.api.run_features``, validation off so that only
the engine's own writes count), then a re-run of the last day. Per day it reports the wall
time, the Spark jobs submitted, and the Delta commits made in the warehouse by kind (append,
overwrite, other), read from every table's ``_delta_log``. The baseline's code comes from
``git worktree add`` of the ref given, so both sides share this checkout's venv and jars.

    .venv/bin/python bench/delta_ops.py --baseline f6bbedc [--users 300] [--write-doc]
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import subprocess
import sys
import tempfile
import time
from collections import Counter
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
END = dt.date(2026, 1, 20)
DAYS = [END - dt.timedelta(days=n) for n in (2, 1, 0)]


def delta_commits(warehouse: Path) -> Counter[str]:
    """Commits by kind over every Delta table under ``warehouse``."""
    kinds: Counter[str] = Counter()
    for log in warehouse.rglob("_delta_log"):
        for entry in log.glob("*.json"):
            for line in entry.read_text().splitlines():
                info = json.loads(line).get("commitInfo")
                if info is None:
                    continue
                mode = info.get("operationParameters", {}).get("mode", "")
                kind = {"Append": "append", "Overwrite": "overwrite"}.get(mode, "other")
                kinds[kind] += 1
    return kinds


def side(work: Path, lake: Path, users: int) -> list[dict[str, object]]:
    """One side, in this process (the code imported is whatever ``sys.path`` finds first)."""
    from amp_features.generate.lake import generate_lake
    from amp_features.generate.options import GeneratorOptions
    from amp_features.pipeline.api import run_features
    from amp_features.session import build_session

    # Jobs are counted from the status tracker, which keeps spark.ui.retainedJobs of them.
    conf = {"spark.ui.enabled": "false", "spark.ui.retainedJobs": "100000"}
    spark = build_session("bench-delta-ops", conf=conf)
    warehouse = work / "warehouse"
    if not lake.exists():
        generate_lake(
            spark, str(lake), users=users, days=70, end_date=END, seed=7,
            options=GeneratorOptions(shape_stats=False),
        )  # fmt: skip
    tracker = spark.sparkContext.statusTracker()
    out = []
    for label, day in [*((f"day {d}", d) for d in DAYS), (f"re-run {DAYS[-1]}", DAYS[-1])]:
        before, jobs = delta_commits(warehouse), len(tracker.getJobIdsForGroup())
        started = time.time()
        run_features(spark, str(lake), str(warehouse), day, validate=False)
        after = delta_commits(warehouse)
        out.append(
            {
                "run": label,
                "seconds": round(time.time() - started, 1),
                "jobs": len(tracker.getJobIdsForGroup()) - jobs,
                **{k: after[k] - before[k] for k in ("append", "overwrite", "other")},
            }
        )
    return out


def run_side(code: Path, work: Path, lake: Path, users: int) -> list[dict[str, object]]:
    env = {**os.environ, "PYTHONPATH": str(code)}
    argv = [sys.executable, __file__, "--side", str(work), "--lake", str(lake)]
    argv += ["--users", str(users)]
    proc = subprocess.run(argv, env=env, cwd=code, capture_output=True, text=True, check=False)
    if proc.returncode != 0:
        raise SystemExit(f"the side at {code} failed:\n{proc.stderr[-3000:]}")
    return json.loads(proc.stdout.strip().splitlines()[-1])


def table(name: str, rows: list[dict[str, object]]) -> str:
    lines = [
        f"**{name}**", "",
        "| run | seconds | Spark jobs | Delta appends | Delta overwrites | other commits |",
        "|---|---|---|---|---|---|",
    ]  # fmt: skip
    for r in rows:
        lines.append(
            f"| {r['run']} | {r['seconds']} | {r['jobs']} | {r['append']} | {r['overwrite']} "
            f"| {r['other']} |"
        )
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--baseline", help="git ref of the baseline side")
    parser.add_argument("--users", type=int, default=300)
    parser.add_argument("--side", help=argparse.SUPPRESS)
    parser.add_argument("--lake", help=argparse.SUPPRESS)
    parser.add_argument("--write-doc", action="store_true", help="update docs/benchmarks.md")
    args = parser.parse_args()
    if args.side:
        print(json.dumps(side(Path(args.side), Path(args.lake), args.users)))
        return
    if not args.baseline:
        parser.error("--baseline REF is required")
    tmp = Path(tempfile.mkdtemp(prefix="amp-delta-ops-"))
    base_code = tmp / "baseline-code"
    subprocess.run(["git", "worktree", "add", "-f", "--detach", str(base_code), args.baseline],
                   cwd=ROOT, check=True, capture_output=True)  # fmt: skip
    try:
        results = {}
        for name, code in ((f"baseline {args.baseline}", base_code), ("this tree", ROOT)):
            print(f"[bench] {name}: 3 incremental days and a re-run on {args.users} users")
            # The first side generates the lake; the second reads the same one.
            results[name] = run_side(code, tmp / name.split()[0], tmp / "lake", args.users)
    finally:
        subprocess.run(["git", "worktree", "remove", "--force", str(base_code)], cwd=ROOT,
                       check=False, capture_output=True)  # fmt: skip
    body = "\n\n".join(table(name, rows) for name, rows in results.items())
    body += f"\n\nCommand: `.venv/bin/python bench/delta_ops.py --baseline {args.baseline}`"
    print(body)
    if args.write_doc:
        sys.path.insert(0, str(ROOT / "bench"))
        from docsection import write_section

        write_section("delta-ops", body)


if __name__ == "__main__":
    main()
