"""The Great Expectations suites: built from the contract and the registry, kept as JSON files.

The files in ``amp_features/quality/expectations/`` (``expectations/`` at the repository root is a
link to it) are what reviewers read and what the pipeline runs. They ship inside the package, so an
installed wheel validates exactly what the checkout does, and they are read through
``importlib.resources``. They are generated from ``contract.py`` (raw tables) and ``registry.py``
(features) by ``amp-features quality suites --write``; ``--check`` (and a test) fails when they
drift, so a new feature or column cannot ship without its expectations.

Each expectation carries ``meta.batch``: the (derived) DataFrame it validates.

* inputs: ``rows`` (the as_of partition, or the whole dimension), ``days`` (one row per ``dt``
  present in the window), ``volume`` (one row: the day's rows against the previous days);
* outputs: ``rows`` (the as_of partition of the feature table), ``affinity_sums`` (one row per
  user), ``row_count`` (one row: rows against the previous as_of), ``null_rates`` (one row per
  feature: null rate against the previous as_of).

Severity: ``critical`` fails the suite (a broken table stops the run, a failed output suite stops
the publish); ``warning`` is reported with counts (invalid input rows are quarantined by the
engine, so they are not fatal).
"""

from __future__ import annotations

import json
import os
from importlib import resources
from importlib.resources.abc import Traversable
from pathlib import Path
from typing import Any

from amp_features.contract import (
    EVENT_TYPES,
    MAX_LISTEN_SECONDS,
    RAW_TABLES,
    WINDOW_DAYS,
    RawTable,
)
from amp_features.errors import ConfigError
from amp_features.registry import GROUPS, features_of, table_columns

CRITICAL = "critical"
WARNING = "warning"

# Spark type names as GX's expect_column_values_to_be_of_type reports them.
SPARK_TYPE_NAMES = {
    "string": "StringType",
    "bigint": "LongType",
    "int": "IntegerType",
    "double": "DoubleType",
    "boolean": "BooleanType",
    "date": "DateType",
    "timestamp": "TimestampType",
    # GX checks the class only, so any array passes; the element type is the engine's to check.
    "array<string>": "ArrayType",
}

# -- thresholds (also visible in the JSON files) -------------------------------------------------
VOLUME_HISTORY_DAYS = 7  # the day's partition is compared with the mean of up to 7 previous days
VOLUME_MIN_RATIO = 0.3  # below: the partition collapsed (fatal)
VOLUME_MAX_RATIO = 5.0  # above: a spike (warning; re-deliveries are deduplicated anyway)
ROW_COUNT_MIN_RATIO = 0.5  # feature rows vs the previous as_of; a 60-day window moves slowly
ROW_COUNT_MAX_RATIO = 2.0
AFFINITY_SUM_TOLERANCE = 1e-6
NULL_RATE_MAX_CHANGE = 0.25  # absolute change of a feature's null rate vs the previous as_of
# A nullable feature (null by definition for some rows) must still be non-null somewhere:
# an all-null column means the computation broke.
NULLABLE_MIN_NON_NULL = 0.01

# Per-feature value ranges beyond "counts are non-negative" (names are checked against the
# registry by the tests). (min, max, severity)
FEATURE_RANGES: dict[str, tuple[float | None, float | None, str]] = {
    "active_days_60d": (0, WINDOW_DAYS, CRITICAL),
    "days_since_last_listen": (0, WINDOW_DAYS - 1, CRITICAL),
    "preferred_hour_utc": (0, 23, CRITICAL),
    # A signup after D is odd but possible in a snapshot taken later: report, do not block.
    "tenure_days": (0, None, WARNING),
    "topic_affinity": (0, 1, CRITICAL),
    "creator_affinity": (0, 1, CRITICAL),
}
# Groups whose affinity must sum to 1 per user (where the user has any affinity at all).
AFFINITY_OF_GROUP = {"user_topic": "topic_affinity", "user_creator": "creator_affinity"}


SUITES_PACKAGE = "amp_features.quality"
SUITES_FOLDER = "expectations"


def suites_location() -> Traversable:
    """Where the suites are read from: ``AMP_EXPECTATIONS_DIR`` if set, else the package data."""
    override = os.environ.get("AMP_EXPECTATIONS_DIR")
    if override:
        return Path(override)
    return resources.files(SUITES_PACKAGE) / SUITES_FOLDER


def expectations_dir() -> Path:
    """The suites' folder on disk, for ``quality suites --write/--check``."""
    location = suites_location()
    if not isinstance(location, Path):  # e.g. the package runs from a zip file
        raise ConfigError(
            f"the expectation suites are not a folder on disk ({location}); "
            "set AMP_EXPECTATIONS_DIR to write or check them"
        )
    return location


def input_suite_name(table: str) -> str:
    return f"input_{table}"


def output_suite_name(group: str) -> str:
    return f"output_{group}"


def all_suite_names() -> list[str]:
    return [input_suite_name(t) for t in RAW_TABLES] + [output_suite_name(g) for g in GROUPS]


def _exp(
    kind: str, batch: str, check: str, why: str, severity: str = CRITICAL, **kwargs: Any
) -> dict[str, Any]:
    """One expectation; ``check`` is the short name of the problem it catches (in messages)."""
    meta = {"batch": batch, "check": check, "why": why}
    return {"type": kind, "kwargs": kwargs, "meta": meta, "severity": severity}


def _schema(table: str, columns: dict[str, str], *, exact: bool) -> list[dict[str, Any]]:
    out = [
        _exp(
            "expect_table_columns_to_match_set",
            "rows",
            "schema change",
            f"{table} has the contract's columns"
            + (" and no others" if exact else " (extra columns are ignored)"),
            column_set=list(columns),
            exact_match=exact,
        )
    ]
    out += [
        _exp(
            "expect_column_values_to_be_of_type",
            "rows",
            "schema change",
            f"{table}.{name} is {dtype}",
            column=name,
            type_=SPARK_TYPE_NAMES[dtype],
        )
        for name, dtype in columns.items()
    ]
    return out


def _raw_columns(table: RawTable) -> dict[str, str]:
    return {f.name: f.dataType.simpleString() for f in table.schema.fields}


def build_input_suite(table: RawTable) -> dict[str, Any]:
    t = table.name
    columns = _raw_columns(table)
    exps = _schema(t, columns, exact=False)
    if table.is_dimension:
        exps.append(
            _exp(
                "expect_table_row_count_to_be_between",
                "rows",
                "empty table",
                f"{t} is not empty",
                min_value=1,
            )
        )
        exps.append(
            _exp(
                "expect_column_values_to_not_be_null",
                "rows",
                "null key",
                f"every {t} row has its key {table.key}",
                column=table.key,
            )
        )
        exps.append(
            _exp(
                "expect_column_values_to_be_unique",
                "rows",
                "repeated key",
                f"{t} is a snapshot with one row per {table.key}; a repeated key is a broken table",
                column=table.key,
            )
        )
        for name in columns:
            if name != table.key and columns[name] == "string":
                exps.append(
                    _exp(
                        "expect_column_values_to_not_be_null",
                        "rows",
                        "unknown attribute",
                        f"{t}.{name} is known (a null one leaves the row out of what needs it)",
                        WARNING,
                        column=name,
                    )
                )
        return _suite(input_suite_name(t), "input", t, exps)

    ts = "started_at" if "started_at" in columns else "occurred_at"
    exps.append(
        _exp(
            "expect_table_row_count_to_be_between",
            "rows",
            "missing partition",
            f"{t} has a non-empty partition for the as_of day",
            min_value=1,
        )
    )
    # Row rules of section 2: broken rows are quarantined by the engine, so these only warn.
    required = ["event_id", "user_id", ts] + (
        ["show_id", "listen_seconds"] if t == "playback" else []
    )
    for name in required:
        exps.append(
            _exp(
                "expect_column_values_to_not_be_null",
                "rows",
                "invalid rows",
                f"{t}.{name} is set (null rows are quarantined)",
                WARNING,
                column=name,
            )
        )
    for name in ["user_id"] + (["show_id"] if t == "playback" else []):
        exps.append(
            _exp(
                "expect_column_value_lengths_to_be_between",
                "rows",
                "invalid rows",
                f"{t}.{name} is not empty (empty ids are quarantined)",
                WARNING,
                column=name,
                min_value=1,
            )
        )
    exps.append(
        _exp(
            "expect_column_pair_values_to_be_equal",
            "rows",
            "invalid rows",
            f"{t}.{ts} falls within its partition's day (dt is the UTC date of {ts})",
            WARNING,
            column_A="dt",
            column_B="_q_event_date",
            ignore_row_if="either_value_is_missing",
        )
    )
    if t == "playback":
        exps.append(
            _exp(
                "expect_column_values_to_be_between",
                "rows",
                "invalid rows",
                f"listen_seconds is in [0, {MAX_LISTEN_SECONDS}] (others are quarantined)",
                WARNING,
                column="listen_seconds",
                min_value=0,
                max_value=MAX_LISTEN_SECONDS,
            )
        )
    else:
        exps.append(
            _exp(
                "expect_column_values_to_be_in_set",
                "rows",
                "invalid rows",
                "event_type is one of the contract's three (others are quarantined)",
                WARNING,
                column="event_type",
                value_set=list(EVENT_TYPES),
            )
        )
        exps.append(
            _exp(
                "expect_column_values_to_not_be_null",
                "rows",
                "invalid rows",
                "the id the event type needs (show_id or creator_id) is set and not empty",
                WARNING,
                column="_q_needed_id",
            )
        )
    # Whole-table checks: fatal.
    exps.append(
        _exp(
            "expect_column_distinct_values_to_contain_set",
            "days",
            "missing partition",
            f"every day of the window has {t} rows (from the table's first day on)",
            column="dt",
            value_set={"$PARAMETER": "expected_days"},
        )
    )
    exps.append(
        _exp(
            "expect_column_values_to_be_between",
            "volume",
            "collapsed volume",
            f"the day's {t} rows are at least {VOLUME_MIN_RATIO:g} x the mean of the previous "
            f"{VOLUME_HISTORY_DAYS} days (else the partition collapsed)",
            column="ratio",
            min_value=VOLUME_MIN_RATIO,
        )
    )
    exps.append(
        _exp(
            "expect_column_values_to_be_between",
            "volume",
            "volume spike",
            f"the day's {t} rows are at most {VOLUME_MAX_RATIO:g} x the mean of the previous days",
            WARNING,
            column="ratio",
            max_value=VOLUME_MAX_RATIO,
        )
    )
    return _suite(input_suite_name(t), "input", t, exps, volume_history_days=VOLUME_HISTORY_DAYS)


def build_output_suite(group: str) -> dict[str, Any]:
    g = GROUPS[group]
    feats = features_of(group)
    dtypes = {k: "string" for k in g.keys} | {f.name: f.dtype for f in feats} | {"as_of": "date"}
    assert list(dtypes) == table_columns(group)
    exps = _schema(f"features/{group}", dtypes, exact=True)
    exps.append(
        _exp(
            "expect_table_row_count_to_be_between",
            "rows",
            "empty table",
            f"{group} has rows",
            min_value=1,
        )
    )
    for key in g.keys:
        exps.append(
            _exp(
                "expect_column_values_to_not_be_null",
                "rows",
                "null key",
                f"the key {key} is set",
                column=key,
            )
        )
    if len(g.keys) == 1:
        exps.append(
            _exp(
                "expect_column_values_to_be_unique",
                "rows",
                "duplicate keys",
                f"one row per {g.keys[0]}",
                column=g.keys[0],
            )
        )
    else:
        exps.append(
            _exp(
                "expect_compound_columns_to_be_unique",
                "rows",
                "duplicate keys",
                f"one row per ({', '.join(g.keys)})",
                column_list=list(g.keys),
            )
        )
    for f in feats:
        if f.vector_default is None:
            exps.append(
                _exp(
                    "expect_column_values_to_not_be_null",
                    "rows",
                    "all-null feature",
                    f"{f.name} is null only where the contract says so, never for every row",
                    column=f.name,
                    mostly=NULLABLE_MIN_NON_NULL,
                )
            )
        else:
            exps.append(
                _exp(
                    "expect_column_values_to_not_be_null",
                    "rows",
                    "null values",
                    f"{f.name} is never null (counts are 0, not null)",
                    column=f.name,
                )
            )
        if f.name in FEATURE_RANGES:
            lo, hi, severity = FEATURE_RANGES[f.name]
            bounds = {"min_value": lo} | ({"max_value": hi} if hi is not None else {})
            exps.append(
                _exp(
                    "expect_column_values_to_be_between",
                    "rows",
                    "out of range",
                    f"{f.name} lies in [{lo}, {'inf' if hi is None else hi}]",
                    severity,
                    column=f.name,
                    **bounds,
                )
            )
        elif f.dtype in ("bigint", "int", "double"):
            exps.append(
                _exp(
                    "expect_column_values_to_be_between",
                    "rows",
                    "negative values",
                    f"{f.name} is a count or an amount, so it is non-negative",
                    column=f.name,
                    min_value=0,
                )
            )
    if group in AFFINITY_OF_GROUP:
        name = AFFINITY_OF_GROUP[group]
        exps.append(
            _exp(
                "expect_column_values_to_be_between",
                "affinity_sums",
                "affinity sum",
                f"each user's {name} values sum to 1 (users with any affinity, i.e. plays of a "
                f"known {'topic' if group == 'user_topic' else 'creator'})",
                column="affinity_sum",
                min_value=1 - AFFINITY_SUM_TOLERANCE,
                max_value=1 + AFFINITY_SUM_TOLERANCE,
            )
        )
    exps.append(
        _exp(
            "expect_column_values_to_be_between",
            "row_count",
            "row-count change",
            f"{group} rows are within [{ROW_COUNT_MIN_RATIO:g}, {ROW_COUNT_MAX_RATIO:g}] x the "
            "previous as_of's",
            column="ratio",
            min_value=ROW_COUNT_MIN_RATIO,
            max_value=ROW_COUNT_MAX_RATIO,
        )
    )
    exps.append(
        _exp(
            "expect_column_values_to_be_between",
            "null_rates",
            "null-rate change",
            f"no feature's null rate moves by more than {NULL_RATE_MAX_CHANGE:g} from the "
            "previous as_of",
            column="change",
            min_value=0,
            max_value=NULL_RATE_MAX_CHANGE,
        )
    )
    return _suite(output_suite_name(group), "output", f"features/{group}", exps)


def _suite(
    name: str, kind: str, table: str, exps: list[dict[str, Any]], **meta: Any
) -> dict[str, Any]:
    return {
        "name": name,
        "meta": {
            "generated_by": "amp-features quality suites --write (do not edit by hand)",
            "kind": kind,
            "table": table,
            **meta,
        },
        "expectations": exps,
    }


def build_all() -> dict[str, dict[str, Any]]:
    suites = [build_input_suite(t) for t in RAW_TABLES.values()]
    suites += [build_output_suite(g) for g in GROUPS]
    return {s["name"]: s for s in suites}


def render(suite: dict[str, Any]) -> str:
    return json.dumps(suite, indent=2, sort_keys=False) + "\n"


def write_suites(directory: Path | None = None) -> list[Path]:
    directory = directory or expectations_dir()
    directory.mkdir(parents=True, exist_ok=True)
    paths = []
    for name, suite in build_all().items():
        path = directory / f"{name}.json"
        path.write_text(render(suite), encoding="utf-8")
        paths.append(path)
    return paths


def stale_suites(directory: Path | None = None) -> list[str]:
    """Names of suites whose JSON file is missing or differs from the registry/contract."""
    directory = directory or expectations_dir()
    stale = []
    for name, suite in build_all().items():
        path = directory / f"{name}.json"
        if not path.exists() or path.read_text(encoding="utf-8") != render(suite):
            stale.append(name)
    return stale


def load_suite(name: str) -> dict[str, Any]:
    """The suite as stored in ``expectations/<name>.json`` (what the pipeline runs)."""
    path = suites_location() / f"{name}.json"
    if not path.is_file():
        raise ConfigError(
            f"expectation suite {name!r} not found at {path}; "
            "run `amp-features quality suites --write`"
        )
    try:
        suite: dict[str, Any] = json.loads(path.read_text(encoding="utf-8"))
    except json.JSONDecodeError as exc:
        raise ConfigError(f"expectation suite {path} is not valid JSON: {exc}") from exc
    return suite
