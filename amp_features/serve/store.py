"""``OnlineStore``: the ranking service's read API over the online store (SQLite or Redis).

    with OnlineStore.from_url("redis://cache:6379/0") as store:
        vectors = store.ranking_vectors("u123", ["s1", "s2"])  # one 21-tuple per show

Each vector is section 5 of the contract for the pair (user, show): the 21 features in the
registry's order, with the contract's defaults for missing rows. A call reads the live-version
pointer and then, from that one version, the user's record and the shows' records: two round
trips on Redis and one read transaction on SQLite, whatever the number of shows.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import TracebackType
from typing import Any, ClassVar

from amp_features.errors import ConfigError, OnlineStoreError
from amp_features.registry import vector_columns
from amp_features.serve.backends import Backend, open_backend
from amp_features.serve.codec import assemble, decode_user

MAX_SHOWS = 1000


class OnlineStore:
    """Read ranking vectors from the live version of an online store."""

    columns: ClassVar[tuple[str, ...]] = tuple(vector_columns())
    max_shows: ClassVar[int] = MAX_SHOWS

    def __init__(self, backend: Backend) -> None:
        self._backend = backend

    @classmethod
    def from_url(cls, url: str, *, timeout: float = 5.0) -> OnlineStore:
        """Open ``sqlite:///path/online.db`` or ``redis://[:password@]host:port/db``
        (``rediss://`` for TLS); ``timeout`` is the socket timeout in seconds."""
        return cls(open_backend(url, timeout=timeout))

    @property
    def url(self) -> str:
        """The store's URL, password hidden."""
        return self._backend.url

    def current_version(self) -> str | None:
        """The live version id, or None when nothing was published yet."""
        try:
            pointer = self._backend.current()
        except Exception as exc:
            raise OnlineStoreError(f"cannot read the live version of {self.url}: {exc}") from exc
        return None if pointer is None else pointer.version

    def ranking_vectors(self, user_id: str, show_ids: Sequence[str]) -> list[tuple[Any, ...]]:
        """For each show id, in order, the pair's 21 feature values (see ``columns``)."""
        if isinstance(show_ids, str):
            raise ConfigError("show_ids must be a sequence of show ids, not one string")
        if len(show_ids) > MAX_SHOWS:
            raise ConfigError(
                f"ranking_vectors takes at most {MAX_SHOWS} shows per call, got {len(show_ids)}; "
                "split the candidates into several calls"
            )
        try:
            pointer, user, shows = self._backend.read(user_id, show_ids)
        except Exception as exc:
            raise OnlineStoreError(
                f"reading ranking vectors from {self.url} failed: {exc}"
            ) from exc
        if pointer is None:
            raise OnlineStoreError(
                f"no version published in {self.url} yet: run `amp-features export` first"
            )
        return assemble(decode_user(user), shows)

    def close(self) -> None:
        self._backend.close()

    def __enter__(self) -> OnlineStore:
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        self.close()
