"""The warehouse write lease (``offline.lease``) in one process: a second holder is refused with a
message naming the first; an expired lease (a holder that stopped renewing) can be taken, and the
stalled holder then learns it lost the lease before it commits anything."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path
from typing import Any

import pytest

from amp_features.errors import WarehouseBusyError
from amp_features.offline import lease as leases


def test_second_holder_is_refused_naming_the_first_and_release_frees_it(
    spark: Any, tmp_path: Path
) -> None:
    wh = str(tmp_path / "wh")
    with leases.hold(spark, wh, "run-a", "run run-a (as_of 2026-05-20)") as first:
        with pytest.raises(WarehouseBusyError) as err:
            leases.Lease(spark, wh, "run-b", "run run-b (as_of 2026-05-20)", 60).acquire()
        message = str(err.value)
        assert "is busy: another run holds its write lease: run run-a (as_of 2026-05-20)" in message
        assert f"pid {os.getpid()} on {socket.gethostname()}" in message
        first.check()  # still ours
    # Released: the next run takes it at once.
    with leases.hold(spark, wh, "run-b", "run run-b") as second:
        second.check()


def test_an_expired_lease_is_taken_and_its_old_holder_cannot_commit(
    spark: Any, tmp_path: Path
) -> None:
    wh = str(tmp_path / "wh")
    stalled = leases.Lease(spark, wh, "run-a", "run run-a", ttl=3).acquire()
    stalled._stop.set()  # a holder that stopped renewing (a stuck driver, a paused VM)
    time.sleep(4)
    taker = leases.Lease(spark, wh, "run-b", "run run-b", ttl=60).acquire()
    try:
        with pytest.raises(WarehouseBusyError, match=r"no longer held .*run run-b"):
            stalled.check()  # what the runner calls before appending a commit row
        taker.check()
    finally:
        taker.release()
