"""The ``spark-submit`` entry points, shipped inside the package so an installed wheel has them.

``compute_features.py`` runs stages of one as-of date (the Airflow DAG's tasks) and
``backfill.py`` a range of dates. spark-submit runs a file, so the application path is this
folder in the installed package: ``amp-features jobs path`` prints it (the repository's top-level
``jobs/`` is a link to it). Each script is also a module (``python -m amp_features.jobs.backfill``)
and exposes ``run(argv)``, which the DAG's embedded mode calls in its own process.
"""

from __future__ import annotations

from pathlib import Path

JOB_SCRIPTS = ("compute_features", "backfill")


def jobs_dir() -> Path:
    """The folder holding the job scripts (inside the installed package)."""
    return Path(__file__).resolve().parent


def job_script(name: str) -> Path:
    """The path of one job script, for ``spark-submit``."""
    from amp_features.errors import ConfigError

    if name not in JOB_SCRIPTS:
        raise ConfigError(f"unknown job {name!r}; jobs are {', '.join(JOB_SCRIPTS)}")
    return jobs_dir() / f"{name}.py"
