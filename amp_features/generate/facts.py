"""Playback and engagement rows of one event task, with their awkward rows, as Arrow batches.

Every batch carries, next to the contract's columns, what the report counts: ``_class`` (the
invalid class, 1 + its position in ``PLAYBACK_INVALID`` / ``ENGAGEMENT_INVALID``, 0 when valid),
``_dup`` (0 unique, 1 exact re-delivery, 2 conflicting duplicate), ``_copy`` (0 for the first
copy), ``_midnight`` and, for playback, ``_orphan``.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import pyarrow as pa

from amp_features.contract import MAX_LISTEN_SECONDS
from amp_features.generate import dims
from amp_features.generate import draws as D
from amp_features.generate.events import Sessions, sessions, show_table
from amp_features.generate.model import ENGAGE_ONLY, SECONDS_PER_DAY, Plan
from amp_features.generate.options import ENGAGEMENT_INVALID, PLAYBACK_INVALID

# Engagement per listening session (like, follow, opt-in); engage-only users' one event.
ENGAGE_RATES = (0.03, 0.006, 0.004)
ENGAGE_ONLY_TYPES = (0.6, 0.25, 0.15)
EVENT_TYPES = ("like_show", "follow_creator", "enable_notification")
# Labels of engagement's event_type: the three, then the unknown ones (the last is null).
_TYPE_LABELS = (*EVENT_TYPES, "share_show", "Like_Show", "unlike_show", "")


def code(classes: tuple[str, ...], name: str) -> int:
    """The ``_class`` code of an invalid class: 1 + its position (0 is a valid row)."""
    return classes.index(name) + 1


def _classes(plan: Plan, u: np.ndarray, classes: tuple[str, ...]) -> np.ndarray:
    """The invalid class of each row: class i owns [i * bad_rows, (i + 1) * bad_rows)."""
    o, f = plan.options, plan.bad_rows
    if not o.invalid_rows or f <= 0:
        return np.zeros(len(u), dtype=np.int8)
    enabled = np.array([False] + [o.invalid_enabled(c) for c in classes])
    slot = np.minimum(u // f, len(classes)).astype(np.int64) + 1
    slot[slot > len(classes)] = 0
    out: np.ndarray = np.where(enabled[slot], slot, 0).astype(np.int8)
    return out


@dataclass
class Marks:
    """One entry per written row: the event it copies (``row``) and what the row carries."""

    row: np.ndarray
    copy: np.ndarray
    cls: np.ndarray
    dup: np.ndarray
    midnight: np.ndarray
    u: np.ndarray  # the event's draws for its columns: midnight side, shift, late, then extra

    def is_(self, classes: tuple[str, ...], name: str) -> np.ndarray:
        out: np.ndarray = self.cls == code(classes, name)
        return out

    @property
    def conflict(self) -> np.ndarray:
        """The later copies of a conflicting duplicate: they differ from the first."""
        out: np.ndarray = (self.dup == 2) & (self.copy > 0)
        return out


def _marks(
    plan: Plan, rng: np.random.Generator, n: int, classes: tuple[str, ...], extra: int
) -> Marks:
    """Invalid classes, duplicates (an invalid row is never duplicated) and midnight events."""
    o = plan.options
    u = D.draws(rng, 7 + extra, n)
    cls = _classes(plan, u[0], classes)
    redeliver = o.redelivery_rate if o.redeliveries else 0.0
    conflict = o.conflict_rate if o.conflicting_duplicates else 0.0
    dup = np.where(u[1] < redeliver, 1, np.where(u[1] < redeliver + conflict, 2, 0))
    dup = np.where(cls == 0, dup, 0).astype(np.int8)
    midnight = (cls == 0) & (u[2] < (o.midnight_rate if o.midnight_events else 0.0))
    copies = np.where(dup == 0, 1, np.where((dup == 1) & (u[3] < 0.1), 3, 2))  # a tenth: three
    row = np.repeat(np.arange(n), copies)
    copy = np.arange(len(row)) - np.repeat(np.cumsum(copies) - copies, copies)
    return Marks(row, copy.astype(np.int8), cls[row], dup[row], midnight[row], u[4:, row])


def _second(
    marks: Marks, classes: tuple[str, ...], second: np.ndarray, shift: np.ndarray
) -> np.ndarray:
    """The second of the row's day: midnight edges; ``shift`` rows moved 1..30 s toward noon
    (their UTC date cannot change); late arrivals (``dt_mismatch``) 1 s to 3 h before the day."""
    second = np.where(marks.midnight, np.where(marks.u[0] < 0.5, 0, SECONDS_PER_DAY - 1), second)
    step = 1 + D.pick(marks.u[1], 30)
    noon = np.where(second < SECONDS_PER_DAY // 2, second + step, second - step)
    second = np.where(shift, noon, second)
    late = -1 - D.pick(marks.u[2], 3 * 3600)
    out: np.ndarray = np.where(marks.is_(classes, "dt_mismatch"), late, second)
    return out


def _helpers(marks: Marks) -> list[pa.Array]:
    return [pa.array(marks.cls), pa.array(marks.dup), pa.array(marks.copy)]


# -- playback ------------------------------------------------------------------------------------


@dataclass
class PlaybackRows:
    sessions: Sessions
    marks: Marks
    src: np.ndarray  # the session each written row comes from
    sidx: np.ndarray  # the final show (a conflicting copy may play the next one)


def playback_rows(plan: Plan, task: int) -> PlaybackRows:
    """The task's listens (engage-only users' sessions dropped) with their corruptions."""
    s = sessions(plan, task)
    listens = np.flatnonzero(s.kind != ENGAGE_ONLY)
    stream = D.stream(plan.seed, "playback", s.day, s.lo)
    marks = _marks(plan, stream, len(listens), PLAYBACK_INVALID, 3)
    src = listens[marks.row]
    variant = D.pick(marks.u[3], 3)
    sidx = s.sidx[src]
    sidx = np.where(marks.conflict & (variant == 2), (sidx + 1) % plan.n_shows, sidx)
    return PlaybackRows(s, marks, src, sidx)


def playback_batch(plan: Plan, task: int) -> pa.RecordBatch:
    r = playback_rows(plan, task)
    s, m, c = r.sessions, r.marks, PLAYBACK_INVALID
    variant = D.pick(m.u[3], 3)
    start, length = s.clock
    second = _second(m, c, start[r.src], m.conflict & (variant == 1))
    length = length[r.src]
    length = np.where(m.conflict & (variant == 0), np.where(length > 0, length // 2, 30), length)
    length = np.where(m.is_(c, "negative_listen_seconds"), -1 - D.pick(m.u[4], 3600), length)
    too_long = MAX_LISTEN_SECONDS + 1 + D.pick(m.u[5], 86_400)
    length = np.where(m.is_(c, "too_long_listen_seconds"), too_long, length)
    no_show = m.is_(c, "null_show_id") | m.is_(c, "empty_show_id")
    eidx = s.eidx[r.src]
    return pa.RecordBatch.from_arrays(
        [
            D.strings(D.hex_ids("p", _masked(eidx, plan.mask("playback")))),
            D.strings(dims.user_id(plan, s.uidx[r.src]), m.is_(c, "null_user_id"), m.is_(c, "empty_user_id")),
            D.strings(dims.show_id(plan, r.sidx), m.is_(c, "null_show_id"), m.is_(c, "empty_show_id")),
            D.timestamps(plan.start_epoch + s.day * SECONDS_PER_DAY + second, m.is_(c, "null_started_at")),
            pa.array(length, pa.int64(), mask=m.is_(c, "null_listen_seconds")),
            _dates(plan, np.full(len(eidx), s.day)),
            *_helpers(m),
            pa.array((r.sidx >= plan.n_shows) & ~no_show),
            pa.array(m.midnight),
        ],
        names=PLAYBACK_COLUMNS,
    )  # fmt: skip


PLAYBACK_COLUMNS = [
    "event_id", "user_id", "show_id", "started_at", "listen_seconds", "dt",
    "_class", "_dup", "_copy", "_orphan", "_midnight",
]  # fmt: skip


def _masked(index: np.ndarray, mask: int) -> np.ndarray:
    """XOR with a constant is a bijection: distinct indices stay distinct ids."""
    out: np.ndarray = index.astype(np.uint64) ^ np.uint64(mask)
    return out


def _dates(plan: Plan, day: np.ndarray) -> pa.Array:
    return pa.array((plan.start_day + day).astype(np.int32), pa.date32())


def _distinct(values: np.ndarray) -> np.ndarray:
    """The distinct values, by sorting (faster here than ``np.unique``'s hashing)."""
    ordered = np.sort(values)
    keep = np.ones(len(ordered), dtype=bool)
    keep[1:] = ordered[1:] != ordered[:-1]
    out: np.ndarray = ordered[keep]
    return out


def shape_batch(plan: Plan, part: int) -> pa.RecordBatch:
    """Per user of slice ``part`` who played: plays, distinct shows and days with a play, over
    every day, counting the plays with a user and a show (the tasks of the slice regenerated,
    no strings). One slice holds all of its users' plays, so no shuffle is needed."""
    c = PLAYBACK_INVALID
    width = plan.n_shows + plan.n_orphan_ids
    lo = plan.task(part)[1]
    size = plan.task(part)[2] - lo
    plays = np.zeros(size, dtype=np.int64)
    days = np.zeros(size, dtype=np.int64)
    pairs = []
    for day in range(plan.days):
        r = playback_rows(plan, day * plan.parts_per_day + part)
        m = r.marks
        named = ~(
            m.is_(c, "null_user_id") | m.is_(c, "empty_user_id")
            | m.is_(c, "null_show_id") | m.is_(c, "empty_show_id")
        )  # fmt: skip
        user = r.sessions.uidx[r.src][named] - lo
        today = np.bincount(user, minlength=size)
        plays += today
        days += today > 0
        pairs.append(_distinct(user * width + r.sidx[named]))
    distinct = np.bincount(_distinct(np.concatenate(pairs)) // width, minlength=size)
    played = plays > 0
    return pa.RecordBatch.from_arrays(
        [pa.array(plays[played]), pa.array(distinct[played]), pa.array(days[played])],
        names=["plays", "pairs", "days"],
    )


# -- engagement ----------------------------------------------------------------------------------


def engagement_batch(plan: Plan, task: int) -> pa.RecordBatch:
    """Listeners like, follow and opt in at small per-session rates; each virtual session of an
    engage-only user yields exactly one event, so those users are never without one."""
    s = sessions(plan, task)
    rng = D.stream(plan.seed, "engagement", s.day, s.lo)
    u = D.draws(rng, 4, len(s.uidx))
    only = s.kind == ENGAGE_ONLY
    only_type = D.weighted(u[3], ENGAGE_ONLY_TYPES)
    chosen = [np.where(only, only_type == t, u[t] < ENGAGE_RATES[t]) for t in range(3)]
    engaging = np.flatnonzero(chosen[0] | chosen[1] | chosen[2])
    picked = [np.flatnonzero(c[engaging]) for c in chosen]
    s = s.take(engaging)  # only these sessions need a show and a clock
    which = np.concatenate(picked)
    etype = np.concatenate([np.full(len(p), t) for t, p in enumerate(picked)])
    start, length = s.clock
    # Events are keyed by their own instant: one late in a session may fall on the next day.
    instant = (
        s.day * SECONDS_PER_DAY + start[which]
        + D.pick(rng.random(len(which)), np.maximum(length[which], 1))
    )  # fmt: skip
    keep = instant < plan.days * SECONDS_PER_DAY
    which, etype, instant = which[keep], etype[keep], instant[keep]
    gidx = s.eidx[which] * 4 + etype
    c = ENGAGEMENT_INVALID
    m = _marks(plan, rng, len(which), c, 1)
    which, etype, instant, gidx = which[m.row], etype[m.row], instant[m.row], gidx[m.row]
    day = instant // SECONDS_PER_DAY
    second = _second(m, c, instant % SECONDS_PER_DAY, m.conflict)
    unknown = m.is_(c, "unknown_event_type")
    label = np.where(unknown, 3 + D.pick(m.u[3], 4), etype)
    needs_show = (etype == 0) | (etype == 2)
    null_need, empty_need = m.is_(c, "null_required_id"), m.is_(c, "empty_required_id")
    sidx = s.sidx[which]
    creator = dims.creator_id(plan, show_table(plan)["creator"][sidx])
    return pa.RecordBatch.from_arrays(
        [
            D.strings(D.hex_ids("e", _masked(gidx, plan.mask("engagement")))),
            D.strings(dims.user_id(plan, s.uidx[which]), m.is_(c, "null_user_id"), m.is_(c, "empty_user_id")),
            D.labels(_TYPE_LABELS, label, label == len(_TYPE_LABELS) - 1),
            # The show is the context of every event; a follow also names the show's creator.
            D.strings(dims.show_id(plan, sidx), null_need & needs_show, empty_need & needs_show),
            D.strings(creator, needs_show | null_need, ~needs_show & empty_need),
            D.timestamps(plan.start_epoch + day * SECONDS_PER_DAY + second, m.is_(c, "null_occurred_at")),
            _dates(plan, day),
            *_helpers(m),
            pa.array(m.midnight),
        ],
        names=ENGAGEMENT_COLUMNS,
    )  # fmt: skip


ENGAGEMENT_COLUMNS = [
    "event_id", "user_id", "event_type", "show_id", "creator_id", "occurred_at", "dt",
    "_class", "_dup", "_copy", "_midnight",
]  # fmt: skip
