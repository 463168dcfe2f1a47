"""Run a backfill plan: build each missing daily state once, roll up every date in order."""

from __future__ import annotations

import datetime as dt
import time
from collections.abc import Sequence
from typing import TYPE_CHECKING

from amp_features.logs import StageTimer, log
from amp_features.orchestration.plan import BackfillPlan, plan_backfill
from amp_features.orchestration.stages import Targets, run_stage, run_stages

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

# Per as-of date. States come first (build_states only builds the dt tiles not built yet, so
# walking dates in order builds each daily state once: the first date builds its window, each
# later date adds one day). Rollups go oldest first so each can start from the previous window.
DAILY_STAGES: tuple[str, ...] = ("build_states", "rollup", "record_metrics")
# Once, for the last date: the online store serves the newest features only, so publishing each
# historical date would just be overwritten by the next one.
FINAL_STAGES: tuple[str, ...] = ("validate_outputs", "publish")


def plan_for(
    spark: SparkSession,
    start: dt.date | str,
    end: dt.date | str,
    warehouse: str,
    *,
    force: bool = False,
) -> BackfillPlan:
    """The plan given what the warehouse already holds (reads only the feature tables' dates)."""
    from amp_features.pipeline.api import completed_dates

    return plan_backfill(start, end, completed_dates(spark, warehouse), force=force)


# A backfill builds daily states for this many as-of dates per pass (their days plus 60).
PREBUILD_DATES = 60


def prebuild_states(
    spark: SparkSession, plan: BackfillPlan, targets: Targets, *, timer: StageTimer | None = None
) -> dict[str, int]:
    """Build every daily state the dates to do need, one pass over the raw events of up to
    ``PREBUILD_DATES`` as-of dates at a time (a pass holds their days in Spark's cache)."""
    from amp_features.pipeline.api import build_states

    timer = timer or StageTimer()
    built: dict[str, int] = {}
    for i in range(0, len(plan.todo), PREBUILD_DATES):
        first, last = plan.todo[i], plan.todo[min(i + PREBUILD_DATES, len(plan.todo)) - 1]
        with timer.stage(f"build_states {first}..{last}") as rows:
            rows.update(build_states(spark, targets.lake, targets.warehouse, last, since=first))
        for key, n in timer.records[-1].rows.items():
            built[key] = built.get(key, 0) + n
    return built


def run_backfill(
    spark: SparkSession,
    plan: BackfillPlan,
    targets: Targets,
    *,
    run_id: str = "",
    daily_stages: Sequence[str] = DAILY_STAGES,
    final_stages: Sequence[str] = FINAL_STAGES,
    timer: StageTimer | None = None,
) -> StageTimer:
    """Execute ``plan``. Safe to re-run: a crash leaves finished dates complete (skipped next
    time) and the in-flight date is redone from its first stage."""
    timer = timer or StageTimer()
    for line in plan.describe():
        log.info(line)
    start = time.perf_counter()
    for anchor in plan.force_state_anchors:
        with timer.stage(f"build_states {anchor} (forced)") as rows:
            rows.update(run_stage(spark, "build_states", anchor, targets, force_states=True))
    daily = list(daily_stages)
    if "build_states" in daily and len(plan.todo) > 1:
        prebuild_states(spark, plan, targets, timer=timer)
        # Each date's own build_states would find nothing left to build; skip its listing.
        daily.remove("build_states")
    for index, day in enumerate(plan.todo, start=1):
        run_stages(spark, daily, day, targets, run_id=run_id, timer=timer)
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
        run_stages(spark, final, plan.end, targets, run_id=run_id, timer=timer)
    return timer
