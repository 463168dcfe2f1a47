"""A redis-server on loopback for the tests that need a real Redis (tests/online, tests/faults,
tests/e2e); the ``redis_server`` fixture in ``tests/conftest.py`` starts one per test process. A
module of its own name (not ``conftest``), so that test files import it unambiguously.
"""

from __future__ import annotations

import contextlib
import shutil
import socket
import subprocess
import time
from pathlib import Path

REDIS_SERVER = shutil.which("redis-server")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class RedisServer:
    """A redis-server on 127.0.0.1 in its own folder; ``stop`` saves, ``start`` reloads."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.port = _free_port()
        self.proc: subprocess.Popen[bytes] | None = None

    def url(self, prefix: str) -> str:
        return f"redis://127.0.0.1:{self.port}/0?prefix={prefix}"

    def start(self) -> None:
        if REDIS_SERVER is None:
            raise RuntimeError("redis-server not found: run scripts/bootstrap.sh --with-redis")
        self.proc = subprocess.Popen(
            [REDIS_SERVER, "--port", str(self.port), "--bind", "127.0.0.1",
             "--dir", str(self.folder), "--dbfilename", "dump.rdb", "--save", "",
             "--appendonly", "no", "--logfile", str(self.folder / "redis.log")],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )  # fmt: skip
        import redis

        deadline = time.monotonic() + 15
        while True:
            try:
                redis.Redis(port=self.port, socket_connect_timeout=1).ping()
                return
            except redis.ConnectionError:
                if time.monotonic() > deadline or self.proc.poll() is not None:
                    self.stop()
                    raise RuntimeError(f"redis-server did not start on port {self.port}") from None
                time.sleep(0.05)

    def crash(self) -> None:
        """SIGKILL: nothing is saved, so the next ``start`` is an empty server."""
        assert self.proc is not None
        self.proc.kill()
        self.proc.wait()
        self.proc = None

    def stop(self) -> None:
        """SHUTDOWN SAVE: the data survives to the next ``start``, like a persistent store."""
        if self.proc is None:
            return
        import redis

        with contextlib.suppress(redis.RedisError):  # a successful SHUTDOWN drops the line
            redis.Redis(port=self.port, socket_connect_timeout=1).shutdown(save=True)
        try:
            self.proc.wait(timeout=15)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.proc = None
