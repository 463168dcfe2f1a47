"""The warehouse write lease (``offline.lease``) in one process: a second holder is refused with a
message naming the first; an expired lease (a holder that stopped renewing) can be taken, and the
stalled holder then learns it lost the lease before it commits anything."""

from __future__ import annotations

import os
import socket
import time
from pathlib import Path

import pytest

from amp_features.errors import WarehouseBusyError
from amp_features.offline import lease as leases


def test_second_holder_is_refused_naming_the_first_and_release_frees_it(
    tmp_path: Path,
) -> None:
    wh = str(tmp_path / "wh")
    with leases.hold(wh, "run-a", "run run-a (as_of 2026-05-20)") as first:
        with pytest.raises(WarehouseBusyError) as err:
            leases.Lease(wh, "run-b", "run run-b (as_of 2026-05-20)", 60).acquire()
        message = str(err.value)
        assert "is busy: another run holds its write lease: run run-a (as_of 2026-05-20)" in message
        assert f"pid {os.getpid()} on {socket.gethostname()}" in message
        first.check()  # still ours
    # Released: the next run takes it at once.
    with leases.hold(wh, "run-b", "run run-b") as second:
        second.check()


def test_an_expired_lease_is_taken_and_its_old_holder_cannot_commit(
    tmp_path: Path,
) -> None:
    wh = str(tmp_path / "wh")
    stalled = leases.Lease(wh, "run-a", "run run-a", ttl=3).acquire()
    stalled._stop.set()  # a holder that stopped renewing (a stuck driver, a paused VM)
    time.sleep(4)
    taker = leases.Lease(wh, "run-b", "run run-b", ttl=60).acquire()
    try:
        with pytest.raises(WarehouseBusyError, match=r"no longer held .*run run-b"):
            stalled.check()  # what the runner calls before appending a commit row
        taker.check()
    finally:
        taker.release()


def test_of_many_runs_racing_for_a_free_lease_exactly_one_holds_it(tmp_path: Path) -> None:
    import threading

    wh = str(tmp_path / "wh")
    barrier = threading.Barrier(6)
    held: list[leases.Lease] = []
    refused: list[str] = []

    def race(i: int) -> None:
        barrier.wait()
        try:
            held.append(leases.Lease(wh, f"run-{i}", f"run run-{i}", 60).acquire())
        except WarehouseBusyError as exc:
            refused.append(str(exc))

    threads = [threading.Thread(target=race, args=(i,)) for i in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert len(held) == 1 and len(refused) == 5, (held, refused)
    winner = held[0]
    assert all(f"holds its write lease: {winner.owner} (pid" in r for r in refused)
    winner.check()
    winner.release()
    assert not (tmp_path / "wh" / "state" / "lease.json").exists()


def test_a_lease_whose_process_is_gone_is_taken_over_at_once(tmp_path: Path) -> None:
    import subprocess
    import sys

    wh = str(tmp_path / "wh")
    # A holder in another process, killed without releasing: its lease is still unexpired.
    code = (
        "import os; from amp_features.offline import lease as l; "
        f"l.Lease({wh!r}, 'dead', 'run dead', 600).acquire(); os._exit(0)"
    )
    subprocess.run([sys.executable, "-c", code], check=True)
    assert "run dead" in (tmp_path / "wh" / "state" / "lease.json").read_text()
    with leases.hold(wh, "run-b", "run run-b") as lease:
        lease.check()
