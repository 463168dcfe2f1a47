"""The publish gate: the online export runs only when the output suites passed for the as_of.

It reads the result ``validate_outputs`` persisted (``<warehouse>/quality/as_of=D/outputs.json``),
so the DAG's gate task, the CLI's export and a person all see the same decision. An override is
allowed but never silent: it is logged as a warning and recorded next to the results.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from amp_features.contract import parse_date
from amp_features.errors import QualityGateError
from amp_features.logs import log
from amp_features.quality import store

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def assert_publishable(
    spark: SparkSession, warehouse: str, as_of: dt.date | str, *, override: bool = False
) -> None:
    """Raise QualityGateError unless the output suites for ``as_of`` passed (or ``override``)."""
    from amp_features.quality.validate import broken_message, load_result

    day = parse_date(as_of)
    result = load_result(warehouse, day, "outputs")
    if result is not None and result.success:
        log.info("publish gate: output suites passed for as_of %s (run %s)", day, result.run_id)
        return
    if result is None:
        problem = (
            f"no output validation for as_of {day} under {store.run_dir(warehouse, day)}; "
            f"run `amp-features validate outputs --warehouse {warehouse} --as-of {day}`"
        )
    else:
        problem = broken_message(result)
    if override:
        log.warning("publish gate OVERRIDDEN for as_of %s: %s", day, problem)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        store.write_text(
            store.history_path(warehouse, day, stamp, "override.txt"),
            f"publish gate overridden at {stamp} for as_of {day}\n{problem}\n",
        )
        return
    raise QualityGateError(f"publish blocked: {problem} (override with --override, logged)")
