"""Where a small day's run goes: the fault tests' lake (300 users, 8 days), two whole runs.

The fault tests, the e2e tests and every new date of a small deployment pay a run's fixed
cost, not its data. This script runs ``amp-features run`` twice on that lake, as the tests do:
the first run of D into a fresh warehouse, then a re-run of D (every table overwritten). Both
runs write Spark's event log; the re-run also runs under cProfile, so the table shows both
what Spark did per stage (``stage_profile.py``) and where the driver's Python spent its time
(cumulative seconds of named functions, GX's import included).

    .venv/bin/python bench/small_day.py [--write-doc]
"""

from __future__ import annotations

import argparse
import os
import pstats
import shutil
import subprocess
import sys
from pathlib import Path

import stage_profile
from bench_daily import CLI, run_cli
from docsection import write_section

D = "2026-05-20"
LAKE_ARGS = ["--users", "300", "--days", "8", "--end-date", D, "--seed", "16"]
# The fault tests' flags (tests/faults/test_snapshots.py).
FLAGS = {
    "spark.sql.shuffle.partitions": "2",
    "spark.ui.enabled": "false",
    "spark.driver.memory": "1g",
}
# Driver-side functions worth naming (file suffix, function name) -> label.
NAMED = {
    ("amp_features/session.py", "build_session"): "JVM and session start",
    ("great_expectations/__init__.py", "<module>"): "import great_expectations",
    ("amp_features/pipeline/states.py", "check_inputs"): "check_inputs (schema, keys, partitions)",
    ("amp_features/quality/validate.py", "validate_inputs"): "input suites (GX)",
    ("amp_features/pipeline/states.py", "build_states"): "build_states",
    ("amp_features/pipeline/rollup.py", "incremental_state"): "window state",
    ("amp_features/offline/snapshots.py", "write_table"): "six feature-table writes",
    ("amp_features/quality/validate.py", "validate_outputs"): "output suites + report",
    ("amp_features/quality/report.py", "write_report"): "  of which the HTML report",
    ("great_expectations/validator/v1_validator.py", "validate_expectation_suite"): (
        "GX validate calls (inputs + outputs)"
    ),
    ("pyspark/sql/readwriter.py", "save"): "every Delta save",
}


def named_times(prof: Path) -> list[tuple[str, int, float]]:
    stats = pstats.Stats(str(prof)).stats  # type: ignore[attr-defined]
    found: dict[str, tuple[int, float]] = {}
    for (file, _, func), (_, calls, _, cumulative, _) in stats.items():
        for (suffix, name), label in NAMED.items():
            if func == name and file.endswith(suffix):
                n, t = found.get(label, (0, 0.0))
                found[label] = (n + calls, t + cumulative)
    return [(label, *found[label]) for label in NAMED.values() if label in found]


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--work", default="/tmp/amp-bench/small-day")
    parser.add_argument("--write-doc", action="store_true")
    args = parser.parse_args()
    work = Path(args.work)
    shutil.rmtree(work, ignore_errors=True)
    work.mkdir(parents=True)
    lake, wh = work / "lake", work / "warehouse"
    subprocess.run([CLI, "generate", "--out", str(lake), *LAKE_ARGS], check=True,
                   capture_output=True)  # fmt: skip
    run = ["run", "--as-of", D, "--lake", str(lake), "--warehouse", str(wh)]
    results = {}
    for name in ("first", "rerun"):
        events = work / "eventlog" / name
        events.mkdir(parents=True)
        conf = {**FLAGS, "spark.eventLog.enabled": "true", "spark.eventLog.compress": "false"}
        conf["spark.eventLog.dir"] = events.resolve().as_uri()
        prof = work / f"{name}.prof"
        prefix = [sys.executable, "-m", "cProfile", "-o", str(prof), CLI]
        os.environ["AMP_LOG_LEVEL"] = "INFO"
        r = run_cli(run, work / f"{name}.log", conf, prefix=prefix if name == "rerun" else None)
        r["profile"] = stage_profile.profile(events, work / f"{name}.log", wh, r["start"], r["end"])
        results[name] = r
    lines = [
        "| run | wall s | CPU s (process tree) | Spark jobs | Delta commits |",
        "|---|---|---|---|---|",
    ]
    for name, r in results.items():
        total = r["profile"]["windows"].values()
        jobs, commits = sum(w["jobs"] for w in total), sum(w["delta_commits"] for w in total)
        lines.append(f"| {name} | {r['seconds']} | {r['cpu_seconds']} | {jobs} | {commits} |")
    rerun = results["rerun"]
    named = "\n".join(
        ["| driver function (re-run, cProfile) | calls | cumulative s |", "|---|---|---|"]
        + [f"| {label} | {n} | {t:.1f} |" for label, n, t in named_times(work / "rerun.prof")]
    )
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    body = "\n\n".join(
        [
            "\n".join(lines),
            "Stage profile of the re-run (cProfile on; it adds little to a driver that mostly"
            " waits on py4j):",
            stage_profile.format_profile(rerun["profile"]),
            named,
            f"Load average after the run: {load}. Command: `.venv/bin/python bench/small_day.py`",
        ]
    )
    print(body)
    if args.write_doc:
        write_section("small-day", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
