"""Empty days: what a day without (enough) rows of a raw event table means for the input checks.

By default a day of the window with no rows stops the run, naming the day (the input suites'
``missing partition`` checks), and so does an as_of day whose rows collapsed against the days
before (``collapsed volume``). Real data has quiet days, so each event table (``playback``,
``engagement``) can get an ``EmptyDayPolicy``:

* ``allowed_days``: days that may be empty (a known outage, a holiday): they are not required,
  and on such an as_of day the day's checks only warn;
* ``min_rows``: the fewest rows a day needs. A day with fewer counts as missing; on the as_of day
  this absolute floor replaces the relative collapse rule (which then only warns). ``0`` lets
  any day be empty;
* ``on_empty="warn"``: the day checks are reported as warnings and the run goes on (for a sparse
  table such as ``engagement``).

Sources, later ones winning: ``$AMP_EMPTY_DAY_POLICY`` (a JSON file's path, or the JSON itself),
``--empty-day-policy FILE``, then the flags ``--empty-days TABLE=fail|warn``,
``--allow-empty-days TABLE=DAY[,DAY...]`` and ``--min-rows-per-day TABLE=N``. The JSON file::

    {"playback": {"allowed_days": ["2026-11-03"], "min_rows": 100},
     "engagement": {"on_empty": "warn"}}

The policy only changes how the suites' verdicts count (``adjust_suite``), never the suite files,
and the persisted input result records the policy in force.
"""

from __future__ import annotations

import argparse
import copy
import dataclasses
import datetime as dt
import json
import os
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from amp_features import files
from amp_features.contract import FACT_TABLES, RAW_TABLES
from amp_features.errors import ConfigError, StorageError

FAIL, WARN = "fail", "warn"
ENV_POLICY = "AMP_EMPTY_DAY_POLICY"
# The ``meta.check`` names of the input suites' day checks (suites.py).
MISSING_PARTITION = "missing partition"
COLLAPSED_VOLUME = "collapsed volume"
_KEYS = ("on_empty", "allowed_days", "min_rows")


def _day(value: Any, where: str) -> dt.date:
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError:
        raise ConfigError(f"{where}: not a day (YYYY-MM-DD): {value!r}") from None


@dataclass(frozen=True)
class EmptyDayPolicy:
    """What an empty or quiet day of one event table means; the default is strict."""

    on_empty: str = FAIL
    allowed_days: frozenset[dt.date] = frozenset()
    min_rows: int | None = None  # None: a day needs one row, and the collapse rule applies

    def __post_init__(self) -> None:
        if self.on_empty not in (FAIL, WARN):
            raise ConfigError(
                f"empty-day policy: on_empty must be fail or warn, not {self.on_empty!r}"
            )
        if self.min_rows is not None and self.min_rows < 0:
            raise ConfigError(f"empty-day policy: min_rows must be 0 or more, not {self.min_rows}")

    @property
    def floor(self) -> int:
        """The rows a day needs to count as present."""
        return 1 if self.min_rows is None else self.min_rows

    def allows_empty(self, day: dt.date) -> bool:
        """May ``day`` be empty without stopping the run?"""
        return self.on_empty == WARN or day in self.allowed_days or self.floor == 0

    def required_days(self, days: Iterable[str]) -> list[str]:
        """The days (ISO) that must have at least ``floor`` rows for the run to go on."""
        if self.floor == 0:
            return []
        allowed = {d.isoformat() for d in self.allowed_days}
        return [d for d in days if d not in allowed]

    def describe(self) -> dict[str, Any]:
        return {
            "on_empty": self.on_empty,
            "allowed_days": sorted(d.isoformat() for d in self.allowed_days),
            "min_rows": self.min_rows,
        }

    def adjust_suite(self, suite: dict[str, Any], table: str, day: dt.date) -> dict[str, Any]:
        """A copy of ``table``'s input suite for as_of ``day`` with this policy applied to its
        day checks (severity, thresholds and the sentence that says why)."""
        if self == EmptyDayPolicy():
            return suite
        out = copy.deepcopy(suite)
        day_exempt = self.on_empty == WARN or day in self.allowed_days
        for exp in out["expectations"]:
            meta = exp.setdefault("meta", {})
            batch, check = meta.get("batch", "rows"), meta.get("check")
            notes = []
            if batch == "rows" and check == MISSING_PARTITION:
                if self.min_rows is not None:
                    exp["kwargs"]["min_value"] = self.min_rows
                    meta["why"] = f"{table} has at least {self.min_rows} row(s) for the as_of day"
                    notes.append(f"min_rows={self.min_rows}")
                if day_exempt:
                    exp["severity"] = "warning"
                    notes.append(self._exempt_note(day))
            elif batch == "days" and check == MISSING_PARTITION:
                if self.min_rows is not None:
                    meta["why"] = (
                        f"every day of the window has at least {self.min_rows} {table} rows"
                    )
                    notes.append(f"min_rows={self.min_rows}")
                if self.allowed_days:
                    days = ", ".join(sorted(d.isoformat() for d in self.allowed_days))
                    notes.append(f"may be empty: {days}")
                if self.on_empty == WARN:
                    exp["severity"] = "warning"
                    notes.append("on_empty=warn")
            elif (
                batch == "volume"
                and check == COLLAPSED_VOLUME
                and (self.min_rows is not None or day_exempt)
            ):
                exp["severity"] = "warning"
                notes.append(
                    self._exempt_note(day) if day_exempt else f"min_rows={self.min_rows} instead"
                )
            if notes:
                meta["why"] = f"{meta.get('why', '')} (empty-day policy: {'; '.join(notes)})"
        return out

    def _exempt_note(self, day: dt.date) -> str:
        return "on_empty=warn" if self.on_empty == WARN else f"{day} may be empty"


@dataclass(frozen=True)
class InputPolicy:
    """The empty-day policy of each event table (strict for a table not named)."""

    tables: Mapping[str, EmptyDayPolicy] = field(default_factory=dict)

    def of(self, table: str) -> EmptyDayPolicy:
        return self.tables.get(table, EmptyDayPolicy())

    def describe(self) -> dict[str, dict[str, Any]]:
        """The non-default policies, for the persisted result and logs."""
        return {t: p.describe() for t, p in sorted(self.tables.items()) if p != EmptyDayPolicy()}

    def updated(self, table: str, where: str, **changes: Any) -> InputPolicy:
        _check_table(table, where)
        current = self.of(table)
        if "allowed_days" in changes:  # days add up across sources
            changes["allowed_days"] = current.allowed_days | frozenset(changes["allowed_days"])
        try:
            changed = dataclasses.replace(current, **changes)
        except ConfigError as exc:
            raise ConfigError(f"{where}: {exc}") from None
        return InputPolicy({**self.tables, table: changed})


def _check_table(table: str, where: str) -> None:
    if table in FACT_TABLES:
        return
    if table in RAW_TABLES:
        raise ConfigError(
            f"{where}: {table} is a dimension table (a snapshot, without days); "
            f"only {', '.join(FACT_TABLES)} have empty days"
        )
    raise ConfigError(f"{where}: unknown table {table!r}; choose from {', '.join(FACT_TABLES)}")


# -- sources -------------------------------------------------------------------------------------
def parse_json(text: str, source: str) -> InputPolicy:
    """A policy from JSON ``{"TABLE": {"on_empty": ..., "allowed_days": [...], "min_rows": N}}``."""
    try:
        data = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ConfigError(f"empty-day policy {source} is not valid JSON: {exc}") from None
    if not isinstance(data, dict):
        raise ConfigError(f"empty-day policy {source}: expected an object of tables")
    policy = InputPolicy()
    for table, entry in data.items():
        where = f"empty-day policy {source}, table {table}"
        if not isinstance(entry, dict):
            raise ConfigError(f"{where}: expected an object with {', '.join(_KEYS)}")
        unknown = sorted(set(entry) - set(_KEYS))
        if unknown:
            raise ConfigError(f"{where}: unknown key(s) {', '.join(unknown)}")
        changes: dict[str, Any] = {}
        if "on_empty" in entry:
            changes["on_empty"] = str(entry["on_empty"])
        if "allowed_days" in entry:
            days = entry["allowed_days"]
            if not isinstance(days, list):
                raise ConfigError(f"{where}: allowed_days must be a list of days")
            changes["allowed_days"] = {_day(d, where) for d in days}
        if "min_rows" in entry:
            changes["min_rows"] = _int(entry["min_rows"], where)
        policy = policy.updated(str(table), where, **changes)
    return policy


def _int(value: Any, where: str) -> int | None:
    if value is None:
        return None
    if isinstance(value, bool) or not str(value).strip().lstrip("-").isdigit():
        raise ConfigError(f"{where}: min_rows must be a whole number, not {value!r}")
    return int(value)


def from_source(value: str, source: str) -> InputPolicy:
    """A policy from a JSON file's path, or from JSON text (starting with ``{``)."""
    if value.lstrip().startswith("{"):
        return parse_json(value, source)
    try:  # a local file or an s3a:// object, like every other setting that names storage
        text = files.read_text(value)
    except FileNotFoundError:
        raise ConfigError(
            f"empty-day policy file {value} ({source}): No such file or directory"
        ) from None
    except (OSError, StorageError) as exc:
        raise ConfigError(f"empty-day policy file {value} ({source}): {exc}") from None
    return parse_json(text, f"file {value}")


def from_env(environ: Mapping[str, str] | None = None) -> InputPolicy:
    """The policy of ``$AMP_EMPTY_DAY_POLICY``, or the strict default when it is not set."""
    value = (os.environ if environ is None else environ).get(ENV_POLICY, "").strip()
    return from_source(value, f"${ENV_POLICY}") if value else InputPolicy()


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """The empty-day flags of ``run`` and ``validate inputs``."""
    group = parser.add_argument_group("empty days (default: a day without rows stops the run)")
    group.add_argument(
        "--empty-day-policy",
        metavar="FILE",
        help=f"JSON file of per-table policies (default ${ENV_POLICY})",
    )
    group.add_argument(
        "--empty-days",
        action="append",
        default=[],
        metavar="TABLE=fail|warn",
        help="what an empty day of TABLE does; warn reports it and goes on (repeatable)",
    )
    group.add_argument(
        "--allow-empty-days",
        action="append",
        default=[],
        metavar="TABLE=DAY[,DAY...]",
        help="days of TABLE that may be empty (repeatable)",
    )
    group.add_argument(
        "--min-rows-per-day",
        action="append",
        default=[],
        metavar="TABLE=N",
        help="the fewest rows a day of TABLE needs; replaces the relative collapse rule",
    )


def _pairs(values: Iterable[str], flag: str) -> Iterable[tuple[str, str, str]]:
    for raw in values:
        table, sep, value = raw.partition("=")
        where = f"{flag} {raw}"
        if not sep or not table.strip() or not value.strip():
            raise ConfigError(f"{where}: expected TABLE=VALUE")
        yield table.strip(), value.strip(), where


def from_args(args: argparse.Namespace, environ: Mapping[str, str] | None = None) -> InputPolicy:
    """The policy of the flags of ``add_arguments`` on top of the file or environment one.
    Flags that a parser did not define count as not given."""
    file = getattr(args, "empty_day_policy", None)
    policy = from_source(file, "--empty-day-policy") if file else from_env(environ)
    for table, value, where in _pairs(getattr(args, "empty_days", None) or [], "--empty-days"):
        policy = policy.updated(table, where, on_empty=value.lower())
    for table, value, where in _pairs(
        getattr(args, "allow_empty_days", None) or [], "--allow-empty-days"
    ):
        days = {_day(d, where) for d in value.split(",") if d.strip()}
        policy = policy.updated(table, where, allowed_days=days)
    for table, value, where in _pairs(
        getattr(args, "min_rows_per_day", None) or [], "--min-rows-per-day"
    ):
        policy = policy.updated(table, where, min_rows=_int(value, where))
    return policy
