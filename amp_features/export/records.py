"""Pure transforms: one as_of snapshot of the feature tables -> the online records of ``codec``.

``online_records`` gives every record of a snapshot in one frame (so the export is one Spark job):
``kind`` (``u``, ``s``, ``c``), ``bucket`` (int), ``key``, ``part`` and ``value`` (JSON text) and
one count column per source table (how many of its rows the row carries), so that the writer
can report rows per table and the publish can check them against the Delta tables. Show and
creator rows are whole records; a user record comes as its parts, which the writer joins with
``codec.encode_user`` (string concatenation only: every value is formatted here, by Spark).
"""

from __future__ import annotations

from collections.abc import Mapping

from pyspark.sql import Column, DataFrame
from pyspark.sql import functions as F

from amp_features.registry import GROUPS, features_of
from amp_features.serve.codec import USER_RECORD, defaults_json

SHOW_ATTRIBUTES = "show_attributes"

# Source tables carried by each record kind (the count columns of its DataFrame).
RECORD_TABLES: dict[str, tuple[str, ...]] = {
    "u": ("user", "user_topic", "user_creator"),
    "s": ("show", SHOW_ATTRIBUTES),
    "c": ("creator",),
}
# Every source table: the count columns of ``online_records``, in this order.
SOURCE_TABLES: tuple[str, ...] = (*GROUPS, SHOW_ATTRIBUTES)


def json_string(col: str | Column) -> Column:
    """A string column as a JSON string literal (escaped), or ``null``."""
    encoded = F.to_json(F.array(col if isinstance(col, Column) else F.col(col)))
    # Spark has no JSON-escape for a bare string: to_json(array(x)) is '["..."]' or '[null]',
    # so keep what is between the brackets.
    return encoded.substr(F.lit(2), F.length(encoded) - 2)


def json_values(group: str) -> Column:
    """A group's features in registry order as comma-separated JSON values (nulls kept, doubles
    exact: Spark writes the shortest text that reads back as the same double)."""
    values = []
    for f in features_of(group):
        value = F.col(f.name)
        if f.vector_default is not None:
            # A null in the table reads online as the pair's default would, as offline.
            value = F.coalesce(value, F.lit(f.vector_default).cast(f.dtype))
        values.append(F.coalesce(value.cast("string"), F.lit("null")))
    return F.concat_ws(",", *values)


def _or_defaults(col: str, group: str) -> Column:
    """The group's values, or its defaults (section 5) when the record has no row of it."""
    return F.coalesce(F.col(col), F.lit(defaults_json(group)))


def _unknown_as_null(name: str) -> Column:
    """The contract treats an empty creator_id or topic like a null one: unknown."""
    return F.when(F.col(name) == "", F.lit(None).cast("string")).otherwise(F.col(name))


def _bucket(buckets: int) -> Column:
    return F.pmod(F.crc32(F.col("key")), F.lit(buckets)).cast("int")


def user_parts(tables: Mapping[str, DataFrame]) -> DataFrame:
    """``user_id, part, value``: one row per ``user``, ``user_topic`` and ``user_creator`` row
    (``part`` 0, 1, 2), its values formatted as ``codec.encode_user`` expects, in no order."""
    user = tables["user"].where(F.col("user_id").isNotNull())
    parts = user.select("user_id", F.lit(0).alias("part"), json_values("user").alias("value"))
    for part, (group, key) in enumerate((("user_topic", "topic"), ("user_creator", "creator_id"))):
        t = tables[group].where(F.col("user_id").isNotNull() & F.col(key).isNotNull())
        entry = F.concat(json_string(key), F.lit(":["), json_values(group), F.lit("]"))
        parts = parts.unionByName(
            t.select("user_id", F.lit(part + 1).alias("part"), entry.alias("value"))
        )
    return parts.select("user_id", "part", "value")


def user_entries(
    tables: Mapping[str, DataFrame], buckets: int, partitions: int | None = None
) -> DataFrame:
    """The parts of the user records: one row per ``user``, ``user_topic`` and ``user_creator``
    row (``part`` 0, 1, 2), partitioned by user and sorted by (user, part) within partitions,
    so that each user's rows arrive together and the writer lays them into one record
    (``codec.encode_user``) as it streams them.

    This replaces a ``groupBy`` with ``collect_list``: with hundreds of thousands of users per
    task, that aggregation falls back to sorting anyway, then builds arrays only to join them
    into strings, and measured slower than the plain sort. ``partitions`` fixes the shuffle's
    partition count: adaptive execution would otherwise coalesce it (small in bytes) into one
    or two tasks, and the writing that follows would run on one core.
    """
    entries = user_parts(tables)
    if partitions:
        entries = entries.repartition(partitions, "user_id")
    else:
        entries = entries.repartition("user_id")
    entries = entries.select(F.col("user_id").alias("key"), "part", "value")
    out = entries.sortWithinPartitions("key", "part")
    return out.select(
        _bucket(buckets).alias("bucket"),
        "key",
        "part",
        "value",
        *[
            F.when(F.col("part") == i, F.lit(1)).otherwise(F.lit(0)).cast("long").alias(table)
            for i, table in enumerate(RECORD_TABLES[USER_RECORD])
        ],
    )


def show_records(
    tables: Mapping[str, DataFrame], show_attributes: DataFrame, buckets: int
) -> DataFrame:
    """One record per show in ``show_attributes`` or ``show``, with its creator's features."""
    attrs = show_attributes.where(F.col("show_id").isNotNull()).select(
        "show_id",
        _unknown_as_null("creator_id").alias("creator_id"),
        _unknown_as_null("topic").alias("topic"),
        F.lit(1).alias("_attrs"),
    )
    show = tables["show"].where(F.col("show_id").isNotNull())
    show = show.select("show_id", json_values("show").alias("_show"))
    creator = tables["creator"].where(F.col("creator_id").isNotNull())
    creator = creator.select("creator_id", json_values("creator").alias("_creator"))
    joined = attrs.join(show, on="show_id", how="full").join(creator, on="creator_id", how="left")
    value = F.concat(
        F.lit("["),
        json_string("creator_id"),
        F.lit(","),
        json_string("topic"),
        F.lit(","),
        _or_defaults("_show", "show"),
        F.lit(","),
        _or_defaults("_creator", "creator"),
        F.lit("]"),
    )
    out = joined.select(F.col("show_id").alias("key"), value.alias("value"), "_show", "_attrs")
    return out.select(
        _bucket(buckets).alias("bucket"),
        "key",
        "value",
        F.when(F.col("_show").isNull(), 0).otherwise(1).cast("long").alias("show"),
        F.coalesce(F.col("_attrs"), F.lit(0)).cast("long").alias(SHOW_ATTRIBUTES),
    )


def creator_records(tables: Mapping[str, DataFrame], buckets: int) -> DataFrame:
    """One record per creator row (the read path uses the copy inside each show record)."""
    creator = tables["creator"].where(F.col("creator_id").isNotNull())
    value = F.concat(F.lit("["), json_values("creator"), F.lit("]"))
    out = creator.select(F.col("creator_id").alias("key"), value.alias("value"))
    return out.select(_bucket(buckets).alias("bucket"), "key", "value",
                      F.lit(1).cast("long").alias("creator"))  # fmt: skip


def expected_rows(tables: Mapping[str, DataFrame], show_attributes: DataFrame) -> DataFrame:
    """One row: per source table, the rows the records must carry (keys not null)."""

    def counted(df: DataFrame, keys: tuple[str, ...]) -> DataFrame:
        cond = F.lit(True)
        for k in keys:
            cond = cond & F.col(k).isNotNull()
        return df.where(cond)

    parts = [counted(tables[g], GROUPS[g].keys).select(F.lit(g).alias("table")) for g in GROUPS]
    parts.append(
        counted(show_attributes, ("show_id",)).select(F.lit(SHOW_ATTRIBUTES).alias("table"))
    )
    union = parts[0]
    for p in parts[1:]:
        union = union.unionByName(p)
    return union.groupBy("table").agg(F.count(F.lit(1)).alias("rows")).select("table", "rows")


def online_records(
    tables: Mapping[str, DataFrame],
    show_attributes: DataFrame,
    buckets: Mapping[str, int],
    partitions: int | None = None,
) -> DataFrame:
    """All records of a snapshot: ``kind, bucket, key, part, value`` and one count per source
    table. Show and creator rows are whole records (``part`` 0); user rows are the parts of user
    records, each user's together and in order (see ``user_entries``), for the writer to join.

    ``partitions`` fixes the number of partitions of the user entries.
    """
    frames = {
        "u": user_entries(tables, buckets["u"], partitions),
        "s": show_records(tables, show_attributes, buckets["s"]),
        "c": creator_records(tables, buckets["c"]),
    }
    out = None
    for kind, frame in frames.items():
        counts = [
            (F.col(t) if t in RECORD_TABLES[kind] else F.lit(0).cast("long")).alias(t)
            for t in SOURCE_TABLES
        ]
        part = F.col("part") if kind == USER_RECORD else F.lit(0)
        rows = frame.select(
            F.lit(kind).alias("kind"), "bucket", "key", part.alias("part"), "value", *counts
        )
        out = rows if out is None else out.unionByName(rows)
    assert out is not None
    return out.select("kind", "bucket", "key", "part", "value", *SOURCE_TABLES)
