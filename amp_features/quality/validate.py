"""``validate_inputs`` and ``validate_outputs``: run the suites for an as_of and keep the results.

Results are written as JSON under ``<warehouse>/quality/as_of=D/`` (``inputs.json``,
``outputs.json``, the latest of each, plus a copy per run in ``history/`` so failed validations
stay readable after a rerun). ``validate_outputs`` also writes ``report.html`` next to them.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, Any

import pandas as pd
from pyspark.sql import functions as F

from amp_features.contract import RAW_TABLES, WINDOW_DAYS, RawTable, parse_date
from amp_features.errors import QualityGateError
from amp_features.ingest.read import read_as_stored
from amp_features.layout import Lake
from amp_features.logs import log
from amp_features.offline import snapshots
from amp_features.offline.snapshots import Commit
from amp_features.quality import derive, store
from amp_features.quality.policy import WARN, EmptyDayPolicy, InputPolicy, from_env
from amp_features.quality.results import ExpectationOutcome, QualityResult, SuiteResult
from amp_features.quality.runner import run_suite
from amp_features.quality.suites import (
    AFFINITY_OF_GROUP,
    VOLUME_HISTORY_DAYS,
    input_suite_name,
    load_suite,
    output_suite_name,
)
from amp_features.registry import GROUPS, features_of

if TYPE_CHECKING:
    from pyspark.sql import SparkSession


def _run_id() -> str:
    return dt.datetime.now(dt.UTC).strftime("%Y%m%dT%H%M%S%fZ")


def _missing_table(name: str, kind: str, table: str, path: str) -> SuiteResult:
    """A suite that could not run because its table is not there: one fatal outcome."""
    outcome = ExpectationOutcome(
        suite=name,
        table=table,
        batch="rows",
        expectation="table_exists",
        column=None,
        severity="critical",
        success=False,
        check="missing table",
        why=f"the {table} table exists",
        detail=f"no readable table at {path}",
    )
    return SuiteResult(name, kind, table, [outcome])


# -- inputs ------------------------------------------------------------------------------------
def validate_inputs(
    spark: SparkSession,
    lake: str,
    warehouse: str,
    as_of: dt.date | str,
    *,
    raise_on_broken: bool = True,
    policy: InputPolicy | None = None,
) -> QualityResult:
    """Run the four input suites for ``as_of``; persist the result.

    Invalid rows only warn (the engine quarantines them). A broken table (missing, missing
    partition, collapsed volume, changed schema, repeated dimension key) raises
    ``QualityGateError`` naming the table and the problem, after the result is persisted.
    ``policy`` says which empty or quiet days of the event tables are allowed (default: the
    one of ``$AMP_EMPTY_DAY_POLICY``, else none: see ``quality/policy.py``).
    """
    day = parse_date(as_of)
    policy = from_env() if policy is None else policy
    result = QualityResult("inputs", day, _run_id())
    for table in RAW_TABLES.values():
        suite = _validate_input_table(spark, lake, table, day, policy.of(table.name))
        result.suites.append(suite)
    if policy.describe():
        result.profiles["empty_day_policy"] = policy.describe()
    _persist(warehouse, result)
    for o in result.warnings:
        log.warning("input quality warning: %s", o.describe())
    log.info("%s", result.summary())
    if raise_on_broken and not result.success:
        raise QualityGateError(broken_message(result))
    return result


def broken_message(result: QualityResult) -> str:
    what = "broken input table" if result.kind == "inputs" else "failed output suite"
    problems = "; ".join(o.describe() for o in result.failures)
    return f"{what}(s) for as_of {result.as_of}: {problems}. Results: {result.path}" + (
        f", report: {result.report}" if result.report else ""
    )


def _validate_input_table(
    spark: SparkSession, lake: str, table: RawTable, day: dt.date, policy: EmptyDayPolicy
) -> SuiteResult:
    name = input_suite_name(table.name)
    suite = load_suite(name)
    path = Lake(lake).table(table.name)
    if not store.exists(path):
        return _missing_table(name, "input", table.name, path)
    try:
        df = read_as_stored(spark, lake, table.name)
    except Exception as exc:  # an empty folder or an unreadable log: the table is broken
        log.error("cannot read %s at %s: %s", table.name, path, exc)
        return _missing_table(name, "input", table.name, path)
    if table.is_dimension:
        return run_suite(suite, {"rows": df})

    history = int(suite.get("meta", {}).get("volume_history_days", VOLUME_HISTORY_DAYS))
    partition = table.partition_by or "dt"
    usable = dict(df.dtypes).get(partition) == "date"
    window_start = day - dt.timedelta(days=WINDOW_DAYS - 1)
    if usable:
        rows = df.where(F.col(partition) == F.lit(day))
        # small: one row per day of the window and its history (at most 60 + 7).
        counted = derive.day_counts(df, partition, window_start - dt.timedelta(days=history), day)
        day_rows = [(r["dt"], int(r["rows"])) for r in counted.collect()]  # small: one per dt
    else:
        # Without a usable partition column nothing can be read by day; the schema
        # expectations say why, and the other checks see no rows.
        rows = df.where(F.lit(False))
        day_rows = []
    present = sorted(d for d, _ in day_rows)
    # A lake younger than the window is expected from its first day on.
    first = max(window_start, dt.date.fromisoformat(present[0])) if present else day
    window = [(first + dt.timedelta(days=i)).isoformat() for i in range((day - first).days + 1)]
    # The empty-day policy: which days must be there, and with how many rows to count.
    expected = policy.required_days(window)
    days = pd.DataFrame([(d, n) for d, n in day_rows if n >= policy.floor], columns=["dt", "rows"])
    _log_allowed_days(table.name, policy, window, dict(day_rows))
    suite = policy.adjust_suite(suite, table.name, day)
    checked = derive.with_row_checks(rows, table).cache()
    try:
        return run_suite(
            suite,
            {"rows": checked, "days": days, "volume": volume(day_rows, day, history)},
            {"expected_days": expected},
        )
    finally:
        checked.unpersist()


def _log_allowed_days(
    table: str, policy: EmptyDayPolicy, window: list[str], counts: dict[str, int]
) -> None:
    """Say which empty days the policy let through (a warning policy's days are reported
    as the suite's warnings instead)."""
    if policy.on_empty == WARN:
        return
    required = set(policy.required_days(window))
    empty = [d for d in window if d not in required and counts.get(d, 0) == 0]
    if empty:
        log.info("%s: no rows on %s, allowed by the empty-day policy", table, ", ".join(empty))


def volume(day_rows: list[tuple[str, int]], day: dt.date, history_days: int) -> pd.DataFrame:
    """One row: the as_of day's ``rows``, the ``baseline`` (mean rows of the previous
    ``history_days`` days that have data) and ``ratio`` = rows / baseline (null without history).
    """
    since = (day - dt.timedelta(days=history_days)).isoformat()
    counts = dict(day_rows)
    rows = counts.get(day.isoformat(), 0)
    # ISO dates compare correctly as strings.
    history = [n for d, n in counts.items() if since <= d < day.isoformat()]
    baseline = sum(history) / len(history) if history else None
    ratio = rows / baseline if baseline else None
    return pd.DataFrame(
        [(day.isoformat(), rows, baseline, ratio)], columns=["dt", "rows", "baseline", "ratio"]
    )


# -- outputs -----------------------------------------------------------------------------------
def validate_outputs(
    spark: SparkSession,
    warehouse: str,
    as_of: dt.date | str,
    *,
    report: bool = True,
    commit: Commit | None = None,
    bind: bool = True,
) -> QualityResult:
    """Run the five output suites on the committed snapshot of ``as_of``; persist the result
    (and the HTML report) and, with ``bind``, record it on the commit row.

    The tables are read at the versions the commit recorded (``commit``, or the latest commit of
    ``as_of``), so the result speaks of exactly what readers see. Never raises on a failed suite:
    the publish gate (``gate.assert_publishable``) reads the bound result and refuses. Check
    ``result.success`` to stop earlier.
    """
    day = parse_date(as_of)
    commit = commit or snapshots.resolve(spark, warehouse, day)
    previous = _previous_commit(spark, warehouse, day)
    result = QualityResult("outputs", day, _run_id())
    for group in GROUPS:
        suite, profile = _validate_group(spark, warehouse, group, commit, previous)
        result.suites.append(suite)
        result.profiles[group] = profile
    result.path = store.result_path(warehouse, day, result.kind)
    if report:
        from amp_features.quality.report import write_report

        try:
            result.report = write_report(spark, warehouse, result, commit, previous)
        except Exception:  # the report is for people; it must not hide the result
            log.exception("quality report for as_of %s could not be written", day)
    _persist(warehouse, result)
    store.write_text(store.commit_result_path(warehouse, day, commit.commit_id), result.to_json())
    if bind:
        snapshots.record_validation(spark, warehouse, commit, result.run_id, result.success)
    log.info("%s (%s)", result.summary(), commit.describe())
    return result


def _previous_commit(spark: SparkSession, warehouse: str, day: dt.date) -> Commit | None:
    """The latest committed as_of before ``day`` (the drift checks compare with it)."""
    earlier = [d for d in snapshots.committed_dates(spark, warehouse) if d < day]
    return snapshots.resolve(spark, warehouse, max(earlier)) if earlier else None


def _validate_group(
    spark: SparkSession,
    warehouse: str,
    group: str,
    commit: Commit,
    previous: Commit | None,
) -> tuple[SuiteResult, dict[str, Any]]:
    name = output_suite_name(group)
    suite = load_suite(name)
    day = commit.as_of
    try:
        current = snapshots.read(spark, warehouse, commit, group)
    except Exception as exc:  # a table the commit names but cannot be read: the suite fails
        log.error("cannot read %s of %s: %s", group, commit.describe(), str(exc).splitlines()[0])
        return _missing_table(name, "output", f"features/{group}", str(commit.versions)), {}
    columns = dict(current.dtypes)
    if columns.get("as_of") != "date":
        return _missing_table(name, "output", f"features/{group}", f"commit {commit.commit_id}"), {}
    features = [f.name for f in features_of(group) if f.name in columns]
    df = current
    prev_day: dt.date | None = None
    if previous is not None and group in previous.versions:
        prev_day = previous.as_of
        df = current.unionByName(snapshots.read(spark, warehouse, previous, group))
    as_ofs = [day] + ([prev_day] if prev_day else [])
    # small: at most two rows (D and the previous as_of).
    counts = {
        r["as_of"]: r for r in derive.rows_and_nulls(df, as_ofs, features).collect()
    }  # small: per as_of
    profile = _profile(counts, day, prev_day, features)

    current = current.cache()
    try:
        frames = {
            "rows": current,
            "row_count": pd.DataFrame(
                [(profile["rows"], profile["previous_rows"], profile["row_ratio"])],
                columns=["rows", "previous_rows", "ratio"],
            ),
            "null_rates": pd.DataFrame(
                [
                    (f, v["null_rate"], v["previous_null_rate"], v["change"])
                    for f, v in profile["features"].items()
                    if v["change"] is not None
                ],
                columns=["feature", "null_rate", "previous_null_rate", "change"],
            ),
        }
        if group in AFFINITY_OF_GROUP:
            affinity = AFFINITY_OF_GROUP[group]
            frames["affinity_sums"] = (
                derive.affinity_sums(current, "user_id", affinity)
                if affinity in columns and "user_id" in columns
                else pd.DataFrame(columns=["user_id", "affinity_sum"])
            )
        return run_suite(suite, frames), profile
    finally:
        current.unpersist()


def _profile(
    counts: dict[dt.date, Any], day: dt.date, prev_day: dt.date | None, features: list[str]
) -> dict[str, Any]:
    cur = counts.get(day)
    prev = counts.get(prev_day) if prev_day else None
    rows = int(cur["rows"]) if cur else 0
    prev_rows = int(prev["rows"]) if prev else None
    out: dict[str, Any] = {
        "as_of": day.isoformat(),
        "previous_as_of": prev_day.isoformat() if prev_day else None,
        "rows": rows,
        "previous_rows": prev_rows,
        "row_ratio": rows / prev_rows if prev_rows else None,
        "features": {},
    }
    for f in features:
        rate = int(cur[f"nulls_{f}"]) / rows if cur and rows else None
        prev_rate = int(prev[f"nulls_{f}"]) / prev_rows if prev and prev_rows else None
        change = abs(rate - prev_rate) if rate is not None and prev_rate is not None else None
        # The histograms' range, shared by both as_ofs (null when the feature is all null).
        lows = [r[f"min_{f}"] for r in (cur, prev) if r and r[f"min_{f}"] is not None]
        highs = [r[f"max_{f}"] for r in (cur, prev) if r and r[f"max_{f}"] is not None]
        out["features"][f] = {
            "null_rate": rate,
            "previous_null_rate": prev_rate,
            "change": change,
            "range": [float(min(lows)), float(max(highs))] if lows else None,
        }
    return out


# -- persistence -------------------------------------------------------------------------------
def _persist(warehouse: str, result: QualityResult) -> None:
    result.path = store.result_path(warehouse, result.as_of, result.kind)
    text = result.to_json()
    store.write_text(
        store.history_path(warehouse, result.as_of, result.run_id, f"{result.kind}.json"), text
    )
    store.write_text(result.path, text)


def load_result(
    warehouse: str, as_of: dt.date | str, kind: str = "outputs"
) -> QualityResult | None:
    """The latest persisted result of ``kind`` (inputs / outputs) for ``as_of``, if any."""
    path = store.result_path(warehouse, parse_date(as_of), kind)
    if not store.exists(path):
        return None
    return QualityResult.from_json(store.read_text(path))
