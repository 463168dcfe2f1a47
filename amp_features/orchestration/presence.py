"""Is a day's raw data there yet? A cheap listing check for the DAG's sensor.

It looks at storage only (a local folder, or ``s3://``/``s3a://`` through boto3) and never starts
Spark, so the sensor can poke every few minutes without holding a JVM. It is a readiness hint:
the ``validate_inputs`` stage afterwards does the authoritative schema and content checks.

A day is ready when each event table (``playback``, ``engagement``) has a ``dt=YYYY-MM-DD``
partition folder holding at least one Parquet file, and each dimension table (``shows``,
``users``) holds data. Delta and plain Parquet tables look the same to this check (Delta
writes ``dt=`` partition folders too).
"""

from __future__ import annotations

import datetime as dt
import os
from dataclasses import dataclass
from typing import Any, Protocol
from urllib.parse import urlparse

from amp_features.errors import ConfigError
from amp_features.layout import Lake, join

EVENT_TABLES = ("playback", "engagement")
DIMENSION_TABLES = ("shows", "users")


class _Store(Protocol):
    def has_entry(self, path: str) -> bool: ...

    def has_data_file(self, folder: str) -> bool: ...


class _LocalStore:
    def has_entry(self, path: str) -> bool:
        return os.path.exists(path)

    def has_data_file(self, folder: str) -> bool:
        if not os.path.isdir(folder):
            return False
        for _root, _dirs, files in os.walk(folder):
            if any(_is_data_file(name) for name in files):
                return True
        return False


class _S3Store:
    """boto3 listing; the endpoint and credentials come from boto3's usual sources
    (``AWS_ENDPOINT_URL``, ``AWS_ACCESS_KEY_ID``/``AWS_SECRET_ACCESS_KEY``, profiles, IAM roles)."""

    def __init__(self, client: Any = None) -> None:
        if client is None:
            import boto3  # lazy: only s3 lakes pay for it

            client = boto3.client("s3")
        self.client = client

    @staticmethod
    def _split(path: str) -> tuple[str, str]:
        url = urlparse(path)
        return url.netloc, url.path.lstrip("/")

    def _keys(self, path: str, max_keys: int) -> list[str]:
        bucket, key = self._split(path)
        prefix = key.rstrip("/") + "/"
        response = self.client.list_objects_v2(Bucket=bucket, Prefix=prefix, MaxKeys=max_keys)
        return [item["Key"] for item in response.get("Contents", [])]

    def has_entry(self, path: str) -> bool:
        return bool(self._keys(path, 1))

    def has_data_file(self, folder: str) -> bool:
        # A partition folder holds a handful of files; 1000 keys (one page) is plenty to find one.
        return any(_is_data_file(key.rsplit("/", 1)[-1]) for key in self._keys(folder, 1000))


def _is_data_file(name: str) -> bool:
    return name.endswith(".parquet") and not name.startswith((".", "_"))


def store_for(root: str, s3_client: Any = None) -> _Store:
    """The listing backend for a lake root: local folders, ``file://``, ``s3://`` or ``s3a://``."""
    scheme = urlparse(root).scheme
    if scheme in ("s3", "s3a", "s3n"):
        return _S3Store(s3_client)
    if scheme in ("", "file"):
        return _LocalStore()
    raise ConfigError(f"cannot check raw partitions under {root!r}: use a local path or s3a://")


def _local_path(path: str) -> str:
    return urlparse(path).path if path.startswith("file:") else path


@dataclass(frozen=True)
class Readiness:
    day: dt.date
    missing: tuple[str, ...]

    @property
    def ready(self) -> bool:
        return not self.missing


def missing_raw_partitions(lake: str, day: dt.date | str, *, s3_client: Any = None) -> Readiness:
    """Which of the day's raw inputs are not there yet (empty ``missing`` means ready)."""
    from amp_features.orchestration.plan import parse_day

    when = parse_day(day)
    store = store_for(lake, s3_client)
    tables = Lake(lake)
    fix = _local_path if isinstance(store, _LocalStore) else (lambda p: p)
    missing: list[str] = []
    for name in (*EVENT_TABLES, *DIMENSION_TABLES):
        table = fix(tables.table(name))
        if not store.has_entry(table):
            missing.append(f"{name}: no table at {table}")
            continue
        if name in EVENT_TABLES:
            folder = join(table, f"dt={when.isoformat()}")
            if not store.has_data_file(folder):
                missing.append(f"{name}: no data in partition dt={when.isoformat()}")
        elif not store.has_data_file(table):
            missing.append(f"{name}: table has no data files")
    return Readiness(when, tuple(missing))
