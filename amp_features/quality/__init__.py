"""amp_features.quality: Great Expectations suites for the raw inputs and the feature tables.

``validate_inputs`` / ``validate_outputs`` run the suites in ``expectations/`` for an as_of and
persist the results under ``<warehouse>/quality/``; ``assert_publishable`` is the publish gate.
The names are imported lazily, so ``amp_features.quality.policy`` (read by the CLI's parser) does
not pull in Spark or Great Expectations.
"""

from __future__ import annotations

import importlib
from typing import Any

_LAZY = {
    "assert_publishable": "amp_features.quality.gate",
    "ExpectationOutcome": "amp_features.quality.results",
    "QualityResult": "amp_features.quality.results",
    "SuiteResult": "amp_features.quality.results",
    "load_result": "amp_features.quality.validate",
    "validate_inputs": "amp_features.quality.validate",
    "validate_outputs": "amp_features.quality.validate",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'amp_features.quality' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = sorted(_LAZY)
