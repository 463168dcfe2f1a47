"""Stage profile of one ``amp-features run``: what Spark and Delta did in each pipeline stage.

Nothing is hooked into the run. Spark writes its JSON event log
(``--conf spark.eventLog.enabled=true --conf spark.eventLog.dir=file:///DIR
--conf spark.eventLog.compress=false``); afterwards this module reads it (jobs, stages, tasks
and their shuffle, input and output bytes) and every Delta table's ``_delta_log/*.json`` under
the warehouse (commits, and the files they added). Both are mapped to the pipeline's stages by
time windows taken from the run's own log lines (``stage NAME: started`` / ``done in``), each
stamped with the wall clock by the process that read them (``bench/bench_daily.py`` writes
them as ``<epoch seconds>\\t<line>``).

Windows: ``startup`` (process start to the Spark application's start), ``before stages``
(session set-up and the input quality suite, up to the first stage), one per pipeline stage
(each up to the start of the next), ``after stages`` (metrics and the output quality suite, to
the process's exit).

    .venv/bin/python bench/stage_profile.py --event-log WORK/eventlog/incremental \\
        --run-log WORK/incremental.log --warehouse WORK/wh_incremental
"""

from __future__ import annotations

import argparse
import json
import os
import re
import sys
from collections import defaultdict
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

# Per window: wall seconds, Spark work submitted in it, Delta commits made in it.
WINDOW_COLUMNS = (
    "seconds", "jobs", "stages", "tasks", "task_seconds", "task_cpu_seconds", "shuffle_read_mb",
    "shuffle_write_mb", "input_mb", "output_mb", "spill_mb", "delta_commits", "delta_files_added",
)  # fmt: skip
STAGE_LINE = re.compile(r"stage (\w+): (started|done in|failed after)")


@dataclass
class Window:
    name: str
    start: float  # epoch seconds
    end: float


@dataclass
class SparkStage:
    stage_id: int
    attempt: int
    name: str
    tasks: int = 0
    submitted: float | None = None  # epoch seconds
    completed: float | None = None
    run_seconds: float = 0.0  # summed executor run time of its tasks
    cpu_seconds: float = 0.0
    # bytes
    shuffle_read: int = 0  # local + remote
    shuffle_write: int = 0
    input: int = 0
    output: int = 0
    spill: int = 0  # memory + disk


@dataclass
class EventLog:
    app_start: float | None = None
    app_end: float | None = None
    jobs: dict[int, float] = field(default_factory=dict)  # job id -> submission time
    stages: dict[tuple[int, int], SparkStage] = field(default_factory=dict)
    skipped_stages: int = 0  # planned by a job but never run (their shuffle output existed)


def stamped_lines(path: str | Path) -> list[tuple[float, str]]:
    out = []
    for line in Path(path).read_text().splitlines():
        stamp, _, text = line.partition("\t")
        out.append((float(stamp), text))
    return out


def windows_from_log(
    lines: list[tuple[float, str]], start: float, end: float, app_start: float | None = None
) -> list[Window]:
    """Contiguous windows covering [start, end], each named after the innermost pipeline stage
    open in it (stages nest: ``rollup`` holds ``window_state`` and ``write_features``), or
    ``startup`` / ``before stages`` / ``between stages`` / ``after stages`` outside them."""
    cuts: list[tuple[float, list[str]]] = [(start, [])]
    stack: list[str] = []
    for stamp, text in lines:
        m = STAGE_LINE.search(text)
        if m is None:
            continue
        name = m.group(1)
        if m.group(2) == "started":
            stack.append(name)
        elif name in stack:
            del stack[len(stack) - 1 - stack[::-1].index(name)]
        cuts.append((min(max(stamp, start), end), list(stack)))
    seen_stage = [bool(c[1]) for c in cuts]
    windows: list[Window] = []
    for i, (stamp, open_) in enumerate(cuts):
        stop = cuts[i + 1][0] if i + 1 < len(cuts) else end
        if open_:
            name = open_[-1]
        elif not any(seen_stage[: i + 1]):
            name = "before stages"
        elif any(seen_stage[i + 1 :]):
            name = "between stages"
        else:
            name = "after stages"
        if name == "before stages" and app_start is not None and stamp <= app_start < stop:
            windows.append(Window("startup", stamp, app_start))
            stamp = app_start
        if stop > stamp or name not in {w.name for w in windows}:
            windows.append(Window(name, stamp, max(stop, stamp)))
    return windows


def event_log_files(path: str | Path) -> list[Path]:
    """The event log's files in order: a plain file, a folder holding one, or Spark 4's rolling
    layout (``eventlog_v2_<app>/events_<n>_<app>``), alone or inside the log folder."""
    path = Path(path)
    if path.is_file():
        return [path]
    rolled = sorted(path.glob("events_*_*"), key=lambda p: int(p.name.split("_")[1]))
    if rolled:
        files = rolled
    else:
        entries = [p for p in path.iterdir() if not p.name.startswith(".")]
        if len(entries) != 1:
            raise SystemExit(f"{path}: expected one Spark event log, found {len(entries)}")
        return event_log_files(entries[0])
    for f in files:
        if f.suffix in {".zstd", ".lz4", ".snappy", ".lzf"}:
            raise SystemExit(f"{f}: compressed event log; run with spark.eventLog.compress=false")
    return files


def _events(files: list[Path]) -> Iterator[dict]:
    for f in files:
        with open(f) as fh:
            for line in fh:
                if line.strip():
                    yield json.loads(line)


def read_event_log(path: str | Path) -> EventLog:
    log = EventLog()
    planned: set[int] = set()
    submitted: set[int] = set()
    for ev in _events(event_log_files(path)):
        kind = ev.get("Event")
        if kind == "SparkListenerApplicationStart":
            log.app_start = ev["Timestamp"] / 1000
        elif kind == "SparkListenerApplicationEnd":
            log.app_end = ev["Timestamp"] / 1000
        elif kind == "SparkListenerJobStart":
            log.jobs[ev["Job ID"]] = ev["Submission Time"] / 1000
            planned.update(ev.get("Stage IDs", []))
        elif kind == "SparkListenerStageSubmitted":
            submitted.add(ev["Stage Info"]["Stage ID"])
        elif kind == "SparkListenerStageCompleted":
            info = ev["Stage Info"]
            st = _stage(log, info["Stage ID"], info.get("Stage Attempt ID", 0), info)
            st.tasks = info.get("Number of Tasks", 0)
            st.submitted = (info.get("Submission Time") or 0) / 1000 or None
            st.completed = (info.get("Completion Time") or 0) / 1000 or None
        elif kind == "SparkListenerTaskEnd":
            _add_task(_stage(log, ev["Stage ID"], ev.get("Stage Attempt ID", 0), None), ev)
    log.skipped_stages = len(planned - submitted)
    return log


def _stage(log: EventLog, sid: int, attempt: int, info: dict | None) -> SparkStage:
    key = (sid, attempt)
    if key not in log.stages:
        log.stages[key] = SparkStage(sid, attempt, "")
    if info is not None:
        log.stages[key].name = info.get("Stage Name", "")
    return log.stages[key]


def _add_task(st: SparkStage, ev: dict) -> None:
    m = ev.get("Task Metrics") or {}
    read = m.get("Shuffle Read Metrics") or {}
    st.run_seconds += m.get("Executor Run Time", 0) / 1000
    st.cpu_seconds += m.get("Executor CPU Time", 0) / 1e9
    st.shuffle_read += read.get("Remote Bytes Read", 0) + read.get("Local Bytes Read", 0)
    st.shuffle_write += (m.get("Shuffle Write Metrics") or {}).get("Shuffle Bytes Written", 0)
    st.input += (m.get("Input Metrics") or {}).get("Bytes Read", 0)
    st.output += (m.get("Output Metrics") or {}).get("Bytes Written", 0)
    st.spill += m.get("Memory Bytes Spilled", 0) + m.get("Disk Bytes Spilled", 0)


@dataclass
class Commit:
    table: str  # path relative to the warehouse
    version: int
    timestamp: float  # epoch seconds (commitInfo.timestamp)
    operation: str
    adds: int
    add_bytes: int
    removes: int


def delta_commits(warehouse: str | Path, start: float, end: float) -> list[Commit]:
    """Delta commits of every table under ``warehouse`` whose commitInfo timestamp lies in
    [start, end] (files older than the window by mtime are not even opened)."""
    root = Path(warehouse)
    commits = []
    for dirpath, dirnames, _ in os.walk(root):
        if "_delta_log" not in dirnames:
            continue
        dirnames[:] = []  # a Delta table's partitions hold no other tables
        table = str(Path(dirpath).relative_to(root))
        for f in sorted((Path(dirpath) / "_delta_log").glob("*.json")):
            if f.stat().st_mtime < start - 5:
                continue
            info, counts = {}, {"add": 0, "bytes": 0, "remove": 0}
            for line in f.read_text().splitlines():
                action = json.loads(line)
                info = action.get("commitInfo", info)
                for kind in ("add", "remove"):
                    if kind in action:
                        counts[kind] += 1
                        counts["bytes"] += action[kind].get("size", 0) if kind == "add" else 0
            stamp = info.get("inCommitTimestamp", info.get("timestamp", 0)) / 1000
            if start - 1 <= stamp <= end + 1:
                op = info.get("operation", "?")
                c = Commit(table, int(f.stem), stamp, op, *counts.values())
                commits.append(c)
    return commits


def _window_of(windows: list[Window], stamp: float | None) -> str:
    if stamp is None:
        return "?"
    for w in windows:
        if w.start <= stamp < w.end:
            return w.name
    return windows[-1].name if windows and stamp >= windows[-1].end else windows[0].name


def profile(
    event_log: str | Path,
    run_log: str | Path,
    warehouse: str | Path,
    start: float | None = None,
    end: float | None = None,
) -> dict:
    """Per pipeline-stage window: Spark jobs, stages, tasks, bytes; Delta commits and files."""
    ev = read_event_log(event_log)
    lines = stamped_lines(run_log)
    start = start if start is not None else lines[0][0]
    end = end if end is not None else lines[-1][0]
    windows = windows_from_log(lines, start, end, ev.app_start)
    rows = {w.name: dict.fromkeys(WINDOW_COLUMNS, 0.0) for w in windows}
    for w in windows:
        rows[w.name]["seconds"] += w.end - w.start
    for submitted in ev.jobs.values():
        rows[_window_of(windows, submitted)]["jobs"] += 1
    mb = 1 / 2**20
    for st in ev.stages.values():
        r = rows[_window_of(windows, st.submitted)]
        r["stages"] += 1
        r["tasks"] += st.tasks
        r["task_seconds"] += st.run_seconds
        r["task_cpu_seconds"] += st.cpu_seconds
        for attr in ("shuffle_read", "shuffle_write", "input", "output", "spill"):
            r[f"{attr}_mb"] += getattr(st, attr) * mb
    commits = delta_commits(warehouse, start, end)
    tables: dict[str, dict] = defaultdict(
        lambda: {"commits": 0, "files_added": 0, "added_mb": 0.0, "files_removed": 0}
    )
    for c in commits:
        r = rows[_window_of(windows, c.timestamp)]
        r["delta_commits"] += 1
        r["delta_files_added"] += c.adds
        t = tables[c.table]
        t["commits"] += 1
        t["files_added"] += c.adds
        t["added_mb"] += c.add_bytes * mb
        t["files_removed"] += c.removes
    for r in [*rows.values(), *tables.values()]:
        for k, v in r.items():
            r[k] = round(v, 2) if k.endswith(("_mb", "seconds")) else int(v)
    top = sorted(ev.stages.values(), key=lambda s: -((s.completed or 0) - (s.submitted or 0)))
    return {
        "windows": rows,
        "delta_tables": dict(sorted(tables.items())),
        "skipped_stages": ev.skipped_stages,
        "longest_spark_stages": [
            {
                "window": _window_of(windows, s.submitted),
                "stage": s.stage_id,
                "name": s.name.split(" at ")[0],
                "seconds": round((s.completed or 0) - (s.submitted or 0), 2),
                "tasks": s.tasks,
                "shuffle_read_mb": round(s.shuffle_read * mb, 1),
                "shuffle_write_mb": round(s.shuffle_write * mb, 1),
            }
            for s in top[:8]
        ],
    }


def format_profile(p: dict) -> str:
    """Markdown tables: per window, per Delta table, and the longest Spark stages."""
    cols = WINDOW_COLUMNS
    out = [
        "| window | " + " | ".join(c.replace("_", " ") for c in cols) + " |",
        "|---" * (len(cols) + 1) + "|",
    ]
    for name, r in p["windows"].items():
        if name.endswith(" stages") and r["seconds"] < 0.05 and not r["jobs"]:
            continue  # an empty gap between two stages
        out.append(f"| {name} | " + " | ".join(str(r[c]) for c in cols) + " |")
    total = {c: round(sum(r[c] for r in p["windows"].values()), 2) for c in cols}
    out.append("| **total** | " + " | ".join(str(total[c]) for c in cols) + " |")
    out += [
        "",
        f"Spark stages skipped (their shuffle output was reused): {p['skipped_stages']}.",
        "",
        "| Delta table | commits | files added | MB added | files removed |",
        "|---|---|---|---|---|",
    ]
    for table, t in p["delta_tables"].items():
        out.append(
            f"| `{table}` | {t['commits']} | {t['files_added']} | {t['added_mb']} "
            f"| {t['files_removed']} |"
        )
    out += [
        "",
        "| longest Spark stages | window | seconds | tasks | shuffle read MB | shuffle write MB |",
        "|---|---|---|---|---|---|",
    ]
    for s in p["longest_spark_stages"]:
        out.append(
            f"| {s['stage']}: `{s['name']}` | {s['window']} | {s['seconds']} | {s['tasks']} "
            f"| {s['shuffle_read_mb']} | {s['shuffle_write_mb']} |"
        )
    return "\n".join(out)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--event-log", required=True, help="the event log file or its folder")
    parser.add_argument("--run-log", required=True, help="the run's stamped log lines")
    parser.add_argument("--warehouse", required=True)
    parser.add_argument("--json", action="store_true", help="print JSON instead of tables")
    args = parser.parse_args(argv)
    p = profile(args.event_log, args.run_log, args.warehouse)
    print(json.dumps(p, indent=2) if args.json else format_profile(p))
    return 0


if __name__ == "__main__":
    sys.exit(main())
