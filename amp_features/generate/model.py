"""The synthetic Amp app's constants and sizes (``Plan``) and the two activity shapes.

``dims.py`` derives users and shows from their index, ``events.py`` the sessions of one task,
``facts.py`` the playback and engagement rows. See ``docs/data_dictionary.md`` for the shape
this produces and why.
"""

from __future__ import annotations

import datetime as dt
import functools
import hashlib
import math
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from amp_features.generate import draws as D
from amp_features.generate.options import GeneratorOptions

# Ordered by popularity: draws favour the front of the list.
TOPICS = (
    "pop music", "politics", "comedy", "true crime", "hip hop", "basketball",
    "american football", "soccer", "baseball", "world news", "business", "tech",
    "personal finance", "health", "wellness", "relationships", "film", "tv", "gaming",
    "esports", "k-pop", "latin music", "rock", "country music", "electronic", "jazz",
    "classical", "religion", "science", "books", "food", "travel", "parenting", "fashion",
    "crypto", "education", "cricket", "tennis", "formula 1", "golf",
)  # fmt: skip

# (country, UTC offset in hours, share of users in percent)
COUNTRIES = (
    ("US", -5, 30), ("BR", -3, 10), ("MX", -6, 6), ("CA", -5, 2), ("GB", 0, 8),
    ("DE", 1, 7), ("FR", 1, 5), ("NG", 1, 5), ("IN", 5, 12), ("ID", 7, 6),
    ("PH", 8, 4), ("JP", 9, 5),
)  # fmt: skip
COUNTRY_OFFSETS = np.array([c[1] for c in COUNTRIES], dtype=np.int64)

# Relative listening by local hour 0..23: a morning commute bump and an evening peak.
LOCAL_HOUR_WEIGHTS = (
    2, 1, 1, 1, 1, 2, 4, 7, 8, 6, 5, 5, 6, 6, 5, 5, 6, 7, 8, 10, 11, 10, 7, 4,
)  # fmt: skip

# Activity multiplier by weekday (0 = Sunday .. 6 = Saturday): weekends are busier.
WEEKDAY_FACTOR = (1.15, 0.92, 0.95, 0.95, 0.97, 1.05, 1.20)

SECONDS_PER_DAY = 86_400
MAX_SESSIONS_PER_DAY = 64  # also the stride of the event index, so ids stay unique
NO_DECLARED_TOPICS = 0.08  # share of users who declared no topic at all
NEW_SIGNUP_SHARE = 0.15  # listeners who sign up inside the generated days
DECLARED_TOPIC_SHARE = 0.85
LIVE_SHOW_SHARE = 0.6
WEEKLY_LIVE_SHARE = 0.6
# Heavy tail of activity: x ~ Pareto(1). Dense shape: daily activity and sessions grow with x.
ACTIVE_BASE = 0.055
ACTIVE_MAX = 0.97
SESSIONS_COEF = 1.6
SESSIONS_EXP = 0.6
SESSIONS_CAP = 48.0
# Calibrated shape (``active_share`` / ``plays_per_day``): p ~ x^0.5, extra plays ~ x^0.25.
SHARE_EXP = 0.5
PLAYS_EXP = 0.25

KINDS = ("listener", "engage_only", "declared_only", "unregistered")
LISTENER, ENGAGE_ONLY, DECLARED_ONLY, UNREGISTERED = range(4)
# Users of one event task (one day of one slice of users). Every slice is also one task of the
# shape pass (all its days), so large lakes get at least two slices for the two cores.
USERS_PER_TASK = 200_000


@functools.lru_cache(maxsize=512)
def _key(seed: int, salt: str) -> int:
    return D.key(seed, salt)


@dataclass(frozen=True)
class Plan:
    """The sizes every draw needs, derived once from the arguments."""

    users: int
    days: int
    end_date: dt.date
    seed: int
    bad_rows: float
    options: GeneratorOptions

    def key(self, salt: str) -> int:
        return _key(self.seed, salt)

    def uniform(self, salt: str, *ids: np.ndarray | int) -> np.ndarray:
        return D.uniform(self.key(salt), *ids)

    def mask(self, salt: str) -> int:
        """A 60-bit constant from the seed, XORed into event indices to make ids look random."""
        return int(hashlib.sha256(f"{self.seed}:{salt}".encode()).hexdigest()[:15], 16)

    @property
    def start_date(self) -> dt.date:
        return self.end_date - dt.timedelta(days=self.days - 1)

    @property
    def start_day(self) -> int:
        """Days from 1970-01-01 to the first generated day (Arrow's date32)."""
        return (self.start_date - dt.date(1970, 1, 1)).days

    @property
    def start_epoch(self) -> int:
        return self.start_day * SECONDS_PER_DAY

    @property
    def n_unregistered(self) -> int:
        o = self.options
        return math.ceil(self.users * o.unregistered_rate) if o.unregistered_users else 0

    @property
    def n_ids(self) -> int:
        """User indices: 0..users-1 are in ``users``; the rest only appear in events."""
        return self.users + self.n_unregistered

    @property
    def n_topics(self) -> int:
        return len(TOPICS)

    @property
    def per_topic(self) -> int:
        wanted = self.options.shows if self.options.shows is not None else self.users // 10
        return max(4, round(wanted / self.n_topics))

    @property
    def n_shows(self) -> int:
        return self.per_topic * self.n_topics

    @property
    def old_per_topic(self) -> int:
        """Shows per topic that exist before the first generated day; the rest premiere inside."""
        return max(1, int(self.per_topic * 0.75))

    @property
    def new_per_topic(self) -> int:
        return self.per_topic - self.old_per_topic

    @property
    def n_creators(self) -> int:
        return max(1, self.n_shows // 3)

    @property
    def n_orphan_ids(self) -> int:
        return max(1, self.n_shows // 20)

    @property
    def parts_per_day(self) -> int:
        return max(1, math.ceil(self.n_ids / USERS_PER_TASK))

    @property
    def part_size(self) -> int:
        return math.ceil(self.n_ids / self.parts_per_day)

    @property
    def n_tasks(self) -> int:
        return self.days * self.parts_per_day

    def task(self, index: int) -> tuple[int, int, int]:
        """Event task ``index``: its day and the user indices [lo, hi) it covers."""
        day, part = divmod(index, self.parts_per_day)
        lo = part * self.part_size
        return day, lo, min(self.n_ids, lo + self.part_size)

    def width(self, count: int, at_least: int) -> int:
        """Digits of an id: widened rather than truncated when there are many."""
        return max(at_least, len(str(max(count - 1, 0))))

    @functools.cached_property
    def activity_curve(self) -> tuple[float, float]:
        """Scales of the calibrated shape: p = min(0.97, c x^0.5), extra plays = e x^0.25."""
        share = self.options.active_share
        if share is not None:  # a share of the rows of ``users``, so of fewer possible players
            share = min(0.9, share / self.playing_fraction)
        return calibrate(share, self.options.plays_per_day)

    @property
    def playing_fraction(self) -> float:
        """Users who may play on an average day, per row of ``users``: the listeners (new ones
        only after their signup day) and the unregistered users."""
        o = self.options
        others = (o.declared_only_rate if o.declared_only_users else 0.0) + (
            o.engage_only_rate if o.engage_only_users else 0.0
        )
        signed_up = 1 - NEW_SIGNUP_SHARE * (1 - (self.days - 1) / (2 * self.days))
        return (1 - others) * signed_up + self.n_unregistered / self.users


# -- the activity shapes -------------------------------------------------------------------------

_T = np.linspace(-60.0, 0.0, 240_001)  # ln u: u = e^t spans the Pareto tail far enough


def _mean_over_users(values: np.ndarray) -> float:
    """E[f(u)] for u ~ U(0, 1), from f on the grid u = e^t (du = e^t dt, trapezoids)."""
    f = values * np.exp(_T)
    return float(((f[1:] + f[:-1]) * np.diff(_T)).sum() / 2)


def day_probability(u_activity: np.ndarray, share_scale: float | None) -> np.ndarray:
    """Chance to be active on a day of mean weekday factor, from the activity draw."""
    x = 1.0 / u_activity
    if share_scale is None:
        return np.minimum(ACTIVE_MAX, ACTIVE_BASE * x)
    return np.minimum(ACTIVE_MAX, share_scale * x**SHARE_EXP)


def mean_sessions(
    u_activity: np.ndarray, plays_scale: float | None, dense_scale: float
) -> np.ndarray:
    """Expected sessions on an active day (at least 1)."""
    x = 1.0 / u_activity
    if plays_scale is None:
        extra = SESSIONS_COEF * dense_scale * (x - 1.0) ** SESSIONS_EXP
    else:
        extra = plays_scale * x**PLAYS_EXP
    return np.minimum(SESSIONS_CAP, 1.0 + extra)


def _solve(f: Callable[[float], float], target: float, hi: float) -> float:
    """The root of the increasing ``f(s) = target`` on [0, hi] by bisection."""
    lo = 0.0
    for _ in range(80):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if f(mid) < target else (lo, mid)
    return (lo + hi) / 2


@functools.lru_cache(maxsize=16)
def calibrate(active_share: float | None, plays_per_day: float | None) -> tuple[float, float]:
    """The scales that give the requested mean share of active listeners per day and mean
    plays per active day (``nan`` for a shape left to the dense defaults)."""
    u = np.exp(_T)
    share = math.nan
    if active_share is not None:
        share = _solve(lambda s: _mean_over_users(day_probability(u, s)), active_share, 1.0)
    p = day_probability(u, None if math.isnan(share) else share)
    plays = math.nan
    if plays_per_day is not None:
        active = _mean_over_users(p)
        plays = _solve(
            lambda s: _mean_over_users(p * mean_sessions(u, s, 1.0)) / active,
            plays_per_day,
            SESSIONS_CAP,
        )
    return share, plays
