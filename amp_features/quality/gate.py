"""The publish gate: a snapshot goes online only when its own output validation passed.

The gate resolves the latest commit of the as_of (``offline.snapshots``) and reads the validation
result bound to that commit (``<warehouse>/quality/as_of=D/commits/<commit_id>.json``). A pass
recorded for an earlier commit of the same date does not count: whatever was rewritten since has
not been validated. An override is allowed but never silent: it is logged as a warning and
recorded next to the results.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING

from amp_features.contract import parse_date
from amp_features.errors import QualityGateError
from amp_features.logs import log
from amp_features.offline import snapshots
from amp_features.quality import store
from amp_features.quality.results import QualityResult

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from amp_features.offline.snapshots import Commit


def bound_result(warehouse: str, commit: Commit) -> QualityResult | None:
    """The output validation recorded for exactly this commit, if any."""
    path = store.commit_result_path(warehouse, commit.as_of, commit.commit_id)
    if not store.exists(path):
        return None
    return QualityResult.from_json(store.read_text(path))


def assert_publishable(
    spark: SparkSession, warehouse: str, as_of: dt.date | str, *, override: bool = False
) -> Commit:
    """The latest commit of ``as_of``, if its own output validation passed (or ``override``);
    raises QualityGateError otherwise, and SnapshotMissingError when the date has no commit."""
    from amp_features.quality.validate import broken_message

    day = parse_date(as_of)
    commit = snapshots.resolve(spark, warehouse, day)
    result = bound_result(warehouse, commit) if commit.validation_id else None
    if result is not None and result.run_id != commit.validation_id:
        result = None  # a file from an unbound attempt: the commit row is the authority
    if result is not None and result.success and commit.validated:
        log.info("publish gate: %s, validation %s", commit.describe(), result.run_id)
        return commit
    if result is None:
        problem = (
            f"{commit.describe()} has no output validation of its own; run "
            f"`amp-features validate outputs --warehouse {warehouse} --as-of {day}`"
        )
    else:
        problem = f"{commit.describe()}: {broken_message(result)}"
    if override:
        log.warning("publish gate OVERRIDDEN for as_of %s: %s", day, problem)
        stamp = dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")
        store.write_text(
            store.history_path(warehouse, day, stamp, "override.txt"),
            f"publish gate overridden at {stamp} for {commit.describe()}\n{problem}\n",
        )
        return commit
    raise QualityGateError(f"publish blocked: {problem} (override with --override, logged)")
