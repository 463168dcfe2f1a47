"""The fixed cost of one Spark or Delta operation on a tiny table, per session setting.

A small daily run is bound by fixed costs, not by data (``bench/delta_ops.py``). This script
measures those units alone, each on a 10-row, one-partition frame in a warm session built like
the tests' (``session.build_session(for_tests=True)``): a Delta append of a new partition, a
``replaceWhere`` overwrite of an existing one, a Delta read and count, and a trivial
aggregation. Each variant runs in a process of its own (a setting that changes how the JVM
starts cannot leak into the next), side by side in one run of the script, so the ratios hold on
a noisy machine. Per operation it reports the mean seconds of the last ``--repeat - 1`` repeats
(the first one warms up) and the Spark jobs each submitted.

    .venv/bin/python bench/unit_costs.py [--repeat 5] [--write-doc]
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# Settings a reader might expect to matter for small commits; "" is the library's defaults.
VARIANTS = (
    "",
    "spark.sql.adaptive.enabled=false",
    "spark.databricks.delta.stats.collect=false",
    "spark.databricks.delta.writeChecksumFile.enabled=false",
    # The check that every row a replaceWhere writes matches its predicate: one more job.
    "spark.databricks.delta.replaceWhere.constraintCheck.enabled=false",
)
OPERATIONS = ("append", "overwrite", "read_count", "aggregation")


def measure(conf: dict[str, str], repeat: int, work: Path) -> dict[str, dict[str, object]]:
    """In this process: each operation ``repeat`` times; seconds and jobs per repeat."""
    from pyspark.sql import functions as F

    from amp_features.session import build_session

    spark = build_session("unit-costs", for_tests=True, conf=conf)
    tracker = spark.sparkContext.statusTracker()

    def jobs() -> int:
        return len(tracker.getJobIdsForGroup(None))

    table = str(work / "table")
    frame = spark.range(10).select("id", F.lit("2024-01-01").cast("date").alias("dt"))
    frame.write.format("delta").mode("append").partitionBy("dt").save(table)  # the table exists
    out: dict[str, dict[str, object]] = {}
    for op in OPERATIONS:
        seconds, submitted = [], []
        for i in range(repeat):
            day = f"2024-02-{i + 1:02d}" if op == "append" else "2024-01-01"
            df = frame.withColumn("dt", F.lit(day).cast("date"))
            j0, t0 = jobs(), time.perf_counter()
            if op == "append":
                df.write.format("delta").mode("append").partitionBy("dt").save(table)
            elif op == "overwrite":
                writer = df.write.format("delta").mode("overwrite")
                writer.option("replaceWhere", f"dt = '{day}'").partitionBy("dt").save(table)
            elif op == "read_count":
                spark.read.format("delta").load(table).count()
            else:
                spark.range(100).groupBy((F.col("id") % 3).alias("k")).count().collect()
            seconds.append(time.perf_counter() - t0)
            submitted.append(jobs() - j0)
        warm = seconds[1:] or seconds
        out[op] = {"seconds": sum(warm) / len(warm), "jobs": submitted[-1]}
    spark.stop()
    return out


def run_variant(setting: str, repeat: int) -> dict[str, dict[str, object]]:
    work = Path(tempfile.mkdtemp(prefix="amp-unit-costs-"))
    try:
        cmd = [sys.executable, __file__, "--child", setting, "--repeat", str(repeat)]
        done = subprocess.run(
            [*cmd, "--work", str(work)], capture_output=True, text=True, check=False, cwd=ROOT
        )
        if done.returncode != 0:
            raise SystemExit(f"variant {setting or 'defaults'} failed:\n{done.stderr[-3000:]}")
        return json.loads(done.stdout.strip().splitlines()[-1])  # type: ignore[no-any-return]
    finally:
        shutil.rmtree(work, ignore_errors=True)


def table(results: dict[str, dict[str, dict[str, object]]], repeat: int) -> str:
    head = "| setting | " + " | ".join(f"{op} s (jobs)" for op in OPERATIONS) + " |"
    lines = [head, "|---" * (len(OPERATIONS) + 1) + "|"]
    for setting, ops in results.items():
        cells = [f"{ops[op]['seconds']:.2f} ({ops[op]['jobs']})" for op in OPERATIONS]
        lines.append(f"| {setting or 'defaults'} | " + " | ".join(cells) + " |")
    load = ", ".join(f"{x:.1f}" for x in os.getloadavg())
    return "\n".join(
        [
            *lines,
            "",
            f"Mean of repeats 2..{repeat} of each operation on a 10-row partition; load average"
            f" after the run {load}. Command: `.venv/bin/python bench/unit_costs.py"
            f" --repeat {repeat}`",
        ]
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--repeat", type=int, default=5)
    parser.add_argument("--write-doc", action="store_true", help="update docs/benchmarks.md")
    parser.add_argument(
        "--variant",
        action="append",
        help="a setting k=v (k=v;k2=v2 for several) instead of the built-in list; repeat",
    )
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--work", default=None, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        pairs = [kv for kv in args.child.split(";") if kv]
        conf = dict(kv.split("=", 1) for kv in pairs)
        print(json.dumps(measure(conf, args.repeat, Path(args.work))))
        return 0
    results = {}
    for setting in args.variant or VARIANTS:
        results[setting] = run_variant(setting, args.repeat)
        print(f"[bench] {setting or 'defaults'}: {results[setting]}", flush=True)
    body = table(results, args.repeat)
    print(body)
    if args.write_doc:
        sys.path.insert(0, str(ROOT / "bench"))
        from docsection import write_section

        write_section("unit-costs", body)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
