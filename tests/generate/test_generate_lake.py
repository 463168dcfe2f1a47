"""The synthetic lake generator: contract schemas, formats, determinism, awkward data, shape.

One small lake is generated through the CLI (in-process, reusing the test JVM) and shared by the
module; a second run with the same arguments as Parquet checks determinism and the format.
"""

from __future__ import annotations

import datetime as dt
import math
from pathlib import Path
from typing import Any

import pytest
from chispa import assert_df_equality
from generate_helpers import END, cli_lake
from pyspark.sql import DataFrame
from pyspark.sql import functions as F

from amp_features.cli import main
from amp_features.contract import RAW_TABLES
from amp_features.errors import ConfigError
from amp_features.generate import GeneratorOptions, generate_lake
from amp_features.generate.options import ENGAGEMENT_INVALID, PLAYBACK_INVALID

USERS, DAYS, SEED, BAD = 2000, 10, 11, 0.02
START = END - dt.timedelta(days=DAYS - 1)
EVENT_TYPES = ("like_show", "follow_creator", "enable_notification")


@pytest.fixture(scope="module")
def lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("gen") / "lake"
    flags = ["--users", USERS, "--days", DAYS, "--seed", SEED, "--bad-rows", BAD]
    return cli_lake(spark, out, *map(str, flags))


def _events(lake: dict[str, Any], table: str) -> DataFrame:
    df: DataFrame = lake["tables"][table]
    return df


def test_cli_prints_paths_and_counts(lake: dict[str, Any]):
    report = lake["report"]
    for table in RAW_TABLES:
        rows = report["tables"][table]["rows"]
        assert f"{rows:,} rows  {lake['out'] / table}" in lake["printed"]
        assert report["tables"][table]["rows"] == lake["tables"][table].count()
        assert report["tables"][table]["path"].endswith(f"/{table}")
    assert report["tables"]["users"]["rows"] == USERS
    assert report["dt_range"] == [START.isoformat(), END.isoformat()]


def test_schemas_equal_the_contract_and_lake_is_delta(lake: dict[str, Any], spark: Any):
    for name, table in RAW_TABLES.items():
        assert (lake["out"] / name / "_delta_log").is_dir()
        schema = lake["tables"][name].schema
        assert [(f.name, f.dataType) for f in schema.fields] == [
            (f.name, f.dataType) for f in table.schema.fields
        ], name
    for name in ("playback", "engagement"):
        parts = sorted(p.name for p in (lake["out"] / name).iterdir() if p.name.startswith("dt="))
        expected = [f"dt={START + dt.timedelta(days=i)}" for i in range(DAYS)]
        assert parts == expected
    # Fact tables keep Delta statistics of their time and length columns, not of random ids;
    # the session setting that chose them does not outlive the generation.
    first = (lake["out"] / "playback" / "_delta_log" / f"{0:020d}.json").read_text()
    assert '"delta.dataSkippingStatsColumns":"started_at,listen_seconds"' in first
    stats = spark.read.json(str(lake["out"] / "playback" / "_delta_log" / f"{0:020d}.json"))
    add = stats.where("add IS NOT NULL").select("add.stats").first()
    assert add is not None and '"started_at"' in add[0] and '"event_id"' not in add[0]
    key = "spark.databricks.delta.properties.defaults.dataSkippingStatsColumns"
    assert spark.conf.get(key, None) is None


def test_dimensions_have_unique_keys(lake: dict[str, Any]):
    for name in ("shows", "users"):
        df = lake["tables"][name]
        key = RAW_TABLES[name].key
        assert df.count() == df.select(key).distinct().count()


def _playback_classes(df: DataFrame) -> dict[str, int]:
    """Count each invalid class of contract section 2 straight from the data."""
    user, show, ls = F.col("user_id"), F.col("show_id"), F.col("listen_seconds")
    rules = {
        "null_user_id": user.isNull(),
        "empty_user_id": user == "",
        "null_show_id": show.isNull(),
        "empty_show_id": show == "",
        "null_started_at": F.col("started_at").isNull(),
        "null_listen_seconds": ls.isNull(),
        "negative_listen_seconds": ls < 0,
        "too_long_listen_seconds": ls > 86_400,
        "dt_mismatch": F.to_date("started_at") != F.col("dt"),
    }
    row = df.agg(*[F.sum(F.when(c, 1).otherwise(0)).alias(k) for k, c in rules.items()]).first()
    assert row is not None
    return {k: int(row[k]) for k in rules}


def _engagement_classes(df: DataFrame) -> dict[str, int]:
    user, etype = F.col("user_id"), F.col("event_type")
    needed = (
        F.when(etype == "follow_creator", F.col("creator_id"))
        .when(etype.isin("like_show", "enable_notification"), F.col("show_id"))
    )  # fmt: skip
    known = etype.isNotNull() & etype.isin(*EVENT_TYPES)
    rules = {
        "null_user_id": user.isNull(),
        "empty_user_id": user == "",
        "null_occurred_at": F.col("occurred_at").isNull(),
        "dt_mismatch": F.to_date("occurred_at") != F.col("dt"),
        "unknown_event_type": ~F.coalesce(known, F.lit(False)),
        "null_required_id": F.coalesce(known, F.lit(False)) & needed.isNull(),
        "empty_required_id": F.coalesce(known, F.lit(False)) & (needed == ""),
    }
    row = df.agg(*[F.sum(F.when(c, 1).otherwise(0)).alias(k) for k, c in rules.items()]).first()
    assert row is not None
    return {k: int(row[k] or 0) for k in rules}


def _close(observed: int, rows: int, fraction: float) -> bool:
    expected = rows * fraction
    return abs(observed - expected) <= 4 * math.sqrt(expected) + 2


def test_requested_bad_row_fraction_per_class(lake: dict[str, Any]):
    report = lake["report"]
    for table, counter, classes in (
        ("playback", _playback_classes, PLAYBACK_INVALID),
        ("engagement", _engagement_classes, ENGAGEMENT_INVALID),
    ):
        df = _events(lake, table)
        rows = df.count()
        counts = counter(df)
        for name in classes:
            # The data shows exactly what the report says, at the requested rate.
            assert counts[name] == report["injected"][table][name], (table, name)
            assert _close(counts[name], rows, BAD), (table, name, counts[name], rows)


def test_duplicates_are_same_dt_and_counted(lake: dict[str, Any]):
    for table in ("playback", "engagement"):
        df = _events(lake, table)
        injected = lake["report"]["injected"][table]
        rows = df.count()
        ids = df.select("event_id").distinct().count()
        exact_rows = df.distinct().count()
        assert rows - ids == injected["exact_redelivery"] + injected["conflicting_duplicate"]
        assert rows - exact_rows == injected["exact_redelivery"]
        assert (
            df.groupBy("event_id").agg(F.countDistinct("dt").alias("n")).where("n > 1").count() == 0
        )
    assert lake["report"]["injected"]["playback"]["exact_redelivery"] > 0
    assert lake["report"]["injected"]["playback"]["conflicting_duplicate"] > 0


def test_orphans_user_kinds_and_midnight(lake: dict[str, Any]):
    t, injected = lake["tables"], lake["report"]["injected"]
    plays, shows, users, engagement = t["playback"], t["shows"], t["users"], t["engagement"]
    named = plays.where("show_id IS NOT NULL AND show_id != ''")
    orphans = named.join(shows.select("show_id"), on="show_id", how="left_anti").count()
    assert orphans == injected["playback"]["orphan_plays"] > 0
    listeners = plays.select("user_id").distinct()
    engagers = engagement.select("user_id").distinct()
    engage_only = engagers.join(listeners, on="user_id", how="left_anti").join(
        users.select("user_id"), on="user_id", how="inner"
    )
    assert engage_only.count() > 0
    silent = (
        users.select("user_id")
        .join(listeners, on="user_id", how="left_anti")
        .join(engagers, on="user_id", how="left_anti")
    )
    assert silent.count() >= injected["users"]["declared_only_users"] > 0
    unregistered = listeners.join(users.select("user_id"), on="user_id", how="left_anti").where(
        "user_id IS NOT NULL AND user_id != ''"
    )
    assert unregistered.count() > 0
    bad_shows = shows.where("creator_id IS NULL OR creator_id = '' OR topic IS NULL OR topic = ''")
    assert bad_shows.count() == sum(
        injected["shows"][k]
        for k in ("null_creator_id", "empty_creator_id", "null_topic", "empty_topic")
    )
    clock = F.date_format("started_at", "HH:mm:ss")
    edges = plays.where(clock.isin("00:00:00", "23:59:59")).count()
    assert edges >= injected["playback"]["midnight_events"] > 0
    valid_ls = plays.where("listen_seconds BETWEEN 0 AND 86400")
    lo_hi = valid_ls.agg(F.min("listen_seconds"), F.max("listen_seconds")).first()
    assert lo_hi is not None and lo_hi[0] < 10 and lo_hi[1] > 3600


def test_heavy_tail_and_favourite_shows(lake: dict[str, Any]):
    shape = lake["report"]["shape"]
    plays = _events(lake, "playback").where("user_id IS NOT NULL AND user_id != ''")
    per_user = plays.groupBy("user_id").count()
    n_users = per_user.count()
    top = per_user.orderBy(F.desc("count")).limit(math.ceil(n_users / 100))
    top_row = top.agg(F.sum("count")).first()
    total_row = per_user.agg(F.sum("count")).first()
    assert top_row is not None and total_row is not None
    share = top_row[0] / total_row[0]
    # 1% of the users hold many times their share of plays; most users listen on few days.
    assert share > 0.08
    assert shape["top1pct_share_of_plays"] > 0.08
    active_days = plays.groupBy("user_id").agg(F.countDistinct("dt").alias("d"))
    median = active_days.approxQuantile("d", [0.5], 0.0)[0]
    assert median <= DAYS / 2
    assert shape["pairs_per_event"] < 0.35
    assert shape["events_per_user_day"] > 1.0


def test_declared_topics_mostly_match_listening(lake: dict[str, Any]):
    t = lake["tables"]
    plays = t["playback"].select("user_id", "show_id")
    declared = t["users"].select("user_id", "declared_topics").where(F.size("declared_topics") > 0)
    joined = plays.join(t["shows"].select("show_id", "topic"), on="show_id", how="inner").join(
        declared, on="user_id", how="inner"
    )
    row = joined.agg(
        F.avg(F.array_contains("declared_topics", F.col("topic")).cast("double"))
    ).first()
    assert row is not None and row[0] > 0.6


def test_same_arguments_same_rows_as_parquet(lake: dict[str, Any], spark: Any, tmp_path: Path):
    out = tmp_path / "again"
    report = generate_lake(
        spark,
        str(out),
        users=USERS,
        days=DAYS,
        end_date=END,
        seed=SEED,
        fmt="parquet",
        bad_rows=BAD,
        options=GeneratorOptions(shape_stats=False),
    )
    assert not (out / "playback" / "_delta_log").exists()
    for name, table in RAW_TABLES.items():
        again = spark.read.parquet(str(out / name))
        assert again.schema.fieldNames() == table.columns
        assert report.rows(name) == lake["report"]["tables"][name]["rows"]
        key = [table.key, *[c for c in table.columns if c != table.key]]
        assert_df_equality(
            lake["tables"][name].orderBy(*key),
            again.select(*table.columns).orderBy(*key),
            ignore_nullable=True,
        )
    assert report.injected == lake["report"]["injected"]


def test_clean_lake_replaces_a_parquet_lake(spark: Any, tmp_path: Path):
    out = tmp_path / "clean"
    opts = GeneratorOptions.clean(shape_stats=False)
    (out / "playback" / "dt=2026-01-01").mkdir(parents=True)
    (out / "playback" / "dt=2026-01-01" / "part-0.parquet").write_text("stale")
    report = generate_lake(
        spark, str(out), users=300, days=3, end_date=END, seed=3, bad_rows=0.05, options=opts
    )
    plays = spark.read.format("delta").load(str(out / "playback"))
    assert plays.count() == report.rows("playback") == plays.select("event_id").distinct().count()
    assert plays.where(F.col("dt") < F.lit(END - dt.timedelta(days=2))).count() == 0
    assert sum(_playback_classes(plays).values()) == 0
    assert all(v == 0 for v in report.injected["playback"].values())
    assert report.injected["users"]["declared_only_users"] == 0


def test_bad_arguments_are_clear_errors(spark: Any, tmp_path: Path):
    (tmp_path / "other").mkdir()
    (tmp_path / "other" / "notes.txt").write_text("keep me")
    args: dict[str, Any] = {"users": 10, "days": 1, "end_date": END}
    with pytest.raises(ConfigError, match="refusing"):
        generate_lake(spark, str(tmp_path / "other"), **args)
    assert (tmp_path / "other" / "notes.txt").exists()
    with pytest.raises(ConfigError, match="bad_rows"):
        generate_lake(spark, str(tmp_path / "x"), bad_rows=0.5, **args)
    with pytest.raises(ConfigError, match="fmt"):
        generate_lake(spark, str(tmp_path / "x"), fmt="csv", **args)
    with pytest.raises(ConfigError, match="skip_classes"):
        generate_lake(
            spark,
            str(tmp_path / "x"),
            options=GeneratorOptions(skip_classes=frozenset({"x"})),
            **args,
        )
    assert main(["generate", "--out", str(tmp_path / "x"), "--users", "0", "--days", "1",
                 "--end-date", "2026-11-20"]) == 1  # fmt: skip


def _read_back_shape(plays: DataFrame) -> dict[str, float]:
    """The report's shape figures, computed from the written table."""
    named = plays.where(
        "user_id IS NOT NULL AND user_id != '' AND show_id IS NOT NULL AND show_id != ''"
    )
    per_user = named.groupBy("user_id").agg(
        F.count(F.lit(1)).alias("plays"), F.countDistinct("show_id").alias("pairs")
    )
    n_users = per_user.count()
    top = per_user.orderBy(F.desc("plays")).limit(math.ceil(n_users / 100))
    row = per_user.agg(F.sum("plays"), F.sum("pairs")).first()
    top_row = top.agg(F.sum("plays")).first()
    assert row is not None and top_row is not None
    user_days = named.select("user_id", "dt").distinct().count()
    return {
        "plays_counted": row[0],
        "users_with_plays": n_users,
        "user_days_with_plays": user_days,
        "user_show_pairs": row[1],
        "top1pct_share_of_plays": top_row[0] / row[0],
    }


def test_shape_figures_are_those_of_the_written_table(lake: dict[str, Any]):
    # The shape is measured on regenerated rows, not read back: it must still be the table's.
    shape = lake["report"]["shape"]
    expected = _read_back_shape(_events(lake, "playback"))
    assert {k: shape[k] for k in expected} == pytest.approx(expected)
    assert shape["events_per_user_day"] == pytest.approx(
        expected["plays_counted"] / expected["user_days_with_plays"]
    )
