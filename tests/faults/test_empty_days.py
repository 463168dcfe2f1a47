"""Empty days: by default a day without playback stops the run, naming the day; a per-table
policy (days allowed empty, a minimum of rows a day, or ``warn``) lets real quiet days through,
from the command-line flags or a JSON file named by ``$AMP_EMPTY_DAY_POLICY``."""

from __future__ import annotations

import argparse
import json
import logging
import sys
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "quality"))

from quality_helpers import (
    AS_OF,
    day,
    engagement_rows,
    lake_days,
    playback_rows,
    ts,
    write_raw,
)

from amp_features.errors import ConfigError, QualityGateError
from amp_features.quality import load_result, validate_inputs
from amp_features.quality import policy as empty_days

QUIET = day(3)  # a day of the window without playback


def _policy(*flags: str) -> empty_days.InputPolicy:
    """The policy of these flags, parsed as the CLI parses them (no environment)."""
    parser = argparse.ArgumentParser()
    empty_days.add_arguments(parser)
    return empty_days.from_args(parser.parse_args(list(flags)), environ={})


@pytest.fixture(scope="module")
def dimensions(spark: Any, tmp_path_factory: pytest.TempPathFactory) -> Path:
    root = tmp_path_factory.mktemp("empty-days-dims")
    write_raw(spark, root, "shows", [("s0", "c0", "news", ts(day(30), 8))])
    write_raw(spark, root, "users", [(f"u{i}", ts(day(100), 1), "DE", ["news"]) for i in range(3)])
    return root


@pytest.fixture()
def make_lake(spark: Any, dimensions: Path, tmp_path: Path) -> Callable[..., Path]:
    """A lake with these playback and engagement rows and the shared dimensions."""

    def make(playback: list[tuple[Any, ...]], engagement: list[tuple[Any, ...]]) -> Path:
        root = tmp_path / "lake"
        root.mkdir()
        for name in ("shows", "users"):
            (root / name).symlink_to(dimensions / name)
        write_raw(spark, root, "playback", playback)
        write_raw(spark, root, "engagement", engagement)
        return root

    return make


@pytest.fixture()
def amp_logs() -> Iterator[list[logging.LogRecord]]:
    logger = logging.getLogger("amp_features")
    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    handler, level = Keep(logging.INFO), logger.level
    logger.setLevel(logging.INFO)
    logger.addHandler(handler)
    yield records
    logger.removeHandler(handler)
    logger.setLevel(level)


def test_empty_playback_days_stop_the_run_unless_allowed(
    spark: Any,
    make_lake: Callable[..., Path],
    tmp_path: Path,
    amp_logs: list[logging.LogRecord],
) -> None:
    # Playback has no rows on QUIET nor on the as_of day itself.
    full = lake_days()
    lake = str(make_lake(playback_rows([d for d in full if d not in (QUIET, AS_OF)]),
                         engagement_rows(full)))  # fmt: skip
    wh = str(tmp_path / "wh")

    # Default: the run stops, naming both days.
    with pytest.raises(QualityGateError) as err:
        validate_inputs(spark, lake, wh, AS_OF, policy=_policy())
    message = str(err.value)
    assert f"playback: missing partition (missing: {QUIET}, {AS_OF})" in message
    assert "engagement" not in message

    # One day allowed: the other one still stops the run, and only it is named.
    with pytest.raises(QualityGateError) as err:
        validate_inputs(
            spark, lake, wh, AS_OF, policy=_policy(f"--allow-empty-days=playback={QUIET}")
        )
    message = str(err.value)
    assert f"playback: missing partition (missing: {AS_OF})" in message
    assert f"missing: {QUIET}" not in message and "playback: missing partition (0 rows)" in message

    # Both allowed: the run goes on; the result records the policy and the day checks warn.
    amp_logs.clear()
    allowed = _policy("--allow-empty-days", f"playback={QUIET},{AS_OF}")
    result = validate_inputs(spark, lake, wh, AS_OF, policy=allowed)
    assert result.success, result.summary()
    stored = load_result(wh, AS_OF, "inputs")
    assert stored is not None and stored.success
    assert stored.profiles["empty_day_policy"]["playback"]["allowed_days"] == [
        str(QUIET),
        str(AS_OF),
    ]
    assert {o.check for o in stored.warnings if o.table == "playback"} == {
        "missing partition",
        "collapsed volume",
    }
    said = [r.getMessage() for r in amp_logs]
    assert f"playback: no rows on {QUIET}, {AS_OF}, allowed by the empty-day policy" in said


def test_a_minimum_of_rows_a_day_replaces_the_collapse_rule(
    spark: Any, make_lake: Callable[..., Path], tmp_path: Path
) -> None:
    # A quiet as_of day: 1 row against 6 on the days before (a ratio of 0.17 "collapsed").
    before = [d for d in lake_days() if d != AS_OF]
    lake = str(make_lake(playback_rows(before) + playback_rows([AS_OF], per_day=1),
                         engagement_rows(lake_days())))  # fmt: skip
    wh = str(tmp_path / "wh")
    with pytest.raises(QualityGateError, match=r"playback: collapsed volume"):
        validate_inputs(spark, lake, wh, AS_OF, policy=_policy())

    result = validate_inputs(
        spark, lake, wh, AS_OF, policy=_policy("--min-rows-per-day=playback=1")
    )
    assert result.success, result.summary()

    with pytest.raises(QualityGateError) as err:
        validate_inputs(spark, lake, wh, AS_OF, policy=_policy("--min-rows-per-day=playback=2"))
    message = str(err.value)
    assert f"playback: missing partition (missing: {AS_OF})" in message
    assert "every day of the window has at least 2 playback rows" in message
    assert "collapsed volume" not in message


def test_engagement_empty_day_with_warn_logs_a_warning_and_passes(
    spark: Any,
    make_lake: Callable[..., Path],
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    amp_logs: list[logging.LogRecord],
) -> None:
    full = lake_days()
    lake = str(make_lake(playback_rows(full), engagement_rows([d for d in full if d != AS_OF])))
    wh = str(tmp_path / "wh")
    with pytest.raises(
        QualityGateError, match=rf"engagement: missing partition \(missing: {AS_OF}\)"
    ):
        validate_inputs(spark, lake, wh, AS_OF, policy=_policy())

    # The policy from a JSON file named by the environment (what the DAG's workers see).
    policy_file = tmp_path / "empty_days.json"
    policy_file.write_text(json.dumps({"engagement": {"on_empty": "warn"}}), encoding="utf-8")
    monkeypatch.setenv(empty_days.ENV_POLICY, str(policy_file))
    amp_logs.clear()
    result = validate_inputs(spark, lake, wh, AS_OF)
    assert result.success, result.summary()
    warned = [r.getMessage() for r in amp_logs if r.levelno == logging.WARNING]
    assert any(
        f"engagement: missing partition (missing: {AS_OF})" in m and "on_empty=warn" in m
        for m in warned
    ), warned
    assert all("playback" not in m for m in warned)


@pytest.mark.parametrize(
    ("flags", "says"),
    [
        (["--empty-days", "shows=warn"], "shows is a dimension table"),
        (["--empty-days", "plays=warn"], "unknown table 'plays'"),
        (["--empty-days", "engagement=maybe"], "on_empty must be fail or warn"),
        (["--allow-empty-days", "playback=2026-13-01"], "not a day (YYYY-MM-DD): '2026-13-01'"),
        (["--allow-empty-days", "playback"], "expected TABLE=VALUE"),
        (
            ["--min-rows-per-day", "playback=-1"],
            "playback=-1: empty-day policy: min_rows must be 0",
        ),
        (["--min-rows-per-day", "playback=many"], "min_rows must be a whole number, not 'many'"),
        (["--empty-day-policy", '{"playback": {"skip": true}}'], "unknown key(s) skip"),
        (["--empty-day-policy", "/nonexistent/policy.json"], "No such file or directory"),
    ],
)
def test_a_bad_policy_is_a_one_line_error(flags: list[str], says: str) -> None:
    with pytest.raises(ConfigError) as err:
        _policy(*flags)
    assert says in str(err.value) and "\n" not in str(err.value)
