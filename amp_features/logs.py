"""Logging set-up and a stage timer that prints one line per pipeline stage."""

from __future__ import annotations

import logging
import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

LOGGER_NAME = "amp_features"
log = logging.getLogger(LOGGER_NAME)


def configure_logging(level: str | None = None) -> None:
    """Send the library's logs to stderr once; AMP_LOG_LEVEL overrides the level."""
    root = logging.getLogger(LOGGER_NAME)
    root.setLevel((level or os.environ.get("AMP_LOG_LEVEL") or "INFO").upper())
    if not any(getattr(h, "_amp", False) for h in root.handlers):
        handler = logging.StreamHandler(sys.stderr)
        handler.setFormatter(
            logging.Formatter("%(asctime)s %(levelname)s %(name)s: %(message)s", "%H:%M:%S")
        )
        handler._amp = True  # type: ignore[attr-defined]
        root.addHandler(handler)
        root.propagate = False


@dataclass
class StageRecord:
    name: str
    seconds: float
    rows: dict[str, int] = field(default_factory=dict)


@dataclass
class StageTimer:
    """Collects one record per stage; each stage logs `stage=... rows=... seconds=...`."""

    records: list[StageRecord] = field(default_factory=list)

    @contextmanager
    def stage(self, name: str) -> Iterator[dict[str, int]]:
        rows: dict[str, int] = {}
        start = time.perf_counter()
        log.info("stage %s: started", name)
        try:
            yield rows
        except Exception:
            log.error("stage %s: failed after %.1fs", name, time.perf_counter() - start)
            raise
        seconds = time.perf_counter() - start
        self.records.append(StageRecord(name, seconds, dict(rows)))
        counts = " ".join(f"{k}={v}" for k, v in rows.items()) or "-"
        log.info("stage %s: done in %.1fs rows: %s", name, seconds, counts)
