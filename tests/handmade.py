"""Commit rows written by hand: tests that build a warehouse table by table (no pipeline run)
still need a commit for readers to see a snapshot, as a completed run appends one last."""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import Any


def append_hand_commit(
    spark: Any,
    warehouse: str,
    as_of: dt.date,
    run_id: str,
    versions: Mapping[str, int],
    rows: Mapping[str, int] | None = None,
) -> Any:
    """Append a full-mode commit row of ``as_of`` pinning ``versions``; returns the Commit."""
    from amp_features.offline import snapshots

    commit = snapshots.Commit(
        as_of=as_of,
        commit_id=snapshots.commit_id(run_id, as_of),
        run_id=run_id,
        mode="full",
        committed_at=dt.datetime.now(dt.UTC),
        versions=dict(versions),
        rows=dict(rows or {}),
    )
    snapshots.append_commit(spark, warehouse, commit)
    return commit
