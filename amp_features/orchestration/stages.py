"""The daily pipeline's stages, one function each, shared by the DAG and ``jobs/``.

Each stage is keyed by the as-of date D only (never the wall clock) and is safe to run again:
states already built are kept, feature and metric partitions for D are overwritten, and the
online store is rewritten for D. That is what lets Airflow clear and re-run any task.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING

from amp_features.errors import ConfigError
from amp_features.logs import StageRecord, StageTimer, log
from amp_features.orchestration.plan import parse_day

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# In DAG order; the DAG's task ids and ``compute_features.py --stage`` use these names.
STAGES: tuple[str, ...] = (
    "validate_inputs",
    "build_states",
    "rollup",
    "validate_outputs",
    "publish",
    "record_metrics",
)


@dataclass(frozen=True)
class Targets:
    """Where a run reads and writes: the lake, the warehouse and (for publish) the online store."""

    lake: str
    warehouse: str
    online: str | None = None


def parse_stages(value: str | Sequence[str]) -> list[str]:
    """``all``, one stage, or a comma-separated list; returned in pipeline order."""
    items = value.split(",") if isinstance(value, str) else list(value)
    names = {item.strip() for item in items if item.strip()}
    if "all" in names:
        return list(STAGES)
    unknown = sorted(names - set(STAGES))
    if unknown or not names:
        raise ConfigError(
            f"unknown stage {', '.join(unknown) or '(none)'}; choose from all, {', '.join(STAGES)}"
        )
    return [stage for stage in STAGES if stage in names]


def _int_counts(value: object) -> dict[str, int]:
    """Stage results as loggable counts (library functions return dicts of ints or RunResults)."""
    rows = getattr(value, "rows", value)
    if isinstance(rows, dict):
        return {str(k): v for k, v in rows.items() if isinstance(v, int)}
    return {}


def run_stage(
    spark: SparkSession,
    stage: str,
    as_of: dt.date | str,
    targets: Targets,
    *,
    run_id: str = "",
    mode: str = "incremental",
    force_states: bool = False,
) -> dict[str, int]:
    """Run one stage for ``as_of`` and return its row counts."""
    day = parse_day(as_of)
    if stage == "validate_inputs":
        from amp_features.pipeline.api import check_inputs
        from amp_features.quality import validate_inputs

        counts = _int_counts(check_inputs(spark, targets.lake, day))
        # Raises QualityGateError on a broken table; invalid rows only warn (they are
        # quarantined by build_states).
        result = validate_inputs(spark, targets.lake, targets.warehouse, day)
        return {**counts, "input_warnings": len(result.warnings)}
    if stage == "build_states":
        from amp_features.pipeline.api import build_states

        return _int_counts(
            build_states(spark, targets.lake, targets.warehouse, day, force=force_states)
        )
    if stage == "rollup":
        from amp_features.pipeline.api import rollup

        return _int_counts(rollup(spark, targets.lake, targets.warehouse, day, mode=mode))
    if stage == "validate_outputs":
        from amp_features.errors import QualityGateError
        from amp_features.quality import validate_outputs
        from amp_features.quality.validate import broken_message

        # validate_outputs records the result and leaves the decision to the caller; as a
        # pipeline stage a failed suite must fail the task, so that publish never starts.
        result = validate_outputs(spark, targets.warehouse, day)
        if not result.success:
            raise QualityGateError(broken_message(result))
        return {"suites": len(result.suites)}
    if stage == "publish":
        if not targets.online:
            raise ConfigError("publish needs the online store URL (--online / amp_features_online)")
        from amp_features.export import publish
        from amp_features.quality.gate import assert_publishable

        # The DAG only reaches publish after validate_outputs succeeded; the gate re-checks the
        # recorded result so a publish run by hand (or a cleared task) cannot skip it.
        assert_publishable(spark, targets.warehouse, day)
        return _int_counts(publish(spark, targets.warehouse, day, targets.online))
    if stage == "record_metrics":
        from amp_features.pipeline.api import record_metrics

        return _int_counts(record_metrics(spark, targets.warehouse, day, run_id=run_id))
    raise ConfigError(f"unknown stage {stage!r}; choose from {', '.join(STAGES)}")


def run_stages(
    spark: SparkSession,
    stages: Sequence[str],
    as_of: dt.date | str,
    targets: Targets,
    *,
    run_id: str = "",
    mode: str = "incremental",
    force_states: bool = False,
    timer: StageTimer | None = None,
) -> list[StageRecord]:
    """Run stages in order for one as-of date, logging one line per stage."""
    day = parse_day(as_of)
    timer = timer or StageTimer()
    log.info("as_of %s: stages %s", day, ",".join(stages))
    for stage in stages:
        with timer.stage(f"{stage} {day}") as rows:
            rows.update(
                run_stage(
                    spark,
                    stage,
                    day,
                    targets,
                    run_id=run_id,
                    mode=mode,
                    force_states=force_states,
                )
            )
    return timer.records
