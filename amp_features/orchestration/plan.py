"""The backfill planner: which as-of dates to roll up, which to skip, and where states start.

Pure functions over dates, so ``--dry-run`` and the tests can check a plan without Spark.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass, field

from amp_features.errors import ConfigError

# The window is [D-59, D]: an as-of date needs the daily states of its 60 days.
WINDOW_DAYS = 60
# A backfill longer than this is almost certainly a typo in --start/--end.
MAX_BACKFILL_DAYS = 3660


def parse_day(value: dt.date | str) -> dt.date:
    """A date from ``YYYY-MM-DD`` (or a date), with an error that names the bad value."""
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    try:
        return dt.date.fromisoformat(str(value).strip())
    except ValueError as exc:
        raise ConfigError(f"not a date (want YYYY-MM-DD): {value!r}") from exc


def date_range(start: dt.date | str, end: dt.date | str) -> list[dt.date]:
    """Every day from start to end, both included, oldest first."""
    first, last = parse_day(start), parse_day(end)
    if last < first:
        raise ConfigError(f"end {last} is before start {first}")
    days = (last - first).days + 1
    if days > MAX_BACKFILL_DAYS:
        raise ConfigError(f"{first}..{last} is {days} days; split it (limit {MAX_BACKFILL_DAYS})")
    return [first + dt.timedelta(days=i) for i in range(days)]


@dataclass(frozen=True)
class BackfillPlan:
    """What a backfill of ``start..end`` will do, given the dates already complete."""

    start: dt.date
    end: dt.date
    force: bool
    todo: list[dt.date] = field(default_factory=list)  # rolled up, in this order
    skipped: list[dt.date] = field(default_factory=list)  # already complete, left alone
    # With --force, states are rebuilt by forcing build_states on these as-of dates only: their
    # windows tile [start-59, end] with little overlap, so each daily state is rebuilt about once
    # instead of 60 times (once per as-of date whose window contains it).
    force_state_anchors: list[dt.date] = field(default_factory=list)

    @property
    def state_days(self) -> tuple[dt.date, dt.date] | None:
        """The dt range whose daily states the dates to roll up need (None if nothing to do)."""
        if not self.todo:
            return None
        return self.todo[0] - dt.timedelta(days=WINDOW_DAYS - 1), self.todo[-1]

    def describe(self) -> list[str]:
        """Human-readable lines for --dry-run and the job log."""
        lines = [
            f"backfill {self.start}..{self.end}: {len(self.todo)} to roll up, "
            f"{len(self.skipped)} already complete"
            + (" (--force: recompute all)" if self.force else "")
        ]
        span = self.state_days
        if span is not None:
            lines.append(
                f"daily states needed for dt {span[0]}..{span[1]}; missing ones are built once"
                + (", all rebuilt (--force)" if self.force else "")
            )
        lines.extend(f"  roll up {day}" for day in self.todo)
        lines.extend(f"  skip    {day} (complete; --force recomputes it)" for day in self.skipped)
        return lines


def _anchors(todo: list[dt.date]) -> list[dt.date]:
    if not todo:
        return []
    anchors = [todo[0]]
    while anchors[-1] + dt.timedelta(days=WINDOW_DAYS) <= todo[-1]:
        anchors.append(anchors[-1] + dt.timedelta(days=WINDOW_DAYS))
    if anchors[-1] != todo[-1]:
        anchors.append(todo[-1])
    return anchors


def plan_backfill(
    start: dt.date | str,
    end: dt.date | str,
    completed: Iterable[dt.date],
    *,
    force: bool = False,
) -> BackfillPlan:
    """Plan a backfill: roll up every date not in ``completed`` (every date with ``force``).

    Resuming after a crash is this same plan run again: dates finished before the crash are in
    ``completed`` and are skipped; the date that was in flight is redone from the start (each
    stage overwrites what it writes, so a half-written date is simply written again).
    """
    days = date_range(start, end)
    done = set(completed)
    if force:
        todo, skipped = days, []
    else:
        todo = [d for d in days if d not in done]
        skipped = [d for d in days if d in done]
    return BackfillPlan(
        start=days[0],
        end=days[-1],
        force=force,
        todo=todo,
        skipped=skipped,
        force_state_anchors=_anchors(todo) if force else [],
    )
