"""Per-stage cost of a daily incremental ``amp-features run``: Spark jobs, Delta commits, Delta
log lookups and file-system calls, wall seconds; two code versions side by side in one run.

Counts (jobs, commits, lookups) do not depend on the machine's load; seconds do, so versions
are run alternately (A, B, A, B, ...) and the median is reported.

For each version (``--code LABEL=PATH``, PATH holding an ``amp_features`` package; e.g. the
committed code from ``git archive HEAD amp_features | tar -x -C /tmp/perf/before``):

1. (untimed, once) ``amp-features run --as-of D-1`` into WORK/LABEL/prepared;
2. per round: the prepared warehouse is copied and ``amp-features run --as-of D`` (validation
   included) runs in a fresh process (``--worker``) through ``amp_features.cli.main`` with
   counters around the stage timer: at every stage boundary the Spark job group changes (jobs
   are counted per group) and the warehouse's ``_delta_log`` commits are counted.

    .venv/bin/python bench/profile_run.py --lake /tmp/perf/lake --as-of 2026-11-20 \\
        --code before=/tmp/perf/before --code after=. --rounds 2 --work /tmp/perf/profile
"""

from __future__ import annotations

import argparse
import contextlib
import datetime as dt
import json
import os
import shutil
import statistics
import subprocess
import sys
import time
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
COUNTED = ("jobs", "commits", "log_lookups", "fs_calls", "seconds")


# -- the worker: one instrumented run in this process ------------------------------------------
class Probe:
    """Attributes jobs, commits and calls to the innermost open pipeline stage."""

    def __init__(self, warehouse: str) -> None:
        self.warehouse = warehouse
        self.stack: list[str] = []
        self.segment = 0
        self.group = "outside"
        self.rows: dict[str, dict[str, float]] = defaultdict(lambda: defaultdict(float))
        self.tables: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
        self.calls: dict[str, int] = defaultdict(int)
        self.groups: dict[str, str] = {}  # job group -> stage name
        self.start = time.perf_counter()
        self.commits = self._commits()

    def current(self) -> str:
        return self.stack[-1] if self.stack else "outside stages"

    def _commits(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for dirpath, dirnames, _ in os.walk(self.warehouse):
            if "_delta_log" in dirnames:
                log = Path(dirpath) / "_delta_log"
                out[os.path.relpath(dirpath, self.warehouse)] = sum(
                    1 for p in log.iterdir() if p.suffix == ".json" and p.stem.isdigit()
                )
                dirnames[:] = []
        return out

    def boundary(self, following: str) -> None:
        """Close the current segment (charge its seconds, commits and calls to its stage) and
        start one charged to ``following``."""
        name = self.current()
        row = self.rows[name]
        now = time.perf_counter()
        row["seconds"] += now - self.start
        self.start = now
        commits = self._commits()
        for table, n in commits.items():
            new = n - self.commits.get(table, 0)
            if new:
                row["commits"] += new
                self.tables[name][table] += new
        self.commits = commits
        for kind, n in self.calls.items():
            row[kind] += n
        self.calls.clear()
        # New job group for the next segment.
        from pyspark import SparkContext

        self.segment += 1
        self.group = f"seg{self.segment}"
        self.groups[self.group] = following
        sc = SparkContext._active_spark_context
        if sc is not None:
            sc.setJobGroup(self.group, following)

    def count_jobs(self) -> None:
        from pyspark import SparkContext

        sc = SparkContext._active_spark_context
        tracker = sc.statusTracker()
        for group, name in self.groups.items():
            self.rows[name]["jobs"] += len(tracker.getJobIdsForGroup(group))
        self.rows["outside stages"]["jobs"] += len(tracker.getJobIdsForGroup(None))


def _install(probe: Probe) -> None:
    """Wrap the stage timer and the calls that look up a Delta log or list files."""
    from delta.tables import DeltaTable
    from pyspark.sql import DataFrame, DataFrameReader

    import amp_features.files as files
    from amp_features import logs

    def counted(owner: object, attr: str, kind: str, static: bool = False) -> None:
        real = getattr(owner, attr)

        def wrapper(*a: object, **kw: object) -> object:
            probe.calls[kind] += 1
            return real(*a, **kw)

        setattr(owner, attr, staticmethod(wrapper) if static else wrapper)

    # Each of these resolves a Delta table's latest snapshot (a listing of its _delta_log).
    counted(DeltaTable, "isDeltaTable", "log_lookups", static=True)
    counted(DeltaTable, "forPath", "log_lookups", static=True)
    counted(DataFrameReader, "load", "log_lookups")
    counted(DataFrameReader, "parquet", "log_lookups")
    counted(DataFrame, "inputFiles", "log_lookups")
    for name in ("exists", "list_names", "read_text", "write_text", "has_file"):
        counted(files, name, "fs_calls")

    real_stage = logs.StageTimer.stage

    @contextlib.contextmanager
    def stage(self: object, name: str) -> Iterator[dict[str, int]]:
        probe.boundary(name)
        probe.stack.append(name)
        try:
            with real_stage(self, name) as rows:  # type: ignore[arg-type]
                yield rows
        finally:
            probe.boundary(probe.stack[-2] if len(probe.stack) > 1 else "outside stages")
            probe.stack.pop()

    logs.StageTimer.stage = stage  # type: ignore[method-assign]


def _stamped_log(path: str) -> None:
    """The run's log lines as ``<epoch>\\t<line>`` (what bench/stage_profile.py reads)."""
    import logging

    handler = logging.FileHandler(path)
    handler.setFormatter(
        logging.Formatter("%(created).3f\t%(asctime)s %(levelname)s %(name)s: %(message)s")
    )
    logging.getLogger("amp_features").addHandler(handler)


def worker(args: argparse.Namespace) -> int:
    probe = Probe(args.warehouse)
    _install(probe)
    _stamped_log(args.out.removesuffix(".json") + ".stamped.log")
    from pyspark import SparkContext

    from amp_features.cli import main

    conf = [
        "spark.ui.retainedJobs=100000",
        "spark.ui.retainedStages=100000",
        f"spark.driver.memory={args.driver_memory}",
    ]
    if args.event_log:
        Path(args.event_log).mkdir(parents=True, exist_ok=True)
        conf += [
            "spark.eventLog.enabled=true",
            f"spark.eventLog.dir={Path(args.event_log).resolve().as_uri()}",
            "spark.eventLog.compress=false",
        ]
    flags = [x for c in conf for x in ("--conf", c)]
    started = time.perf_counter()
    code = main(
        [*flags, "run", "--as-of", args.as_of, "--lake", args.lake, "--warehouse", args.warehouse]
    )
    probe.boundary("outside stages")
    total = time.perf_counter() - started
    probe.count_jobs()
    sc = SparkContext._active_spark_context
    if sc is not None:
        sc.stop()
    out = {
        "code": code,
        "seconds": round(total, 2),
        "stages": {k: dict(v) for k, v in probe.rows.items()},
        "tables": {k: dict(v) for k, v in probe.tables.items()},
    }
    Path(args.out).write_text(json.dumps(out, indent=2))
    return code


# -- the driver: prepare, alternate, report ----------------------------------------------------
def _run(cmd: list[str], env: dict[str, str], log: Path) -> None:
    print(f"[profile] {' '.join(cmd)} (log {log})", flush=True)
    with open(log, "w") as fh:
        code = subprocess.call(cmd, env=env, stdout=fh, stderr=subprocess.STDOUT, cwd=ROOT)
    if code != 0:
        raise SystemExit(f"{cmd[0]} exited {code}; see {log}")


def _env(code_root: str) -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(Path(code_root).resolve())
    return env


def prepare(label: str, root: str, args: argparse.Namespace, work: Path) -> Path:
    prepared = work / label / "prepared"
    stamp = prepared / "_prepared_for"
    key = f"{Path(args.lake).resolve()} {args.as_of} {Path(root).resolve()}"
    if stamp.exists() and stamp.read_text() == key:
        return prepared
    shutil.rmtree(prepared, ignore_errors=True)
    yesterday = (dt.date.fromisoformat(args.as_of) - dt.timedelta(days=1)).isoformat()
    cmd = [sys.executable, "-m", "amp_features.cli", "--conf"]
    cmd += [f"spark.driver.memory={args.driver_memory}", "run", "--as-of", yesterday]
    cmd += ["--lake", args.lake, "--warehouse", str(prepared)]
    (work / label).mkdir(parents=True, exist_ok=True)
    _run(cmd, _env(root), work / label / "prepare.log")
    stamp.write_text(key)
    return prepared


def table(results: dict[str, list[dict]]) -> str:
    labels = list(results)
    names: list[str] = []
    for runs in results.values():
        for r in runs:
            names += [n for n in r["stages"] if n not in names]
    head = "| stage | " + " | ".join(
        f"{c.replace('_', ' ')} ({lab})" for c in COUNTED for lab in labels
    )
    out = [head + " |", "|---" * (1 + len(COUNTED) * len(labels)) + "|"]

    def med(label: str, name: str, col: str) -> float:
        values = [r["stages"].get(name, {}).get(col, 0) for r in results[label]]
        return statistics.median(values) if values else 0

    for name in [*names, "total"]:
        cells = []
        for c in COUNTED:
            for lab in labels:
                if name == "total":
                    # Each segment is charged to one (the innermost) stage: they add up.
                    v = sum(med(lab, n, c) for n in names)
                    if c == "seconds":
                        v = statistics.median(r["seconds"] for r in results[lab])
                else:
                    v = med(lab, name, c)
                cells.append(f"{v:.1f}" if c == "seconds" else f"{v:g}")
        out.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(out)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--lake", required=True)
    p.add_argument("--as-of", required=True)
    p.add_argument("--work", default="/tmp/perf/profile")
    p.add_argument("--code", action="append", default=[], metavar="LABEL=PATH")
    p.add_argument("--rounds", type=int, default=2)
    p.add_argument("--driver-memory", default="4g")
    p.add_argument("--event-log", action="store_true", help="also write Spark event logs")
    p.add_argument("--worker", action="store_true", help=argparse.SUPPRESS)
    p.add_argument("--warehouse", help=argparse.SUPPRESS)
    p.add_argument("--out", help=argparse.SUPPRESS)
    args = p.parse_args()
    if args.worker:
        args.event_log = os.environ.get("PROFILE_EVENT_LOG") or None
        return worker(args)

    work = Path(args.work)
    versions = dict(c.split("=", 1) for c in args.code) or {"current": str(ROOT)}
    prepared = {label: prepare(label, root, args, work) for label, root in versions.items()}
    results: dict[str, list[dict]] = {label: [] for label in versions}
    load_before = [round(x, 1) for x in os.getloadavg()]
    for i in range(args.rounds):
        order = list(versions) if i % 2 == 0 else list(reversed(versions))
        for label in order:
            wh = work / label / f"wh{i}"
            shutil.rmtree(wh, ignore_errors=True)
            shutil.copytree(prepared[label], wh)
            out = work / label / f"run{i}.json"
            env = _env(versions[label])
            if args.event_log:
                env["PROFILE_EVENT_LOG"] = str(work / label / f"eventlog{i}")
                shutil.rmtree(env["PROFILE_EVENT_LOG"], ignore_errors=True)
            cmd = [sys.executable, __file__, "--worker", "--lake", args.lake, "--as-of"]
            cmd += [args.as_of, "--warehouse", str(wh), "--out", str(out)]
            cmd += ["--driver-memory", args.driver_memory]
            _run(cmd, env, work / label / f"run{i}.log")
            results[label].append(json.loads(out.read_text()))
    summary = {
        "lake": args.lake,
        "as_of": args.as_of,
        "versions": versions,
        "rounds": args.rounds,
        "load_before": load_before,
        "load_after": [round(x, 1) for x in os.getloadavg()],
        "results": results,
    }
    (work / "summary.json").write_text(json.dumps(summary, indent=2))
    print(table(results))
    print(f"\nload average before {load_before}, after {summary['load_after']}")
    for label, runs in results.items():
        print(f"\nDelta commits per table ({label}, round 0):")
        for stage, tables in runs[0]["tables"].items():
            print(f"  {stage}: " + ", ".join(f"{t} {n}" for t, n in sorted(tables.items())))
    return 0


if __name__ == "__main__":
    sys.exit(main())
