"""The life of a store: publish, a publish that dies midway, the re-run, rollback, retention.

One test per backend walks the whole sequence, because every publish is a few Spark jobs and the
steps need each other's state anyway.
"""

from __future__ import annotations

import sqlite3
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
import redis
from online_testdata import D1, D2, SHOWS, USERS, RedisServer, TinyWarehouse

from amp_features import cli
from amp_features.errors import OnlineStoreError
from amp_features.export import publish, retain, rollback, status
from amp_features.registry import FEATURES, vector_columns
from amp_features.serve import OnlineStore
from amp_features.serve.backends import open_backend

DEFAULTS = tuple(f.vector_default for f in FEATURES)


def _read_all(url: str) -> list[list[tuple[Any, ...]]]:
    with OnlineStore.from_url(url) as store:
        return [store.ranking_vectors(u, SHOWS) for u in USERS]


def _leftovers(url: str, version: str) -> list[str]:
    """Keys or tables of ``version`` still in the store."""
    if url.startswith("sqlite"):
        path = url.removeprefix("sqlite://").split("?")[0]
        with sqlite3.connect(path) as conn:
            rows = conn.execute(
                "SELECT name FROM sqlite_master WHERE name LIKE ?",
                (f"%{version.replace('-', '_')}%",),
            ).fetchall()
        return [r[0] for r in rows]
    client = redis.Redis.from_url(url.split("?")[0])
    prefix = url.split("prefix=")[1]
    return [k.decode() for k in client.scan_iter(match=f"{prefix}:{version}:*")]


@pytest.mark.parametrize("backend", ["sqlite", "redis"])
def test_publish_fail_rerun_rollback_retention(
    backend: str,
    spark: Any,
    tiny_warehouse: TinyWarehouse,
    redis_factory: Callable[[], RedisServer],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    wh = tiny_warehouse
    server: RedisServer | None = None
    if backend == "redis":
        server = redis_factory()  # its own server: this test stops it
        url = server.url("amp")
    else:
        url = f"sqlite://{tmp_path}/online.db"

    # 1. The first snapshot reads back as the offline join computes it. (Two records a bucket:
    # Redis reads then span several hashes, as in production.)
    first = publish(spark, wh.root, D1, url, records_per_bucket=2)
    assert first.previous_version is None
    assert first.rows == {
        "user": 3,
        "show": 6,
        "creator": 3,
        "user_topic": 6,
        "user_creator": 4,
        "show_attributes": 7,
    }
    wh.assert_online_matches(url, D1)
    d1_vectors = _read_all(url)
    with OnlineStore.from_url(url) as store:
        assert store.current_version() == first.version
        assert store.columns == tuple(vector_columns())
        # Nothing known about the pair: every default of section 5, nulls for 10, 11, 12, 16.
        assert store.ranking_vectors("u4", ["s404"]) == [DEFAULTS]
        (vector,) = store.ranking_vectors("u1", ["s1"])
        assert vector[:3] == (12, 95.25, 3) and type(vector[0]) is int
        assert vector[18:] == (0.7, True, 0.6)
        # 1,000 shows, repeats included, in one call; the order follows the request.
        many = [SHOWS[i % len(SHOWS)] for i in range(1000)]
        vectors = store.ranking_vectors("u1", many)
        assert len(vectors) == 1000 and vectors[len(SHOWS)] == vectors[0] == vector
        assert store.ranking_vectors("u1", []) == []

    # 2. The store fails in the middle of the next publish.
    def fail_midway(stage: str) -> None:
        if stage != "writing the records":
            return
        if server is not None:
            server.stop()  # Redis goes away (its data is saved, as a persistent store's is)
        else:
            # The new version's user and creator records get written, its show records fail.
            with sqlite3.connect(url.removeprefix("sqlite://")) as conn:
                table = next(
                    r[0]
                    for r in conn.execute(
                        "SELECT name FROM sqlite_master WHERE name LIKE 'amp_s_%'"
                    )
                    if not r[0].endswith(first.version.replace("-", "_"))
                )
                conn.execute(
                    f"CREATE TRIGGER full_disk BEFORE INSERT ON {table} "
                    "BEGIN SELECT RAISE(ABORT, 'database or disk is full'); END"
                )

    with pytest.raises(OnlineStoreError) as err:
        publish(spark, wh.root, D2, url, on_stage=fail_midway)
    message = str(err.value)
    assert "failed while writing the records" in message
    # Checked against the store, not assumed: a stopped Redis cannot be asked.
    assert (
        f"live version is still {first.version}"
        if server is None
        else "could not be reached to check what readers see now"
    ) in message
    assert "run the export again" in message
    if server is not None:
        server.start()

    # Readers still get the previous snapshot, whole.
    with OnlineStore.from_url(url) as store:
        assert store.current_version() == first.version
    assert _read_all(url) == d1_vectors
    live, versions = status(url)
    broken = versions[-1]
    assert live == first.version and broken.state in ("writing", "failed")

    # 3. Running the export again (through the CLI, gate overridden) completes it.
    monkeypatch.setattr(cli, "spark_from_args", lambda args: spark)
    argv = ["export", "--as-of", str(D2), "--warehouse", wh.root, "--online", url]
    assert cli.main([*argv, "--skip-quality-gate"]) == 0
    live, versions = status(url)
    assert live is not None and live != first.version
    second = live
    assert [v.version for v in versions] == [first.version, second]  # the broken one is gone
    assert _leftovers(url, broken.version) == []
    wh.assert_online_matches(url, D2)
    d2_vectors = _read_all(url)
    assert d2_vectors != d1_vectors

    # 4. Rollback (CLI) restores the previous version; --to goes forward again.
    capsys.readouterr()
    assert cli.main(["online", "rollback", "--online", url]) == 0
    assert f"live version is now {first.version}" in capsys.readouterr().out
    assert _read_all(url) == d1_vectors
    assert cli.main(["online", "rollback", "--online", url]) == 1  # nothing older
    assert "no version older than" in capsys.readouterr().err
    rollback(url, to=second)
    assert _read_all(url) == d2_vectors

    # 5. Retention (run by every publish, as in step 3): keeping one version deletes the other.
    backend = open_backend(url)
    try:
        assert retain(backend, 1) == [first.version]
    finally:
        backend.close()
    assert _leftovers(url, first.version) == []
    assert _read_all(url) == d2_vectors
    capsys.readouterr()
    assert cli.main(["online", "status", "--online", url]) == 0
    out = capsys.readouterr().out
    assert f"* {second}" in out and first.version not in out
    with pytest.raises(OnlineStoreError, match=f"no version {first.version!r}"):
        rollback(url, to=first.version)


def test_export_command_fails_clearly_when_the_store_is_down(
    spark: Any,
    tiny_warehouse: TinyWarehouse,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> None:
    monkeypatch.setattr(cli, "spark_from_args", lambda args: spark)
    url = "redis://:pw@127.0.0.1:1/0"  # nothing listens on port 1
    argv = ["export", "--as-of", str(D1), "--warehouse", tiny_warehouse.root, "--online", url]
    assert cli.main([*argv, "--skip-quality-gate"]) == 1
    err = capsys.readouterr().err
    last = err.strip().splitlines()[-1]
    assert last.startswith("amp-features: error: export of as_of 2026-01-20 to redis://:***@")
    assert "failed while opening the store" in err and "pw@" not in err
