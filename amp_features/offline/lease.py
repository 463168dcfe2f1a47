"""The warehouse's write lease: one run at a time writes to a warehouse.

Delta's optimistic concurrency keeps each table consistent, but two runs interleaving their
writes (a backfill while the DAG runs, two re-runs of one date) could still commit a snapshot built
from the other run's half-written state, and on S3 Delta's default log store is safe for a single
writer only. So every writing run first takes a lease: one small JSON object,
``state/lease.json``, written through ``amp_features.files`` (no Spark job, so taking it costs
milliseconds rather than the seconds of a Delta MERGE).

- Taking a free lease creates the object exclusively (``O_EXCL`` on a local disk). Taking over
  an expired one rewrites it. Either way the taker reads it back after a short settle and holds
  the lease only if the object still names it, so of two racers at most one goes on.
- S3 offers no exclusive create through Arrow, so there two racers could both pass that read
  within the settle time. The runner therefore checks the lease again right before it appends a
  commit row (``check``), which is the moment that makes a snapshot visible; the loser stops there
  with nothing published.
- The holder renews the lease from a background thread. A holder that was killed stops renewing
  and its lease expires after ``ttl`` (default 10 minutes), or at once when it ran on this host
  and its process is gone. A second run fails fast with ``WarehouseBusyError`` naming the holder.
"""

from __future__ import annotations

import datetime as dt
import json
import os
import socket
import threading
import time
import uuid
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import asdict, dataclass

from amp_features import files
from amp_features.errors import WarehouseBusyError
from amp_features.layout import Warehouse
from amp_features.logs import log

DEFAULT_TTL_SECONDS = float(os.environ.get("AMP_LEASE_TTL_SECONDS", "600"))
# How long a taker waits before reading its claim back: longer than the gap between another
# racer's read and its write (milliseconds), short against a run.
SETTLE_SECONDS = float(os.environ.get("AMP_LEASE_SETTLE_SECONDS", "0.5"))


@dataclass(frozen=True)
class Holder:
    holder: str  # the lease's token: run id, pid and a random part
    owner: str  # what a person reads in the error: run, Airflow run, stage
    host: str
    pid: int
    acquired_at: str
    expires_at: str  # ISO 8601, UTC

    @property
    def expires(self) -> dt.datetime:
        return dt.datetime.fromisoformat(self.expires_at)

    def describe(self) -> str:
        return (
            f"{self.owner} (pid {self.pid} on {self.host}, lease until {self.expires:%H:%M:%S} UTC)"
        )

    def stale(self) -> str | None:
        """Why this lease no longer binds anyone (expired, or its process is gone), or None."""
        if self.expires < _now():
            return "it expired"
        if self.host == socket.gethostname() and not _pid_alive(self.pid):
            return "its process is gone"
        return None


def lease_path(warehouse: str) -> str:
    return Warehouse(warehouse).lease


def _now() -> dt.datetime:
    return dt.datetime.now(dt.UTC)


def _current(path: str) -> Holder | None:
    try:
        text = files.read_text(path)
    except FileNotFoundError:
        return None
    try:
        return Holder(**json.loads(text))
    except (ValueError, TypeError):  # not ours or damaged: treat as free, the writer replaces it
        log.warning("lease: %s is not a lease record; replacing it", path)
        return None


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


class Lease:
    """A held lease; renewed in the background until ``release``."""

    def __init__(self, warehouse: str, run_id: str, owner: str, ttl: float) -> None:
        self.warehouse, self.path, self.owner, self.ttl = (
            warehouse,
            lease_path(warehouse),
            owner,
            ttl,
        )
        # Unique per lease, not the run id: two processes of one run (a retried Airflow task
        # whose first attempt is still alive) must not both pass as the holder.
        self.holder = f"{run_id}:{os.getpid()}:{uuid.uuid4().hex[:8]}"
        self.acquired_at = _now()
        self.lost: str | None = None
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def _record(self) -> str:
        expires = _now() + dt.timedelta(seconds=self.ttl)
        mine = Holder(
            self.holder,
            self.owner,
            socket.gethostname(),
            os.getpid(),
            self.acquired_at.isoformat(),
            expires.isoformat(),
        )
        return json.dumps(asdict(mine))

    def _busy(self, current: Holder) -> WarehouseBusyError:
        return WarehouseBusyError(
            f"warehouse {self.warehouse} is busy: another run holds its write lease: "
            f"{current.describe()}; wait for it to finish (or for the lease to expire if it was "
            "killed) and try again"
        )

    def acquire(self) -> Lease:
        for _attempt in range(3):
            current = _current(self.path)
            if current is None:
                if not files.create_exclusive(self.path, self._record()):
                    continue  # another run created it first: read who
            elif current.holder != self.holder:
                why = current.stale()
                if why is None:
                    raise self._busy(current)
                log.warning("lease: taking over from %s: %s", current.describe(), why)
                files.write_text(self.path, self._record())
            time.sleep(SETTLE_SECONDS)
            now = _current(self.path)
            if now is not None and now.holder == self.holder:
                self._start_renewal()
                log.info("lease: %s holds the warehouse (%s)", self.owner, self.path)
                return self
            if now is not None and now.stale() is None:
                raise self._busy(now)  # lost the race to take it
        raise WarehouseBusyError(f"could not take the warehouse lease at {self.path}")

    def _start_renewal(self) -> None:
        def renew() -> None:
            while not self._stop.wait(self.ttl / 3):
                try:
                    current = _current(self.path)
                    if current is None or current.holder != self.holder:
                        self.lost = current.describe() if current else "nobody"
                        log.error("lease: lost the warehouse lease to %s", self.lost)
                        return
                    files.write_text(self.path, self._record())
                except Exception as exc:  # keep trying; check() reports a lost lease
                    log.warning("lease: renewal failed: %s", str(exc).splitlines()[0][:200])

        self._thread = threading.Thread(target=renew, name="amp-lease", daemon=True)
        self._thread.start()

    def check(self) -> None:
        """Raise if the lease was lost (called before a commit becomes visible)."""
        if self.lost is not None:
            raise WarehouseBusyError(f"the warehouse lease was taken over by {self.lost}")
        current = _current(self.path)
        if current is None or current.holder != self.holder or current.expires < _now():
            who = current.describe() if current else "nobody"
            raise WarehouseBusyError(f"the warehouse lease is no longer held (holder: {who})")

    def release(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=30)
        try:
            current = _current(self.path)
            if current is not None and current.holder == self.holder:
                files.delete(self.path)
        except Exception as exc:  # it expires on its own
            log.warning("lease: release failed (%s); it expires by itself", type(exc).__name__)


@contextmanager
def hold(
    warehouse: str, run_id: str, owner: str, *, ttl: float = DEFAULT_TTL_SECONDS
) -> Iterator[Lease]:
    """Hold the warehouse's write lease for the block; fail fast if another run holds it."""
    started = time.perf_counter()
    lease = Lease(warehouse, run_id, owner, ttl).acquire()
    log.debug("lease taken in %.2fs", time.perf_counter() - started)
    try:
        yield lease
    finally:
        lease.release()
