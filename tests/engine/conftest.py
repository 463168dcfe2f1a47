"""Fixtures for engine tests (the data helpers live in ``engine_testdata``)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from hypothesis import settings


@pytest.fixture()
def lake_dir(tmp_path: Path) -> Path:
    return tmp_path / "lake"


@pytest.fixture()
def wh_dir(tmp_path: Path) -> str:
    return str(tmp_path / "wh")


# Hypothesis profiles for the property tests. Each example of test_carry_equals_rebase plans one
# deep union of 27 carried states (about 12 s on 2 cores) over up to 8 independent event lists, so
# `make test` (CI) tries 5 examples (up to 40 lists), which already varies every window edge;
# `make test-all` uses "nightly" (30) and HYPOTHESIS_PROFILE=slow tries 100. Examples come from the
# profile, so a test's own @settings must not set max_examples.
settings.register_profile("default", max_examples=5, deadline=None)
settings.register_profile("nightly", max_examples=30, deadline=None)
settings.register_profile("slow", max_examples=100, deadline=None)
settings.load_profile(os.environ.get("HYPOTHESIS_PROFILE", "default"))
