"""The user-record encoding the export's writer uses, without Spark: parts in, one record out."""

from __future__ import annotations

import json

import pytest

from amp_features.errors import OnlineStoreError
from amp_features.export.writer import UserParts
from amp_features.serve.codec import DEFAULTS, decode_user, encode_user


def test_encode_user_round_trips_through_the_reader() -> None:
    raw = encode_user("1,2.5,null", ['"pop":[0.25,true]'], ['"c1":[0.75]', '"c2":[0.0]'])
    assert decode_user(raw) == [[1, 2.5, None], {"pop": [0.25, True]}, {"c1": [0.75], "c2": [0.0]}]


def test_user_without_user_row_gets_the_contract_defaults() -> None:
    record = json.loads(encode_user(None, ['"news":[0.5,false]'], []))
    assert record == [list(DEFAULTS["user"]), {"news": [0.5, False]}, {}]


def test_writer_joins_consecutive_parts_and_refuses_a_user_seen_twice() -> None:
    done: set[str] = set()
    parts = UserParts.start("u1", 3, done)
    for part, value in ((0, "7"), (1, '"pop":[1.0]'), (2, '"c1":[1.0]'), (2, '"c2":[0.0]')):
        parts.add(part, value)
    kind, bucket, key, value = parts.record()
    assert (kind, bucket, key) == ("u", 3, "u1")
    assert json.loads(value) == [[7], {"pop": [1.0]}, {"c1": [1.0], "c2": [0.0]}]
    # The error names the rule, never the record (a user id is record content).
    with pytest.raises(OnlineStoreError, match="reached the writer out of order") as err:
        UserParts.start("u1", 3, done)
    assert "u1" not in str(err.value)
