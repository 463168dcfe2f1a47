"""The generator's activity shapes: ``--activity sparse`` (a fifth of the users on a day, 2.5
plays each) and the flags that set the shape, on a lake generated through the CLI."""

from __future__ import annotations

from typing import Any

import pytest
from generate_helpers import cli_lake

from amp_features.cli import build_parser
from amp_features.errors import ConfigError
from amp_features.generate import GeneratorOptions
from amp_features.generate.commands import options_from_args


@pytest.fixture(scope="module")
def sparse_lake(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> dict[str, Any]:
    out = tmp_path_factory.mktemp("gen-sparse") / "lake"
    flags = ["--users", "4000", "--days", "6", "--activity", "sparse", "--bad-rows", "0"]
    return cli_lake(spark, out, *flags, fmt="parquet")


def test_sparse_activity_a_fifth_of_users_a_day_with_few_plays(sparse_lake: dict[str, Any]):
    plays = sparse_lake["tables"]["playback"]
    user_days = plays.select("user_id", "dt").distinct().count()
    assert 0.17 <= user_days / (6 * 4000) <= 0.23
    assert 2.2 <= plays.count() / user_days <= 2.8
    per_day = plays.groupBy("user_id", "dt").count()
    assert per_day.where("count >= 4").count() > 0  # a tail, not a constant
    shape = sparse_lake["report"]["shape"]
    assert 2.2 <= shape["events_per_user_day"] <= 2.8
    assert sparse_lake["report"]["arguments"]["options"]["active_share"] == 0.2
    # Still every awkward family: duplicates, orphans, engage-only users.
    injected = sparse_lake["report"]["injected"]
    assert injected["playback"]["exact_redelivery"] > 0
    assert injected["playback"]["orphan_plays"] > 0
    assert sparse_lake["tables"]["engagement"].count() > 0


def test_activity_flags_make_the_options():
    def parse(*flags: str) -> GeneratorOptions:
        argv = ["generate", "--out", "x", "--users", "1", "--days", "1", "--end-date", "2026-11-20"]
        return options_from_args(build_parser().parse_args([*argv, *flags]))

    assert (parse().active_share, parse().plays_per_day) == (None, None)
    sparse = parse("--activity", "sparse")
    assert (sparse.active_share, sparse.plays_per_day) == (0.2, 2.5)
    mixed = parse("--activity", "sparse", "--plays-per-day", "3", "--clean")
    assert (mixed.active_share, mixed.plays_per_day, mixed.redeliveries) == (0.2, 3.0, False)
    assert parse("--active-share", "0.3").active_share == 0.3
    with pytest.raises(ConfigError, match="active_share"):
        GeneratorOptions(active_share=1.5).validate()
    with pytest.raises(ConfigError, match="plays_per_day"):
        GeneratorOptions(plays_per_day=0.5).validate()
