"""The publish gate: the online export runs only when the output suites passed for the as_of.

(Placeholder until the Great Expectations suites land; it currently lets every publish through.)
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def assert_publishable(
    spark: SparkSession, warehouse: str, as_of: dt.date | str, *, override: bool = False
) -> None:
    """Raise QualityGateError unless the output suites for ``as_of`` passed (or ``override``)."""
