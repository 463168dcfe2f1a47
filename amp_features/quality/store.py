"""Where the quality area keeps its files (results JSON, HTML reports, overrides).

All file I/O goes through ``amp_features.files`` (local disk or S3, one abstraction); this module
only decides the names.
"""

from __future__ import annotations

import datetime as dt

from amp_features import files
from amp_features.layout import Warehouse, join

exists = files.exists
read_text = files.read_text
write_text = files.write_text
list_names = files.list_names


# -- where results live ----------------------------------------------------------------------------
def run_dir(warehouse: str, as_of: dt.date) -> str:
    """``<warehouse>/quality/as_of=YYYY-MM-DD``: the latest results and report of an as_of."""
    return join(Warehouse(warehouse).quality, f"as_of={as_of.isoformat()}")


def result_path(warehouse: str, as_of: dt.date, kind: str) -> str:
    """The latest ``inputs.json`` / ``outputs.json`` of an as_of (for people and dashboards)."""
    return join(run_dir(warehouse, as_of), f"{kind}.json")


def commit_result_path(warehouse: str, as_of: dt.date, commit_id: str) -> str:
    """The output validation of one commit: what the publish gate reads."""
    return join(run_dir(warehouse, as_of), "commits", f"{commit_id}.json")


def history_path(warehouse: str, as_of: dt.date, run_id: str, name: str) -> str:
    """Every run's copy, kept so failed validations stay readable after a later rerun."""
    return join(run_dir(warehouse, as_of), "history", f"{run_id}-{name}")


def report_path(warehouse: str, as_of: dt.date) -> str:
    return join(run_dir(warehouse, as_of), "report.html")
