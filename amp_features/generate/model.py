"""The synthetic Amp app as Spark column expressions: pure transforms, no I/O.

Every random draw is a hash of (seed, a salt naming the draw, the ids it depends on), so a value
depends only on the arguments and never on partitioning or task order. Attributes of a user or
a show are recomputed from its index wherever they are needed (users table, events), which keeps
the event pipeline free of joins and shuffles: one task generates one day of one slice of users.

See ``docs/data_dictionary.md`` for the shape this produces and why.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import math
from collections.abc import Sequence
from dataclasses import dataclass

from pyspark.sql import Column, DataFrame, SparkSession
from pyspark.sql import functions as F

from amp_features.contract import ENGAGEMENT, MAX_LISTEN_SECONDS, PLAYBACK, SHOWS, USERS
from amp_features.generate.options import (
    ENGAGEMENT_INVALID,
    PLAYBACK_INVALID,
    SHOW_ATTRIBUTE_CLASSES,
    GeneratorOptions,
)

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

# Relative listening by local hour 0..23: a morning commute bump and an evening peak.
LOCAL_HOUR_WEIGHTS = (
    2, 1, 1, 1, 1, 2, 4, 7, 8, 6, 5, 5, 6, 6, 5, 5, 6, 7, 8, 10, 11, 10, 7, 4,
)  # fmt: skip

# Activity multiplier by Spark's dayofweek (1 = Sunday .. 7 = Saturday): weekends are busier.
WEEKDAY_FACTOR = (1.15, 0.92, 0.95, 0.95, 0.97, 1.05, 1.20)

SECONDS_PER_DAY = 86_400
MAX_SESSIONS_PER_DAY = 64  # also the stride of the event index, so ids stay unique
# Share of users who declared no topic at all (declared_topics = []).
NO_DECLARED_TOPICS = 0.08
NEW_SIGNUP_SHARE = 0.15  # listeners who sign up inside the generated days
# Which show a session plays.
FAVOURITE_SHARE = 0.78
NEW_SHOW_SHARE = 0.05
DECLARED_TOPIC_SHARE = 0.85
LIVE_SHOW_SHARE = 0.6
WEEKLY_LIVE_SHARE = 0.6
TUNE_IN_SHARE = 0.7
# Engagement per listening session.
LIKE_RATE = 0.03
FOLLOW_RATE = 0.006
NOTIFY_RATE = 0.004
# Heavy tail of activity: x ~ Pareto(1); daily activity and sessions per day grow with x.
ACTIVE_BASE = 0.055
ACTIVE_MAX = 0.97
SESSIONS_COEF = 1.6
SESSIONS_EXP = 0.6
SESSIONS_CAP = 48.0

_U_BITS = 50  # 50 bits keep (v + 0.5) / 2**50 exact and strictly inside (0, 1)
_U_MASK = (1 << _U_BITS) - 1
_U_SCALE = float(1 << _U_BITS)


@dataclass(frozen=True)
class Plan:
    """The sizes every expression needs, derived once from the arguments."""

    users: int
    days: int
    end_date: dt.date
    seed: int
    bad_rows: float
    options: GeneratorOptions

    @property
    def start_date(self) -> dt.date:
        return self.end_date - dt.timedelta(days=self.days - 1)

    @property
    def start_epoch(self) -> int:
        return (self.start_date - dt.date(1970, 1, 1)).days * SECONDS_PER_DAY

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
        return max(1, math.ceil(self.n_ids / 400_000))

    def mask(self, salt: str) -> int:
        """A 60-bit constant from the seed, XORed into event indices to make ids look random."""
        digest = hashlib.sha256(f"{self.seed}:{salt}".encode()).hexdigest()
        return int(digest[:15], 16)


# -- draws ---------------------------------------------------------------------------------


def uniform(plan: Plan, salt: str, *cols: Column) -> Column:
    """A uniform draw in (0, 1) that depends only on the seed, the salt and ``cols``."""
    h = F.xxhash64(F.lit(plan.seed), F.lit(salt), *cols)
    return (h.bitwiseAND(F.lit(_U_MASK)).cast("double") + F.lit(0.5)) / F.lit(_U_SCALE)


def pick(u: Column, n: Column | int) -> Column:
    """An index in [0, n) from a draw in (0, 1); ``least`` guards the rounding at u -> 1."""
    n_col = n if isinstance(n, Column) else F.lit(n)
    return F.least(F.floor(u * n_col), n_col - F.lit(1)).cast("long")


def skewed(u: Column, n: Column | int, power: float) -> Column:
    """A Zipf-like index in [0, n): index 0 is the most likely (power > 1 skews harder)."""
    return pick(F.pow(u, F.lit(power)), n)


def lookup(values: Sequence[object], index: Column) -> Column:
    """``values[index]`` for a 0-based index column."""
    return F.element_at(F.array(*[F.lit(v) for v in values]), (index + F.lit(1)).cast("int"))


def weighted(u: Column, weights: Sequence[float]) -> Column:
    """The index drawn with the given relative weights (an inverse CDF as one CASE)."""
    total = float(sum(weights))
    acc = 0.0
    expr: Column | None = None
    for i, w in enumerate(weights[:-1]):
        acc += w / total
        expr = F.when(u < acc, F.lit(i)) if expr is None else expr.when(u < acc, F.lit(i))
    if expr is None:
        return F.lit(0).cast("long")
    return expr.otherwise(F.lit(len(weights) - 1)).cast("long")


def normal(u1: Column, u2: Column) -> Column:
    """A standard normal draw (Box-Muller) from two uniforms."""
    return F.sqrt(F.lit(-2.0) * F.log(u1)) * F.cos(F.lit(2 * math.pi) * u2)


def day_date(plan: Plan, day: Column) -> Column:
    """The UTC date of day index ``day`` (0 is the first generated day)."""
    return F.date_add(F.lit(plan.start_date), day.cast("int"))


def at_second(plan: Plan, day: Column, second: Column) -> Column:
    """The instant ``second`` seconds into day ``day``, independent of the session time zone."""
    epoch = F.lit(plan.start_epoch) + day * F.lit(SECONDS_PER_DAY) + second
    return F.timestamp_seconds(epoch)


def hex_id(prefix: str, index: Column, mask: int) -> Column:
    """A unique id: XOR with a constant is a bijection, so distinct indices stay distinct."""
    return F.concat(F.lit(prefix), F.lpad(F.lower(F.hex(index.bitwiseXOR(F.lit(mask)))), 16, "0"))


def user_id(uidx: Column) -> Column:
    return F.concat(F.lit("u"), F.lpad(uidx.cast("string"), 8, "0"))


def show_id(sidx: Column) -> Column:
    return F.concat(F.lit("s"), F.lpad(sidx.cast("string"), 7, "0"))


def creator_id(cidx: Column) -> Column:
    return F.concat(F.lit("c"), F.lpad(cidx.cast("string"), 7, "0"))


# -- users ---------------------------------------------------------------------------------

KIND_LISTENER = "listener"
KIND_ENGAGE_ONLY = "engage_only"
KIND_DECLARED_ONLY = "declared_only"
KIND_UNREGISTERED = "unregistered"


def user_kind(plan: Plan, uidx: Column) -> Column:
    o = plan.options
    u = uniform(plan, "kind", uidx)
    declared = o.declared_only_rate if o.declared_only_users else 0.0
    engage = o.engage_only_rate if o.engage_only_users else 0.0
    return (
        F.when(uidx >= F.lit(plan.users), F.lit(KIND_UNREGISTERED))
        .when(u < F.lit(declared), F.lit(KIND_DECLARED_ONLY))
        .when(u < F.lit(declared + engage), F.lit(KIND_ENGAGE_ONLY))
        .otherwise(F.lit(KIND_LISTENER))
    )


def activity(plan: Plan, uidx: Column) -> Column:
    """The user's latent activity x >= 1, Pareto with exponent 1 (Zipf's law over users)."""
    return F.lit(1.0) / uniform(plan, "activity", uidx)


def n_declared(plan: Plan, uidx: Column) -> Column:
    u = uniform(plan, "n_declared", uidx)
    return weighted(u, (NO_DECLARED_TOPICS, 0.30, 0.30, 0.20, 1 - NO_DECLARED_TOPICS - 0.80))


def global_topic(plan: Plan, u: Column) -> Column:
    return skewed(u, plan.n_topics, 2.0)


def declared_topic(plan: Plan, uidx: Column, i: Column) -> Column:
    """The user's i-th declared topic index (duplicates are removed in the users table)."""
    # The same type everywhere: a hash of an int and of a long differ.
    return global_topic(plan, uniform(plan, "declared", uidx, i.cast("long")))


def preferred_topic(plan: Plan, uidx: Column, salt: str, *cols: Column) -> Column:
    """A topic for one choice: mostly one of the user's declared topics, else a popular one."""
    nd = n_declared(plan, uidx)
    own = uniform(plan, salt + ":own", uidx, *cols) < F.lit(DECLARED_TOPIC_SHARE)
    which = pick(uniform(plan, salt + ":which", uidx, *cols), F.greatest(nd, F.lit(1)))
    other = global_topic(plan, uniform(plan, salt + ":other", uidx, *cols))
    return F.when((nd > F.lit(0)) & own, declared_topic(plan, uidx, which)).otherwise(other)


def signup_day(plan: Plan, uidx: Column, kind: Column) -> Column:
    """Day index of signup: inside the generated days for new listeners, else before day 0."""
    new = (kind == F.lit(KIND_LISTENER)) & (
        uniform(plan, "new_signup", uidx) < F.lit(NEW_SIGNUP_SHARE)
    )
    inside = pick(uniform(plan, "signup_day", uidx), plan.days)
    before = F.lit(-1) - pick(F.pow(uniform(plan, "signup_age", uidx), F.lit(1.5)), 1460)
    return F.when(new, inside).otherwise(before)


def country_index(plan: Plan, uidx: Column) -> Column:
    return weighted(uniform(plan, "country", uidx), [c[2] for c in COUNTRIES])


def users_frame(spark: SparkSession, plan: Plan) -> DataFrame:
    """The ``users`` dimension plus helper columns ``_kind`` and ``_new_signup`` for counting."""
    parts = max(1, math.ceil(plan.users / 1_000_000))
    base = spark.range(0, plan.users, 1, parts).select(F.col("id").alias("uidx"))
    uidx = F.col("uidx")
    kind = user_kind(plan, uidx)
    sday = signup_day(plan, uidx, kind)
    signup_second = pick(uniform(plan, "signup_second", uidx), SECONDS_PER_DAY)
    topics = F.array(
        *[
            lookup(TOPICS, declared_topic(plan, uidx, F.lit(i)))
            for i in range(4)  # at most four declared topics
        ]
    )
    declared = F.array_distinct(F.slice(topics, 1, n_declared(plan, uidx).cast("int")))
    return base.select(
        user_id(uidx).alias("user_id"),
        at_second(plan, sday, signup_second).alias("signup_at"),
        lookup([c[0] for c in COUNTRIES], country_index(plan, uidx)).alias("country"),
        declared.alias("declared_topics"),
        kind.alias("_kind"),
        (sday >= F.lit(0)).alias("_new_signup"),
    )


# -- shows ---------------------------------------------------------------------------------


def show_topic(plan: Plan, sidx: Column) -> Column:
    return sidx % F.lit(plan.n_topics)


def show_rank(plan: Plan, sidx: Column) -> Column:
    """Rank within its topic: low ranks are older and more popular."""
    return F.floor(sidx / F.lit(plan.n_topics)).cast("long")


def premiere_day(plan: Plan, sidx: Column) -> Column:
    """Day index of the first broadcast: negative for shows older than the generated days."""
    rank = show_rank(plan, sidx)
    old = F.lit(-1) - pick(uniform(plan, "show_age", sidx), 730)
    new = F.floor(
        (rank - F.lit(plan.old_per_topic)) * F.lit(plan.days) / F.lit(max(1, plan.new_per_topic))
    ).cast("long")
    return F.when(rank < F.lit(plan.old_per_topic), old).otherwise(new)


def slot_second(plan: Plan, sidx: Column) -> Column:
    """Second of the UTC day the show airs: 06:00 to 22:00, so tune-ins stay on that day."""
    return F.lit(6 * 3600) + pick(uniform(plan, "slot", sidx), 16 * 3600)


def show_creator(plan: Plan, sidx: Column) -> Column:
    """Creator index: squared draws give a few creators many shows."""
    return skewed(uniform(plan, "creator", sidx), plan.n_creators, 2.0)


def is_live(plan: Plan, sidx: Column) -> Column:
    return uniform(plan, "live", sidx) < F.lit(LIVE_SHOW_SHARE)


def is_weekly(plan: Plan, sidx: Column) -> Column:
    return uniform(plan, "weekly", sidx) < F.lit(WEEKLY_LIVE_SHARE)


def show_attribute_class(plan: Plan, sidx: Column) -> Column:
    """Which attribute of the show is broken in ``shows`` (null when none)."""
    o = plan.options
    if not o.unknown_show_attributes or o.unknown_attribute_rate <= 0:
        return F.lit(None).cast("string")
    u = uniform(plan, "show_attr", sidx)
    rate = o.unknown_attribute_rate
    expr = F.when(u < F.lit(rate), F.lit(SHOW_ATTRIBUTE_CLASSES[0]))
    for i, name in enumerate(SHOW_ATTRIBUTE_CLASSES[1:], start=2):
        expr = expr.when(u < F.lit(i * rate), F.lit(name))
    return expr


def shows_frame(spark: SparkSession, plan: Plan) -> DataFrame:
    """The ``shows`` dimension plus helper columns ``_class``, ``_live`` and ``_new``."""
    parts = max(1, math.ceil(plan.n_shows / 1_000_000))
    base = spark.range(0, plan.n_shows, 1, parts).select(F.col("id").alias("sidx"))
    sidx = F.col("sidx")
    cls = show_attribute_class(plan, sidx)
    creator = creator_id(show_creator(plan, sidx))
    topic = lookup(TOPICS, show_topic(plan, sidx))
    none = F.lit(None).cast("string")
    return base.select(
        show_id(sidx).alias("show_id"),
        F.when(cls == F.lit("null_creator_id"), none)
        .when(cls == F.lit("empty_creator_id"), F.lit(""))
        .otherwise(creator)
        .alias("creator_id"),
        F.when(cls == F.lit("null_topic"), none)
        .when(cls == F.lit("empty_topic"), F.lit(""))
        .otherwise(topic)
        .alias("topic"),
        at_second(plan, premiere_day(plan, sidx), slot_second(plan, sidx)).alias("scheduled_start"),
        cls.alias("_class"),
        is_live(plan, sidx).alias("_live"),
        (premiere_day(plan, sidx) >= F.lit(0)).alias("_new"),
    )


# -- sessions: one row per (user, day, session), before any corruption -----------------------


def available(plan: Plan, day: Column) -> Column:
    """Shows per topic that exist on day ``day`` (old ones plus those premiered by then)."""
    new = plan.new_per_topic
    if new == 0:
        return F.lit(plan.old_per_topic).cast("long")
    premiered = F.ceil((day + F.lit(1)) * F.lit(new) / F.lit(plan.days))
    return F.lit(plan.old_per_topic) + F.least(premiered, F.lit(new)).cast("long")


def recently_premiered_from(plan: Plan, day: Column) -> Column:
    """The lowest rank premiered within the last seven days."""
    new = plan.new_per_topic
    first = F.ceil((day - F.lit(6)) * F.lit(new) / F.lit(plan.days))
    return F.lit(plan.old_per_topic) + F.greatest(first, F.lit(0)).cast("long")


def sessions_frame(spark: SparkSession, plan: Plan) -> DataFrame:
    """One row per listening session (engage-only users get virtual ones), with its show, start
    and length. Rows are laid out day by day so that each task writes one ``dt`` partition."""
    n_ids = plan.n_ids
    parts = plan.days * plan.parts_per_day
    grid = spark.range(0, plan.days * n_ids, 1, parts).select(
        F.floor(F.col("id") / F.lit(n_ids)).cast("long").alias("day"),
        (F.col("id") % F.lit(n_ids)).alias("uidx"),
        F.col("id").alias("gid"),
    )
    uidx, day = F.col("uidx"), F.col("day")
    kind = user_kind(plan, uidx)
    x = activity(plan, uidx)
    weekday = (F.lit(plan.start_date.isoweekday() % 7) + day) % F.lit(7)  # 0 = Sunday
    p_day = F.least(F.lit(ACTIVE_MAX), F.lit(ACTIVE_BASE) * x) * lookup(WEEKDAY_FACTOR, weekday)
    forced = (kind != F.lit(KIND_LISTENER)) & (
        pick(uniform(plan, "forced_day", uidx), plan.days) == day
    )
    active = (uniform(plan, "active", uidx, day) < p_day) | forced
    mean = F.least(
        F.lit(SESSIONS_CAP),
        F.lit(1.0)
        + F.lit(SESSIONS_COEF * plan.options.activity_scale)
        * F.pow(x - F.lit(1.0), F.lit(SESSIONS_EXP)),
    )
    mean = F.greatest(mean, F.lit(1.01))
    geometric = F.floor(
        F.log(uniform(plan, "n_sessions", uidx, day)) / F.log(F.lit(1.0) - F.lit(1.0) / mean)
    )
    n = F.least(F.lit(1) + geometric, F.lit(MAX_SESSIONS_PER_DAY)).cast("int")
    n = F.when(kind == F.lit(KIND_ENGAGE_ONLY), F.least(n, F.lit(3))).otherwise(n)
    days = grid.select(
        "day",
        "uidx",
        "gid",
        kind.alias("kind"),
        x.alias("x"),
        active.alias("active"),
        signup_day(plan, uidx, kind).alias("signup_day"),
        n.alias("n"),
    ).where(
        F.col("active")
        & (F.col("kind") != F.lit(KIND_DECLARED_ONLY))
        & (F.col("day") > F.col("signup_day"))
    )
    exploded = days.select(
        "day", "uidx", "kind", "x", "gid",
        F.explode(F.sequence(F.lit(0), F.col("n") - F.lit(1))).alias("k"),
    )  # fmt: skip
    sessions = exploded.select(
        "day",
        "uidx",
        "kind",
        "x",
        (F.col("gid") * F.lit(MAX_SESSIONS_PER_DAY) + F.col("k")).alias("eidx"),
    )
    return _choose_show_and_time(plan, sessions)


def _choose_show_and_time(plan: Plan, sessions: DataFrame) -> DataFrame:
    uidx, day, eidx, x = F.col("uidx"), F.col("day"), F.col("eidx"), F.col("x")
    t = plan.n_topics
    # Favourites: a handful of older shows per user, more for more active users.
    n_favs = F.least(F.lit(10), F.lit(2) + F.floor(F.log(x))).cast("long")
    slot = skewed(uniform(plan, "fav_slot", eidx), n_favs, 1.5)
    fav_topic = preferred_topic(plan, uidx, "fav_topic", slot)
    fav_rank = skewed(uniform(plan, "fav_rank", uidx, slot), plan.old_per_topic, 2.5)
    favourite = fav_topic + F.lit(t) * fav_rank
    # Exploring: a preferred topic, a popular show that exists on that day.
    topic = preferred_topic(plan, uidx, "topic", eidx)
    avail = available(plan, day)
    explore = topic + F.lit(t) * skewed(uniform(plan, "rank", eidx), avail, 2.5)
    recent_from = recently_premiered_from(plan, day)
    recent = topic + F.lit(t) * (
        recent_from + pick(uniform(plan, "recent", eidx), F.greatest(avail - recent_from, F.lit(1)))
    )
    choice = uniform(plan, "choice", eidx)
    sidx = (
        F.when(choice < F.lit(FAVOURITE_SHARE), favourite)
        .when((choice < F.lit(FAVOURITE_SHARE + NEW_SHOW_SHARE)) & (avail > recent_from), recent)
        .otherwise(explore)
    )
    o = plan.options
    orphan = (
        uniform(plan, "orphan", eidx) < F.lit(o.orphan_rate)
        if o.orphan_plays and o.orphan_rate > 0
        else F.lit(False)
    )
    sidx = F.when(
        orphan, F.lit(plan.n_shows) + pick(uniform(plan, "orphan_id", eidx), plan.n_orphan_ids)
    ).otherwise(sidx)
    chosen = sessions.select(
        "day", "uidx", "kind", "eidx", sidx.alias("sidx"), orphan.alias("orphan")
    )
    return _time_and_length(plan, chosen)


def _time_and_length(plan: Plan, chosen: DataFrame) -> DataFrame:
    uidx, day, eidx, sidx = F.col("uidx"), F.col("day"), F.col("eidx"), F.col("sidx")
    # Live shows: listeners tune in from ten minutes before the slot to ninety minutes after.
    premiere = premiere_day(plan, sidx)
    airs_today = F.when(is_weekly(plan, sidx), (day - premiere) % F.lit(7) == F.lit(0)).otherwise(
        F.lit(True)
    )
    tune_in = (
        is_live(plan, sidx)
        & airs_today
        & (day >= premiere)
        & (uniform(plan, "tune_in", eidx) < F.lit(TUNE_IN_SHARE))
    )
    live_second = (
        slot_second(plan, sidx)
        - F.lit(600)
        + F.floor(F.pow(uniform(plan, "tune_offset", eidx), F.lit(2.0)) * F.lit(6000)).cast("long")
    )
    # On demand: the user's local rhythm, shifted to UTC by the country's offset.
    offset = lookup([c[1] for c in COUNTRIES], country_index(plan, uidx))
    local_hour = weighted(uniform(plan, "hour", eidx), LOCAL_HOUR_WEIGHTS)
    local_second = local_hour * F.lit(3600) + pick(uniform(plan, "second", eidx), 3600)
    demand_second = F.pmod(local_second - offset * F.lit(3600), F.lit(SECONDS_PER_DAY))
    second = F.when(tune_in, live_second).otherwise(demand_second).cast("long")
    # Length: a few bounces of seconds; otherwise log-normal, longer when live.
    z = normal(uniform(plan, "len_a", eidx), uniform(plan, "len_b", eidx))
    median = F.when(tune_in, F.lit(1500.0)).otherwise(F.lit(540.0))
    lognormal = F.exp(F.log(median) + F.lit(1.25) * z)
    length = F.when(
        uniform(plan, "bounce", eidx) < F.lit(0.05),
        pick(uniform(plan, "bounce_len", eidx), 10),
    ).otherwise(F.least(F.greatest(F.floor(lognormal), F.lit(10)), F.lit(MAX_LISTEN_SECONDS)))
    return chosen.select(
        "day",
        "uidx",
        "kind",
        "eidx",
        "sidx",
        "orphan",
        second.alias("second"),
        length.cast("long").alias("listen_seconds"),
    )


# -- playback ------------------------------------------------------------------------------


def _class_slot(plan: Plan, u: Column, classes: Sequence[str]) -> Column:
    """The invalid class a row falls in: class i owns [i * bad_rows, (i + 1) * bad_rows)."""
    o, f = plan.options, plan.bad_rows
    if not o.invalid_rows or f <= 0:
        return F.lit(None).cast("string")
    expr: Column | None = None
    for i, name in enumerate(classes):
        value = F.lit(name) if o.invalid_enabled(name) else F.lit(None).cast("string")
        cond = u < F.lit((i + 1) * f)
        expr = F.when(cond, value) if expr is None else expr.when(cond, value)
    assert expr is not None
    return expr


def _duplicate_kind(plan: Plan, u: Column, bad: Column) -> Column:
    o = plan.options
    redeliver = o.redelivery_rate if o.redeliveries else 0.0
    conflict = o.conflict_rate if o.conflicting_duplicates else 0.0
    return (
        F.when(bad.isNotNull(), F.lit(None).cast("string"))
        .when(u < F.lit(redeliver), F.lit("exact_redelivery"))
        .when(u < F.lit(redeliver + conflict), F.lit("conflicting_duplicate"))
    )


def _midnight(plan: Plan, u: Column, bad: Column) -> Column:
    o = plan.options
    rate = o.midnight_rate if o.midnight_events else 0.0
    return bad.isNull() & (u < F.lit(rate))


def _copies(dup: Column, u: Column) -> Column:
    """Copies of a row: a tenth of re-delivered events arrive three times."""
    return (
        F.when(dup.isNull(), F.lit(1))
        .when((dup == F.lit("exact_redelivery")) & (u < F.lit(0.1)), F.lit(3))
        .otherwise(F.lit(2))
    )


def _toward_noon(second: Column, u: Column) -> Column:
    """Move a second of the day by 1..30 s toward noon, so the UTC date cannot change."""
    step = F.lit(1) + pick(u, 30)
    return F.when(second < F.lit(SECONDS_PER_DAY // 2), second + step).otherwise(second - step)


def playback_frame(plan: Plan, sessions: DataFrame) -> DataFrame:
    """Playback rows in contract order, plus ``_class``, ``_dup``, ``_copy``, ``_orphan`` and
    ``_midnight`` for counting. Listens of engage-only users are dropped here."""
    eidx = F.col("eidx")
    listens = sessions.where(F.col("kind") != F.lit(KIND_ENGAGE_ONLY))
    bad = _class_slot(plan, uniform(plan, "pb_bad", eidx), PLAYBACK_INVALID)
    dup = _duplicate_kind(plan, uniform(plan, "pb_dup", eidx), bad)
    midnight = _midnight(plan, uniform(plan, "pb_midnight", eidx), bad)
    marked = listens.select(
        "*",
        bad.alias("_class"),
        dup.alias("_dup"),
        midnight.alias("_midnight"),
    )
    copies = _copies(F.col("_dup"), uniform(plan, "pb_copies", eidx))
    exploded = marked.select("*", F.explode(F.sequence(F.lit(0), copies - F.lit(1))).alias("_copy"))
    return _playback_columns(plan, exploded)


_NO_SHOW = ("null_show_id", "empty_show_id")


def _playback_columns(plan: Plan, rows: DataFrame) -> DataFrame:
    eidx, day, cls = F.col("eidx"), F.col("day"), F.col("_class")
    second = F.when(
        F.col("_midnight"),
        F.when(uniform(plan, "pb_midnight_side", eidx) < F.lit(0.5), F.lit(0)).otherwise(
            F.lit(SECONDS_PER_DAY - 1)
        ),
    ).otherwise(F.col("second"))
    conflict = (F.col("_dup") == F.lit("conflicting_duplicate")) & (F.col("_copy") > F.lit(0))
    variant = pick(uniform(plan, "pb_conflict", eidx), 3)
    second = F.when(
        conflict & (variant == F.lit(1)), _toward_noon(second, uniform(plan, "pb_shift", eidx))
    ).otherwise(second)
    # Late arrival: started the evening before, delivered into this day's partition.
    late = F.lit(-1) - pick(uniform(plan, "pb_late", eidx), 3 * 3600)
    second = F.when(cls == F.lit("dt_mismatch"), late).otherwise(second)
    length = F.col("listen_seconds")
    length = F.when(
        conflict & (variant == F.lit(0)),
        F.when(length > F.lit(0), F.floor(length / F.lit(2))).otherwise(F.lit(30)),
    ).otherwise(length)
    sidx = F.when(
        conflict & (variant == F.lit(2)), (F.col("sidx") + F.lit(1)) % F.lit(plan.n_shows)
    ).otherwise(F.col("sidx"))
    none = F.lit(None).cast("string")
    uid = (
        F.when(cls == F.lit("null_user_id"), none)
        .when(cls == F.lit("empty_user_id"), F.lit(""))
        .otherwise(user_id(F.col("uidx")))
    )
    sid = (
        F.when(cls == F.lit("null_show_id"), none)
        .when(cls == F.lit("empty_show_id"), F.lit(""))
        .otherwise(show_id(sidx))
    )
    started = F.when(cls == F.lit("null_started_at"), F.lit(None).cast("timestamp")).otherwise(
        at_second(plan, day, second)
    )
    listen = (
        F.when(cls == F.lit("null_listen_seconds"), F.lit(None).cast("long"))
        .when(
            cls == F.lit("negative_listen_seconds"),
            -(F.lit(1) + pick(uniform(plan, "pb_negative", eidx), 3600)),
        )
        .when(
            cls == F.lit("too_long_listen_seconds"),
            F.lit(MAX_LISTEN_SECONDS + 1) + pick(uniform(plan, "pb_too_long", eidx), 86_400),
        )
        .otherwise(length)
    )
    return rows.select(
        hex_id("p", eidx, plan.mask("playback")).alias("event_id"),
        uid.alias("user_id"),
        sid.alias("show_id"),
        started.alias("started_at"),
        listen.cast("long").alias("listen_seconds"),
        day_date(plan, day).alias("dt"),
        cls.alias("_class"),
        F.col("_dup"),
        F.col("_copy"),
        # Counted on the final show (a conflicting copy may have moved to another show).
        ((sidx >= F.lit(plan.n_shows)) & F.coalesce(~cls.isin(*_NO_SHOW), F.lit(True))).alias(
            "_orphan"
        ),
        (F.col("_midnight") & cls.isNull()).alias("_midnight"),
    )


# -- engagement ----------------------------------------------------------------------------

_TYPE_NEEDS_SHOW = ("like_show", "enable_notification")
UNKNOWN_EVENT_TYPES = ("share_show", "Like_Show", "unlike_show", None)


def engagement_frame(plan: Plan, sessions: DataFrame) -> DataFrame:
    """Engagement rows in contract order plus ``_class``, ``_dup``, ``_copy``, ``_midnight``.

    Listeners like, follow and opt in at small per-session rates; each virtual session of an
    engage-only user yields exactly one event, so those users are never without one."""
    eidx = F.col("eidx")
    engage_only = F.col("kind") == F.lit(KIND_ENGAGE_ONLY)
    like = uniform(plan, "like", eidx) < F.lit(LIKE_RATE)
    follow = uniform(plan, "follow", eidx) < F.lit(FOLLOW_RATE)
    notify = uniform(plan, "notify", eidx) < F.lit(NOTIFY_RATE)
    only_type = weighted(uniform(plan, "eo_type", eidx), (0.6, 0.25, 0.15)).cast("int")
    # Few sessions engage: keep those first, so that only they are exploded into events.
    flagged = sessions.select(
        "day", "uidx", "sidx", "eidx", "second", "listen_seconds",
        engage_only.alias("_only"), like.alias("_like"), follow.alias("_follow"),
        notify.alias("_notify"), only_type.alias("_only_type"),
    ).where(F.col("_only") | F.col("_like") | F.col("_follow") | F.col("_notify"))  # fmt: skip
    types = F.when(F.col("_only"), F.array(F.col("_only_type"))).otherwise(
        F.array(
            F.when(F.col("_like"), F.lit(0)),
            F.when(F.col("_follow"), F.lit(1)),
            F.when(F.col("_notify"), F.lit(2)),
        )
    )
    events = flagged.select(
        "day", "uidx", "sidx", "eidx", "second", "listen_seconds",
        F.explode(types).alias("type"),
    ).where(F.col("type").isNotNull())  # fmt: skip
    offset = pick(
        uniform(plan, "occurred", F.col("eidx"), F.col("type")),
        F.greatest(F.col("listen_seconds"), F.lit(1)),
    )
    instant = F.col("day") * F.lit(SECONDS_PER_DAY) + F.col("second") + offset
    # Events are keyed by their own instant: one late in a session may fall on the next day.
    timed = events.select(
        F.floor(instant / F.lit(SECONDS_PER_DAY)).cast("long").alias("day"),
        F.pmod(instant, F.lit(SECONDS_PER_DAY)).cast("long").alias("second"),
        "uidx",
        "sidx",
        (F.col("eidx") * F.lit(4) + F.col("type")).alias("gidx"),
        lookup(("like_show", "follow_creator", "enable_notification"), F.col("type")).alias(
            "event_type"
        ),
    ).where(F.col("day") < F.lit(plan.days))
    gidx = F.col("gidx")
    bad = _class_slot(plan, uniform(plan, "en_bad", gidx), ENGAGEMENT_INVALID)
    dup = _duplicate_kind(plan, uniform(plan, "en_dup", gidx), bad)
    midnight = _midnight(plan, uniform(plan, "en_midnight", gidx), bad)
    marked = timed.select("*", bad.alias("_class"), dup.alias("_dup"), midnight.alias("_midnight"))
    copies = _copies(F.col("_dup"), uniform(plan, "en_copies", gidx))
    exploded = marked.select("*", F.explode(F.sequence(F.lit(0), copies - F.lit(1))).alias("_copy"))
    return _engagement_columns(plan, exploded)


def _engagement_columns(plan: Plan, rows: DataFrame) -> DataFrame:
    gidx, day, cls, etype = F.col("gidx"), F.col("day"), F.col("_class"), F.col("event_type")
    second = F.when(
        F.col("_midnight"),
        F.when(uniform(plan, "en_midnight_side", gidx) < F.lit(0.5), F.lit(0)).otherwise(
            F.lit(SECONDS_PER_DAY - 1)
        ),
    ).otherwise(F.col("second"))
    conflict = (F.col("_dup") == F.lit("conflicting_duplicate")) & (F.col("_copy") > F.lit(0))
    second = F.when(conflict, _toward_noon(second, uniform(plan, "en_shift", gidx))).otherwise(
        second
    )
    late = F.lit(-1) - pick(uniform(plan, "en_late", gidx), 3 * 3600)
    second = F.when(cls == F.lit("dt_mismatch"), late).otherwise(second)
    none = F.lit(None).cast("string")
    uid = (
        F.when(cls == F.lit("null_user_id"), none)
        .when(cls == F.lit("empty_user_id"), F.lit(""))
        .otherwise(user_id(F.col("uidx")))
    )
    event_type = F.when(
        cls == F.lit("unknown_event_type"),
        lookup(UNKNOWN_EVENT_TYPES, pick(uniform(plan, "en_unknown", gidx), 4)),
    ).otherwise(etype)
    needs_show = etype.isin(*_TYPE_NEEDS_SHOW)
    missing = (
        F.when(cls == F.lit("null_required_id"), none)
        .when(cls == F.lit("empty_required_id"), F.lit(""))
    )  # fmt: skip
    broken_need = cls.isin("null_required_id", "empty_required_id")
    # The show is the context of every event; a follow also names the show's creator.
    sid = F.when(broken_need & needs_show, missing).otherwise(show_id(F.col("sidx")))
    cid = F.when(needs_show, none).otherwise(
        F.when(broken_need, missing).otherwise(creator_id(show_creator(plan, F.col("sidx"))))
    )
    occurred = F.when(cls == F.lit("null_occurred_at"), F.lit(None).cast("timestamp")).otherwise(
        at_second(plan, day, second)
    )
    return rows.select(
        hex_id("e", gidx, plan.mask("engagement")).alias("event_id"),
        uid.alias("user_id"),
        event_type.alias("event_type"),
        sid.alias("show_id"),
        cid.alias("creator_id"),
        occurred.alias("occurred_at"),
        day_date(plan, day).alias("dt"),
        cls.alias("_class"),
        F.col("_dup"),
        F.col("_copy"),
        (F.col("_midnight") & cls.isNull()).alias("_midnight"),
    )


def to_contract(df: DataFrame, table: str) -> DataFrame:
    """Exactly the contract's columns, names, types and order."""
    schema = {"playback": PLAYBACK, "engagement": ENGAGEMENT, "shows": SHOWS, "users": USERS}[
        table
    ].schema
    return df.select(*[F.col(f.name).cast(f.dataType).alias(f.name) for f in schema.fields])
