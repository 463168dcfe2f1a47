"""Optional dependencies, imported only where they are used.

The core install (Spark, Delta, pandas, pyarrow, Great Expectations) computes, validates and
exports features to SQLite (on local disks or S3). Redis and notebook plots live in extras, so a
user who never touches them never imports them; one who does gets a one-line error naming it.
"""

from __future__ import annotations

import importlib
from types import ModuleType

from amp_features.errors import MissingExtraError


def install_hint(extra: str) -> str:
    return f"pip install 'amp-features[{extra}]'"


def require(module: str, extra: str) -> ModuleType:
    """Import ``module`` (e.g. ``"redis"``); a MissingExtraError naming ``extra`` if it is absent."""
    try:
        return importlib.import_module(module)
    except ImportError as exc:
        top = module.split(".")[0]
        if exc.name in (module, top):
            raise MissingExtraError(f"{top} is not installed: {install_hint(extra)}") from exc
        # Installed but broken (say, a dependency of it is missing): keep the reason, on one line.
        reason = " ".join(str(exc).split())
        raise MissingExtraError(
            f"{top} cannot be imported ({reason}): {install_hint(extra)}"
        ) from exc
