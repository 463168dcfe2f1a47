"""The quality area's only file I/O: results (JSON), reports (HTML) and table discovery.

Paths are the project's plain strings (``layout.join``). Only the local filesystem (plain paths
and ``file:`` URIs) is handled for now; ``s3a://`` and friends raise a clear error. Moving to
object storage means changing this module only.
"""

from __future__ import annotations

import datetime as dt
import os
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING

from amp_features.errors import ConfigError
from amp_features.layout import Warehouse, join

if TYPE_CHECKING:
    from pyspark.sql import DataFrame, SparkSession


def local_path(path: str) -> Path:
    if path.startswith("file://"):
        return Path(path[len("file://") :])
    if path.startswith("file:"):
        return Path(path[len("file:") :])
    if "://" in path:
        raise ConfigError(
            f"quality results can only be stored on the local filesystem for now, got {path!r}"
        )
    return Path(path)


def exists(path: str) -> bool:
    return local_path(path).exists()


def read_text(path: str) -> str:
    return local_path(path).read_text(encoding="utf-8")


def write_text(path: str, text: str) -> None:
    """Write atomically (temp file + rename) so a reader never sees half a result."""
    target = local_path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{target.name}.", dir=target.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.replace(tmp, target)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def list_names(path: str) -> list[str]:
    folder = local_path(path)
    return sorted(p.name for p in folder.iterdir()) if folder.is_dir() else []


def is_delta(path: str) -> bool:
    """The contract's rule: a folder with a ``_delta_log/`` is Delta, otherwise Parquet."""
    return exists(join(path, "_delta_log"))


def read_table(spark: SparkSession, path: str) -> DataFrame:
    reader = spark.read.format("delta") if is_delta(path) else spark.read.format("parquet")
    return reader.load(path)


# -- where results live ----------------------------------------------------------------------------
def run_dir(warehouse: str, as_of: dt.date) -> str:
    """``<warehouse>/quality/as_of=YYYY-MM-DD``: the latest results and report of an as_of."""
    return join(Warehouse(warehouse).quality, f"as_of={as_of.isoformat()}")


def result_path(warehouse: str, as_of: dt.date, kind: str) -> str:
    """The latest ``inputs.json`` / ``outputs.json`` of an as_of (what the gate reads)."""
    return join(run_dir(warehouse, as_of), f"{kind}.json")


def history_path(warehouse: str, as_of: dt.date, run_id: str, name: str) -> str:
    """Every run's copy, kept so failed validations stay readable after a later rerun."""
    return join(run_dir(warehouse, as_of), "history", f"{run_id}-{name}")


def report_path(warehouse: str, as_of: dt.date) -> str:
    return join(run_dir(warehouse, as_of), "report.html")
