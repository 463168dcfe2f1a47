"""Where the online export's writing stage spends its time, step by step, on the snapshot of
``bench_online.py`` (same generator, same sizes).

    .venv/bin/python bench/profile_export.py                  # 200k users, 2 repetitions
    .venv/bin/python bench/profile_export.py --users 400000

Each step is run ``--reps`` times and every time is printed (the first one pays the JVM's and
the Python workers' warm-up):

1. each part of the records DataFrame (``export.records``) through Spark's ``noop`` sink: the
   Spark work alone (read Delta, format values, shuffle and sort the user rows);
2. all records handed to Python workers (``mapInArrow``) that only count the rows: adds the Arrow
   hand-off; and two probes of a shuffle-free layout (each user row its own field): the user rows
   formatted the same way but neither shuffled nor sorted, and the user tables handed over typed
   and formatted in the Python workers by vectorized Arrow kernels;
3. the real ``publish`` into a redis-server started on 127.0.0.1: adds joining the user parts and
   the writes.
"""

from __future__ import annotations

import argparse
import shutil
import tempfile
import time
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import bench_online as bo  # also puts the repository on sys.path and sets PYSPARK_PYTHON


def _count_only(batches: Iterator[Any]) -> Iterator[Any]:
    import pyarrow as pa

    from amp_features.export.writer import SUMMARY

    rows = sum(b.num_rows for b in batches)
    yield pa.RecordBatch.from_pydict({"task": ["count"], "records": [rows]}, schema=SUMMARY)


def _format_in_arrow(batches: Iterator[Any]) -> Iterator[Any]:
    """Probe: format each row's values in the Python worker with vectorized Arrow kernels (cast
    to text, nulls as ``null``, comma-joined) instead of in Spark; yields the row count."""
    import pyarrow as pa
    import pyarrow.compute as pc

    from amp_features.export.writer import SUMMARY

    rows = 0
    for batch in batches:
        texts = [
            pc.fill_null(pc.cast(batch.column(i), pa.string()), "null")
            for i in range(1, batch.num_columns)
        ]
        rows += len(pc.binary_join_element_wise(*texts, ","))
    yield pa.RecordBatch.from_pydict({"task": ["count"], "records": [rows]}, schema=SUMMARY)


def _typed_user_tables(tables: dict[str, Any]) -> Callable[[], None]:
    """Probe: the three user-keyed tables handed over typed (not formatted by Spark), each in
    its own job, and formatted by ``_format_in_arrow``."""
    from amp_features.export.writer import SUMMARY_DDL

    def run() -> None:
        for group in ("user", "user_topic", "user_creator"):
            tables[group].mapInArrow(_format_in_arrow, SUMMARY_DDL).collect()

    return run


def _timed(name: str, run: Callable[[], Any], reps: int) -> None:
    seconds = []
    for _ in range(reps):
        start = time.perf_counter()
        run()
        seconds.append(time.perf_counter() - start)
    print(f"| {name} | {' / '.join(f'{s:.2f}' for s in seconds)} |", flush=True)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    bo.add_snapshot_args(parser)
    parser.add_argument("--reps", type=int, default=2)
    args = parser.parse_args()

    from pyspark.sql import functions as F

    from amp_features.export import publish
    from amp_features.export.publish import SHOW_ATTRIBUTE_COLUMNS
    from amp_features.export.records import (
        SHOW_ATTRIBUTES,
        creator_records,
        online_records,
        show_records,
        user_entries,
        user_parts,
    )
    from amp_features.export.writer import SUMMARY_DDL
    from amp_features.layout import Warehouse
    from amp_features.logs import configure_logging
    from amp_features.registry import GROUPS, table_columns
    from amp_features.session import build_session

    configure_logging("WARNING")
    work = Path(tempfile.mkdtemp(prefix="amp-bench-profile-"))
    server, port = bo.start_redis(work)
    spark = build_session("amp-features profile_export")
    try:
        wh = Warehouse(str(work / "wh"))
        bo.generate(spark, wh.root, args.users, args.shows, args.creators, args.topics)

        def snapshot(path: str, columns: list[str]) -> Any:
            df = spark.read.format("delta").load(path)
            return df.where(F.col("as_of") == F.lit(bo.AS_OF)).select(*columns)

        tables = {g: snapshot(wh.feature_table(g), table_columns(g)) for g in GROUPS}
        attrs = snapshot(wh.show_attributes, SHOW_ATTRIBUTE_COLUMNS)
        rows = sum(t.count() for t in tables.values()) + attrs.count()
        # Bucket counts do not change the work; partitions as publish() picks them.
        buckets = {"u": 11, "s": 1, "c": 1}
        partitions = max(2, int(spark.conf.get("spark.sql.shuffle.partitions") or 2))
        print(f"snapshot: {args.users:,} users, {rows:,} rows ({SHOW_ATTRIBUTES} included)\n")
        print(f"| step (seconds per repetition, {args.reps} repetitions) | seconds |")
        print("|---|---|")

        def noop(df: Any) -> Callable[[], None]:
            return lambda: df.write.format("noop").mode("overwrite").save()

        records = online_records(tables, attrs, buckets, partitions)
        _timed("user entries, Spark only (noop sink)",
               noop(user_entries(tables, buckets["u"], partitions)), args.reps)  # fmt: skip
        _timed("show records, Spark only", noop(show_records(tables, attrs, 1)), args.reps)
        _timed("creator records, Spark only", noop(creator_records(tables, 1)), args.reps)
        _timed("all records, Spark only", noop(records), args.reps)
        _timed("all records + Arrow hand-off to Python (count only)",
               lambda: records.mapInArrow(_count_only, SUMMARY_DDL).collect(), args.reps)  # fmt: skip
        _timed("probe: user rows formatted, not shuffled, + Arrow hand-off (count only)",
               lambda: user_parts(tables).mapInArrow(_count_only, SUMMARY_DDL).collect(),
               args.reps)  # fmt: skip
        _timed("probe: the user tables typed, formatted in Python by Arrow kernels (count only)",
               _typed_user_tables(tables), args.reps)  # fmt: skip
        url = f"redis://127.0.0.1:{port}/0"
        reports = []
        _timed("publish into Redis, whole (writing stage below)",
               lambda: reports.append(publish(spark, wh.root, bo.AS_OF, url)), args.reps)  # fmt: skip
        stages = " / ".join(f"{r.write_seconds:.2f}" for r in reports)
        print(f"| publish into Redis, writing stage (build, join, write) | {stages} |")
    finally:
        spark.stop()
        server.terminate()
        server.wait(timeout=30)
        shutil.rmtree(work, ignore_errors=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
