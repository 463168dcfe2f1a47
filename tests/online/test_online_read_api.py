"""The read API's errors: nothing published, too many shows, unknown URLs, hidden passwords."""

from __future__ import annotations

import pytest

from amp_features.errors import ConfigError, OnlineStoreError
from amp_features.serve import OnlineStore


def test_read_api_rejects_bad_requests(store_url: str) -> None:
    with OnlineStore.from_url(store_url) as store:
        assert store.current_version() is None
        with pytest.raises(OnlineStoreError, match="no version published"):
            store.ranking_vectors("u1", ["s1"])
        with pytest.raises(ConfigError, match="at most 1000 shows"):
            store.ranking_vectors("u1", [f"s{i}" for i in range(1001)])


@pytest.mark.parametrize("url", ["postgres://db/x", "memcached://h:1", "online.db", "sqlite://"])
def test_unknown_or_incomplete_url_is_a_clear_error(url: str) -> None:
    with pytest.raises(ConfigError, match=r"sqlite:///path/online\.db"):
        OnlineStore.from_url(url)


def test_password_is_hidden_in_messages() -> None:
    store = OnlineStore.from_url("redis://:s3cret@127.0.0.1:1/0")
    assert "s3cret" not in store.url
    with pytest.raises(OnlineStoreError) as err:
        store.current_version()
    assert "s3cret" not in str(err.value) and "127.0.0.1:1" in str(err.value)
