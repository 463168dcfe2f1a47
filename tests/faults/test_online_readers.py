"""Readers of the online store while Redis fails during an export: a reader loop asks for every
user's vectors, without pause, while the export of a new version meets a frozen server (SIGSTOP
for 1.5 s while the records are written), a server shut down midway (SHUTDOWN SAVE, restarted
from its dump) and a killed one (SIGKILL, restarted empty). Each read is classified against the
two versions' vectors as served by a reference server: old, new, failed, or mixed (neither). A
mixed read is the failure this guards against: some shows of one version, some of another.

Real redis-servers on 127.0.0.1, the online tests' tiny warehouse (two dates whose vectors
differ), the export's own code path (``publish``) on the test session.
"""

from __future__ import annotations

import os
import signal
import sys
import threading
import time
from collections import Counter
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

TESTS = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(TESTS / "online")]
# The export writes from Spark's Python workers, which need this interpreter's packages (redis).
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)

from online_testdata import D1, D2, SHOWS, USERS, write_tiny_warehouse  # noqa: E402
from redisserver import REDIS_SERVER, RedisServer  # noqa: E402

from amp_features.errors import OnlineStoreError  # noqa: E402
from amp_features.export import publish  # noqa: E402
from amp_features.serve import OnlineStore  # noqa: E402

pytestmark = [
    pytest.mark.slow,
    pytest.mark.skipif(REDIS_SERVER is None, reason="needs redis-server"),
]
Vectors = dict[str, list[tuple[Any, ...]]]


def read_all(url: str) -> Vectors:
    with OnlineStore.from_url(url) as store:
        return {u: store.ranking_vectors(u, SHOWS) for u in USERS}


class ReaderLoop:
    """A thread reading every user's vectors in a loop, counting what each read returned."""

    def __init__(self, url: str, old: Vectors, new: Vectors) -> None:
        self.url, self.old, self.new = url, old, new
        self.seen: Counter[str] = Counter()
        self.errors: list[str] = []
        self.mixed: list[tuple[str, list[tuple[Any, ...]]]] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, daemon=True)

    def _classify(self, user: str, got: list[tuple[Any, ...]]) -> str:
        if got == self.old[user]:
            return "old"
        if got == self.new[user]:
            return "new"
        self.mixed.append((user, got))
        return "mixed"

    def _loop(self) -> None:
        while not self._stop.is_set():
            try:  # a new client after each failure, as a service would reconnect
                with OnlineStore.from_url(self.url) as store:
                    while not self._stop.is_set():
                        for user in USERS:
                            got = store.ranking_vectors(user, SHOWS)
                            self.seen[self._classify(user, got)] += 1
            except OnlineStoreError as exc:
                self.seen["failed"] += 1
                self.errors.append(str(exc))
                time.sleep(0.02)

    def __enter__(self) -> ReaderLoop:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(30)

    def settle(self, kind: str, reads: int = 20) -> None:
        """Wait until ``reads`` more reads of ``kind`` have been counted."""
        target = self.seen[kind] + reads
        deadline = time.monotonic() + 60
        while self.seen[kind] < target:
            assert time.monotonic() < deadline, f"no {kind} reads: {self.seen} {self.errors[-3:]}"
            time.sleep(0.02)


@pytest.fixture(scope="module")
def tiny_wh(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    root = str(tmp_path_factory.mktemp("readers-wh"))
    write_tiny_warehouse(spark, root)
    return root


@pytest.fixture()
def redis_pair(tmp_path: Path) -> Iterator[tuple[RedisServer, RedisServer]]:
    """The store under test and a reference store that only ever publishes cleanly."""
    made = [RedisServer(tmp_path / name) for name in ("store", "reference")]
    for server in made:
        server.folder.mkdir()
        server.start()
    yield made[0], made[1]
    for server in made:
        if server.proc is not None:
            os.kill(server.proc.pid, signal.SIGCONT)  # a failed test may leave it frozen
        server.stop()


def test_readers_see_one_whole_version_while_redis_freezes_stops_or_dies_in_an_export(
    spark: Any, tiny_wh: str, redis_pair: tuple[RedisServer, RedisServer]
) -> None:
    server, reference = redis_pair
    url, ref_url = server.url("amp"), reference.url("amp")
    publish(spark, tiny_wh, D1, ref_url)
    old = read_all(ref_url)
    publish(spark, tiny_wh, D2, ref_url)
    new = read_all(ref_url)
    assert old != new  # the two versions differ: a mix of them would show
    # ...and the classifier calls a splice of the two (some shows old, some new) mixed.
    differ = {u: [i for i, (a, b) in enumerate(zip(old[u], new[u], strict=True)) if a != b]
              for u in USERS}  # fmt: skip
    user = next(u for u in USERS if len(differ[u]) >= 2)
    first = differ[user][0]
    spliced = [new[user][i] if i == first else v for i, v in enumerate(old[user])]
    assert ReaderLoop(url, old, new)._classify(user, spliced) == "mixed"
    publish(spark, tiny_wh, D1, url)
    assert read_all(url) == old
    assert server.proc is not None

    def at_writes(action: Any) -> Any:
        def hook(stage: str) -> None:
            if stage == "writing the records":
                action()

        return hook

    with ReaderLoop(url, old, new) as readers:
        readers.settle("old")

        # 1. Frozen while the records are written: the export waits it out and completes.
        def freeze() -> None:
            assert server.proc is not None
            os.kill(server.proc.pid, signal.SIGSTOP)
            pid = server.proc.pid
            threading.Timer(1.5, lambda: os.kill(pid, signal.SIGCONT)).start()

        publish(spark, tiny_wh, D2, url, on_stage=at_writes(freeze))
        readers.settle("new")
        assert readers.seen["failed"] == 0, readers.errors  # reads waited (5 s socket timeout)
        assert read_all(url) == new

        # 2. Shut down (saving) while the records of D1 are written: the export fails, and the
        # restarted server still serves the live version, whole.
        with pytest.raises(OnlineStoreError, match="failed while writing the records"):
            publish(spark, tiny_wh, D1, url, on_stage=at_writes(server.stop))
        failed_before = readers.seen["failed"]
        time.sleep(0.5)
        assert readers.seen["failed"] > failed_before  # nothing listens: reads fail, loudly
        server.start()
        readers.settle("new")

        # 3. Killed while writing (no persistence): the restarted server is empty, so readers
        # get an error, never a partial version.
        with pytest.raises(OnlineStoreError, match="failed while writing the records"):
            publish(spark, tiny_wh, D1, url, on_stage=at_writes(server.crash))
        (server.folder / "dump.rdb").unlink(missing_ok=True)  # SIGKILL saves nothing
        server.start()
        readers.settle("failed")
        assert "no version published" in readers.errors[-1]

        # The re-run of the export publishes D1 whole.
        publish(spark, tiny_wh, D1, url)
        readers.settle("old")

    print(f"reads during the three faults: {dict(readers.seen)}")  # shown with -s
    assert readers.mixed == [], readers.mixed[:3]
    assert readers.seen["old"] >= 40 and readers.seen["new"] >= 40, readers.seen
