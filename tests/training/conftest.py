"""A hand-written offline store in the warehouse's layout, shared by the training and explore tests.

Snapshots exist (and are committed) as_of 2026-03-01, 03-02, 03-03 and 03-05 (03-04 is a gap).
03-06 exists only in the ``user`` table and has no commit row, so it is not a complete snapshot. Every number depends on the as_of, so a
vector read from the wrong snapshot changes the result.

User u1 plays once a day from 03-01, so ``sessions_60d`` as of D counts the days 03-01..D:
a snapshot that includes the example's own day shows one session more.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from handmade import append_hand_commit

from amp_features.layout import Warehouse
from amp_features.offline import snapshots
from amp_features.registry import REGISTRY, table_columns

D = dt.date
SNAPSHOTS = [D(2026, 3, 1), D(2026, 3, 2), D(2026, 3, 3), D(2026, 3, 5)]
USER_ONLY = D(2026, 3, 6)


def sessions_of_u1(as_of: dt.date) -> int:
    """u1 played once on each day from 03-01, so the count as of D is the days 03-01..D."""
    return (as_of - D(2026, 3, 1)).days + 1


def ddl(columns: list[str]) -> str:
    def dtype(column: str) -> str:
        if column == "as_of":
            return "date"
        return REGISTRY[column].dtype if column in REGISTRY else "string"

    return ", ".join(f"{c} {dtype(c)}" for c in columns)


def frame(spark: Any, group: str, rows: list[dict[str, Any]]) -> Any:
    """A group's table from row dicts; features not given are null."""
    columns = table_columns(group)
    return spark.createDataFrame([tuple(r.get(c) for c in columns) for r in rows], ddl(columns))


def attributes_frame(spark: Any, rows: list[tuple[str, str | None, str | None, dt.date]]) -> Any:
    return spark.createDataFrame(
        rows, "show_id string, creator_id string, topic string, as_of date"
    )


def hand_rows(as_of: dt.date) -> dict[str, list[dict[str, Any]]]:
    n = sessions_of_u1(as_of)
    day = {"as_of": as_of}
    return {
        "user": [
            {
                "user_id": "u1",
                "sessions_60d": n,
                "listen_minutes_60d": 10.0 * n,
                "long_sessions_60d": n - 1,
                "active_days_60d": n,
                "distinct_shows_60d": 2,
                "distinct_creators_60d": 1,
                "likes_60d": n // 2,
                "follows_60d": 1,
                "notifications_enabled_60d": 0,
                "days_since_last_listen": 0,
                "preferred_hour_utc": 20,
                "tenure_days": 100 + n,
                **day,
            },
            # u2 has engagement only: counts 0, playback-derived features null.
            {
                "user_id": "u2",
                **{f: 0 for f in ("sessions_60d", "long_sessions_60d", "active_days_60d")},
                "listen_minutes_60d": 0.0,
                "distinct_shows_60d": 0,
                "distinct_creators_60d": 0,
                "likes_60d": n,
                "follows_60d": 0,
                "notifications_enabled_60d": 1,
                "tenure_days": None,
                **day,
            },
        ],
        "show": [
            {
                "show_id": "s1",
                "show_plays_60d": 3 * n,
                "show_unique_listeners_60d": 2,
                "show_likes_60d": n,
                "show_avg_listen_minutes_60d": 5.0 + n,
                **day,
            },
            {
                "show_id": "s3",  # an orphan show: plays, but no attributes
                "show_plays_60d": n,
                "show_unique_listeners_60d": 1,
                "show_likes_60d": 0,
                "show_avg_listen_minutes_60d": 1.5,
                **day,
            },
        ],
        "creator": [
            {"creator_id": "c1", "creator_plays_60d": 4 * n, "creator_new_follows_60d": 1, **day}
        ],
        "user_topic": [
            {
                "user_id": "u1",
                "topic": "music",
                "topic_affinity": 1.0 / n,
                "topic_declared": n % 2 == 0,
                **day,
            },
            {
                "user_id": "u2",
                "topic": "news",
                "topic_affinity": 0.0,
                "topic_declared": True,
                **day,
            },
        ],
        "user_creator": [
            {"user_id": "u1", "creator_id": "c1", "creator_affinity": 0.5 + n / 100, **day}
        ],
    }


def write_warehouse(spark: Any, root: str) -> str:
    wh = Warehouse(root)
    by_group: dict[str, list[dict[str, Any]]] = {}
    for as_of in SNAPSHOTS:
        for group, rows in hand_rows(as_of).items():
            by_group.setdefault(group, []).extend(rows)
    by_group["user"].extend(r for r in hand_rows(USER_ONLY)["user"])
    for group, rows in by_group.items():
        frame(spark, group, rows).write.format("delta").partitionBy("as_of").save(
            wh.feature_table(group)
        )
    attrs = [
        row
        for as_of in SNAPSHOTS
        for row in (("s1", "c1", "music", as_of), ("s2", "c2", "news", as_of))
    ]
    attributes_frame(spark, attrs).write.format("delta").partitionBy("as_of").save(
        wh.show_attributes
    )
    # The commit rows say which as_of dates are complete and which version of each table readers
    # see: the latest version of each (the tables were written once); 03-06 was never committed.
    versions = {t: 0 for t in snapshots.SNAPSHOT_TABLES}
    for as_of in SNAPSHOTS:
        append_hand_commit(spark, root, as_of, "hand", versions, rows={"user": 2})
    return root


@pytest.fixture(scope="session")
def pit_warehouse(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> str:
    """The hand-written warehouse root (read-only for tests)."""
    return write_warehouse(spark, str(tmp_path_factory.mktemp("pit-warehouse")))


@pytest.fixture()
def examples_of(spark: Any) -> Callable[[list[tuple[Any, ...]]], Any]:
    """Examples (example_id, user_id, show_id, event_ts, label) from tuples."""

    def make(rows: list[tuple[Any, ...]]) -> Any:
        return spark.createDataFrame(
            rows, "example_id string, user_id string, show_id string, event_ts timestamp, label int"
        )

    return make


@pytest.fixture()
def empty_dir(tmp_path: Path) -> str:
    return str(tmp_path)
