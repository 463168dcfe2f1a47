"""The one feature registry: the 21 features of the contract, section 4.

Docs (``docs/features.md``), ``amp-features describe``, the offline writer (column types and
comments), the online store and the tests all read this module. Nothing else lists the features.
"""

from __future__ import annotations

from dataclasses import dataclass

from amp_features.contract import WINDOW_DAYS

WINDOW = f"the {WINDOW_DAYS}-day window W = [D-{WINDOW_DAYS - 1}, D]"


@dataclass(frozen=True)
class FeatureGroup:
    name: str
    keys: tuple[str, ...]
    rows: str  # which rows the group has (the contract's row rule)

    @property
    def table(self) -> str:
        return self.name


@dataclass(frozen=True)
class Feature:
    number: int
    name: str
    group: str
    dtype: str  # Spark SQL type name: bigint, int, double, boolean
    description: str  # one line, also the Delta column comment
    definition: str  # the contract's definition, for the catalog
    # Value in the ranking vector when the pair has no row in this feature's group (section 5).
    vector_default: int | float | bool | None

    @property
    def keys(self) -> tuple[str, ...]:
        return GROUPS[self.group].keys


GROUPS: dict[str, FeatureGroup] = {
    g.name: g
    for g in (
        FeatureGroup(
            "user",
            ("user_id",),
            "one row per user with at least one valid playback or engagement event in W",
        ),
        FeatureGroup(
            "show",
            ("show_id",),
            "one row per show with at least one valid playback or like_show event in W "
            "(orphans included)",
        ),
        FeatureGroup(
            "creator",
            ("creator_id",),
            "one row per creator with at least one play of one of their shows, or one "
            "follow_creator event, in W",
        ),
        FeatureGroup(
            "user_topic",
            ("user_id", "topic"),
            "one row per topic the user played in W (orphans left out), plus one per topic in "
            "the user's declared_topics for every user in users",
        ),
        FeatureGroup(
            "user_creator",
            ("user_id", "creator_id"),
            "one row per creator whose shows the user played in W (orphans left out), plus one "
            "per creator the user followed in W",
        ),
    )
}

_F = Feature
FEATURES: tuple[Feature, ...] = (
    _F(1, "sessions_60d", "user", "bigint", "Playback sessions in the 60-day window.",
       "playback events in W", 0),
    _F(2, "listen_minutes_60d", "user", "double", "Minutes listened in the 60-day window.",
       "sum of listen_seconds in W / 60", 0.0),
    _F(3, "long_sessions_60d", "user", "bigint", "Sessions of 5 minutes or more in the window.",
       "playback events in W with listen_seconds >= 300", 0),
    _F(4, "active_days_60d", "user", "int", "Days with at least one playback in the window.",
       "distinct dt in W with at least one playback", 0),
    _F(5, "distinct_shows_60d", "user", "bigint", "Distinct shows played in the window.",
       "exact count of distinct show_id played in W", 0),
    _F(6, "distinct_creators_60d", "user", "bigint",
       "Distinct creators of the shows played in the window (orphan plays left out).",
       "exact count of distinct creators of the shows played in W (orphan plays left out)", 0),
    _F(7, "likes_60d", "user", "bigint", "like_show events in the window.",
       "like_show events in W", 0),
    _F(8, "follows_60d", "user", "bigint", "follow_creator events in the window.",
       "follow_creator events in W", 0),
    _F(9, "notifications_enabled_60d", "user", "bigint",
       "enable_notification events in the window.", "enable_notification events in W", 0),
    _F(10, "days_since_last_listen", "user", "int",
       "Days from the last playback day in the window to D; null if none.",
       "D minus the latest dt with a playback in W; null if none", None),
    _F(11, "preferred_hour_utc", "user", "int",
       "UTC hour (0-23) with the most listen_seconds in the window; ties to the lowest hour.",
       "the hour (0-23) of started_at with the largest summed listen_seconds in W; ties go to "
       "the lowest hour; null if no playback", None),
    _F(12, "tenure_days", "user", "int",
       "Days from the UTC signup date to D; null if the user is not in users.",
       "D minus the UTC date of signup_at; null if the user is not in users", None),
    _F(13, "show_plays_60d", "show", "bigint", "Playback sessions of the show in the window.",
       "playback events of the show in W", 0),
    _F(14, "show_unique_listeners_60d", "show", "bigint",
       "Distinct users who played the show in the window.",
       "exact count of distinct users who played it in W", 0),
    _F(15, "show_likes_60d", "show", "bigint", "like_show events for the show in the window.",
       "like_show events for it in W", 0),
    _F(16, "show_avg_listen_minutes_60d", "show", "double",
       "Average minutes per play of the show in the window; null if no plays.",
       "its listen minutes in W / show_plays_60d; null if no plays", None),
    _F(17, "creator_plays_60d", "creator", "bigint",
       "Plays in the window of shows whose creator_id (per shows) is this creator.",
       "playback events in W of shows whose creator_id (per shows) is this creator", 0),
    _F(18, "creator_new_follows_60d", "creator", "bigint",
       "follow_creator events for this creator in the window.",
       "follow_creator events for this creator in W", 0),
    _F(19, "topic_affinity", "user_topic", "double",
       "Share of the user's decayed listening (14-day half-life) on this topic.",
       "sum over the user's plays of this topic in W of listen_seconds * w, divided by the same "
       "sum over all the user's plays in W whose topic is known; 0.0 when either is 0", 0.0),
    _F(20, "topic_declared", "user_topic", "boolean",
       "The topic is in the user's declared_topics.",
       "the topic is in the user's declared_topics", False),
    _F(21, "creator_affinity", "user_creator", "double",
       "Share of the user's decayed listening (14-day half-life) on this creator.",
       "as topic_affinity, over creators instead of topics", 0.0),
)  # fmt: skip

REGISTRY: dict[str, Feature] = {f.name: f for f in FEATURES}


def features_of(group: str) -> list[Feature]:
    if group not in GROUPS:
        raise KeyError(f"unknown feature group {group!r}; groups are {', '.join(GROUPS)}")
    return [f for f in FEATURES if f.group == group]


def table_columns(group: str) -> list[str]:
    """Output column order of a group's offline table: keys, features, then as_of."""
    return [*GROUPS[group].keys, *(f.name for f in features_of(group)), "as_of"]


def vector_columns() -> list[str]:
    """The ranking vector's feature columns, in the contract's order (1 to 21)."""
    return [f.name for f in FEATURES]


def catalog_markdown() -> str:
    """The feature catalog as Markdown (``docs/features.md`` is generated from this)."""
    lines = [
        "# Feature catalog",
        "",
        "Generated from `amp_features/registry.py` by `amp-features describe --format markdown`;",
        "do not edit by hand. The contract is `shared/spec/features.md`.",
        "",
        f"Window: {WINDOW}. Decay weight: `w = 0.5 ** (age / 14)`, age = D - dt.",
        "",
    ]
    for group in GROUPS.values():
        lines += [
            f"## `{group.name}` (key {', '.join(f'`{k}`' for k in group.keys)})",
            "",
            f"Rows: {group.rows}. Delta table `features/{group.table}`, partitioned by `as_of`.",
            "",
            "| # | feature | type | definition | default in the ranking vector |",
            "|---|---|---|---|---|",
        ]
        for f in features_of(group.name):
            default = "null" if f.vector_default is None else str(f.vector_default).lower()
            lines.append(f"| {f.number} | `{f.name}` | {f.dtype} | {f.definition} | {default} |")
        lines.append("")
    return "\n".join(lines)


def catalog_text() -> str:
    rows = [f"{'#':>2}  {'feature':<30} {'group':<13} {'type':<8} description"]
    rows += [
        f"{f.number:>2}  {f.name:<30} {f.group:<13} {f.dtype:<8} {f.description}" for f in FEATURES
    ]
    return "\n".join(rows)
