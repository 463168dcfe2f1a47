"""Each of the 21 features on a tiny hand-written scenario, with the contract's window edges:
D-59 (in), D-60 (out), D (in), D+1 (out), at 23:59:59 and 00:00:00 UTC."""

from __future__ import annotations

import datetime as dt

import pytest
from chispa import assert_approx_df_equality
from engine_testdata import SHOWS, USERS, D, days_before, engage, play
from pyspark.sql import DataFrame
from pyspark.sql.types import (
    BooleanType,
    DateType,
    DoubleType,
    IntegerType,
    LongType,
    StringType,
    StructField,
    StructType,
)

from amp_features.contract import RAW_TABLES
from amp_features.registry import GROUPS, REGISTRY, table_columns
from amp_features.rollup.from_raw import features_from_raw

NEXT = D + dt.timedelta(days=1)


def w(age: int) -> float:
    return 0.5 ** (age / 14)


PLAYBACK = [
    play("a1", "u1", "s1", D, 600, hh=0),  # D at 00:00:00: in
    play("a1", "u1", "s1", D, 500, hh=0, mm=30),  # re-delivery, fewer seconds: dropped
    play("a2", "u1", "s1", days_before(59), 300, hh=23, mm=59, ss=59),  # D-59 23:59:59: in
    play("a3", "u1", "s2", days_before(60), 1000, hh=23, mm=59, ss=59),  # D-60: out
    play("a4", "u1", "s3", NEXT, 500, hh=0),  # D+1 00:00:00: out
    play("a5", "u1", "s2", days_before(10), 299, hh=12),
    play("a6", "u1", "s9", days_before(1), 100, hh=5),  # orphan show
    play("b1", "u2", "s4", D, 0, hh=7),  # unknown creator; zero seconds
    play("b2", "u2", "s5", days_before(2), 120, hh=7),  # unknown topic
    play("d1", "u4", "s1", days_before(59), 60, hh=0),  # D-59 00:00:00
    play("d2", "u4", "s3", days_before(59), 60, hh=1),  # tie with hour 0 -> lowest hour
    play("x1", "", "s1", D, 60),  # invalid: quarantined, never counted
]
ENGAGEMENT = [
    engage("e1", "u1", "like_show", D, show="s1"),
    engage("e1", "u1", "like_show", D, show="s1", hh=13),  # re-delivery
    engage("e2", "u1", "follow_creator", days_before(30), creator="c2"),
    engage("e3", "u1", "enable_notification", days_before(59), show="s1", hh=0),
    engage("e4", "u1", "like_show", days_before(60), show="s2", hh=23),  # out
    engage("e5", "u3", "like_show", D, show="s1", hh=23),
    engage("e6", "u3", "follow_creator", days_before(59), creator="c9"),
    engage("e7", "u3", "enable_notification", days_before(60), show="s2"),  # out
    engage("e8", "u5", "like_show", NEXT, show="s1", hh=0),  # D+1: out, so no u5 row
]


@pytest.fixture(scope="module")
def groups(spark) -> dict[str, DataFrame]:
    frames = {
        name: spark.createDataFrame(rows, RAW_TABLES[name].schema)
        for name, rows in {
            "playback": PLAYBACK,
            "engagement": ENGAGEMENT,
            "shows": SHOWS,
            "users": USERS,
        }.items()
    }
    return features_from_raw(
        frames["playback"], frames["engagement"], frames["shows"], frames["users"], D
    )


_SPARK_TYPES = {
    "bigint": LongType(),
    "int": IntegerType(),
    "double": DoubleType(),
    "boolean": BooleanType(),
}


def expected(spark, group: str, rows: list[tuple]) -> DataFrame:
    """An expected group table: key columns are strings, features take the registry's type."""
    fields = [
        StructField(c, _SPARK_TYPES[REGISTRY[c].dtype] if c in REGISTRY else StringType())
        for c in table_columns(group)
        if c != "as_of"
    ]
    return spark.createDataFrame(
        [(*r, D) for r in rows], StructType([*fields, StructField("as_of", DateType())])
    )


POP = 600 * w(0) + 300 * w(59)
SPORTS = 299 * w(10)
# The hand-computed expectation of every group: key columns, then each feature in the registry's
# order (table_columns without as_of). test_every_feature_has_an_expectation reads this table.
EXPECTED: dict[str, list[tuple]] = {
    "user": [
        # sessions, minutes, long, active, shows, creators, likes, follows, notif, since, hour, tenure
        ("u1", 4, 1299 / 60, 2, 4, 3, 1, 1, 1, 1, 0, 0, 90),
        ("u2", 2, 2.0, 0, 2, 2, 1, 0, 0, 0, 0, 7, 1),
        ("u3", 0, 0.0, 0, 0, 0, 0, 1, 1, 0, None, None, None),
        ("u4", 2, 2.0, 0, 1, 2, 2, 0, 0, 0, 59, 0, None),
    ],
    "show": [
        ("s1", 3, 2, 2, 960 / 60 / 3),
        ("s2", 1, 1, 0, 299 / 60),
        ("s3", 1, 1, 0, 1.0),
        ("s4", 1, 1, 0, 0.0),
        ("s5", 1, 1, 0, 2.0),
        ("s9", 1, 1, 0, 100 / 60),  # orphans count in show features
    ],
    "creator": [("c1", 4, 0), ("c2", 1, 1), ("c3", 1, 0), ("c9", 0, 1)],
    "user_topic": [
        ("u1", "pop", POP / (POP + SPORTS), True),
        ("u1", "sports", SPORTS / (POP + SPORTS), False),
        ("u1", "news", 0.0, True),  # declared only
        ("u2", "news", 0.0, False),  # played with 0 seconds: both sums are 0
        ("u4", "pop", 1.0, False),  # not in users: declared is false
        ("u9", "sports", 0.0, True),  # declared-only user; duplicates and blanks ignored
    ],
    "user_creator": [
        ("u1", "c1", 1.0),  # orphan s9 is left out of the denominator
        ("u1", "c2", 0.0),  # followed, never played
        ("u2", "c3", 1.0),  # s4 has no creator: left out
        ("u3", "c9", 0.0),
        ("u4", "c1", 0.5),
        ("u4", "c2", 0.5),
    ],
}


@pytest.mark.parametrize("group", list(EXPECTED))
def test_group_features(spark, groups, group):
    """The production roll-up of the scenario equals the hand-computed rows, exactly (doubles
    to 1e-12)."""
    assert_approx_df_equality(
        groups[group],
        expected(spark, group, EXPECTED[group]),
        1e-12,
        ignore_row_order=True,
        ignore_nullable=True,
    )


def test_every_feature_has_an_expectation():
    """Fails when a feature of the registry has no hand-computed values above: its group has no
    expected table, a row is missing the feature's column, or the column never tells two
    outputs apart (all null, or one value in every row)."""
    uncovered = []
    for name, feature in REGISTRY.items():
        columns = [c for c in table_columns(feature.group) if c != "as_of"]
        rows = EXPECTED.get(feature.group, [])
        assert all(len(r) == len(columns) for r in rows), (feature.group, columns)
        values = {r[columns.index(name)] for r in rows} - {None}
        if len(values) < 2:
            uncovered.append(name)
    assert uncovered == [], f"features without a hand-computed expectation: {uncovered}"
    assert len(REGISTRY) == 21


def test_output_types_match_registry(groups):
    for group in GROUPS:
        types = dict(groups[group].dtypes)
        for name in table_columns(group):
            if name in REGISTRY:
                assert types[name] == REGISTRY[name].dtype, (group, name)
