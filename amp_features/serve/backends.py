"""The two online backends (SQLite, Redis) behind one small interface.

Both keep, per store: a version registry, one pointer naming the live version, and per version
the records of ``codec`` (``u``, ``s``, ``c``) plus a manifest in which every export task notes
what it wrote. A publish writes a new version beside the live one, checks it, then moves the
pointer in one atomic step; readers read the pointer and that version's records together, so
they see the old snapshot or the new one, never a mix. See ``docs/online_store.md``.

URLs:

* ``sqlite:///abs/path/online.db`` (an absolute path, as in ``file:///``) or
  ``sqlite://relative/path.db``; the embedded default, for one machine.
* ``redis://[[user]:password@]host:port/db`` or ``rediss://`` (TLS); Redis, Amazon MemoryDB and
  ElastiCache. Any redis-py option can follow as a query parameter (``?password=...`` too).
  Credentials never reach a message or a log line: see ``redact``.

``?prefix=NAME`` (both schemes) puts the store's keys or tables under ``NAME`` (default ``amp``),
so several stores can share one server or file.
"""

from __future__ import annotations

import datetime as dt
import json
import re
import sqlite3
import zlib
from abc import ABC, abstractmethod
from collections.abc import Iterable, Iterator, Sequence
from contextlib import contextmanager
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, unquote, unquote_plus, urlencode, urlsplit, urlunsplit

from amp_features.errors import AmpFeaturesError, ConfigError, OnlineStoreError
from amp_features.extras import require
from amp_features.serve.codec import RECORD_KINDS, SHOW_RECORD, USER_RECORD, decode_shows

if TYPE_CHECKING:
    import redis  # imported for real in RedisBackend: SQLite users need not install it

SCHEMES = ("sqlite", "redis", "rediss")
DEFAULT_PREFIX = "amp"
WRITING, READY, FAILED = "writing", "ready", "failed"
_NAME = re.compile(r"^[A-Za-z][A-Za-z0-9_]{0,40}$")


# Query keys whose value is a credential (redis-py takes ``password``, ``ssl_password``, ...).
_SECRET_KEY = re.compile(r"pass(word|wd)?|pwd|secret|token|credential", re.IGNORECASE)
# A URL inside free text (an error message): scheme://, then anything up to a space or quote,
# less the punctuation that ends a sentence.
_URL_IN_TEXT = re.compile(r"\b[A-Za-z][A-Za-z0-9+.-]*://[^\s'\"<>]*[^\s'\"<>.,;:)]")
# redis-py prefixes a pipeline error with the failed command and its arguments, which for a
# record write are record keys and values: never show them.
_PIPELINE_COMMAND = re.compile(r"Command # \d+ \(.*\) of pipeline caused error: ")
HIDDEN = "***"


def _redact_query(query: str) -> str:
    out = []
    for item in query.split("&"):
        key, sep, _value = item.partition("=")
        out.append(f"{key}={HIDDEN}" if sep and _SECRET_KEY.search(unquote(key)) else item)
    return "&".join(out)


def redact(url: str) -> str:
    """The URL with every credential replaced by ``***`` (for messages and logs): the password
    of ``:password@`` and ``user:password@``, a lone ``token@``, and any query value whose key
    names a password, secret or token (``?password=``, ``&ssl_password=``, ...)."""
    try:
        parts = urlsplit(url)
    except ValueError:  # not even a URL: hide anything that looks like credentials
        return re.sub(r"(://)[^/@\s]*@", rf"\1{HIDDEN}@", url).split("?", 1)[0]
    shown = url  # edited in place: urlunsplit would turn sqlite:/// into sqlite:/
    if "@" in parts.netloc:
        userinfo, host = parts.netloc.rsplit("@", 1)
        user, has_password, _password = userinfo.partition(":")
        # A lone user part can be a token (``redis://TOKEN@host``): hidden too.
        netloc = f"{user}:{HIDDEN}@{host}" if has_password else f"{HIDDEN}@{host}"
        shown = shown.replace(f"//{parts.netloc}", f"//{netloc}", 1)
    query = _redact_query(parts.query)
    if query != parts.query:
        shown = shown.replace(f"?{parts.query}", f"?{query}", 1)
    return shown


def secrets_in(url: str) -> list[str]:
    """The credential values of a URL, as written and decoded (to scrub them from any text)."""
    found: list[str] = []
    try:
        parts = urlsplit(url)
    except ValueError:
        return found
    if parts.password:
        found.append(parts.password)
    for item in parts.query.split("&"):
        key, sep, value = item.partition("=")
        if sep and _SECRET_KEY.search(unquote(key)):
            found.append(value)
    found += [unquote(s) for s in found] + [unquote_plus(s) for s in found]
    # Longest first, so that a secret containing another is replaced whole. A very short one
    # cannot be told from ordinary text (its URL form is still redacted).
    return sorted({s for s in found if len(s) >= 4}, key=len, reverse=True)


def hide_secrets(text: str, url: str | None = None) -> str:
    """``text`` with every URL in it redacted and, when given, every credential of ``url``
    replaced by ``***`` wherever it appears (a driver may echo a URL or parameter)."""
    text = _URL_IN_TEXT.sub(lambda m: redact(m.group(0)), text)
    for secret in secrets_in(url) if url else []:
        text = text.replace(secret, HIDDEN)
    return text


def error_cause(exc: BaseException, url: str | None = None) -> str:
    """One safe line for a driver error: its type and message without the failed pipeline
    command (record keys and values) and without credentials."""
    lines = [line.strip() for line in str(exc).splitlines() if line.strip()]
    message = _PIPELINE_COMMAND.sub("", lines[0] if lines else "")
    name = type(exc).__name__
    text = message if isinstance(exc, AmpFeaturesError) else f"{name}: {message}".rstrip(": ")
    return hide_secrets(text, url)[:400]


def bucket_of(key: str, buckets: int) -> int:
    """The bucket of a record key: the same as Spark's ``pmod(crc32(key), buckets)``."""
    return zlib.crc32(key.encode("utf-8")) % buckets


def utc_now() -> str:
    return dt.datetime.now(dt.UTC).replace(microsecond=0).isoformat()


@dataclass
class VersionInfo:
    """One snapshot in the store's registry."""

    version: str
    seq: int
    as_of: str
    state: str  # writing | ready | failed
    created_at: str
    published_at: str | None = None
    buckets: dict[str, int] = field(default_factory=dict)  # record kind -> bucket count
    rows: dict[str, int] = field(default_factory=dict)  # source table -> rows, once verified
    records: dict[str, int] = field(default_factory=dict)  # record kind -> records, once verified

    def to_json(self) -> str:
        return json.dumps(asdict(self), sort_keys=True)

    @classmethod
    def from_json(cls, text: str | bytes) -> VersionInfo:
        return cls(**json.loads(text))


@dataclass(frozen=True)
class Pointer:
    """What the live-version pointer holds: everything a reader needs to find the records."""

    version: str
    as_of: str
    buckets: dict[str, int]

    def to_json(self) -> str:
        return json.dumps({"version": self.version, "as_of": self.as_of, "buckets": self.buckets})

    @classmethod
    def from_json(cls, text: str | bytes) -> Pointer:
        d = json.loads(text)
        return cls(d["version"], d["as_of"], d["buckets"])


def _split_prefix(url: str) -> tuple[str, str]:
    """Take our own ``prefix`` query parameter out of the URL; return (url, prefix)."""
    parts = urlsplit(url)
    query = parse_qsl(parts.query, keep_blank_values=True)
    prefix = DEFAULT_PREFIX
    rest = []
    for key, value in query:
        if key == "prefix":
            prefix = value
        else:
            rest.append((key, value))
    if not _NAME.match(prefix):
        raise ConfigError(f"online store prefix must be a short identifier, got {prefix!r}")
    return urlunsplit(parts._replace(query=urlencode(rest))), prefix


@contextmanager
def store_errors(url: str, doing: str) -> Iterator[None]:
    """Turn a driver error of Redis or SQLite into an OnlineStoreError naming the store, the
    operation and the cause (never a record or a credential)."""
    try:
        yield
    except AmpFeaturesError:
        raise
    except Exception as exc:
        raise OnlineStoreError(f"{doing} {redact(url)} failed: {error_cause(exc, url)}") from exc


def open_backend(url: str, *, timeout: float = 10.0) -> Backend:
    """The backend for a store URL; a clear ConfigError for anything else."""
    scheme = urlsplit(url).scheme.lower()
    if scheme == "sqlite":
        return SqliteBackend(url, timeout=timeout)
    if scheme in ("redis", "rediss"):
        return RedisBackend(url, timeout=timeout)
    raise ConfigError(
        f"unknown online store URL {redact(url)!r}: use sqlite:///path/online.db or "
        "redis://[:password@]host:port/db (rediss:// for TLS)"
    )


class Backend(ABC):
    """Control plane (driver), record writes (executors) and reads of one store."""

    url: str  # redacted, for messages
    # A store behind a network connection, which can be down when an export starts (an
    # embedded SQLite file is created by its first use instead).
    networked: bool = False

    # -- registry and pointer ------------------------------------------------------------------
    @abstractmethod
    def new_version(self, as_of: str, buckets: dict[str, int]) -> VersionInfo:
        """Register a new version in state ``writing`` and make room for its records."""

    @abstractmethod
    def save_info(self, info: VersionInfo) -> None: ...

    @abstractmethod
    def versions(self) -> list[VersionInfo]:
        """Every registered version, oldest first."""

    @abstractmethod
    def current(self) -> Pointer | None: ...

    @abstractmethod
    def switch(self, info: VersionInfo) -> None:
        """Atomically point readers at ``info`` (and save ``info``)."""

    @abstractmethod
    def drop(self, info: VersionInfo) -> None:
        """Delete a version's records, manifest and registry entry."""

    # -- checks ----------------------------------------------------------------------------------
    @abstractmethod
    def manifest(self, version: str) -> list[dict[str, Any]]:
        """What each export task reported writing: record kind counts and table rows."""

    @abstractmethod
    def stored_records(self, info: VersionInfo) -> dict[str, int]:
        """How many records of each kind the store holds for the version."""

    # -- executors -------------------------------------------------------------------------------
    @abstractmethod
    def write_records(
        self,
        version: str,
        buckets: dict[str, int],
        records: Iterable[tuple[str, int, str, str]],
        batch_size: int,
    ) -> dict[str, int]:
        """Write (kind, bucket, key, value) records in batches; return records per kind."""

    @abstractmethod
    def write_manifest(self, version: str, part: str, counts: dict[str, Any]) -> None: ...

    # -- reads -----------------------------------------------------------------------------------
    @abstractmethod
    def read(self, user_id: str, show_ids: Sequence[str]) -> tuple[Pointer | None, Any, list[Any]]:
        """The pointer, the user record (raw) and one decoded show record (or None) per show
        id, read from one version in a constant number of round trips."""

    @abstractmethod
    def close(self) -> None: ...

    def version_info(self, version: str) -> VersionInfo:
        for info in self.versions():
            if info.version == version:
                return info
        known = ", ".join(v.version for v in self.versions()) or "none"
        raise OnlineStoreError(f"no version {version!r} in {self.url} (versions: {known})")


# ------------------------------------------------------------------------------------------------
# Redis
# ------------------------------------------------------------------------------------------------


# HMGET of many fields, answered as ONE JSON array text ('null' for a missing field): a Python
# client parses one reply instead of 1,000. The ids come newline-joined in one argument, which
# also spares the client from packing 1,000 arguments. One key per call, so it is cluster-safe.
_MULTIGET = """
local s, ids, start = ARGV[1], {}, 1
while true do
  local i = string.find(s, '\\n', start, true)
  if not i then ids[#ids + 1] = string.sub(s, start); break end
  ids[#ids + 1] = string.sub(s, start, i - 1)
  start = i + 1
end
local out = {}
for lo = 1, #ids, 4000 do
  local vals = redis.call('HMGET', KEYS[1], unpack(ids, lo, math.min(lo + 3999, #ids)))
  for j = 1, #vals do
    out[#out + 1] = vals[j] or 'null'
  end
end
return '[' .. table.concat(out, ',') .. ']'
"""


class RedisBackend(Backend):
    """Keys: ``P:current`` (pointer JSON), ``P:versions`` (hash version -> info JSON), ``P:seq``;
    per version ``P:V:K:B`` (hash key -> record for record kind K, bucket B) and ``P:V:manifest``.

    Records live in a few large hashes rather than one key per entity: a version is then a short,
    known list of keys (cheap to delete, no SCAN), and a read of 1,000 shows is one HMGET per
    show bucket, all in one pipeline.
    """

    networked = True

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = redact(url)
        clean, self.prefix = _split_prefix(url)
        redis_module = require("redis", "redis")
        self._no_script: type[Exception] = redis_module.exceptions.NoScriptError
        try:
            self.client: redis.Redis = redis_module.Redis.from_url(
                clean, socket_timeout=timeout, socket_connect_timeout=min(timeout, 5.0)
            )
        except ValueError as exc:
            raise ConfigError(f"bad Redis URL {self.url!r}: {error_cause(exc, url)}") from None
        self._pointer_raw: bytes | None = None
        self._pointer: Pointer | None = None
        self._multiget_sha: str | None = None

    def _key(self, *parts: str | int) -> str:
        return ":".join([self.prefix, *(str(p) for p in parts)])

    def record_key(self, version: str, kind: str, bucket: int) -> str:
        return self._key(version, kind, bucket)

    def new_version(self, as_of: str, buckets: dict[str, int]) -> VersionInfo:
        seq = int(self.client.incr(self._key("seq")))
        info = VersionInfo(
            version=f"{as_of.replace('-', '')}-{seq}",
            seq=seq,
            as_of=as_of,
            state=WRITING,
            created_at=utc_now(),
            buckets=dict(buckets),
        )
        self.save_info(info)
        return info

    def save_info(self, info: VersionInfo) -> None:
        self.client.hset(self._key("versions"), info.version, info.to_json())

    def versions(self) -> list[VersionInfo]:
        raw = self.client.hgetall(self._key("versions"))  # small: a handful of versions
        return sorted((VersionInfo.from_json(v) for v in raw.values()), key=lambda i: i.seq)

    def current(self) -> Pointer | None:
        return self._parse_pointer(self.client.get(self._key("current")))

    def _parse_pointer(self, raw: Any) -> Pointer | None:
        if raw is None:
            return None
        if raw != self._pointer_raw:  # parse only when it moved
            self._pointer, self._pointer_raw = Pointer.from_json(raw), raw
        return self._pointer

    def switch(self, info: VersionInfo) -> None:
        pointer = Pointer(info.version, info.as_of, info.buckets)
        pipe = self.client.pipeline(transaction=True)  # MULTI/EXEC: both or neither
        pipe.hset(self._key("versions"), info.version, info.to_json())
        pipe.set(self._key("current"), pointer.to_json())
        pipe.execute()

    def _version_keys(self, info: VersionInfo) -> list[str]:
        keys = [self._key(info.version, "manifest")]
        for kind, n in info.buckets.items():
            keys += [self.record_key(info.version, kind, b) for b in range(n)]
        return keys

    def drop(self, info: VersionInfo) -> None:
        keys = self._version_keys(info)
        for i in range(0, len(keys), 500):
            self.client.unlink(*keys[i : i + 500])  # UNLINK frees big hashes in the background
        self.client.hdel(self._key("versions"), info.version)

    def manifest(self, version: str) -> list[dict[str, Any]]:
        raw = self.client.hgetall(self._key(version, "manifest"))  # small: one entry a task
        return [json.loads(v) for v in raw.values()]

    def stored_records(self, info: VersionInfo) -> dict[str, int]:
        pipe = self.client.pipeline(transaction=False)
        order = []
        for kind, n in info.buckets.items():
            for b in range(n):
                pipe.hlen(self.record_key(info.version, kind, b))
                order.append(kind)
        counts = dict.fromkeys(info.buckets, 0)
        for kind, n in zip(order, pipe.execute(), strict=True):
            counts[kind] += int(n)
        return counts

    def write_records(
        self,
        version: str,
        buckets: dict[str, int],
        records: Iterable[tuple[str, int, str, str]],
        batch_size: int,
    ) -> dict[str, int]:
        # One HSET carries up to batch_size fields of one hash; 16 HSETs go per pipeline
        # round trip, so the server sees few, large commands.
        pending: dict[tuple[str, int], dict[str, str]] = {}
        written = dict.fromkeys(buckets, 0)
        pipe = self.client.pipeline(transaction=False)
        queued = 0
        for kind, bucket, key, value in records:
            fields = pending.get((kind, bucket))
            if fields is None:
                fields = pending[(kind, bucket)] = {}
            fields[key] = value
            if len(fields) >= batch_size:
                pipe.hset(self.record_key(version, kind, bucket), mapping=fields)  # type: ignore[arg-type]
                written[kind] += len(fields)
                del pending[(kind, bucket)]
                queued += 1
                if queued >= 16:
                    pipe.execute()
                    queued = 0
        for (kind, bucket), fields in pending.items():
            pipe.hset(self.record_key(version, kind, bucket), mapping=fields)  # type: ignore[arg-type]
            written[kind] += len(fields)
        pipe.execute()
        return written

    def write_manifest(self, version: str, part: str, counts: dict[str, Any]) -> None:
        self.client.hset(self._key(version, "manifest"), part, json.dumps(counts))

    def read(self, user_id: str, show_ids: Sequence[str]) -> tuple[Pointer | None, Any, list[Any]]:
        pointer = self._parse_pointer(self.client.get(self._key("current")))
        if pointer is None:
            return None, None, []
        n_shows = pointer.buckets[SHOW_RECORD]
        by_bucket: dict[int, list[int]] = {}
        if not show_ids:
            pass
        elif n_shows == 1:
            by_bucket[0] = list(range(len(show_ids)))
        else:
            for i, sid in enumerate(show_ids):
                by_bucket.setdefault(bucket_of(sid, n_shows), []).append(i)
        if self._multiget_sha is None:
            self._multiget_sha = str(self.client.script_load(_MULTIGET))
        try:
            user, *replies = self._read_records(pointer, user_id, show_ids, by_bucket)
        except self._no_script:  # the server restarted or flushed its scripts
            self._multiget_sha = str(self.client.script_load(_MULTIGET))
            user, *replies = self._read_records(pointer, user_id, show_ids, by_bucket)
        parts = [json.loads(r) if isinstance(r, bytes) else decode_shows(r) for r in replies]
        if len(parts) == 1:
            return pointer, user, parts[0]
        shows: list[Any] = [None] * len(show_ids)
        for idx, records in zip(by_bucket.values(), parts, strict=True):
            for i, record in zip(idx, records, strict=True):
                shows[i] = record
        return pointer, user, shows

    def _read_records(
        self,
        pointer: Pointer,
        user_id: str,
        show_ids: Sequence[str],
        by_bucket: dict[int, list[int]],
    ) -> list[Any]:
        """One pipeline: the user's record, then one reply per show bucket."""
        v = pointer.version
        pipe = self.client.pipeline(transaction=False)
        n_users = pointer.buckets[USER_RECORD]
        pipe.hget(self.record_key(v, USER_RECORD, bucket_of(user_id, n_users)), user_id)
        for bucket, idx in by_bucket.items():
            key = self.record_key(v, SHOW_RECORD, bucket)
            ids = list(show_ids) if len(by_bucket) == 1 else [show_ids[i] for i in idx]
            joined = "\n".join(ids)
            if joined.count("\n") == len(ids) - 1:  # no id holds a newline
                pipe.evalsha(self._multiget_sha, 1, key, joined)  # type: ignore[arg-type]
            else:
                pipe.hmget(key, ids)
        return list(pipe.execute())

    def close(self) -> None:
        self.client.close()


# ------------------------------------------------------------------------------------------------
# SQLite
# ------------------------------------------------------------------------------------------------


class SqliteBackend(Backend):
    """Tables ``P_versions``, ``P_pointer`` (one row), ``P_manifest``, and per version one table
    ``P_K_V`` (key TEXT PRIMARY KEY, value TEXT) for each record kind K. WAL mode lets readers
    read a consistent snapshot while an export writes; dropping a version is dropping its tables.
    """

    def __init__(self, url: str, *, timeout: float = 10.0) -> None:
        self.url = redact(url)
        _, self.prefix = _split_prefix(url)
        # Split the URL as given: _split_prefix's urlunsplit round trip turns the absolute
        # ``sqlite:////abs`` (SQLAlchemy's spelling) into the relative ``sqlite://abs``.
        parts = urlsplit(url)
        path = parts.netloc + parts.path
        if path.startswith("//"):
            path = "/" + path.lstrip("/")
        if not path.strip("/") or path.endswith("/"):
            raise ConfigError(
                f"SQLite URL {self.url!r} names no file: use sqlite:///path/online.db"
            )
        self.path = path
        self.timeout = max(timeout, 60.0)  # writers from several tasks wait for each other
        self._conn: sqlite3.Connection | None = None
        self._schema_ready = False

    # -- connections -----------------------------------------------------------------------------
    def _connect(self) -> sqlite3.Connection:
        try:
            Path(self.path).parent.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
        except (sqlite3.Error, OSError) as exc:
            raise OnlineStoreError(f"cannot open SQLite store {self.path}: {exc}") from exc
        return conn

    @property
    def conn(self) -> sqlite3.Connection:
        if self._conn is None:
            self._conn = self._connect()
        return self._conn

    def _t(self, name: str) -> str:
        return f"{self.prefix}_{name}"

    def record_table(self, version: str, kind: str) -> str:
        return self._t(f"{kind}_{version.replace('-', '_')}")

    def _ensure_schema(self) -> None:
        if self._schema_ready:
            return
        c = self.conn
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self._t('versions')} "
            "(version TEXT PRIMARY KEY, seq INTEGER NOT NULL, info TEXT NOT NULL)"
        )
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self._t('pointer')} "
            "(id INTEGER PRIMARY KEY CHECK (id = 1), pointer TEXT NOT NULL)"
        )
        c.execute(
            f"CREATE TABLE IF NOT EXISTS {self._t('manifest')} "
            "(version TEXT NOT NULL, part TEXT NOT NULL, counts TEXT NOT NULL, "
            "PRIMARY KEY (version, part))"
        )
        self._schema_ready = True

    def _has_schema(self) -> bool:
        row = self.conn.execute(
            "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = ?",
            (self._t("pointer"),),
        ).fetchone()
        return bool(row[0])

    # -- registry and pointer ------------------------------------------------------------------
    def new_version(self, as_of: str, buckets: dict[str, int]) -> VersionInfo:
        self._ensure_schema()
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            row = c.execute(f"SELECT coalesce(max(seq), 0) + 1 FROM {self._t('versions')}")
            seq = int(row.fetchone()[0])
            info = VersionInfo(
                version=f"{as_of.replace('-', '')}-{seq}",
                seq=seq,
                as_of=as_of,
                state=WRITING,
                created_at=utc_now(),
                buckets=dict.fromkeys(buckets, 1),  # SQLite needs no buckets
            )
            c.execute(
                f"INSERT INTO {self._t('versions')} VALUES (?, ?, ?)",
                (info.version, info.seq, info.to_json()),
            )
            for kind in buckets:
                table = self.record_table(info.version, kind)
                c.execute(f"DROP TABLE IF EXISTS {table}")
                c.execute(
                    f"CREATE TABLE {table} (key TEXT PRIMARY KEY, value TEXT NOT NULL) "
                    "WITHOUT ROWID"
                )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        return info

    def save_info(self, info: VersionInfo) -> None:
        self._ensure_schema()
        self.conn.execute(
            f"UPDATE {self._t('versions')} SET info = ? WHERE version = ?",
            (info.to_json(), info.version),
        )

    def versions(self) -> list[VersionInfo]:
        if not self._has_schema():
            return []
        rows = self.conn.execute(f"SELECT info FROM {self._t('versions')} ORDER BY seq")
        return [VersionInfo.from_json(r[0]) for r in rows.fetchall()]  # small: a few versions

    def current(self) -> Pointer | None:
        if not self._has_schema():
            return None
        row = self.conn.execute(f"SELECT pointer FROM {self._t('pointer')}").fetchone()
        return None if row is None else Pointer.from_json(row[0])

    def switch(self, info: VersionInfo) -> None:
        self._ensure_schema()
        pointer = Pointer(info.version, info.as_of, info.buckets)
        c = self.conn
        c.execute("BEGIN IMMEDIATE")  # pointer and registry in one transaction
        try:
            c.execute(
                f"UPDATE {self._t('versions')} SET info = ? WHERE version = ?",
                (info.to_json(), info.version),
            )
            c.execute(
                f"INSERT OR REPLACE INTO {self._t('pointer')} VALUES (1, ?)", (pointer.to_json(),)
            )
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    def drop(self, info: VersionInfo) -> None:
        c = self.conn
        c.execute("BEGIN IMMEDIATE")
        try:
            for kind in RECORD_KINDS:
                c.execute(f"DROP TABLE IF EXISTS {self.record_table(info.version, kind)}")
            c.execute(f"DELETE FROM {self._t('manifest')} WHERE version = ?", (info.version,))
            c.execute(f"DELETE FROM {self._t('versions')} WHERE version = ?", (info.version,))
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise

    # -- checks ----------------------------------------------------------------------------------
    def manifest(self, version: str) -> list[dict[str, Any]]:
        rows = self.conn.execute(
            f"SELECT counts FROM {self._t('manifest')} WHERE version = ?", (version,)
        ).fetchall()  # small: one row a task
        return [json.loads(r[0]) for r in rows]

    def stored_records(self, info: VersionInfo) -> dict[str, int]:
        out = {}
        for kind in info.buckets:
            table = self.record_table(info.version, kind)
            out[kind] = int(self.conn.execute(f"SELECT count(*) FROM {table}").fetchone()[0])
        return out

    # -- executors -------------------------------------------------------------------------------
    def write_records(
        self,
        version: str,
        buckets: dict[str, int],
        records: Iterable[tuple[str, int, str, str]],
        batch_size: int,
    ) -> dict[str, int]:
        sql = {
            kind: f"INSERT OR REPLACE INTO {self.record_table(version, kind)} VALUES (?, ?)"
            for kind in buckets
        }
        c = self.conn
        batch: dict[str, list[tuple[str, str]]] = {kind: [] for kind in buckets}
        written = dict.fromkeys(buckets, 0)
        queued = 0
        # Commit every few thousand rows so that tasks writing at once take turns at the lock.
        size = max(batch_size, 5000)
        for kind, _bucket, key, value in records:
            batch[kind].append((key, value))
            queued += 1
            if queued >= size:
                self._insert(c, sql, batch, written)
                queued = 0
        self._insert(c, sql, batch, written)
        return written

    @staticmethod
    def _insert(
        c: sqlite3.Connection,
        sql: dict[str, str],
        batch: dict[str, list[tuple[str, str]]],
        written: dict[str, int],
    ) -> None:
        c.execute("BEGIN IMMEDIATE")
        try:
            for kind, rows in batch.items():
                if rows:
                    c.executemany(sql[kind], rows)
            c.execute("COMMIT")
        except BaseException:
            c.execute("ROLLBACK")
            raise
        for kind, rows in batch.items():
            written[kind] += len(rows)
            rows.clear()

    def write_manifest(self, version: str, part: str, counts: dict[str, Any]) -> None:
        self.conn.execute(
            f"INSERT OR REPLACE INTO {self._t('manifest')} VALUES (?, ?, ?)",
            (version, part, json.dumps(counts)),
        )

    # -- reads -----------------------------------------------------------------------------------
    def read(self, user_id: str, show_ids: Sequence[str]) -> tuple[Pointer | None, Any, list[Any]]:
        c = self.conn
        if not self._schema_ready:
            if not self._has_schema():
                return None, None, []
            self._schema_ready = True
        c.execute("BEGIN")  # one read transaction: pointer and records from the same snapshot
        try:
            row = c.execute(f"SELECT pointer FROM {self._t('pointer')}").fetchone()
            if row is None:
                return None, None, []
            pointer = Pointer.from_json(row[0])
            users = self.record_table(pointer.version, USER_RECORD)
            shows = self.record_table(pointer.version, SHOW_RECORD)
            user = c.execute(f"SELECT value FROM {users} WHERE key = ?", (user_id,)).fetchone()
            # json_each keeps the request's order and yields NULL for a show with no record.
            rows = c.execute(
                f"SELECT s.value FROM json_each(?) AS j LEFT JOIN {shows} AS s "
                "ON s.key = j.value ORDER BY j.key",
                (json.dumps(list(show_ids)),),
            ).fetchall()
        finally:
            c.execute("COMMIT")
        return pointer, None if user is None else user[0], decode_shows([r[0] for r in rows])

    def close(self) -> None:
        if self._conn is not None:
            self._conn.close()
            self._conn = None
