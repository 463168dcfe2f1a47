"""amp_features.quality: Great Expectations suites for the raw inputs and the feature tables.

``validate_inputs`` / ``validate_outputs`` run the suites in ``expectations/`` for an as_of and
persist the results under ``<warehouse>/quality/``; ``assert_publishable`` is the publish gate.
"""

from amp_features.quality.gate import assert_publishable
from amp_features.quality.results import ExpectationOutcome, QualityResult, SuiteResult
from amp_features.quality.validate import load_result, validate_inputs, validate_outputs

__all__ = [
    "ExpectationOutcome",
    "QualityResult",
    "SuiteResult",
    "assert_publishable",
    "load_result",
    "validate_inputs",
    "validate_outputs",
]
