"""Helpers the Airflow DAG and the ``jobs/`` entry points share.

Nothing here imports Airflow (the library must work without it), and importing this package is
cheap: Spark is imported inside the functions that need them, so the DAG file and the sensor stay
light. The stages themselves, and the one runner, are ``amp_features.pipeline.runner``.
"""

from __future__ import annotations

from amp_features.orchestration.plan import BackfillPlan, date_range, parse_day, plan_backfill
from amp_features.orchestration.presence import Readiness, missing_raw_partitions

__all__ = [
    "BackfillPlan",
    "Readiness",
    "date_range",
    "missing_raw_partitions",
    "parse_day",
    "plan_backfill",
]
