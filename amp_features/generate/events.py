"""The listening sessions of one event task (one day of one slice of users), in NumPy.

A task's sessions come from the task's own stream (``Plan.task``, ``draws.stream``), so the
playback, engagement and shape passes each regenerate exactly the same sessions without keeping
them anywhere; ``facts.py`` corrupts and formats them from separate streams.
"""

from __future__ import annotations

import dataclasses
import functools
import math
from dataclasses import dataclass
from typing import Any

import numpy as np

from amp_features.contract import MAX_LISTEN_SECONDS
from amp_features.generate import dims
from amp_features.generate import draws as D
from amp_features.generate import model as M

# Which show a session plays.
FAVOURITE_SHARE = 0.78
NEW_SHOW_SHARE = 0.05
TUNE_IN_SHARE = 0.7


@dataclass
class Sessions:
    """One task's listening sessions (engage-only users' are virtual), before any corruption.

    Every draw is taken up front (a stream's order must not depend on what is asked), but the
    show and the clock are worked out only for the rows kept (``take``) when asked: engagement
    needs them for a few sessions, the shape pass needs no clock.
    """

    plan: M.Plan
    day: int
    lo: int
    uidx: np.ndarray
    kind: np.ndarray
    eidx: np.ndarray
    u_activity: np.ndarray
    n_declared: np.ndarray
    offset: np.ndarray
    u: np.ndarray  # per-session draws, one row per draw (``_DRAWS``)

    def take(self, rows: np.ndarray) -> Sessions:
        per_row: dict[str, Any] = {f: getattr(self, f)[rows] for f in _PER_ROW}
        return dataclasses.replace(self, **per_row, u=self.u[:, rows])

    @functools.cached_property
    def sidx(self) -> np.ndarray:
        return _choose_show(self)

    @functools.cached_property
    def clock(self) -> tuple[np.ndarray, np.ndarray]:
        """The second of the day each session starts at, and its length in seconds."""
        return _time_and_length(self)


_PER_ROW = ("uidx", "kind", "eidx", "u_activity", "n_declared", "offset")
_DRAWS = 17  # 8 for the show, 1 for an orphan's id, 8 for the clock


@functools.lru_cache(maxsize=4)
def _users(plan: M.Plan, lo: int, hi: int) -> dict[str, np.ndarray]:
    """What the sessions need of users ``lo..hi-1`` (cached: a worker process serves many days
    of the same slice)."""
    uidx = np.arange(lo, hi, dtype=np.int64)
    kind = dims.user_kind(plan, uidx)
    return {
        "kind": kind,
        "signup_day": dims.signup_day(plan, uidx, kind),
        "u_activity": plan.uniform("activity", uidx),
        "forced_day": D.pick(plan.uniform("forced_day", uidx), plan.days),
        "n_declared": dims.n_declared(plan, uidx),
        "offset": M.COUNTRY_OFFSETS[dims.country_index(plan, uidx)],
    }


@functools.lru_cache(maxsize=2)
def show_table(plan: M.Plan) -> dict[str, np.ndarray]:
    """Attributes of every show index, orphans included (cached per worker process)."""
    sidx = np.arange(plan.n_shows + plan.n_orphan_ids, dtype=np.int64)
    return {
        "premiere": dims.premiere_day(plan, sidx),
        "slot": dims.slot_second(plan, sidx),
        "live": dims.is_live(plan, sidx),
        "weekly": dims.is_weekly(plan, sidx),
        "creator": dims.show_creator(plan, sidx),
    }


def sessions(plan: M.Plan, task: int) -> Sessions:
    """The sessions of event task ``task``: who is active, how often, which show, when, how long."""
    day, lo, hi = plan.task(task)
    rng = D.stream(plan.seed, "sessions", day, lo)
    u = _users(plan, lo, hi)
    kind = u["kind"]
    share, plays = plan.activity_curve
    weekday = (plan.start_date.isoweekday() % 7 + day) % 7  # 0 = Sunday
    factor = M.WEEKDAY_FACTOR[weekday]
    if not math.isnan(share):  # a requested share is the mean over the week
        factor /= sum(M.WEEKDAY_FACTOR) / len(M.WEEKDAY_FACTOR)
    p_day = M.day_probability(u["u_activity"], None if math.isnan(share) else share) * factor
    forced = (kind != M.LISTENER) & (u["forced_day"] == day)  # at least one day with events
    active = (rng.random(hi - lo) < p_day) | forced
    who = np.flatnonzero(active & (kind != M.DECLARED_ONLY) & (day > u["signup_day"]))
    mean = M.mean_sessions(
        u["u_activity"][who], None if math.isnan(plays) else plays, plan.options.activity_scale
    )
    n = np.minimum(rng.geometric(1.0 / mean), M.MAX_SESSIONS_PER_DAY)
    n = np.where(kind[who] == M.ENGAGE_ONLY, np.minimum(n, 3), n)
    owner = np.repeat(who, n)
    first = np.cumsum(n) - n
    k = np.arange(len(owner)) - np.repeat(first, n)
    uidx = owner + lo
    eidx = ((day * plan.n_ids + uidx) * M.MAX_SESSIONS_PER_DAY + k).astype(np.int64)
    return Sessions(
        plan,
        day,
        lo,
        uidx,
        kind[owner],
        eidx,
        u["u_activity"][owner],
        u["n_declared"][owner],
        u["offset"][owner],
        D.draws(rng, _DRAWS, len(uidx)),
    )


def _choose_show(s: Sessions) -> np.ndarray:
    plan, day, uidx, u_activity, nd, u = s.plan, s.day, s.uidx, s.u_activity, s.n_declared, s.u
    t = plan.n_topics
    # Favourites: a handful of older shows per user (hashes of the user and the slot).
    n_favs = np.minimum(10, 2 + np.floor(np.log(1.0 / u_activity))).astype(np.int64)
    slot = D.skewed(u[0], n_favs, 1.5)
    fav_topic = dims.preferred_topic(
        plan,
        uidx,
        nd,
        *(plan.uniform(f"fav_topic:{w}", uidx, slot) for w in ("own", "which", "other")),
    )
    fav_rank = D.skewed(plan.uniform("fav_rank", uidx, slot), plan.old_per_topic, 2.5)
    favourite = fav_topic + t * fav_rank
    # Exploring: a preferred topic, a popular show that exists on that day.
    topic = dims.preferred_topic(plan, uidx, nd, u[1], u[2], u[3])
    new = plan.new_per_topic
    avail = plan.old_per_topic + (min(math.ceil((day + 1) * new / plan.days), new) if new else 0)
    recent_from = plan.old_per_topic + max(math.ceil((day - 6) * new / plan.days), 0)
    explore = topic + t * D.skewed(u[4], avail, 2.5)
    recent = topic + t * (recent_from + D.pick(u[5], max(avail - recent_from, 1)))
    choice = u[6]
    sidx = np.where(
        choice < FAVOURITE_SHARE,
        favourite,
        np.where(
            (choice < FAVOURITE_SHARE + NEW_SHOW_SHARE) & (avail > recent_from), recent, explore
        ),
    )
    o = plan.options
    if o.orphan_plays and o.orphan_rate > 0:
        orphan = u[7] < o.orphan_rate
        orphan_id = plan.n_shows + D.pick(u[8], plan.n_orphan_ids)
        sidx = np.where(orphan, orphan_id, sidx)
    return sidx.astype(np.int64)


def _time_and_length(sessions: Sessions) -> tuple[np.ndarray, np.ndarray]:
    plan, day, sidx, offset = sessions.plan, sessions.day, sessions.sidx, sessions.offset
    s = show_table(plan)
    u = sessions.u[9:]
    # Live shows: listeners tune in from ten minutes before the slot to ninety minutes after.
    premiere = s["premiere"][sidx]
    airs_today = ~s["weekly"][sidx] | ((day - premiere) % 7 == 0)
    tune_in = s["live"][sidx] & airs_today & (day >= premiere) & (u[0] < TUNE_IN_SHARE)
    live_second = s["slot"][sidx] - 600 + np.floor(u[1] ** 2 * 6000).astype(np.int64)
    # On demand: the user's local rhythm, shifted to UTC by the country's offset.
    local = D.weighted(u[2], M.LOCAL_HOUR_WEIGHTS) * 3600 + D.pick(u[3], 3600)
    demand_second = (local - offset * 3600) % M.SECONDS_PER_DAY
    second = np.where(tune_in, live_second, demand_second)
    # Length: a few bounces of seconds; otherwise log-normal, longer when live.
    median = np.where(tune_in, math.log(1500.0), math.log(540.0))
    lognormal = np.exp(median + 1.25 * D.normal(u[4], u[5]))
    length = np.clip(np.floor(lognormal), 10, MAX_LISTEN_SECONDS).astype(np.int64)
    length = np.where(u[6] < 0.05, D.pick(u[7], 10), length)
    return second.astype(np.int64), length
