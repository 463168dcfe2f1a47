"""CLI subcommands of amp_features.generate (registered by amp_features.cli)."""

from __future__ import annotations

from typing import Any


def register(sub: Any) -> None:
    """Add this area's subcommands to the CLI."""
