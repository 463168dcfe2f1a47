"""Engine benchmark: a warm incremental day against a full recompute of the same date.

Side by side in one process, on the same lake:

1. (untimed) an incremental run of D-1, so that every daily state and the window state of
   D-1 exist ("yesterday's states exist");
2. (timed) the incremental run of D: builds D's daily state from D's raw partition, carries the
   window from D-1, writes the five feature tables;
3. (timed) a full run of D into a fresh warehouse: 60 days of raw events, validated,
   deduplicated and aggregated from scratch, the same five tables written;
4. the two outputs are compared row for row (they must be identical).

The driver's peak resident memory (the JVM, which in local mode also runs the executors) is
sampled throughout. Results are written between the engine markers of docs/benchmarks.md.

    .venv/bin/python bench/bench_engine.py --lake /tmp/amp-bench/lake --as-of 2026-11-20
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import shutil
import sys
import threading
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]


class PeakRss:
    """Samples the resident memory of this process's JVM children every 0.5 s."""

    def __init__(self) -> None:
        import psutil

        self._me = psutil.Process()
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            for child in self._me.children(recursive=True):
                try:
                    if "java" in child.name():
                        self.peak = max(self.peak, child.memory_info().rss)
                except Exception:
                    pass
            self._stop.wait(0.5)

    def __enter__(self) -> PeakRss:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", default="/tmp/amp-bench/lake")
    parser.add_argument("--as-of", default="2026-11-20")
    parser.add_argument("--work", default="/tmp/amp-bench/engine")
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--no-docs", action="store_true", help="do not update docs/benchmarks.md")
    parser.add_argument(
        "--docs-from",
        metavar="JSON",
        help="only rewrite the docs section from the result.json of an earlier run",
    )
    parser.add_argument(
        "--reuse-prepared",
        action="store_true",
        help="start from the warehouse prepared (incremental D-1) by an earlier run of this "
        "script, kept in WORK/prepared, instead of building it again (untimed either way)",
    )
    args = parser.parse_args()
    if args.docs_from:
        write_docs(json.loads(Path(args.docs_from).read_text()), args)
        return 0

    from pyspark.sql import functions as F

    from amp_features.contract import parse_date
    from amp_features.layout import Warehouse
    from amp_features.logs import configure_logging
    from amp_features.pipeline import api
    from amp_features.registry import GROUPS
    from amp_features.session import build_session

    configure_logging()
    day = parse_date(args.as_of)
    work = Path(args.work)
    prepared = work / "prepared"
    reuse = args.reuse_prepared and (prepared / "_prepared_as_of").exists()
    if reuse and (prepared / "_prepared_as_of").read_text() != args.as_of:
        reuse = False
    for sub in ("wh_incremental", "wh_full"):
        shutil.rmtree(work / sub, ignore_errors=True)
    if not reuse:
        shutil.rmtree(prepared, ignore_errors=True)
    inc_wh, full_wh = str(work / "wh_incremental"), str(work / "wh_full")
    spark = build_session(
        "bench-engine",
        conf={"spark.driver.memory": args.driver_memory, "spark.sql.shuffle.partitions": "8"},
    )
    playback = spark.read.format("delta").load(f"{args.lake}/playback")
    first, last = day - dt.timedelta(days=59), day
    window = playback.where(F.col("dt").between(F.lit(first), F.lit(last)))
    stats = window.agg(
        F.count(F.lit(1)).alias("events"),
        F.countDistinct("user_id", "dt").alias("user_days"),
        F.countDistinct("user_id", "show_id").alias("pairs"),
        F.countDistinct("user_id").alias("users"),
    ).first()
    total_events = playback.count()

    with PeakRss() as rss:
        t0 = time.perf_counter()
        if reuse:
            # A warm-up run of D on a throw-away copy, so that the timed run below, like the one
            # after a fresh prepare, runs in a warm JVM (JIT, Delta and Parquet metadata caches).
            warm = str(work / "wh_warmup")
            shutil.rmtree(warm, ignore_errors=True)
            shutil.copytree(prepared, warm)
            api.run_features(spark, args.lake, warm, day)
            shutil.rmtree(warm, ignore_errors=True)
            shutil.copytree(prepared, inc_wh)
        else:
            api.run_features(spark, args.lake, inc_wh, day - dt.timedelta(days=1))
            shutil.copytree(inc_wh, prepared)
            (prepared / "_prepared_as_of").write_text(args.as_of)
        prepare = time.perf_counter() - t0

        t0 = time.perf_counter()
        inc = api.run_features(spark, args.lake, inc_wh, day)
        incremental = time.perf_counter() - t0

        t0 = time.perf_counter()
        full_result = api.run_features(spark, args.lake, full_wh, day, mode="full")
        full = time.perf_counter() - t0

    identical = True
    for group in GROUPS:
        a = spark.read.format("delta").load(Warehouse(inc_wh).feature_table(group))
        b = spark.read.format("delta").load(Warehouse(full_wh).feature_table(group))
        a, b = a.where(F.col("as_of") == F.lit(day)), b.where(F.col("as_of") == F.lit(day))
        diff = a.exceptAll(b).count() + b.exceptAll(a).count()
        if diff:
            identical = False
            print(f"  {group}: {diff} differing rows", file=sys.stderr)

    stage = {s.name: round(s.seconds, 1) for s in inc.stages}
    result = {
        "as_of": day.isoformat(),
        "lake_playback_events": total_events,
        "window_events": stats["events"],
        "window_users": stats["users"],
        "events_per_user_day": round(stats["events"] / max(stats["user_days"], 1), 2),
        "user_show_pairs": stats["pairs"],
        "pairs_per_event": round(stats["pairs"] / max(stats["events"], 1), 3),
        "prepare_seconds": round(prepare, 1),
        "incremental_seconds": round(incremental, 1),
        "full_seconds": round(full, 1),
        "ratio": round(full / incremental, 2),
        "identical": identical,
        "carried": inc.carried,
        "incremental_stages": stage,
        "full_stages": {s.name: round(s.seconds, 1) for s in full_result.stages},
        "prepare_reused": reuse,
        "load_after": [round(x, 1) for x in os.getloadavg()],
        "rows": inc.rows,
        "driver_peak_rss_gb": round(rss.peak / 2**30, 2),
        "cores": os.cpu_count(),
    }
    print(json.dumps(result, indent=2))
    (work / "result.json").write_text(json.dumps(result, indent=2))
    if not args.no_docs:
        write_docs(result, args)
    spark.stop()
    return 0 if identical else 1


def write_docs(r: dict, args: argparse.Namespace) -> None:
    inc, full = r["incremental_stages"], r["full_stages"]
    fixed = inc["write_features"]
    # If carrying the window and building D's states cost nothing, the incremental day would
    # still compute and write the same features as the full run.
    ceiling = round(r["full_seconds"] / max(fixed + inc.get("check_inputs", 0), 1e-9), 1)
    body = f"""
## Engine: warm incremental day vs full recompute (issue 4)

Command (after `bench/bench_generate.py` wrote the lake; `--reuse-prepared` skips re-building
the untimed D-1 warehouse on later runs, after an untimed warm-up run of D on a copy of it):

    .venv/bin/python bench/bench_engine.py --lake {args.lake} --as-of {r["as_of"]} --reuse-prepared

Lake: {r["lake_playback_events"]:,} playback events; the window of {r["as_of"]} holds
{r["window_events"]:,} events of {r["window_users"]:,} users, **{r["events_per_user_day"]} events
per user-day**, {r["user_show_pairs"]:,} distinct (user, show) pairs (**{r["pairs_per_event"]} pairs
per event**). Machine: {r["cores"]} cores, local Spark, driver memory {args.driver_memory}, load
average after the run {r["load_after"]}.

| run | seconds | stages (s) |
|---|---|---|
| incremental day D (daily states of D-60..D-1 and the window state of D-1 exist) | {r["incremental_seconds"]} | {", ".join(f"{k} {v}" for k, v in inc.items())} |
| full recompute of D (60 days of raw events) | {r["full_seconds"]} | {", ".join(f"{k} {v}" for k, v in full.items())} |
| **ratio full / incremental** (target 5x) | **{r["ratio"]}x** | |

Outputs identical row for row (all five tables, doubles included): **{r["identical"]}** (window
carried from D-1: {r["carried"]}). Rows written: {r["rows"]}. Driver peak RSS (the one local JVM,
which also runs the executors): {r["driver_peak_rss_gb"]} GB; nothing per user is collected.

**What bounds the ratio.** Both runs compute the same five feature groups from a window state
of {r["user_show_pairs"]:,} (user, show) pairs and write the same snapshot
({sum(r["rows"].values()):,} rows): that `write_features` stage alone takes {fixed} s, so even
with a free carry and a free daily build the ratio could not pass about {ceiling}x. The
incremental day's own work (`build_states` for one day: about nine small Delta commits;
`window_state`: the carried state re-aggregated and rewritten) adds the rest. The full run's
extra work, reading, validating, deduplicating and tiling {r["window_events"]:,} raw events, is
only about {round(1 / r["pairs_per_event"], 1)} times the size of the carried state on this lake,
because the state is per (user, show) pair and a pair averages that many events in the window.
Three quarters of the pairs belong to users active on D or on D-60, so re-using yesterday's
feature rows for untouched users would save little.
"""
    from docsection import write_section

    write_section("engine", body)


if __name__ == "__main__":
    sys.exit(main())
