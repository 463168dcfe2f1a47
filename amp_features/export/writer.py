"""The executor side of ``publish``: the function each Spark task runs to store its partition.

Kept apart from ``publish.py`` because everything here is pickled with the job and runs in the
Python workers, so it must hold only plain values and open its own store connection.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass, field

import pyarrow as pa

from amp_features.errors import OnlineStoreError
from amp_features.export.records import SOURCE_TABLES
from amp_features.serve.backends import error_cause, open_backend
from amp_features.serve.codec import USER_RECORD, encode_user

# What each writing task yields: its partition and the records it stored.
SUMMARY_DDL = "task string, records long"
SUMMARY = pa.schema([("task", pa.string()), ("records", pa.int64())])
# The columns of ``records.online_records`` that the writer reads, in this order.
RECORD_COLUMNS = ("kind", "bucket", "key", "part", "value")


@dataclass
class UserParts:
    """One user's rows as they stream past the writer (sorted by user), until the next user."""

    key: str
    bucket: int
    user: str | None = None
    topics: list[str] = field(default_factory=list)
    creators: list[str] = field(default_factory=list)

    @classmethod
    def start(cls, key: str, bucket: int, done: set[str]) -> UserParts:
        # The rows of a user must be consecutive: a user seen twice would be written twice,
        # the second record (with only some of its rows) overwriting the first. The message
        # names no user: errors never carry record contents.
        if key in done:
            raise OnlineStoreError("the rows of a user reached the writer out of order")
        done.add(key)
        return cls(key, bucket)

    def add(self, part: int, value: str) -> None:
        if part == 0:
            self.user = value
        elif part == 1:
            self.topics.append(value)
        else:
            self.creators.append(value)

    def record(self) -> tuple[str, int, str, str]:
        return (
            USER_RECORD,
            self.bucket,
            self.key,
            encode_user(self.user, self.topics, self.creators),
        )


class PartitionWriter:
    """Runs on the executors (``mapInArrow``): joins each user's rows into its record, writes
    the partition's records in batches, then notes in the version's manifest what it wrote, and
    yields one summary row. Pickled with the job, so it holds only plain values and opens its
    own connection. Rows arrive as Arrow batches, column by column, which is cheaper than the
    pickled ``Row`` objects of ``foreachPartition``."""

    def __init__(self, url: str, version: str, buckets: dict[str, int], batch_size: int) -> None:
        self.url = url
        self.version = version
        self.buckets = dict(buckets)
        self.batch_size = batch_size

    def __call__(self, batches: Iterator[pa.RecordBatch]) -> Iterator[pa.RecordBatch]:
        import pyarrow.compute as pc
        from pyspark import TaskContext

        ctx = TaskContext.get()
        task = str(ctx.partitionId() if ctx is not None else 0)
        counts = dict.fromkeys(SOURCE_TABLES, 0)

        def records() -> Iterator[tuple[str, int, str, str]]:
            user: UserParts | None = None
            for batch in batches:
                for table in SOURCE_TABLES:
                    counts[table] += pc.sum(batch.column(table)).as_py() or 0
                columns = (batch.column(c).to_pylist() for c in RECORD_COLUMNS)
                for kind, bucket, key, part, value in zip(*columns, strict=True):
                    if kind != USER_RECORD:
                        yield kind, bucket, key, value
                        continue
                    if user is None or key != user.key:
                        if user is not None:
                            yield user.record()
                        user = UserParts.start(key, bucket, done)
                    user.add(part, value)
            if user is not None:
                yield user.record()

        done: set[str] = set()
        backend = open_backend(self.url)
        doing = "writing the records"
        try:
            written = backend.write_records(self.version, self.buckets, records(), self.batch_size)
            doing = "noting what it wrote in the manifest"
            # Written last: a task that died midway leaves no manifest entry, so the check fails.
            backend.write_manifest(self.version, task, {"records": written, "rows": counts})
        except Exception as exc:
            # The driver's error (e.g. redis-py's pipeline error) quotes the failed command with
            # its record keys and values; Spark would print it in every log line of the task.
            # ``from None`` keeps it out of the worker's traceback too.
            raise OnlineStoreError(
                f"task {task}: {error_cause(exc, self.url).rstrip('.')} "
                f"(while {doing} of version {self.version} in {backend.url})"
            ) from None
        finally:
            backend.close()
        yield pa.RecordBatch.from_pydict(
            {"task": [task], "records": [sum(written.values())]}, schema=SUMMARY
        )
