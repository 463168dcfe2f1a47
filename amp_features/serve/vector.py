"""Section 5 of the contract: the ranking vector of a (user, show) pair, offline.

This is the one definition of the join; the online store, training sets and tests compare
against it. It is a pure transform: DataFrames in, a DataFrame out.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from amp_features.registry import FEATURES, GROUPS, features_of


def _default(name: str) -> Column:
    from amp_features.registry import REGISTRY

    feature = REGISTRY[name]
    if feature.vector_default is None:
        return F.col(name)
    return F.coalesce(F.col(name), F.lit(feature.vector_default).cast(feature.dtype))


def ranking_vectors(
    pairs: DataFrame,
    groups: Mapping[str, DataFrame],
    show_attributes: DataFrame,
    *,
    by: Sequence[str] = (),
) -> DataFrame:
    """Join each (user_id, show_id) row of ``pairs`` with its 21 features.

    ``groups`` maps each feature group to its table; ``show_attributes`` gives each show's
    ``creator_id`` and ``topic``. ``by`` names extra columns present in every input that the
    joins also match on (``["as_of"]`` joins each pair to the snapshot of its own as_of).
    The output keeps every column of ``pairs``, then ``creator_id`` and ``topic`` of the show
    (prefixed ``show_``), then the 21 features in the contract's order, with the contract's
    defaults for missing rows.
    """
    by = list(by)
    attrs = show_attributes.select(
        *by,
        "show_id",
        F.nullif(F.col("creator_id"), F.lit("")).alias("show_creator_id"),
        F.nullif(F.col("topic"), F.lit("")).alias("show_topic"),
    )
    out = pairs.join(attrs, on=[*by, "show_id"], how="left")

    def feature_cols(group: str) -> list[str]:
        return [f.name for f in features_of(group)]

    renames = {
        "user": {},
        "show": {},
        "creator": {"creator_id": "show_creator_id"},
        "user_topic": {"topic": "show_topic"},
        "user_creator": {"creator_id": "show_creator_id"},
    }
    for group in GROUPS:
        keys = [renames[group].get(k, k) for k in GROUPS[group].keys]
        table = groups[group].select(
            *by,
            *(F.col(k).alias(renames[group].get(k, k)) for k in GROUPS[group].keys),
            *feature_cols(group),
        )
        out = out.join(table, on=[*by, *keys], how="left")
    return out.select(
        *pairs.columns,
        "show_creator_id",
        "show_topic",
        *(_default(f.name).alias(f.name) for f in FEATURES),
    )
