"""amp_features: the 21 daily batch features of the Amp show recommender, as Spark transforms.

The contract is ``shared/spec/features.md``. The public entry points are re-exported lazily so
that ``import amp_features`` stays cheap (no JVM, no pyspark import) for DAG parsing.
"""

from __future__ import annotations

from typing import Any

__version__ = "0.1.0"

_LAZY = {
    "REGISTRY": "amp_features.registry",
    "FEATURES": "amp_features.registry",
    "GROUPS": "amp_features.registry",
    "compute_features": "amp_features.pipeline.api",
    "run_features": "amp_features.pipeline.api",
    "OnlineStore": "amp_features.serve.store",
    "build_training_set": "amp_features.training.pit",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'amp_features' has no attribute {name!r}")
    import importlib

    return getattr(importlib.import_module(module), name)


__all__ = ["__version__", *_LAZY]
