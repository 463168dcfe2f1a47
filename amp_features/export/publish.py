"""Publish one as_of snapshot of the offline store to the online store, versioned and atomic.

``publish`` reads the five feature tables and ``show_attributes`` for the as_of, packs them into
the records of ``amp_features.serve.codec`` and writes them from the executors, partition by
partition, under a new version id. It then checks the version against the Delta tables (rows per
table, as reported by the tasks, and records actually stored), moves the live-version pointer in
one atomic step, and deletes versions beyond ``keep_versions``. A failure before the switch
leaves the pointer where it was; the half-written version is deleted by the next publish, so
running the command again completes the publish. Publishes to one store must not run at the same
time (the daily DAG runs one at a time).
"""

from __future__ import annotations

import datetime as dt
import math
import re
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from amp_features.contract import parse_date
from amp_features.errors import AmpFeaturesError, ConfigError, OnlineStoreError
from amp_features.export.records import (
    RECORD_TABLES,
    SHOW_ATTRIBUTES,
    expected_rows,
    online_records,
)
from amp_features.export.writer import SUMMARY_DDL, PartitionWriter
from amp_features.layout import Warehouse
from amp_features.logs import log
from amp_features.offline import snapshots
from amp_features.registry import GROUPS
from amp_features.serve.backends import (
    FAILED,
    READY,
    Backend,
    VersionInfo,
    error_cause,
    open_backend,
    redact,
    store_errors,
    utc_now,
)

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from amp_features.offline.snapshots import Commit


@dataclass
class PublishReport:
    """What a publish did."""

    url: str  # password hidden
    as_of: dt.date
    version: str
    previous_version: str | None
    rows: dict[str, int] = field(default_factory=dict)  # source table -> rows exported
    records: dict[str, int] = field(default_factory=dict)  # record kind -> records stored
    seconds: float = 0.0  # whole publish
    write_seconds: float = 0.0  # building and writing the records
    deleted_versions: list[str] = field(default_factory=list)

    @property
    def total_rows(self) -> int:
        return sum(self.rows.values())

    @property
    def rows_per_second(self) -> float:
        return self.total_rows / self.write_seconds if self.write_seconds else 0.0


# The end of a writing task's error (writer.py): what the export's own message says already.
_WRITER_CONTEXT = re.compile(r" \(while [^()]+ of version [\w-]+ in \S+\)$")


def _short_cause(exc: BaseException, url: str) -> str:
    """One line for a failure: Spark wraps executor errors in pages of traceback. Never a
    record's contents (redis-py quotes the failed command) nor a credential of ``url``."""
    if not isinstance(exc, AmpFeaturesError):
        lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
        for line in reversed(lines):
            if re.match(r"^[\w.]+(Error|Exception|Refused|Timeout)\w*: ", line):
                if line.startswith("ModuleNotFoundError"):
                    line += " (on the executors: check spark.pyspark.python / PYSPARK_PYTHON)"
                # The executors' own message (writer.py) is already one clean line; the
                # export's message names the store and the version already.
                line = line.removeprefix("amp_features.errors.").removeprefix("OnlineStoreError: ")
                line = _WRITER_CONTEXT.sub("", line)
                return error_cause(AmpFeaturesError(line), url)
    return error_cause(exc, url)


def readers_now(url: str, previous: str | None) -> str:
    """What readers of the store are served right now, read from its live pointer (after a
    failure the store may have lost its data or be gone: nothing is assumed)."""
    try:
        backend = open_backend(url, timeout=5.0)
        try:
            pointer = backend.current()
        finally:
            backend.close()
    except Exception as exc:
        return (
            "The store could not be reached to check what readers see now "
            f"({error_cause(exc, url).rstrip('.')})"
        )
    if pointer is None:
        lost = f" (it had {previous} when the export started)" if previous else ""
        return f"Checked in the store: it has no live version, so readers get nothing{lost}"
    served = f"{pointer.version} (as_of {pointer.as_of})"
    if pointer.version == previous:
        return f"Checked in the store: the live version is still {served}, which readers are served"
    return (
        f"Checked in the store: the live version is now {served}, which readers are served "
        f"(it was {previous or 'none'} when the export started)"
    )


def _failed(day: dt.date, url: str, step: str, exc: BaseException, previous: str | None) -> str:
    """The one line of a failed export: where it stopped, why, and what readers get now."""
    return (
        f"export of as_of {day} to {redact(url)} failed while {step}: "
        f"{_short_cause(exc, url).rstrip('.')}. {readers_now(url, previous)}; "
        "run the export again to complete it."
    )


def check_store(url: str, as_of: dt.date | str) -> None:
    """Raise the export's own ``OnlineStoreError`` when a networked store (Redis) cannot be
    reached, before anything starts Spark: the CLI calls it first, so an outage costs a second,
    not a JVM start and a read of the snapshot. ``publish`` opens the store again itself."""
    day = parse_date(as_of)
    backend = open_backend(url)
    try:
        if backend.networked:
            backend.current()
    except Exception as exc:
        raise OnlineStoreError(_failed(day, url, "opening the store", exc, None)) from exc
    finally:
        backend.close()


def _buckets(n: int, records_per_bucket: int) -> int:
    return max(1, math.ceil(n / records_per_bucket))


def publish(
    spark: SparkSession,
    warehouse: str | Warehouse,
    as_of: dt.date | str,
    url: str,
    *,
    keep_versions: int = 3,
    records_per_bucket: int = 20_000,
    batch_size: int = 500,
    on_stage: Callable[[str], None] | None = None,
    commit: Commit | None = None,
) -> PublishReport:
    """Publish the as_of snapshot of ``warehouse`` to the store at ``url``; see the module doc.

    ``keep_versions`` counts the live version; ``records_per_bucket`` sizes Redis hashes;
    ``batch_size`` is the number of records per write command. ``on_stage`` is called on the
    driver with each stage name as it starts (progress reporting, fault-injection tests).
    """
    if keep_versions < 1:
        raise ConfigError(f"keep_versions must be at least 1, got {keep_versions}")
    if records_per_bucket < 1 or batch_size < 1:
        raise ConfigError("records_per_bucket and batch_size must be positive")
    day = parse_date(as_of)
    wh = warehouse if isinstance(warehouse, Warehouse) else Warehouse(warehouse)
    shown = redact(url)
    start = time.perf_counter()

    def stage(name: str) -> None:
        log.info("export %s -> %s: %s", day, shown, name)
        if on_stage is not None:
            on_stage(name)

    stage("reading the committed snapshot")
    # Every table at the version D's commit recorded: a re-run in progress, or a manual write
    # to a partition, cannot leak into the online store.
    commit = commit or snapshots.resolve(spark, wh.root, day)
    snapshot = snapshots.read_snapshot(spark, wh.root, commit)
    tables = {g: snapshot[g] for g in GROUPS}
    attrs = snapshot[SHOW_ATTRIBUTES]
    paths = {t: f"{snapshots.table_path(wh.root, t)}@v{commit.versions[t]}" for t in snapshot}
    log.info("export %s: %s", day, commit.describe())
    stage("counting the rows to export")
    counted = expected_rows(tables, attrs).collect()  # small: one row per table
    expected = dict.fromkeys(paths, 0) | {r["table"]: int(r["rows"]) for r in counted}
    log.info("export %s: rows to export %s", day, expected)
    if not any(expected.values()):
        raise OnlineStoreError(
            f"nothing to export: no rows for as_of {day} in the feature tables under {wh.root}"
        )
    # Buckets only spread records over hashes, so rough sizes do: a user record per user row,
    # plus users that only have topic or creator rows.
    buckets = {
        "u": _buckets(expected["user"] + expected["user_topic"] // 4, records_per_bucket),
        "s": _buckets(max(expected["show"], expected[SHOW_ATTRIBUTES]), records_per_bucket),
        "c": _buckets(expected["creator"], records_per_bucket),
    }

    backend = open_backend(url)
    step = "opening the store"
    info: VersionInfo | None = None
    previous: str | None = None
    try:
        pointer = backend.current()
        previous = pointer.version if pointer is not None else None
        step = "registering the new version"
        info = backend.new_version(day.isoformat(), buckets)
        log.info("export %s: writing version %s (live: %s)", day, info.version, previous)
        write_start = time.perf_counter()
        step = "writing the records"
        stage(step)
        # Enough tasks to keep every core busy while the records are built and written.
        partitions = max(2, int(spark.conf.get("spark.sql.shuffle.partitions") or 2))
        records_df = online_records(tables, attrs, info.buckets, partitions)
        writer = PartitionWriter(url, info.version, info.buckets, batch_size)
        # One summary row per partition comes back, never a record.
        summary = records_df.mapInArrow(writer, SUMMARY_DDL).collect()
        log.info(
            "export %s: %d records written by %d tasks",
            day,
            sum(int(r["records"]) for r in summary),
            len(summary),
        )
        write_seconds = time.perf_counter() - write_start
        log.info("export %s: records written in %.1fs", day, write_seconds)
        step = "checking the new version against the Delta tables"
        stage(step)
        records = _verify(backend, info, expected, paths)
        step = "switching the live-version pointer"
        stage(step)
        info.state, info.rows, info.published_at = READY, expected, utc_now()
        info.records = records
        backend.switch(info)
    except Exception as exc:
        if info is not None:
            try:
                info.state = FAILED
                backend.save_info(info)
            except Exception as mark_exc:  # the store may be the thing that failed
                log.warning(
                    "could not mark version %s failed: %s",
                    info.version,
                    error_cause(mark_exc, url),
                )
        backend.close()
        version = f" of version {info.version}" if info is not None else ""
        raise OnlineStoreError(_failed(day, url, f"{step}{version}", exc, previous)) from exc

    try:
        stage("deleting old versions")
        deleted = retain(backend, keep_versions, keep={info.version})
    except Exception as exc:  # the new version is live; cleanup can wait for the next run
        log.warning(
            "export %s: could not delete old versions of %s: %s", day, shown, error_cause(exc, url)
        )
        deleted = []
    finally:
        backend.close()
    report = PublishReport(
        url=shown,
        as_of=day,
        version=info.version,
        previous_version=previous,
        rows=expected,
        records=records,
        seconds=time.perf_counter() - start,
        write_seconds=write_seconds,
        deleted_versions=deleted,
    )
    log.info(
        "export %s: version %s is live (%d rows, %.0f rows/s written; deleted %s)",
        day,
        info.version,
        report.total_rows,
        report.rows_per_second,
        ", ".join(deleted) or "none",
    )
    return report


def _verify(
    backend: Backend, info: VersionInfo, expected: Mapping[str, int], paths: Mapping[str, str]
) -> dict[str, int]:
    """Rows per table from the tasks' manifest must equal the Delta counts, and the store must
    hold every record the tasks wrote. Returns the records per kind."""
    rows = dict.fromkeys(expected, 0)
    written = dict.fromkeys(RECORD_TABLES, 0)
    for entry in backend.manifest(info.version):
        for kind, n in entry["records"].items():
            written[kind] += int(n)
        for table, n in entry["rows"].items():
            rows[table] += int(n)
    stored = backend.stored_records(info)
    problems = [
        f"{table}: {rows[table]} rows written, {n} in the Delta table at {paths[table]}"
        for table, n in expected.items()
        if rows[table] != n
    ]
    problems += [
        f"{kind!r} records: {stored.get(kind, 0)} stored, {n} written"
        for kind, n in written.items()
        if stored.get(kind, 0) != n
    ]
    if problems:
        raise OnlineStoreError(
            f"version {info.version} in {backend.url} does not match the offline store: "
            + "; ".join(problems)
        )
    return stored


def retain(backend: Backend, keep_versions: int, *, keep: set[str] | None = None) -> list[str]:
    """Delete all but the live version and the newest ready ones (``keep_versions`` in all);
    also deletes failed and abandoned half-written versions. Returns the deleted version ids."""
    pointer = backend.current()
    versions = backend.versions()
    kept = set(keep or ())
    if pointer is not None:
        kept.add(pointer.version)
    ready = [v for v in versions if v.state == READY]
    for info in reversed(ready):  # newest first
        if len(kept) >= keep_versions:
            break
        kept.add(info.version)
    deleted = []
    for info in versions:
        if info.version not in kept:
            log.info("online store %s: deleting version %s", backend.url, info.version)
            backend.drop(info)
            deleted.append(info.version)
    return deleted


def rollback(url: str, to: str | None = None) -> VersionInfo:
    """Point readers at version ``to`` (default: the newest ready version older than the live
    one). The version must be ready and still complete in the store."""
    backend = open_backend(url)
    try:
        with store_errors(url, "rolling back"):
            return _rollback(backend, to)
    finally:
        backend.close()


def _rollback(backend: Backend, to: str | None) -> VersionInfo:
    pointer = backend.current()
    if pointer is None:
        raise OnlineStoreError(f"nothing to roll back: no version published in {backend.url}")
    ready = [v for v in backend.versions() if v.state == READY]
    live = next((v for v in ready if v.version == pointer.version), None)
    if to is not None:
        target = backend.version_info(to)
        if target.state != READY:
            raise OnlineStoreError(
                f"cannot roll back {backend.url} to {to}: it is {target.state}, not ready"
            )
    else:
        older = [v for v in ready if live is None or v.seq < live.seq]
        if not older:
            raise OnlineStoreError(
                f"no version older than {pointer.version} left in {backend.url} "
                "to roll back to (see `amp-features online status`)"
            )
        target = older[-1]
    stored = backend.stored_records(target)
    if target.records and stored != target.records:
        raise OnlineStoreError(
            f"cannot roll back {backend.url} to {target.version}: its records are "
            f"incomplete ({stored} stored, {target.records} published)"
        )
    backend.switch(target)
    log.info("online store %s: live version %s -> %s", backend.url, pointer.version, target.version)
    return target


def status(url: str) -> tuple[str | None, list[VersionInfo]]:
    """The live version id and every version in the store, oldest first."""
    backend = open_backend(url)
    try:
        with store_errors(url, "reading the versions of"):
            pointer = backend.current()
            return (pointer.version if pointer else None), backend.versions()
    finally:
        backend.close()
