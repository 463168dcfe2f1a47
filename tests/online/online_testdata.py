"""Test data and helpers of the online-store tests (imported by ``conftest.py`` and the tests).

The tiny warehouse holds two as_of snapshots written by hand in the offline store's layout (five
feature tables and show_attributes, Delta, partitioned by as_of). Its rows cover the cases of
section 5 of the contract: users and shows without rows, orphan shows (features but no
attributes), shows with a null or empty creator/topic, a creator without a row, topics that need
JSON escaping, doubles that need every digit.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from handmade import append_hand_commit
from redisserver import REDIS_SERVER, RedisServer, _free_port  # noqa: F401 (re-exported)

D1 = dt.date(2026, 1, 20)
D2 = dt.date(2026, 1, 21)
MUSICA = 'música "en vivo"\\n'  # quotes, a backslash and non-ASCII: JSON escaping


# -- the tiny warehouse --------------------------------------------------------------------------

ATTRIBUTES = [  # show_id, creator_id, topic
    ("s1", "c1", "rock"),
    ("s2", "c2", "jazz"),
    ("s3", None, "rock"),  # unknown creator
    ("s4", "", ""),  # empty creator and topic: unknown
    ("s5", "c1", "news"),  # no show row
    ("s6", "c3", "jazz"),  # creator without a creator row
    ("s7", "c2", MUSICA),
]


def _rows(day: dt.date) -> dict[str, list[tuple[Any, ...]]]:
    bump = 0 if day == D1 else 100  # D2 differs from D1 in every user row
    return {
        "user": [
            ("u1", 12 + bump, 95.25, 3, 7, 4, 3, 2, 1, 0, 2, 14, 430),
            ("u2", 0 + bump, 0.0, 0, 0, 0, 0, 1, 2, 0, None, None, None),
            ("u5", 1 + bump, 1 / 3, 0, 1, 1, 1, 0, 0, 0, 59, 23, 5),
        ],
        "show": [
            ("s1", 40, 12, 3, 7.5),
            ("s2", 5, 5, 0, 2 / 3),
            ("s3", 9, 2, 1, 11.1),
            ("s4", 0, 0, 2, None),  # liked, never played
            ("s7", 1, 1, 0, 1e-7),
            ("s9", 2, 1, 0, 0.5),  # orphan: not in shows
        ],
        "creator": [("c1", 45, 2), ("c2", 6, 0), ("c7", 0, 3)],  # c7: followed, no shows
        "user_topic": [
            ("u1", "rock", 0.7, True),
            ("u1", "jazz", 0.1 + 0.2, False),
            ("u1", "news", 0.0, True),
            ("u1", MUSICA, 0.123456789012345, False),
            ("u2", "jazz", 1.0, False),
            ("u3", "rock", 0.0, True),  # declared only: no user row
        ],
        "user_creator": [
            ("u1", "c1", 0.6),
            ("u1", "c2", 0.4),
            ("u2", "c2", 1.0),
            ("u3", "c7", 0.0),
        ],
    }


USERS = ["u1", "u2", "u3", "u4", "u5"]  # u4 has no row anywhere
SHOWS = ["s1", "s2", "s3", "s4", "s5", "s6", "s7", "s9", "s404"]  # s404: nowhere


def vector_schema() -> str:
    """The schema of the offline join's output for (user_id, show_id) pairs."""
    from amp_features.registry import FEATURES

    return ", ".join(
        ["user_id string", "show_id string", *(f"{f.name} {f.dtype}" for f in FEATURES)]
    )


def write_tiny_warehouse(spark: Any, root: str) -> None:
    """Both snapshots, written and committed through the offline store as a run does (readers
    resolve each date through its commit row). The commits are unvalidated: these tests are
    about the online store, and they publish without the quality gate."""
    from amp_features.offline import snapshots
    from amp_features.registry import GROUPS, REGISTRY, table_columns

    for day in (D1, D2):
        versions = {}
        for group in GROUPS:
            ddl = ", ".join(
                f"{c} "
                + ("date" if c == "as_of" else REGISTRY[c].dtype if c in REGISTRY else "string")
                for c in table_columns(group)
            )
            df = spark.createDataFrame([(*r, day) for r in _rows(day)[group]], ddl)
            versions[group], _ = snapshots.write_table(spark, df, root, group, day)
        attrs = spark.createDataFrame(
            [(*a, day) for a in ATTRIBUTES],
            "show_id string, creator_id string, topic string, as_of date",
        )
        table = snapshots.SHOW_ATTRIBUTES
        versions[table], _ = snapshots.write_table(spark, attrs, root, table, day)
        append_hand_commit(spark, root, day, "tiny", versions)


@dataclass
class TinyWarehouse:
    root: str
    spark: Any

    def offline_vectors(self, day: dt.date, users: list[str], shows: list[str]) -> Any:
        """The lead's offline join for every (user, show) pair, as the reference (the tables
        read as every reader reads them: at the versions the date's commit pinned)."""
        from amp_features.offline import snapshots
        from amp_features.registry import GROUPS, vector_columns
        from amp_features.serve.vector import ranking_vectors

        commit = snapshots.resolve(self.spark, self.root, day)

        def read(table: str) -> Any:
            return snapshots.read(self.spark, self.root, commit, table)

        pairs = self.spark.createDataFrame(
            [(u, s) for u in users for s in shows], "user_id string, show_id string"
        )
        groups = {g: read(g) for g in GROUPS}
        out = ranking_vectors(pairs, groups, read(snapshots.SHOW_ATTRIBUTES))
        return out.select("user_id", "show_id", *vector_columns())

    def online_vectors(self, url: str, users: list[str], shows: list[str]) -> Any:
        """The online store's vectors for the same pairs, as a frame with the same schema."""
        from amp_features.serve import OnlineStore

        with OnlineStore.from_url(url) as store:
            rows = [
                (u, s, *v)
                for u in users
                for s, v in zip(shows, store.ranking_vectors(u, shows), strict=True)
            ]
        return self.spark.createDataFrame(rows, vector_schema())

    def assert_online_matches(self, url: str, day: dt.date) -> None:
        """Every pair of USERS x SHOWS reads back online as the offline join computes it."""
        from chispa import assert_df_equality

        online = self.online_vectors(url, USERS, SHOWS)
        offline = self.offline_vectors(day, USERS, SHOWS)
        assert_df_equality(online, offline, ignore_row_order=True, ignore_nullable=True)
