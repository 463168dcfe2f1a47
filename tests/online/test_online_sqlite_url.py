"""Where a ``sqlite:`` URL puts the online store's file: absolute with three or four slashes
(``file:///`` and SQLAlchemy spellings), relative to the working directory with two."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from amp_features.serve import OnlineStore


@pytest.mark.parametrize("slashes", ["///", "////"])
def test_an_absolute_url_puts_the_file_at_that_path_whatever_the_cwd(
    tmp_path: Path, slashes: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "store" / "online.db"
    elsewhere = tmp_path / "cwd"
    elsewhere.mkdir()
    monkeypatch.chdir(elsewhere)
    with OnlineStore.from_url(f"sqlite:{slashes}{str(target).lstrip('/')}?prefix=t") as store:
        assert store.current_version() is None
    assert target.is_file()
    assert not any(elsewhere.rglob("online.db"))


def test_a_two_slash_url_is_relative_to_the_working_directory(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    with OnlineStore.from_url("sqlite://rel/online.db") as store:
        assert store.current_version() is None
    assert (tmp_path / "rel" / "online.db").is_file()
    assert os.getcwd() == str(tmp_path)
