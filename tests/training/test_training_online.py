"""The training vector of a pair equals what the online store serves for the same as_of."""

from __future__ import annotations

import datetime as dt

from chispa import assert_df_equality

from amp_features import build_training_set
from amp_features.export import publish
from amp_features.registry import REGISTRY, vector_columns
from amp_features.serve import OnlineStore
from amp_features.training import AS_OF_COL

PAIRS = {
    "u1": ["s1", "s2", "s3", "s9"],  # s3 is an orphan show, s9 has no rows at all
    "u2": ["s1", "s2"],
    "u9": ["s1"],  # a user with no rows
}


def test_training_vector_equals_the_online_vector(spark, pit_warehouse, tmp_path, examples_of):
    as_of = dt.date(2026, 3, 3)
    url = f"sqlite:///{tmp_path / 'online.db'}"
    publish(spark, pit_warehouse, as_of, url)
    with OnlineStore.from_url(url) as store:
        online = [
            (user, show, *vector)
            for user, shows in PAIRS.items()
            for show, vector in zip(shows, store.ranking_vectors(user, shows), strict=True)
        ]

    # Examples on 03-04 see the 03-03 snapshot, the one published.
    moment = dt.datetime(2026, 3, 4, 18, 30, tzinfo=dt.UTC)
    examples = examples_of(
        [(f"{u}-{s}", u, s, moment, 1) for u, shows in PAIRS.items() for s in shows]
    )
    training = build_training_set(spark, examples, pit_warehouse)
    assert {r[AS_OF_COL] for r in training.select(AS_OF_COL).collect()} == {as_of}  # small

    schema = ", ".join(
        ["user_id string", "show_id string"]
        + [f"{name} {REGISTRY[name].dtype}" for name in vector_columns()]
    )
    assert_df_equality(
        training.select("user_id", "show_id", *vector_columns()),
        spark.createDataFrame(online, schema),
        ignore_row_order=True,
        ignore_nullable=True,
    )
