"""Helpers the Airflow DAG and the ``jobs/`` entry points share.

Nothing here imports Airflow (the library must work without it), and importing this package is
cheap: Spark and boto3 are imported inside the functions that need them, so the DAG file and the
sensor stay light.
"""

from __future__ import annotations

from amp_features.orchestration.plan import BackfillPlan, date_range, parse_day, plan_backfill
from amp_features.orchestration.presence import Readiness, missing_raw_partitions
from amp_features.orchestration.stages import STAGES, Targets, parse_stages

__all__ = [
    "STAGES",
    "BackfillPlan",
    "Readiness",
    "Targets",
    "date_range",
    "missing_raw_partitions",
    "parse_day",
    "parse_stages",
    "plan_backfill",
]
