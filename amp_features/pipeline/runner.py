"""The one stage runner: a single table of stages and one run context, used by the CLI, ``jobs/``,
the Airflow DAG and the backfill alike.

Each stage is keyed by the as-of date D only (never the wall clock) and is safe to run again:
daily states already built are kept, D's tables are rewritten and a new commit row is appended,
the online store gets a new version. Stages that write take the warehouse lease first
(``offline.lease``), so two runs never interleave their writes. Every stage's timing and counts
land in ``metrics/runs`` under the run's id, next to the Airflow run id when there is one; the
same run id is on D's quarantine rows, its commit row and its validation result.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from amp_features.contract import parse_date, window_bounds
from amp_features.errors import ConfigError, QualityGateError
from amp_features.ingest.read import one_lake_version
from amp_features.logs import StageTimer, log
from amp_features.offline import lease as leases
from amp_features.offline import snapshots
from amp_features.offline import state as offline_state
from amp_features.pipeline.rollup import MODES, RunResult, rollup
from amp_features.pipeline.states import build_states, check_inputs, new_run_id

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


@dataclass(frozen=True)
class Targets:
    """Where a run reads and writes: the lake, the warehouse and (for publish) the online store."""

    lake: str
    warehouse: str
    online: str | None = None


def run_id_for(external_run_id: str | None) -> str:
    """Our run id: minted for a new run, or derived from Airflow's run id, so that every task of
    one DAG run (each its own process) records the same id."""
    if not external_run_id:
        return new_run_id()
    return "af" + hashlib.sha1(external_run_id.encode("utf-8")).hexdigest()[:10]


@dataclass
class RunContext:
    """Everything one run of one as-of date needs; built once, handed to every stage."""

    spark: SparkSession
    as_of: dt.date
    targets: Targets
    mode: str = "incremental"
    external_run_id: str | None = None
    run_id: str = ""
    force_states: bool = False
    skip_validation: bool = False
    override_gate: bool = False
    input_policy: Any = None  # quality.policy.EmptyDayPolicy (None: the default rules)
    timer: StageTimer = field(default_factory=StageTimer)
    result: RunResult | None = None
    lease: leases.Lease | None = None

    def __post_init__(self) -> None:
        self.as_of = parse_date(self.as_of)
        if self.mode not in MODES:
            raise ConfigError(f"mode must be one of {', '.join(MODES)}, got {self.mode!r}")
        self.run_id = self.run_id or run_id_for(self.external_run_id)

    @property
    def owner(self) -> str:
        who = f"run {self.run_id} (as_of {self.as_of})"
        if self.external_run_id:
            who += f", Airflow run {self.external_run_id}"
        return who

    def check_lease(self) -> None:
        if self.lease is not None:
            self.lease.check()


# -- the stages --------------------------------------------------------------------------------
def _validate_inputs(ctx: RunContext) -> dict[str, int]:
    counts = check_inputs(ctx.spark, ctx.targets.lake, ctx.as_of)
    if ctx.skip_validation:
        return counts
    from amp_features.quality import validate_inputs

    kwargs = {"policy": ctx.input_policy} if ctx.input_policy is not None else {}
    # Raises QualityGateError on a broken table; invalid rows only warn (quarantined later).
    result = validate_inputs(
        ctx.spark, ctx.targets.lake, ctx.targets.warehouse, ctx.as_of, **kwargs
    )
    return {**counts, "input_warnings": len(result.warnings)}


def _build_states(ctx: RunContext) -> dict[str, int]:
    if ctx.mode == "full":
        return {}  # the full recompute reads raw events directly
    return build_states(
        ctx.spark,
        ctx.targets.lake,
        ctx.targets.warehouse,
        ctx.as_of,
        force=ctx.force_states,
        run_id=ctx.run_id,
    )


def _rollup(ctx: RunContext) -> dict[str, int]:
    ctx.result = rollup(
        ctx.spark,
        ctx.targets.lake,
        ctx.targets.warehouse,
        ctx.as_of,
        mode=ctx.mode,
        run_id=ctx.run_id,
        external_run_id=ctx.external_run_id,
        before_commit=ctx.check_lease,
        timer=ctx.timer,
    )
    return dict(ctx.result.rows)


def _validate_outputs(ctx: RunContext) -> dict[str, int]:
    if ctx.skip_validation:
        log.warning("as_of %s: output validation skipped; export will refuse it", ctx.as_of)
        return {}
    from amp_features.quality import validate_outputs
    from amp_features.quality.validate import broken_message

    commit = snapshots.resolve(ctx.spark, ctx.targets.warehouse, ctx.as_of)
    # Bound below, once, and only while this run still holds the lease.
    result = validate_outputs(
        ctx.spark, ctx.targets.warehouse, ctx.as_of, commit=commit, bind=False
    )
    ctx.check_lease()
    snapshots.record_validation(
        ctx.spark, ctx.targets.warehouse, commit, result.run_id, result.success
    )
    if not result.success:
        raise QualityGateError(broken_message(result))
    return {"suites": len(result.suites)}


def _publish(ctx: RunContext) -> dict[str, int]:
    if not ctx.targets.online:
        raise ConfigError("publish needs the online store URL (--online / amp_features_online)")
    from amp_features.export import publish
    from amp_features.quality.gate import assert_publishable

    commit = assert_publishable(
        ctx.spark, ctx.targets.warehouse, ctx.as_of, override=ctx.override_gate
    )
    report = publish(ctx.spark, ctx.targets.warehouse, ctx.as_of, ctx.targets.online, commit=commit)
    return {k: v for k, v in report.rows.items() if isinstance(v, int)}


def _record_metrics(ctx: RunContext) -> dict[str, int]:
    from pyspark.sql import functions as F

    commit = snapshots.resolve(ctx.spark, ctx.targets.warehouse, ctx.as_of)
    summary = {f"rows_{k}": int(v) for k, v in commit.rows.items()}
    counts = offline_state.read_input_counts(ctx.spark, ctx.targets.warehouse)
    measures = ("rows_read", "rows_kept", "duplicates_dropped", "rows_quarantined")
    if counts is not None:
        first, last = window_bounds(ctx.as_of)
        totals = (
            counts.where(F.col("dt").between(F.lit(first), F.lit(last)))
            .groupBy("table")
            .agg(*(F.sum(c).alias(c) for c in measures))
            .collect()  # small: one row per raw table
        )
        for r in totals:
            for c in measures:
                summary[f"{r['table']}_{c}"] = int(r[c] or 0)
    log.info("metrics for %s (%s): %s", ctx.as_of, commit.commit_id, summary)
    return summary


@dataclass(frozen=True)
class Stage:
    name: str
    run: Callable[[RunContext], dict[str, int]]
    writes: bool  # takes the warehouse lease
    doc: str


STAGE_TABLE: tuple[Stage, ...] = (
    Stage(
        "validate_inputs", _validate_inputs, True, "raw tables' schema, keys, partitions, suites"
    ),
    Stage("build_states", _build_states, True, "daily states D-60..D (incremental mode)"),
    Stage("rollup", _rollup, True, "window state, the six snapshot tables, D's commit row"),
    Stage("validate_outputs", _validate_outputs, True, "output suites on D's commit, bound to it"),
    Stage("publish", _publish, False, "the validated commit of D to the online store"),
    Stage("record_metrics", _record_metrics, True, "summary of D's commit and input accounting"),
)
STAGES: tuple[str, ...] = tuple(s.name for s in STAGE_TABLE)
_BY_NAME = {s.name: s for s in STAGE_TABLE}
# What `amp-features run` does (publishing is `amp-features export`).
RUN_STAGES: tuple[str, ...] = (
    "validate_inputs",
    "build_states",
    "rollup",
    "validate_outputs",
    "record_metrics",
)


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


@contextmanager
def warehouse_lease(ctx: RunContext) -> Iterator[None]:
    """Hold the warehouse lease for the block (re-entrant within one context)."""
    if ctx.lease is not None:
        yield
        return
    # The lease adds the pid and host to what the other run's error says.
    with leases.hold(ctx.targets.warehouse, ctx.run_id, ctx.owner) as lease:
        ctx.lease = lease
        try:
            yield
        finally:
            ctx.lease = None


def _record(ctx: RunContext, first_record: int) -> None:
    """Write this call's stage records to metrics/runs (one row per stage)."""
    records = [
        (
            ctx.as_of.isoformat(),
            ctx.run_id,
            r.name,
            r.seconds,
            {k: str(v) for k, v in r.rows.items()},
            ctx.external_run_id,
        )
        for r in ctx.timer.records[first_record:]
    ]
    if records:
        offline_state.write_runs(ctx.spark, ctx.targets.warehouse, ctx.as_of, ctx.run_id, records)


def run_stages(ctx: RunContext, stages: Sequence[str]) -> RunContext:
    """Run ``stages`` in pipeline order for the context's as-of date; one log line per stage."""
    names = parse_stages(list(stages))
    writes = any(_BY_NAME[n].writes for n in names)
    log.info("as_of %s (run %s): stages %s", ctx.as_of, ctx.run_id, ",".join(names))
    first = len(ctx.timer.records)
    # One lookup per raw table for the whole run (Delta or not, version, files): see ingest.read.
    with one_lake_version(), warehouse_lease(ctx) if writes else nullcontext():
        try:
            for name in names:
                with ctx.timer.stage(name) as rows:
                    rows.update(_BY_NAME[name].run(ctx))
        finally:
            try:
                _record(ctx, first)
            except Exception as exc:  # metrics must never hide the stage's own error
                log.warning("could not record stage metrics: %s", str(exc).splitlines()[0])
    if ctx.result is not None:
        ctx.result.stages = list(ctx.timer.records)
    return ctx


def run_stage(ctx: RunContext, stage: str) -> dict[str, int]:
    """One stage; returns its counts."""
    run_stages(ctx, [stage])
    return dict(ctx.timer.records[-1].rows)


__all__ = [
    "RUN_STAGES",
    "STAGES",
    "STAGE_TABLE",
    "RunContext",
    "Stage",
    "Targets",
    "parse_stages",
    "run_id_for",
    "run_stage",
    "run_stages",
]
