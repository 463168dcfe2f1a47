"""The warehouse's write lease: one run at a time writes to a warehouse.

Delta's optimistic concurrency keeps each table consistent, but two runs interleaving their
writes (a backfill while the DAG runs, two re-runs of one date) could still commit a snapshot built
from the other run's half-written state, and on S3 Delta's default log store is safe for a single
writer only. So every writing run first takes a lease: one row in ``state/lease``, taken with a
Delta MERGE (read and write in one transaction, so two runs racing for it conflict and one
loses). The holder renews it from a background thread; a holder that was killed stops renewing and
its lease expires after ``ttl`` (default 10 minutes), or at once when it ran on this host and its
process is gone. A second run fails fast with ``WarehouseBusyError`` naming the holder.
"""

from __future__ import annotations

import datetime as dt
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass

from pyspark.sql import SparkSession
from pyspark.sql import functions as F
from pyspark.sql.types import LongType, StringType, StructField, StructType, TimestampType

from amp_features.errors import WarehouseBusyError
from amp_features.layout import Warehouse
from amp_features.logs import log
from amp_features.offline.delta import table_exists

LEASE_NAME = "warehouse"
DEFAULT_TTL_SECONDS = float(os.environ.get("AMP_LEASE_TTL_SECONDS", "600"))
SCHEMA = StructType(
    [
        StructField("name", StringType(), False),
        StructField("holder", StringType(), False),
        StructField("owner", StringType(), False),
        StructField("host", StringType(), False),
        StructField("pid", LongType(), False),
        StructField("acquired_at", TimestampType(), False),
        StructField("expires_at", TimestampType(), False),
    ]
)
_EPOCH = dt.datetime(1970, 1, 1, tzinfo=dt.UTC)


@dataclass(frozen=True)
class Holder:
    holder: str  # the lease's token: run id, pid and a random part
    owner: str  # what a person reads in the error: run, Airflow run, stage
    host: str
    pid: int
    expires_at: dt.datetime

    def describe(self) -> str:
        return f"{self.owner} (pid {self.pid} on {self.host}, lease until {self.expires_at:%H:%M:%S} UTC)"


def lease_path(warehouse: str) -> str:
    return "/".join([Warehouse(warehouse).root.rstrip("/"), "state", "lease"])


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _current(spark: SparkSession, path: str) -> Holder | None:
    row = spark.read.format("delta").load(path).where(F.col("name") == LEASE_NAME).first()
    if row is None:
        return None
    # PySpark returns timestamps as naive datetimes in the Python process's local time (not the
    # session's time zone): astimezone reads a naive value as local, which is right here.
    expires = row["expires_at"].astimezone(dt.UTC)
    return Holder(row["holder"], row["owner"], row["host"], int(row["pid"]), expires)


def _pid_alive(pid: int) -> bool:
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    try:  # a killed process its parent has not reaped yet is a zombie: gone all the same
        with open(f"/proc/{pid}/stat", encoding="ascii", errors="replace") as stat:
            return stat.read().rpartition(")")[2].split()[0] != "Z"
    except (OSError, IndexError):
        return True


def _merge(spark: SparkSession, path: str, row: tuple, condition: str) -> None:  # type: ignore[type-arg]
    from delta.tables import DeltaTable

    src = spark.createDataFrame([row], SCHEMA)
    (
        DeltaTable.forPath(spark, path)
        .alias("t")
        .merge(src.alias("s"), "t.name = s.name")
        .whenMatchedUpdateAll(condition=condition)
        .whenNotMatchedInsertAll()
        .execute()
    )


def _is_conflict(exc: Exception) -> bool:
    text = f"{type(exc).__name__} {exc}"
    return any(
        word in text
        for word in ("Concurrent", "ProtocolChanged", "MetadataChanged", "FileAlreadyExists")
    )


class Lease:
    """A held lease; renewed in the background until ``release``."""

    def __init__(
        self, spark: SparkSession, warehouse: str, run_id: str, owner: str, ttl: float
    ) -> None:
        self.spark, self.path, self.owner, self.ttl = spark, lease_path(warehouse), owner, ttl
        # Unique per lease, not the run id: two processes of one run (a retried Airflow task
        # whose first attempt is still alive) must not both pass as the holder.
        self.holder = f"{run_id}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.acquired_at = _now()
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _row(self, expires: dt.datetime) -> tuple:  # type: ignore[type-arg]
        return (
            LEASE_NAME,
            self.holder,
            self.owner,
            socket.gethostname(),
            os.getpid(),
            self.acquired_at,
            expires,
        )

    def _try(self, condition: str) -> Holder | None:
        """One MERGE; returns who holds the lease afterwards."""
        if not table_exists(self.spark, self.path):
            try:
                self.spark.createDataFrame([], SCHEMA).write.format("delta").mode("append").save(
                    self.path
                )
            except Exception as exc:  # another run created it first
                if not _is_conflict(exc):
                    raise
        try:
            _merge(
                self.spark,
                self.path,
                self._row(_now() + dt.timedelta(seconds=self.ttl)),
                condition,
            )
        except Exception as exc:
            if not _is_conflict(exc):
                raise
            log.debug("lease: lost a race (%s)", type(exc).__name__)
        return _current(self.spark, self.path)

    def acquire(self) -> Lease:
        mine = f"t.holder = '{self.holder}' OR t.expires_at < s.acquired_at"
        for _attempt in range(3):
            current = self._try(mine)
            if current is not None and current.holder == self.holder:
                self._start_renewal()
                log.info("lease: %s holds the warehouse (%s)", self.owner, self.path)
                return self
            if current is None:
                continue
            if current.host == socket.gethostname() and not _pid_alive(current.pid):
                log.warning("lease: taking over from %s: its process is gone", current.describe())
                mine = f"t.holder = '{self.holder}' OR t.holder = '{current.holder}'"
                continue
            raise WarehouseBusyError(
                f"warehouse {self.path.rsplit('/state/', 1)[0]} is busy: another run holds its "
                f"write lease: {current.describe()}; wait for it to finish (or for the lease to "
                "expire if it was killed) and try again"
            )
        raise WarehouseBusyError(f"could not take the warehouse lease at {self.path}")

    def _start_renewal(self) -> None:
        def renew() -> None:
            while not self._stop.wait(self.ttl / 3):
                try:
                    current = self._try(f"t.holder = '{self.holder}'")
                except Exception as exc:  # keep trying; check() reports a lost lease
                    log.warning("lease: renewal failed: %s", str(exc).splitlines()[0][:200])
                    continue
                if current is None or current.holder != self.holder:
                    self.lost = current.describe() if current else "nobody"
                    log.error("lease: lost the warehouse lease to %s", self.lost)
                    return

        self._thread = threading.Thread(target=renew, name="amp-lease", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """Raise if the lease was lost (called before a commit becomes visible)."""
        if self.lost is not None:
            raise WarehouseBusyError(f"the warehouse lease was taken over by {self.lost}")
        current = _current(self.spark, self.path)
        if current is None or current.holder != self.holder or current.expires_at < _now():
            who = current.describe() if current else "nobody"
            raise WarehouseBusyError(f"the warehouse lease is no longer held (holder: {who})")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            _merge(self.spark, self.path, self._row(_EPOCH), f"t.holder = '{self.holder}'")
        except Exception as exc:  # it expires on its own
            log.warning("lease: release failed (%s); it expires by itself", type(exc).__name__)


@contextmanager
def hold(
    spark: SparkSession,
    warehouse: str,
    run_id: str,
    owner: str,
    *,
    ttl: float = DEFAULT_TTL_SECONDS,
) -> Iterator[Lease]:
    """Hold the warehouse's write lease for the block; fail fast if another run holds it."""
    started = time.perf_counter()
    lease = Lease(spark, warehouse, run_id, owner, ttl).acquire()
    log.debug("lease taken in %.1fs", time.perf_counter() - started)
    try:
        yield lease
    finally:
        lease.release()
