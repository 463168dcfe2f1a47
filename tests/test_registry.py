"""The registry holds the contract's 21 features: names, groups, keys and types, in order."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

from amp_features.registry import FEATURES, GROUPS, REGISTRY, catalog_markdown, table_columns

ROOT = Path(__file__).resolve().parents[1]
# The contract is shared with us beside the checkout (../shared/spec/features.md); a clone elsewhere
# (CI, /tmp) does not have it, so the repository carries a pinned copy and the test below keeps the
# two equal wherever both exist. AMP_CONTRACT points at another copy.
SPEC = ROOT / "docs" / "contract" / "features.md"
SHARED = Path(os.environ.get("AMP_CONTRACT", ROOT.parent / "shared" / "spec" / "features.md"))


def _spec_features() -> list[tuple[int, str, str, str]]:
    """(number, name, group, type) parsed from the contract's section 4 tables."""
    text = SPEC.read_text()
    section = text[text.index("## 4.") : text.index("## 5.")]
    rows, group = [], None
    for line in section.splitlines():
        heading = re.match(r"### `(\w+)`", line)
        if heading:
            group = heading.group(1)
        row = re.match(r"\| (\d+) \| `(\w+)` \| (\w+) \|", line)
        if row:
            rows.append((int(row.group(1)), row.group(2), group, row.group(3)))
    return rows


def test_registry_matches_contract():
    spec = _spec_features()
    assert len(spec) == 21
    assert [(f.number, f.name, f.group, f.dtype) for f in FEATURES] == spec


def test_group_keys_match_contract():
    text = SPEC.read_text()
    for group in GROUPS.values():
        keys = re.search(rf"### `{group.name}` \(key ([^)]*)\)", text)
        assert keys is not None
        assert tuple(re.findall(r"`(\w+)`", keys.group(1))) == group.keys


def test_vector_defaults_follow_section_5():
    nulls = {f.number for f in FEATURES if f.vector_default is None}
    assert nulls == {10, 11, 12, 16}
    assert REGISTRY["topic_declared"].vector_default is False
    for f in FEATURES:
        if f.number not in nulls and f.dtype == "double":
            assert f.vector_default == 0.0


def test_table_columns():
    assert table_columns("user_topic") == [
        "user_id",
        "topic",
        "topic_affinity",
        "topic_declared",
        "as_of",
    ]


def test_docs_catalog_is_generated_from_registry():
    assert (ROOT / "docs" / "features.md").read_text() == catalog_markdown() + "\n"


def test_pinned_contract_is_the_shared_one():
    if not SHARED.exists():
        pytest.skip(f"no shared contract at {SHARED}; the pinned copy {SPEC} is used")
    assert SPEC.read_text() == SHARED.read_text(), (
        f"{SPEC} differs from the shared contract {SHARED}: copy it over and update the registry"
    )
