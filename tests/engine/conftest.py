"""Fixtures for engine tests (the data helpers live in ``engine_testdata``)."""

from __future__ import annotations

from pathlib import Path

import pytest


@pytest.fixture()
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture()
def wh_dir(tmp_path: Path) -> str:
    return str(tmp_path / "wh")
