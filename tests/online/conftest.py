"""Fixtures of the online-store tests: extra real redis-servers on loopback (the shared one,
``redis_server``, is in tests/conftest.py) and a tiny warehouse (its data: ``online_testdata.py``)."""

from __future__ import annotations

import itertools
import os
import shutil
import sys
import tempfile
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from online_testdata import RedisServer, TinyWarehouse, write_tiny_warehouse

# The export writes from Spark's Python workers, which need this interpreter's packages (redis).
# An in-process PySpark reads only this variable (not spark.pyspark.python) for its workers.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


@pytest.fixture()
def redis_factory() -> Iterator[Callable[[], RedisServer]]:
    """Start extra servers (a test that stops its server gets its own); all stopped after."""
    servers: list[RedisServer] = []
    folders: list[str] = []

    def make() -> RedisServer:
        folders.append(tempfile.mkdtemp(prefix="amp-redis-"))
        server = RedisServer(Path(folders[-1]))
        servers.append(server)
        server.start()
        return server

    yield make
    for server in servers:
        server.stop()
    for folder in folders:
        shutil.rmtree(folder, ignore_errors=True)


_PREFIXES = itertools.count(1)


@pytest.fixture(params=["sqlite", "redis"])
def store_url(request: pytest.FixtureRequest, tmp_path: Path) -> str:
    """A fresh, empty store on each backend."""
    if request.param == "sqlite":
        return f"sqlite://{tmp_path}/online.db"
    server: RedisServer = request.getfixturevalue("redis_server")
    return server.url(f"t{next(_PREFIXES)}")


@pytest.fixture(scope="session")
def tiny_warehouse(spark: Any) -> Iterator[TinyWarehouse]:
    root = tempfile.mkdtemp(prefix="amp-online-wh-")
    write_tiny_warehouse(spark, root)
    yield TinyWarehouse(root, spark)
    shutil.rmtree(root, ignore_errors=True)
