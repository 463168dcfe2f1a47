"""Backfill planning, stage parsing, job flags and the raw-partition check (no Spark needed)."""

from __future__ import annotations

import datetime as dt
import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from amp_features.errors import ConfigError
from amp_features.orchestration import (
    date_range,
    missing_raw_partitions,
    plan_backfill,
)
from amp_features.pipeline.runner import STAGES, parse_stages

REPO = Path(__file__).resolve().parents[2]
D = dt.date


def load_job(name: str) -> ModuleType:
    spec = importlib.util.spec_from_file_location(f"job_{name}", REPO / "jobs" / f"{name}.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


def test_plan_skips_complete_dates_and_keeps_order() -> None:
    plan = plan_backfill("2026-03-01", "2026-03-05", {D(2026, 3, 2), D(2026, 3, 4), D(2026, 1, 1)})
    assert plan.todo == [D(2026, 3, 1), D(2026, 3, 3), D(2026, 3, 5)]
    assert plan.skipped == [D(2026, 3, 2), D(2026, 3, 4)]
    assert plan.force_state_anchors == []
    assert plan.state_days == (D(2026, 1, 1), D(2026, 3, 5))  # D-59 of the first date


def test_plan_force_recomputes_everything_and_rebuilds_each_state_about_once() -> None:
    days = date_range("2026-01-01", "2026-05-31")
    plan = plan_backfill(days[0], days[-1], set(days), force=True)
    assert plan.todo == days and plan.skipped == []
    anchors = plan.force_state_anchors
    assert anchors[0] == days[0] and anchors[-1] == days[-1]
    # Anchor windows cover dt [start-59, end] with no gaps.
    covered = {a - dt.timedelta(days=i) for a in anchors for i in range(60)}
    needed = set(date_range(days[0] - dt.timedelta(days=59), days[-1]))
    assert needed <= covered
    assert len(anchors) * 60 < len(needed) + 60  # overlap below one window


def test_plan_resumes_after_a_crash() -> None:
    # A first run finished two dates, then died: the rerun does only the rest.
    first = plan_backfill("2026-03-01", "2026-03-04", set())
    done = set(first.todo[:2])
    again = plan_backfill("2026-03-01", "2026-03-04", done)
    assert again.todo == first.todo[2:]
    assert "2 already complete" in again.describe()[0]
    assert plan_backfill("2026-03-01", "2026-03-04", set(first.todo)).todo == []


def test_bad_ranges_and_dates_are_clear_errors() -> None:
    with pytest.raises(ConfigError, match="before start"):
        date_range("2026-03-05", "2026-03-01")
    with pytest.raises(ConfigError, match="YYYY-MM-DD"):
        date_range("2026-13-01", "2026-03-01")


def test_parse_stages() -> None:
    assert parse_stages("all") == list(STAGES)
    assert parse_stages("rollup,build_states") == ["build_states", "rollup"]
    with pytest.raises(ConfigError, match="unknown stage nope"):
        parse_stages("rollup,nope")


def test_jobs_reject_bad_flags_before_starting_spark(capsys: pytest.CaptureFixture[str]) -> None:
    compute, backfill = load_job("compute_features"), load_job("backfill")
    assert compute.main(["--as-of", "2026-03-01", "--warehouse", "/tmp/wh"]) == 1
    assert "--lake is required" in capsys.readouterr().err
    assert compute.main(["--as-of", "2026-03-01", "--stage", "publish", "--lake", "l",
                         "--warehouse", "w"]) == 1  # fmt: skip
    assert "needs --online" in capsys.readouterr().err
    assert backfill.main(["--start", "2026-03-05", "--end", "2026-03-01", "--lake", "l"]) == 1
    assert "before start" in capsys.readouterr().err
    with pytest.raises(SystemExit) as exit_info:
        backfill.main(["--start", "2026-03-01"])
    assert exit_info.value.code == 2
    assert "--end" in capsys.readouterr().err


def _write_day(lake: Path, day: str, tables: tuple[str, ...] = ("playback", "engagement")) -> None:
    for table in tables:
        part = lake / table / f"dt={day}"
        part.mkdir(parents=True, exist_ok=True)
        (part / "part-00000.snappy.parquet").write_bytes(b"PAR1")


def test_raw_partition_check_on_local_paths(tmp_path: Path) -> None:
    lake = tmp_path / "lake"
    assert not missing_raw_partitions(str(lake), "2026-03-01").ready
    for dim in ("shows", "users"):
        (lake / dim / "_delta_log").mkdir(parents=True)
        (lake / dim / "part-0.parquet").write_bytes(b"PAR1")
    _write_day(lake, "2026-02-28")
    _write_day(lake, "2026-03-01", ("playback",))
    readiness = missing_raw_partitions(str(lake), "2026-03-01")
    assert readiness.missing == ("engagement: no data in partition dt=2026-03-01",)
    # An empty partition folder (a write in progress) is not data yet.
    (lake / "engagement" / "dt=2026-03-01").mkdir()
    assert not missing_raw_partitions(str(lake), "2026-03-01").ready
    _write_day(lake, "2026-03-01")
    assert missing_raw_partitions(f"file://{lake}", dt.date(2026, 3, 1)).ready


def test_unsupported_lake_scheme_is_a_clear_error() -> None:
    with pytest.raises(ConfigError, match="s3a://"):
        missing_raw_partitions("gs://bucket/lake", "2026-03-01")
    # (The S3 listing runs against a real S3-compatible server in tests/e2e.)
