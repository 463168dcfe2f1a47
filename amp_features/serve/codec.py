"""The online record format, and turning records back into ranking vectors.

The export packs each snapshot into three kinds of records, each one JSON text keyed by an id.
Feature values appear in registry order, with the contract's defaults already filled in for a
group that has no row (section 5), so that a read only lays values end to end:

* ``u`` (user record, key ``user_id``): ``[[user features], {topic: [user_topic features]},
  {creator_id: [user_creator features]}]``: the user's row and all their topic/creator rows.
* ``s`` (show record, key ``show_id``): ``[creator_id, topic, show features..., creator
  features...]``: the show's attributes (``null`` when unknown; empty strings count as unknown),
  its ``show`` row and its creator's ``creator`` row.
* ``c`` (creator record, key ``creator_id``): ``[creator features]``; kept so that the whole group
  is in the snapshot and its row count can be checked. Reads use the copy in ``s``.

One user record plus one show record per candidate is everything the ranking vector of a pair
needs, so a read is one fetch of the user and one multi-get of the shows. JSON keeps nulls, ints,
exact doubles and booleans, is written with Spark's built-in functions and parsed by the C JSON
decoder: the show records of a read are joined into one array and decoded in a single call.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from amp_features.registry import FEATURES, GROUPS, features_of

USER_RECORD, SHOW_RECORD, CREATOR_RECORD = "u", "s", "c"
RECORD_KINDS = (USER_RECORD, SHOW_RECORD, CREATOR_RECORD)

# Groups in the order ``assemble`` lays their values end to end before the final reordering.
_PARTS = ("user", "show", "creator", "user_topic", "user_creator")
assert set(_PARTS) == set(GROUPS), "the record format must cover every feature group"
DEFAULTS: dict[str, tuple[Any, ...]] = {
    g: tuple(f.vector_default for f in features_of(g)) for g in GROUPS
}


def defaults_json(group: str) -> str:
    """The group's defaults as comma-separated JSON values (what a missing row is written as)."""
    return ",".join(json.dumps(v) for v in DEFAULTS[group])


_USER_DEFAULTS_JSON = defaults_json("user")


def encode_user(user: str | None, topics: Sequence[str], creators: Sequence[str]) -> str:
    """A user record from its parts, already JSON: the ``user`` values (comma-separated; None
    when the user has no ``user`` row) and the ``"topic":[...]`` / ``"creator_id":[...]``
    entries of its ``user_topic`` and ``user_creator`` rows."""
    return (
        f"[[{_USER_DEFAULTS_JSON if user is None else user}],"
        f"{{{','.join(topics)}}},{{{','.join(creators)}}}]"
    )


def _permutation() -> tuple[int, ...] | None:
    """Map from the parts laid end to end to the contract's order; None when already in order."""
    offsets: dict[str, int] = {}
    start = 0
    for g in _PARTS:
        offsets[g] = start
        start += len(DEFAULTS[g])
    position = {f.name: offsets[f.group] + i for g in _PARTS for i, f in enumerate(features_of(g))}
    perm = tuple(position[f.name] for f in FEATURES)
    return None if perm == tuple(range(len(FEATURES))) else perm


_PERM = _permutation()
_NO_USER: list[Any] = [list(DEFAULTS["user"]), {}, {}]
# A show with no record: no show or creator row, and no topic/creator to match the user's rows.
_NO_SHOW = (
    DEFAULTS["show"] + DEFAULTS["creator"] + DEFAULTS["user_topic"] + DEFAULTS["user_creator"]
)


def decode_user(raw: bytes | str | None) -> list[Any]:
    """The user record, or an empty one (no row in any user-keyed group)."""
    return _NO_USER if raw is None else json.loads(raw)


def decode_shows(raws: Sequence[bytes | str | None]) -> list[Any]:
    """All show records in one JSON parse; a missing record decodes to ``None``."""
    if not raws:
        return []
    if isinstance(next((r for r in raws if r is not None), b""), bytes):
        text: bytes | str = b"[" + b",".join(b"null" if r is None else r for r in raws) + b"]"  # type: ignore[misc]
    else:
        text = "[" + ",".join("null" if r is None else r for r in raws) + "]"  # type: ignore[misc]
    return json.loads(text)


def assemble(user: list[Any], shows: Sequence[Any]) -> list[tuple[Any, ...]]:
    """One ranking vector (21 values in the contract's order) per decoded show record."""
    user_values = tuple(user[0])
    topics = {k: tuple(v) for k, v in user[1].items()}
    creators = {k: tuple(v) for k, v in user[2].items()}
    ut_default, uc_default = DEFAULTS["user_topic"], DEFAULTS["user_creator"]
    missing = user_values + _NO_SHOW
    out: list[tuple[Any, ...]] = []
    append = out.append
    for rec in shows:
        if rec is None:
            append(missing)
        else:
            # rec = [creator_id, topic, show..., creator...]; an unknown (null) topic or creator
            # matches no user row, like the offline join on null.
            append(
                user_values
                + tuple(rec[2:])
                + topics.get(rec[1], ut_default)
                + creators.get(rec[0], uc_default)
            )
    if _PERM is not None:
        perm = _PERM
        return [tuple(v[i] for i in perm) for v in out]
    return out
