"""Fixtures for the DAG and jobs tests (Airflow's metadata DB and the standalone cluster are
shared fixtures, in tests/conftest.py).

Airflow reads its settings when first imported, so the DAG folder is set here, at import time
(the root conftest already points AIRFLOW_HOME at a temporary folder).
"""

from __future__ import annotations

import os
import sys

import pytest
from airflow_helpers import DAGS

os.environ.setdefault("AIRFLOW__CORE__DAGS_FOLDER", str(DAGS))
# Spark's Python workers (the online export runs Python on the executors) must use this venv,
# also when pytest is started without the venv on PATH.
os.environ.setdefault("PYSPARK_PYTHON", sys.executable)


# -- a tiny generated lake, shared by the DAG and backfill tests -----------------------------------
LAKE_END = "2026-03-03"  # the last raw dt; the tests compute as of 2026-03-01..2026-03-03


@pytest.fixture(scope="session")
def tiny_lake(spark: object, tmp_path_factory: pytest.TempPathFactory) -> str:
    """62 days of raw data for 200 users: three full 60-day windows, and every day has both
    playback and engagement rows (the input suites fail a window with a missing day)."""
    import datetime as dt

    from amp_features.generate import generate_lake

    out = str(tmp_path_factory.mktemp("amp-airflow-lake") / "lake")
    generate_lake(
        spark,  # type: ignore[arg-type]
        out,
        users=200,
        days=62,
        end_date=dt.date.fromisoformat(LAKE_END),
        seed=11,
    )
    return out
