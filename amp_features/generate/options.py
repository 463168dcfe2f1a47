"""What the generator injects and at which rates: the switches behind ``amp-features generate``.

Every awkward class of data has a name. The names are the keys of the generation report's
``injected`` section, so a test or a reader can find a class by the same word everywhere.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field

from amp_features.errors import ConfigError

# Invalid-row classes of the contract, section 2, in the order their rate slots are laid out.
PLAYBACK_INVALID = (
    "null_user_id",
    "empty_user_id",
    "null_show_id",
    "empty_show_id",
    "null_started_at",
    "null_listen_seconds",
    "negative_listen_seconds",
    "too_long_listen_seconds",
    "dt_mismatch",
)
ENGAGEMENT_INVALID = (
    "null_user_id",
    "empty_user_id",
    "null_occurred_at",
    "dt_mismatch",
    "unknown_event_type",
    "null_required_id",
    "empty_required_id",
)
INVALID_CLASSES = tuple(dict.fromkeys(PLAYBACK_INVALID + ENGAGEMENT_INVALID))
# Broken show attributes (the shows dimension), each at ``unknown_attribute_rate``.
SHOW_ATTRIBUTE_CLASSES = ("null_creator_id", "empty_creator_id", "null_topic", "empty_topic")

DEFAULT_CLI_BAD_ROWS = 0.001
# Named activity shapes: (active_share, plays_per_day). Dense is the heavy-tailed default (about
# 7.8 plays per user-day with a play); sparse has a fifth of the listeners on each day with
# 2.5 plays each, like a large app with casual listeners.
ACTIVITY = {"dense": (None, None), "sparse": (0.2, 2.5)}
# Nine playback classes share the unit interval, each taking ``bad_rows`` of it.
MAX_BAD_ROWS = 1.0 / len(PLAYBACK_INVALID)


@dataclass(frozen=True)
class GeneratorOptions:
    """Switches and rates of the awkward data, and the size knobs of the synthetic app.

    Rates are fractions of the rows of the table the class lives in (before re-deliveries are
    added). ``bad_rows`` (an argument of ``generate_lake``) is the rate of each invalid class.
    """

    # -- duplicates ------------------------------------------------------------------------
    redeliveries: bool = True
    redelivery_rate: float = 0.002
    conflicting_duplicates: bool = True
    conflict_rate: float = 0.001
    # -- invalid rows (contract section 2) -------------------------------------------------
    invalid_rows: bool = True
    skip_classes: frozenset[str] = field(default_factory=frozenset)
    # -- referential and dimension gaps ----------------------------------------------------
    orphan_plays: bool = True
    orphan_rate: float = 0.005
    unknown_show_attributes: bool = True
    unknown_attribute_rate: float = 0.005
    # -- user kinds ------------------------------------------------------------------------
    engage_only_users: bool = True
    engage_only_rate: float = 0.02
    declared_only_users: bool = True
    declared_only_rate: float = 0.03
    unregistered_users: bool = True
    unregistered_rate: float = 0.005
    # -- clock edges -----------------------------------------------------------------------
    midnight_events: bool = True
    midnight_rate: float = 0.001
    # -- size and shape --------------------------------------------------------------------
    shows: int | None = None  # default: one show per 10 users, at least 4 per topic
    activity_scale: float = 1.0  # multiplies the extra sessions per active day (dense shape)
    # Calibrated shape instead of the dense one (None keeps the dense default): the mean share
    # of listeners active on a day, and the mean plays per active user-day. See ``ACTIVITY``.
    active_share: float | None = None
    plays_per_day: float | None = None
    shape_stats: bool = True  # read the playback table back for the shape figures

    @classmethod
    def clean(cls, **overrides: object) -> GeneratorOptions:
        """Every awkward class switched off (valid, unique, referentially whole data)."""
        off = {
            "redeliveries": False,
            "conflicting_duplicates": False,
            "invalid_rows": False,
            "orphan_plays": False,
            "unknown_show_attributes": False,
            "engage_only_users": False,
            "declared_only_users": False,
            "unregistered_users": False,
            "midnight_events": False,
        }
        off.update(overrides)  # type: ignore[arg-type]
        return cls(**off)  # type: ignore[arg-type]

    def replace(self, **changes: object) -> GeneratorOptions:
        return dataclasses.replace(self, **changes)  # type: ignore[arg-type]

    def validate(self) -> None:
        unknown = sorted(set(self.skip_classes) - set(INVALID_CLASSES))
        if unknown:
            raise ConfigError(
                f"skip_classes: unknown invalid-row class {', '.join(unknown)}; "
                f"classes are {', '.join(INVALID_CLASSES)}"
            )
        for name in (
            "redelivery_rate",
            "conflict_rate",
            "orphan_rate",
            "unknown_attribute_rate",
            "engage_only_rate",
            "declared_only_rate",
            "unregistered_rate",
            "midnight_rate",
        ):
            value = getattr(self, name)
            if not 0.0 <= value <= 0.25:
                raise ConfigError(f"{name} must be within 0..0.25, got {value!r}")
        if self.redelivery_rate + self.conflict_rate > 0.25:
            raise ConfigError("redelivery_rate + conflict_rate must not exceed 0.25")
        if self.engage_only_rate + self.declared_only_rate > 0.5:
            raise ConfigError("engage_only_rate + declared_only_rate must not exceed 0.5")
        if self.shows is not None and self.shows < 1:
            raise ConfigError(f"shows must be at least 1, got {self.shows!r}")
        if not 0.0 < self.activity_scale <= 10.0:
            raise ConfigError(f"activity_scale must be within (0, 10], got {self.activity_scale!r}")
        if self.active_share is not None and not 0.001 <= self.active_share <= 0.9:
            raise ConfigError(
                f"active_share must be within 0.001..0.9 (share of users active per day), "
                f"got {self.active_share!r}"
            )
        if self.plays_per_day is not None and not 1.0 <= self.plays_per_day <= 40.0:
            raise ConfigError(
                f"plays_per_day must be within 1..40 (mean plays per active user-day), "
                f"got {self.plays_per_day!r}"
            )

    @classmethod
    def activity(cls, name: str, **overrides: object) -> GeneratorOptions:
        """Options of a named activity shape (``ACTIVITY``), with ``overrides``."""
        if name not in ACTIVITY:
            raise ConfigError(f"activity: expected one of {', '.join(ACTIVITY)}, got {name!r}")
        share, plays = ACTIVITY[name]
        return cls(active_share=share, plays_per_day=plays).replace(**overrides)

    def invalid_enabled(self, name: str) -> bool:
        return self.invalid_rows and name not in self.skip_classes

    def as_dict(self) -> dict[str, object]:
        out = dataclasses.asdict(self)
        out["skip_classes"] = sorted(self.skip_classes)
        return out
