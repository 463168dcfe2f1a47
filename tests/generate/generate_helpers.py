"""Shared by the generator's test files: generate a lake through the CLI, in-process."""

from __future__ import annotations

import contextlib
import datetime as dt
import io
import json
from pathlib import Path
from typing import Any

from amp_features.cli import main
from amp_features.contract import RAW_TABLES
from amp_features.session import session_conf

END = dt.date(2026, 11, 20)


def cli_lake(spark: Any, out: Path, *flags: str, fmt: str = "delta") -> dict[str, Any]:
    """Generate through the CLI; its session settings are applied to the shared test session,
    so the test ones are put back afterwards."""
    keys = [k for k in session_conf() if spark.conf.isModifiable(k)]
    before = {k: spark.conf.get(k, None) for k in keys}
    argv = ["generate", "--out", str(out), "--end-date", END.isoformat(), "--format", fmt, *flags]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        code = main(argv)
    for key, value in before.items():
        if value is None:
            spark.conf.unset(key)
        else:
            spark.conf.set(key, value)
    assert code == 0
    report = json.loads((out / "_generation_report.json").read_text())
    tables = {t: spark.read.format(fmt).load(str(out / t)) for t in RAW_TABLES}
    return {"out": out, "report": report, "tables": tables, "printed": printed.getvalue()}
