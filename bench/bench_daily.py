"""Daily run, three ways on one lake and as-of date D, in one run, checked row for row.

1. (untimed) ``amp-features run --as-of D-1`` (incremental) into a fresh warehouse, so that
   yesterday is done: its daily states and window state exist (``--reuse-prepared`` copies the
   warehouse kept from an earlier run of this script instead);
2. (timed) the DuckDB baseline (``bench_duckdb.py``): all five feature groups of D from the raw
   lake, written as Parquet, in this process;
3. (timed) ``amp-features run --as-of D --mode full`` into a fresh warehouse: the whole CLI
   command as a subprocess (JVM start, input and output validation included);
4. (timed) ``amp-features run --as-of D`` (incremental) on the warehouse of step 1;
5. the three outputs compared on the five tables: integers and booleans exactly,
   ``listen_minutes_60d`` exactly (the contract makes it exact), other doubles within
   ``--rel-tol``; full and incremental must be bit-identical.

Both CLI runs write Spark's event log; ``stage_profile.py`` maps it and the warehouse's Delta
commits to the pipeline stages, and the profile of the incremental day is printed. Results go to
WORK/result.json and (unless ``--no-docs``) the ``daily`` section of docs/benchmarks.md.

    .venv/bin/python bench/bench_daily.py --lake /tmp/amp-bench/lake --as-of 2026-11-20
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import resource
import shutil
import subprocess
import sys
import time
from pathlib import Path

import bench_duckdb
import stage_profile
from bench_engine import PeakRss
from docsection import write_section

ROOT = Path(__file__).resolve().parents[1]
CLI = str(ROOT / ".venv" / "bin" / "amp-features")
RUNS = ("full", "incremental")
WORK = "/tmp/amp-bench/daily"


class TreeUsage(PeakRss):
    """bench_engine's JVM peak-memory sampler, also keeping the last CPU time (user + system)
    of every process below this one: the CLI's JVM is not reaped by its Python parent, so
    ``RUSAGE_CHILDREN`` would miss it."""

    def __init__(self) -> None:
        super().__init__()
        self._cpu: dict[int, float] = {}

    def _run(self) -> None:
        while not self._stop.is_set():
            for child in self._me.children(recursive=True):
                try:
                    times = child.cpu_times()
                    self._cpu[child.pid] = times.user + times.system
                    if "java" in child.name():
                        self.peak = max(self.peak, child.memory_info().rss)
                except Exception:
                    pass  # the process ended between listing and sampling
            self._stop.wait(0.5)

    @property
    def cpu_seconds(self) -> float:
        return sum(self._cpu.values())


def _self_cpu() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run_cli(
    args: list[str], log_path: Path, conf: dict[str, str], prefix: list[str] | None = None
) -> dict:
    """Run ``amp-features`` with ``--conf`` flags; every output line is written to ``log_path``
    stamped with this process's wall clock (stage_profile's time windows come from them).
    ``prefix`` replaces the command itself (a profiler in front of the CLI, say)."""
    cmd = list(prefix or [CLI])
    for k, v in conf.items():
        cmd += ["--conf", f"{k}={v}"]
    cmd += args
    print(f"[bench] {' '.join(cmd)}", flush=True)
    start = time.time()
    with open(log_path, "w", buffering=1) as log, TreeUsage() as usage:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True, bufsize=1
        )
        assert proc.stdout is not None
        for line in proc.stdout:
            log.write(f"{time.time():.3f}\t{line.rstrip()}\n")
            if " amp_features: stage " in line or "error" in line.lower():
                print("   ", line.rstrip(), flush=True)
        code = proc.wait()
    end = time.time()
    if code != 0:
        raise SystemExit(f"{' '.join(cmd)} exited {code}; its output is in {log_path}")
    return {
        "seconds": round(end - start, 1),
        "cpu_seconds": round(usage.cpu_seconds, 1),
        "peak_rss_gb": round(usage.peak / 2**30, 2),
        "start": start,
        "end": end,
    }


def spark_conf(args: argparse.Namespace, event_dir: Path) -> dict[str, str]:
    shutil.rmtree(event_dir, ignore_errors=True)
    event_dir.mkdir(parents=True)
    return {
        "spark.driver.memory": args.driver_memory,
        "spark.eventLog.enabled": "true",
        "spark.eventLog.dir": event_dir.resolve().as_uri(),
        "spark.eventLog.compress": "false",
        **dict(kv.split("=", 1) for kv in args.conf),
    }


def stage_seconds(log_path: Path) -> dict[str, float]:
    """Seconds per pipeline stage from the run's ``stage X: done in Ns`` lines."""
    out = {}
    for _, text in stage_profile.stamped_lines(log_path):
        if " amp_features: stage " in text and ": done in " in text:
            name = text.split(" amp_features: stage ", 1)[1].split(":", 1)[0]
            out[name] = float(text.split(": done in ", 1)[1].split("s", 1)[0])
    return out


def lake_summary(lake: str) -> dict:
    """The generator's arguments and table sizes, from the lake's ``_generation_report.json``."""
    path = Path(lake) / "_generation_report.json"
    if not path.exists():
        return {"command": f"(no generation report in {lake})", "rows": {}}
    report = json.loads(path.read_text())
    a = report.get("arguments", {})
    command = (
        f"amp-features generate --out {lake} --users {a.get('users')} --days {a.get('days')} "
        f"--end-date {a.get('end_date')} --seed {a.get('seed')} --format {a.get('format')} "
        f"--bad-rows {a.get('bad_rows')}"
    )
    rows = {k: v.get("rows") for k, v in report.get("tables", {}).items()}
    return {"command": command, "rows": rows, "seconds": report.get("seconds")}


def profiles_of(work: Path, runs: dict) -> dict:
    """Stage profiles of the full and incremental runs, from the files they left in WORK."""
    return {
        name: stage_profile.profile(
            work / "eventlog" / name,
            work / f"{name}.log",
            work / ("wh_full" if name == "full" else "wh_incremental"),
            runs[name].get("start"),
            runs[name].get("end"),
        )
        for name in RUNS
    }


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--lake", default="/tmp/amp-bench/lake")
    parser.add_argument("--as-of", default="2026-11-20")
    parser.add_argument("--work", default=WORK)
    parser.add_argument("--driver-memory", default="8g")
    parser.add_argument("--conf", action="append", default=[], help="extra Spark k=v (repeat)")
    parser.add_argument("--threads", type=int, default=os.cpu_count(), help="DuckDB threads")
    parser.add_argument("--rel-tol", type=float, default=1e-9)
    parser.add_argument(
        "--reuse-prepared",
        action="store_true",
        help="copy the D-1 warehouse kept in WORK/prepared by an earlier run",
    )
    parser.add_argument("--no-docs", action="store_true", help="print the docs section instead")
    parser.add_argument("--docs-from", metavar="JSON", help="only rewrite the docs section")
    parser.add_argument("--notes", metavar="MD", help="Markdown appended to the docs section")
    parser.add_argument(
        "--shape", default="", help="the lake's shape, named in the docs heading (dense, sparse)"
    )
    parser.add_argument(
        "--section", default="daily", help="the docs section to write (one per lake shape)"
    )
    args = parser.parse_args()
    if args.docs_from:
        r = json.loads(Path(args.docs_from).read_text())
        r["profiles"] = profiles_of(Path(args.docs_from).parent, r)  # with this stage_profile
        write_docs(r, args)
        return 0

    day = dt.date.fromisoformat(args.as_of)
    work = Path(args.work)
    work.mkdir(parents=True, exist_ok=True)
    prepared, inc_wh, full_wh = work / "prepared", work / "wh_incremental", work / "wh_full"
    for path in (inc_wh, full_wh, work / "duckdb"):
        shutil.rmtree(path, ignore_errors=True)
    cli = ["run", "--lake", args.lake]
    load_before = [round(x, 1) for x in os.getloadavg()]

    # 1. yesterday, untimed
    stamp, key = prepared / "_prepared_for", f"{Path(args.lake).resolve()} {args.as_of}"
    if not (args.reuse_prepared and stamp.exists() and stamp.read_text() == key):
        shutil.rmtree(prepared, ignore_errors=True)
        yesterday = (day - dt.timedelta(days=1)).isoformat()
        run_cli(
            [*cli, "--warehouse", str(prepared), "--as-of", yesterday],
            work / "prepare.log",
            spark_conf(args, work / "eventlog" / "prepare"),
        )
        stamp.write_text(key)
    shutil.copytree(prepared, inc_wh)

    # 2. DuckDB from raw
    con = bench_duckdb.connect(args.threads)
    cpu0, t0 = _self_cpu(), time.perf_counter()
    duck_rows = bench_duckdb.compute(con, args.lake, day)
    t1 = time.perf_counter()
    bench_duckdb.write_parquet(con, work / "duckdb")
    duck = {
        "seconds": round(time.perf_counter() - t0, 2),
        "compute_seconds": round(t1 - t0, 2),
        "cpu_seconds": round(_self_cpu() - cpu0, 1),
        "peak_rss_gb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20, 2),
    }
    print(f"[bench] duckdb: {duck}", flush=True)

    # 3. full recompute, 4. warm incremental day
    on_d = ["--as-of", args.as_of]
    full = run_cli(
        [*cli, "--warehouse", str(full_wh), "--mode", "full", *on_d],
        work / "full.log",
        spark_conf(args, work / "eventlog" / "full"),
    )
    inc = run_cli(
        [*cli, "--warehouse", str(inc_wh), *on_d],
        work / "incremental.log",
        spark_conf(args, work / "eventlog" / "incremental"),
    )
    full["stages"], inc["stages"] = (
        stage_seconds(work / "full.log"),
        stage_seconds(work / "incremental.log"),
    )

    # 5. row for row
    comparisons: dict[str, dict] = {}
    for group in bench_duckdb.GROUPS:
        for name, wh in (("full", full_wh), ("incremental", inc_wh)):
            path = wh / "features" / group
            bench_duckdb.register_feature_table(con, f"{name}_{group}", path, day)
        comparisons[group] = {
            "duckdb_vs_full": bench_duckdb.compare(
                con, group, f"duck_{group}", f"full_{group}", args.rel_tol
            ),
            "duckdb_vs_incremental": bench_duckdb.compare(
                con, group, f"duck_{group}", f"incremental_{group}", args.rel_tol
            ),
            "full_vs_incremental": bench_duckdb.compare(
                con, group, f"full_{group}", f"incremental_{group}", 0.0
            ),
        }
    agree = all(c["agree"] for g in comparisons.values() for c in g.values())
    bitwise = all(
        v == 0
        for g in comparisons.values()
        for k, v in g["full_vs_incremental"].items()
        if k.endswith("__not_bitwise")
    )

    profiles = profiles_of(work, {"full": full, "incremental": inc})
    result = {
        "as_of": args.as_of,
        "lake": args.lake,
        "lake_summary": lake_summary(args.lake),
        "window": bench_duckdb.window_counts(con),
        "rows": duck_rows,
        "duckdb": duck,
        "full": full,
        "incremental": inc,
        "agree": agree,
        "full_incremental_bitwise": bitwise,
        "comparisons": comparisons,
        "profiles": profiles,
        "cores": os.cpu_count(),
        "duckdb_threads": args.threads,
        "rel_tol": args.rel_tol,
        "driver_memory": args.driver_memory,
        "load_before": load_before,
        "load_after": [round(x, 1) for x in os.getloadavg()],
    }
    (work / "result.json").write_text(json.dumps(result, indent=2, default=str))
    print(summary_table(result))
    print("\nStage profile of the incremental day:\n")
    print(stage_profile.format_profile(profiles["incremental"]))
    for group, c in comparisons.items():
        for pair, r in c.items():
            if not r["agree"]:
                bad = {
                    k: v
                    for k, v in r.items()
                    if v
                    and k not in ("rows_left", "rows_right", "agree")
                    and not k.endswith(("__not_bitwise", "__max_rel"))
                }
                print(f"[bench] {group} {pair}: DIFFERS {bad}", file=sys.stderr)
    print(f"[bench] wrote {work / 'result.json'}")
    write_docs(result, args)
    return 0 if agree and bitwise else 1


def summary_table(r: dict) -> str:
    d, f, i = r["duckdb"], r["full"], r["incremental"]
    rows = [
        ("DuckDB from raw (in process, Parquet out)", d),
        ("`amp-features run --mode full` (whole CLI)", f),
        ("`amp-features run` incremental, D-1 done (whole CLI)", i),
    ]
    out = [
        "| run | wall s | CPU s | x DuckDB wall | x DuckDB CPU | peak RSS GB |",
        "|---|---|---|---|---|---|",
    ]
    for name, x in rows:
        out.append(
            f"| {name} | {x['seconds']} | {x['cpu_seconds']} | "
            f"{x['seconds'] / max(d['seconds'], 1e-9):.1f} | "
            f"{x['cpu_seconds'] / max(d['cpu_seconds'], 1e-9):.1f} | {x['peak_rss_gb']} |"
        )
    out.append(
        f"\nfull / incremental: {f['seconds'] / i['seconds']:.2f}x wall, "
        f"{f['cpu_seconds'] / max(i['cpu_seconds'], 1e-9):.2f}x CPU. "
        f"All three agree: {r['agree']}; full and incremental bit-identical: "
        f"{r['full_incremental_bitwise']}."
    )
    return "\n".join(out)


def _max_rel(r: dict, pair: str) -> float:
    return max(
        (
            v
            for g in r["comparisons"].values()
            for k, v in g[pair].items()
            if k.endswith("__max_rel")
        ),
        default=0.0,
    )


def _not_bitwise(r: dict, pair: str) -> int:
    return sum(
        v
        for g in r["comparisons"].values()
        for k, v in g[pair].items()
        if k.endswith("__not_bitwise")
    )


def write_docs(r: dict, args: argparse.Namespace) -> None:
    """The ``daily`` section of docs/benchmarks.md (printed instead with ``--no-docs``)."""
    w, lake = r["window"], r.get("lake_summary") or lake_summary(r["lake"])
    stages = {n: ", ".join(f"{k} {v}" for k, v in r[n]["stages"].items()) for n in RUNS}
    rows = ", ".join(f"`{g}` {n:,}" for g, n in r["rows"].items())
    tol = r.get("rel_tol", args.rel_tol)
    lake_rows = ", ".join(f"`{k}` {v:,}" for k, v in lake["rows"].items())
    paragraphs = [
        "### Daily run: DuckDB vs full vs incremental"
        + (f", {args.shape} lake" if args.shape else "")
        + " (issue 17)",
        "Commands (`--reuse-prepared` re-uses the untimed D-1 warehouse of an earlier run):",
        f"    .venv/bin/{lake['command']}\n"
        f"    .venv/bin/python bench/bench_daily.py --lake {r['lake']} --as-of {r['as_of']}"
        + (f" --work {args.work}" if args.work != WORK else "")
        + (f" --shape {args.shape} --section {args.section}" if args.section != "daily" else ""),
        f"Lake: {lake_rows} rows, generated in {lake.get('seconds') or '?'} s. Window of "
        f"{r['as_of']}: {w['playback_rows_read']:,} raw playback rows "
        f"({w['playback_events_kept']:,} valid events after deduplication, "
        f"{w['users_with_plays']:,} users, {w['user_show_pairs']:,} (user, show) pairs) and "
        f"{w['engagement_rows_read']:,} raw engagement rows. Machine: {r['cores']} cores, DuckDB "
        f"{r['duckdb_threads']} threads, local Spark with driver memory {r['driver_memory']}; "
        f"load average before {r['load_before']}, after {r['load_after']}. CPU seconds are user "
        "+ system time of the process tree (for the CLI runs its Python process and JVM, "
        "sampled every 0.5 s), the figure least disturbed by other work on the machine.",
        summary_table(r),
        f"Pipeline stages (seconds, from the runs' log lines; `rollup` holds `window_state` and "
        f"`write_features`): incremental {stages['incremental']}; full {stages['full']}. "
        f"DuckDB: {r['duckdb']['compute_seconds']} s of its time computes, the rest writes "
        "Parquet.",
        f"Agreement, row for row on the five tables ({rows} rows): DuckDB against the full run, "
        f"the largest relative difference of a double is {_max_rel(r, 'duckdb_vs_full'):.1e} "
        f"({_not_bitwise(r, 'duckdb_vs_full'):,} doubles not bit-identical, "
        f"{'all' if r['agree'] else 'NOT all'} within {tol:g}; `listen_minutes_60d` and every "
        "integer exactly equal); full against incremental, "
        f"{_not_bitwise(r, 'full_vs_incremental')} doubles differ at all.",
        "Stage profile of the incremental day (`bench/stage_profile.py`: Spark's event log and "
        "the warehouse's `_delta_log` commits, mapped to the stages by the time of the run's "
        "log lines):",
        stage_profile.format_profile(r["profiles"]["incremental"]),
    ]
    body = "\n\n".join(paragraphs) + "\n"
    if args.notes:
        body += "\n" + Path(args.notes).read_text()
    if args.no_docs:
        print(body)
    else:
        write_section(args.section, body)


if __name__ == "__main__":
    sys.exit(main())
