"""Run a backfill plan: build each missing daily state once, roll up every date in order.

It uses the one runner (``pipeline.runner``): one run id for the whole range, the warehouse lease
held from the first write to the last, and every date's stages recorded in ``metrics/runs``.
"""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from amp_features.logs import StageTimer, log
from amp_features.orchestration.plan import BackfillPlan, plan_backfill

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

    from amp_features.pipeline.runner import RunContext, Targets

# Per as-of date. States come first (build_states only builds the dt tiles not built yet, so
# walking dates in order builds each daily state once: the first date builds its window, each
# later date adds one day). Rollups go oldest first so each can start from the previous window.
DAILY_STAGES: tuple[str, ...] = ("build_states", "rollup", "record_metrics")
# Once, for the last date: the online store serves the newest features only, so publishing each
# historical date would just be overwritten by the next one.
FINAL_STAGES: tuple[str, ...] = ("validate_outputs", "publish")
# A backfill builds daily states for this many as-of dates per pass (their days plus 60).
PREBUILD_DATES = 60


def plan_for(
    spark: SparkSession,
    start: dt.date | str,
    end: dt.date | str,
    warehouse: str,
    *,
    force: bool = False,
) -> BackfillPlan:
    """The plan given what the warehouse already holds (reads only the commit log)."""
    from amp_features.offline.snapshots import committed_dates

    return plan_backfill(start, end, set(committed_dates(spark, warehouse)), force=force)


def _context(
    spark: SparkSession,
    day: dt.date,
    targets: Targets,
    run_id: str,
    external_run_id: str | None,
    timer: StageTimer,
    **kwargs: object,
) -> RunContext:
    from amp_features.pipeline.runner import RunContext

    return RunContext(
        spark,
        day,
        targets,
        run_id=run_id,
        external_run_id=external_run_id,
        timer=timer,
        **kwargs,  # type: ignore[arg-type]
    )


def run_backfill(
    spark: SparkSession,
    plan: BackfillPlan,
    targets: Targets,
    *,
    external_run_id: str | None = None,
    daily_stages: Sequence[str] = DAILY_STAGES,
    final_stages: Sequence[str] = FINAL_STAGES,
    timer: StageTimer | None = None,
) -> StageTimer:
    """Execute ``plan``. Safe to re-run: a crash leaves finished dates committed (skipped next
    time) and the in-flight date is redone from its first stage."""
    from amp_features.pipeline.runner import run_id_for, run_stages, warehouse_lease
    from amp_features.pipeline.states import build_states

    timer = timer or StageTimer()
    run_id = run_id_for(external_run_id)
    for line in plan.describe():
        log.info(line)
    if not plan.todo and not (targets.online and final_stages):
        return timer
    anchor_ctx = _context(spark, plan.end, targets, run_id, external_run_id, timer)
    start = time.perf_counter()
    with warehouse_lease(anchor_ctx):
        for anchor in plan.force_state_anchors:
            ctx = _context(
                spark, anchor, targets, run_id, external_run_id, timer, force_states=True
            )
            ctx.lease = anchor_ctx.lease
            run_stages(ctx, ["build_states"])
        daily = list(daily_stages)
        if "build_states" in daily and len(plan.todo) > 1:
            for i in range(0, len(plan.todo), PREBUILD_DATES):
                first = plan.todo[i]
                last = plan.todo[min(i + PREBUILD_DATES, len(plan.todo)) - 1]
                with timer.stage(f"build_states {first}..{last}") as rows:
                    rows.update(
                        build_states(
                            spark,
                            targets.lake,
                            targets.warehouse,
                            last,
                            since=first,
                            run_id=run_id,
                        )
                    )
            # Each date's own build_states would find nothing left to build; skip its listing.
            daily.remove("build_states")
        for index, day in enumerate(plan.todo, start=1):
            ctx = _context(spark, day, targets, run_id, external_run_id, timer)
            ctx.lease = anchor_ctx.lease
            run_stages(ctx, daily)
            elapsed = time.perf_counter() - start
            log.info(
                "backfill: %d/%d dates done (%s) in %.0fs, about %.0fs left",
                index,
                len(plan.todo),
                day,
                elapsed,
                elapsed / index * (len(plan.todo) - index),
            )
        final = [s for s in final_stages if s != "publish" or targets.online]
        if final and (plan.todo or targets.online):
            ctx = _context(spark, plan.end, targets, run_id, external_run_id, timer)
            ctx.lease = anchor_ctx.lease
            run_stages(ctx, final)
    return timer
