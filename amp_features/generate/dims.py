"""Users and shows as NumPy functions of their index, and the two dimension tables in Arrow.

An attribute of a user or a show is a hash of (seed, the attribute's name, the index), so it is
recomputed, identical, wherever it is needed (the dimension tables and every day's events): the
event tasks need no join and no shuffle.
"""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from amp_features.generate import draws as D
from amp_features.generate.model import (
    COUNTRIES,
    DECLARED_ONLY,
    DECLARED_TOPIC_SHARE,
    ENGAGE_ONLY,
    LISTENER,
    LIVE_SHOW_SHARE,
    NEW_SIGNUP_SHARE,
    NO_DECLARED_TOPICS,
    SECONDS_PER_DAY,
    TOPICS,
    UNREGISTERED,
    WEEKLY_LIVE_SHARE,
    Plan,
)
from amp_features.generate.options import SHOW_ATTRIBUTE_CLASSES

# -- users ---------------------------------------------------------------------------------------


def user_kind(plan: Plan, uidx: np.ndarray) -> np.ndarray:
    o = plan.options
    u = plan.uniform("kind", uidx)
    declared = o.declared_only_rate if o.declared_only_users else 0.0
    engage = o.engage_only_rate if o.engage_only_users else 0.0
    kind = np.where(u < declared, DECLARED_ONLY, np.where(u < declared + engage, ENGAGE_ONLY, 0))
    out: np.ndarray = np.where(uidx >= plan.users, UNREGISTERED, kind).astype(np.int8)
    return out


def n_declared(plan: Plan, uidx: np.ndarray) -> np.ndarray:
    u = plan.uniform("n_declared", uidx)
    return D.weighted(u, (NO_DECLARED_TOPICS, 0.30, 0.30, 0.20, 1 - NO_DECLARED_TOPICS - 0.80))


def declared_topic(plan: Plan, uidx: np.ndarray, i: np.ndarray | int) -> np.ndarray:
    """The user's i-th declared topic (duplicates are removed in the users table)."""
    return D.skewed(plan.uniform("declared", uidx, i), plan.n_topics, 2.0)


def preferred_topic(
    plan: Plan,
    uidx: np.ndarray,
    nd: np.ndarray,
    own: np.ndarray,
    which: np.ndarray,
    other: np.ndarray,
) -> np.ndarray:
    """A topic for one choice (three draws): mostly a declared topic, else a popular one."""
    mine = declared_topic(plan, uidx, D.pick(which, np.maximum(nd, 1)))
    popular = D.skewed(other, plan.n_topics, 2.0)
    out: np.ndarray = np.where((nd > 0) & (own < DECLARED_TOPIC_SHARE), mine, popular)
    return out


def signup_day(plan: Plan, uidx: np.ndarray, kind: np.ndarray) -> np.ndarray:
    """Day index of signup: inside the generated days for new listeners, else before day 0."""
    new = (kind == LISTENER) & (plan.uniform("new_signup", uidx) < NEW_SIGNUP_SHARE)
    inside = D.pick(plan.uniform("signup_day", uidx), plan.days)
    before = -1 - D.pick(plan.uniform("signup_age", uidx) ** 1.5, 1460)
    out: np.ndarray = np.where(new, inside, before)
    return out


def country_index(plan: Plan, uidx: np.ndarray) -> np.ndarray:
    return D.weighted(plan.uniform("country", uidx), [c[2] for c in COUNTRIES])


def user_id(plan: Plan, uidx: np.ndarray) -> np.ndarray:
    return D.decimal_ids("u", uidx, plan.width(plan.n_ids, 8))


def users_batch(plan: Plan, lo: int, hi: int) -> pa.RecordBatch:
    """Rows ``lo..hi-1`` of the ``users`` dimension plus ``_kind`` and ``_new_signup``."""
    uidx = np.arange(lo, hi, dtype=np.int64)
    kind = user_kind(plan, uidx)
    sday = signup_day(plan, uidx, kind)
    second = D.pick(plan.uniform("signup_second", uidx), SECONDS_PER_DAY)
    # Up to four declared topics, each kept at its first occurrence (as ``array_distinct``).
    topics = np.stack([declared_topic(plan, uidx, i) for i in range(4)], axis=1)
    keep = np.arange(4) < n_declared(plan, uidx)[:, None]
    for j in range(1, 4):
        keep[:, j] &= (topics[:, :j] != topics[:, j : j + 1]).all(axis=1)
    offsets = np.zeros(len(uidx) + 1, dtype=np.int32)
    np.cumsum(keep.sum(axis=1), out=offsets[1:])
    declared = pa.ListArray.from_arrays(
        pa.array(offsets), D.labels(TOPICS, topics[keep].astype(np.int32))
    )
    return pa.RecordBatch.from_arrays(
        [
            D.strings(user_id(plan, uidx)),
            D.timestamps(plan.start_epoch + sday * SECONDS_PER_DAY + second),
            D.labels([c[0] for c in COUNTRIES], country_index(plan, uidx)),
            declared,
            pa.array(kind),
            pa.array(sday >= 0),
        ],
        names=["user_id", "signup_at", "country", "declared_topics", "_kind", "_new_signup"],
    )


# -- shows ---------------------------------------------------------------------------------------


def premiere_day(plan: Plan, sidx: np.ndarray) -> np.ndarray:
    """Day index of the first broadcast: negative for shows older than the generated days."""
    rank = sidx // plan.n_topics  # within its topic: low ranks are older and more popular
    old = -1 - D.pick(plan.uniform("show_age", sidx), 730)
    new = (rank - plan.old_per_topic) * plan.days // max(1, plan.new_per_topic)
    out: np.ndarray = np.where(rank < plan.old_per_topic, old, new)
    return out


def slot_second(plan: Plan, sidx: np.ndarray) -> np.ndarray:
    """Second of the UTC day the show airs: 06:00 to 22:00, so tune-ins stay on that day."""
    return 6 * 3600 + D.pick(plan.uniform("slot", sidx), 16 * 3600)


def show_creator(plan: Plan, sidx: np.ndarray) -> np.ndarray:
    """Creator index: squared draws give a few creators many shows."""
    return D.skewed(plan.uniform("creator", sidx), plan.n_creators, 2.0)


def is_live(plan: Plan, sidx: np.ndarray) -> np.ndarray:
    out: np.ndarray = plan.uniform("live", sidx) < LIVE_SHOW_SHARE
    return out


def is_weekly(plan: Plan, sidx: np.ndarray) -> np.ndarray:
    out: np.ndarray = plan.uniform("weekly", sidx) < WEEKLY_LIVE_SHARE
    return out


def show_attribute_class(plan: Plan, sidx: np.ndarray) -> np.ndarray:
    """1 + which attribute of the show is broken in ``shows`` (0 when none)."""
    o = plan.options
    if not o.unknown_show_attributes or o.unknown_attribute_rate <= 0:
        return np.zeros(len(sidx), dtype=np.int8)
    slot = plan.uniform("show_attr", sidx) // o.unknown_attribute_rate
    out: np.ndarray = np.where(slot < len(SHOW_ATTRIBUTE_CLASSES), slot + 1, 0).astype(np.int8)
    return out


def show_id(plan: Plan, sidx: np.ndarray) -> np.ndarray:
    return D.decimal_ids("s", sidx, plan.width(plan.n_shows + plan.n_orphan_ids, 7))


def creator_id(plan: Plan, cidx: np.ndarray) -> np.ndarray:
    return D.decimal_ids("c", cidx, plan.width(plan.n_creators, 7))


def shows_batch(plan: Plan, lo: int, hi: int) -> pa.RecordBatch:
    """Rows ``lo..hi-1`` of the ``shows`` dimension plus ``_class``, ``_live`` and ``_new``."""
    sidx = np.arange(lo, hi, dtype=np.int64)
    cls = show_attribute_class(plan, sidx)
    premiere = premiere_day(plan, sidx)
    creator = D.strings(creator_id(plan, show_creator(plan, sidx)), cls == 1, cls == 2)
    topic = np.where(cls == 4, plan.n_topics, sidx % plan.n_topics)  # the "" label
    return pa.RecordBatch.from_arrays(
        [
            D.strings(show_id(plan, sidx)),
            creator,
            D.labels((*TOPICS, ""), topic, cls == 3),
            D.timestamps(plan.start_epoch + premiere * SECONDS_PER_DAY + slot_second(plan, sidx)),
            pa.array(cls),
            pa.array(is_live(plan, sidx)),
            pa.array(premiere >= 0),
        ],
        names=["show_id", "creator_id", "topic", "scheduled_start", "_class", "_live", "_new"],
    )
