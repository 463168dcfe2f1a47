"""What a validation produced: per expectation, per suite, per run; JSON round-trip."""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import asdict, dataclass, field
from typing import Any

CRITICAL = "critical"


@dataclass
class ExpectationOutcome:
    suite: str
    table: str
    batch: str  # which (derived) DataFrame it validated, see suites.py
    expectation: str  # the GX expectation type
    column: str | None
    severity: str  # critical | warning
    success: bool
    check: str  # the short name of the problem it catches: "missing partition", ...
    why: str  # the reviewer's sentence from the suite file
    detail: str = ""  # what was observed, for a person
    unexpected_count: int | None = None
    element_count: int | None = None
    observed: Any = None
    # Not run: a column it needs is missing, which the schema check of the batch already
    # reports (one failure per missing column, not one per expectation on it).
    skipped: bool = False

    @property
    def fatal(self) -> bool:
        return not self.success and not self.skipped and self.severity == CRITICAL

    def describe(self) -> str:
        on = f" on {self.column}" if self.column else ""
        return (
            f"{self.table}: {self.check} ({self.detail}) "
            f"[suite {self.suite}, expectation {self.expectation}{on}: {self.why}]"
        )


@dataclass
class SuiteResult:
    name: str
    kind: str  # input | output
    table: str
    outcomes: list[ExpectationOutcome] = field(default_factory=list)
    # The raw GX validation results, one per batch (kept for people and Data Docs).
    gx_results: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return not any(o.fatal for o in self.outcomes)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.fatal]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if not o.success and not o.fatal and not o.skipped]

    @property
    def skipped(self) -> list[ExpectationOutcome]:
        return [o for o in self.outcomes if o.skipped]


@dataclass
class QualityResult:
    kind: str  # inputs | outputs
    as_of: dt.date
    run_id: str  # UTC timestamp of the validation, also the history file's prefix
    suites: list[SuiteResult] = field(default_factory=list)
    path: str = ""  # where it was persisted
    report: str = ""  # the HTML report, when one was written
    # Small per-table numbers for people and the report: rows and null counts per as_of, ...
    profiles: dict[str, Any] = field(default_factory=dict)

    @property
    def success(self) -> bool:
        return all(s.success for s in self.suites)

    @property
    def failures(self) -> list[ExpectationOutcome]:
        return [o for s in self.suites for o in s.failures]

    @property
    def warnings(self) -> list[ExpectationOutcome]:
        return [o for s in self.suites for o in s.warnings]

    def suite(self, name: str) -> SuiteResult:
        for s in self.suites:
            if s.name == name:
                return s
        raise KeyError(f"no suite {name!r} in the {self.kind} result for {self.as_of}")

    def summary(self) -> str:
        state = "passed" if self.success else "FAILED"
        lines = [f"{self.kind} validation for as_of {self.as_of} {state} (run {self.run_id})"]
        for s in self.suites:
            n_ok = sum(o.success for o in s.outcomes)
            mark = "ok  " if s.success else "FAIL"
            warn = f", {len(s.warnings)} warning(s)" if s.warnings else ""
            skip = f", {len(s.skipped)} not evaluated (missing columns)" if s.skipped else ""
            lines.append(
                f"  {mark} {s.name}: {n_ok}/{len(s.outcomes)} expectations met{warn}{skip}"
            )
            for o in s.failures:
                lines.append(f"       FAIL {o.describe()}")
            for o in s.warnings:
                lines.append(f"       warn {o.describe()}")
        return "\n".join(lines)

    def to_json(self) -> str:
        data = asdict(self)
        data["as_of"] = self.as_of.isoformat()
        data["success"] = self.success
        return json.dumps(data, indent=1, default=str) + "\n"

    @classmethod
    def from_json(cls, text: str) -> QualityResult:
        data = json.loads(text)
        suites = []
        for s in data["suites"]:
            outcomes = [ExpectationOutcome(**o) for o in s["outcomes"]]
            suites.append(
                SuiteResult(s["name"], s["kind"], s["table"], outcomes, s.get("gx_results", {}))
            )
        return cls(
            kind=data["kind"],
            as_of=dt.date.fromisoformat(data["as_of"]),
            run_id=data["run_id"],
            suites=suites,
            path=data.get("path", ""),
            report=data.get("report", ""),
            profiles=data.get("profiles", {}),
        )
