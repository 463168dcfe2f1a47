"""Runs a suite from ``expectations/`` with Great Expectations 1.x.

One ephemeral GX context per process with a Spark data source (the tables themselves) and a
pandas data source (tiny derived frames computed from already collected, bounded aggregates:
one row per day or per feature; running those through Spark would cost jobs for nothing).
Each batch name of a suite (``rows``, ``days``, ...) is a dataframe asset with a
whole-dataframe batch definition. A suite file is split by ``meta.batch`` and each part
validates the DataFrame given for that batch.
"""

from __future__ import annotations

import contextlib
import functools
from collections.abc import Iterator
from typing import TYPE_CHECKING, Any

from amp_features.errors import ConfigError
from amp_features.quality.results import CRITICAL, ExpectationOutcome, SuiteResult

if TYPE_CHECKING:
    import pandas as pd
    from pyspark.sql import DataFrame

DATASOURCE = "amp_features"
# Unexpected counts, but no example values: GX fetches examples with one Spark job per
# expectation (59 jobs instead of 7 for the user suite), too slow for a daily gate.
RESULT_FORMAT: dict[str, Any] = {"result_format": "BASIC", "partial_unexpected_count": 0}
# The small pandas frames can afford examples (which days are missing, which ratio).
SMALL_RESULT_FORMAT: dict[str, Any] = {"result_format": "SUMMARY", "partial_unexpected_count": 20}
EXAMPLES = 5
SCHEMA_CHECK = "expect_table_columns_to_match_set"
# Columns the quality code derives itself (derive.py): never a schema difference of the table.
DERIVED_PREFIX = "_q_"


@functools.lru_cache(maxsize=1)
def _context() -> Any:
    import great_expectations as gx
    from great_expectations.data_context.types.base import ProgressBarsConfig

    context = gx.get_context(mode="ephemeral")
    # Progress bars would flood the DAG's logs.
    context.variables.progress_bars = ProgressBarsConfig(globally=False)
    return context


@functools.lru_cache(maxsize=2)
def _datasource(kind: str) -> Any:
    sources = _context().data_sources
    if kind == "pandas":
        return sources.add_pandas(name=f"{DATASOURCE}_small")
    # We cache what we validate ourselves and release it afterwards; GX's own persist would
    # keep every validated DataFrame in memory for the life of the process.
    return sources.add_spark(name=DATASOURCE, persist=False)


def _is_pandas(frame: Any) -> bool:
    import pandas as pd

    return isinstance(frame, pd.DataFrame)


def _batch_definition(batch: str, frame: Any) -> Any:
    source = _datasource("pandas" if _is_pandas(frame) else "spark")
    try:
        asset = source.get_asset(batch)
    except LookupError:
        asset = source.add_dataframe_asset(name=batch)
    try:
        return asset.get_batch_definition("whole")
    except (KeyError, LookupError):
        return asset.add_batch_definition_whole_dataframe("whole")


@contextlib.contextmanager
def _in_memory(frame: Any) -> Iterator[Any]:
    """The frame GX validates, kept in memory while it runs.

    GX 1.x bundles the aggregate metrics of one domain into one ``df.agg(...).collect()`` per
    round of its metric graph, and computes uniqueness and column-pair metrics on their own:
    three to six Spark actions per batch (the 20 expectations of the playback suite: five),
    not one per expectation. Each action re-runs the frame's plan, so a Spark frame that is not
    cached yet (e.g. the per-user affinity sums, a shuffle over the feature table) is persisted
    for the batch: the plan runs once and the other actions read memory. Frames the caller
    cached already are left alone.
    """
    if _is_pandas(frame) or frame.is_cached:
        yield frame
        return
    from pyspark import StorageLevel

    held = frame.persist(StorageLevel.MEMORY_AND_DISK)
    try:
        yield held
    finally:
        held.unpersist()


def batches_of(suite: dict[str, Any]) -> list[str]:
    seen: list[str] = []
    for exp in suite["expectations"]:
        batch = exp.get("meta", {}).get("batch", "rows")
        if batch not in seen:
            seen.append(batch)
    return seen


def _columns_used(exp: dict[str, Any]) -> list[str]:
    """The columns an expectation reads (not ``column_set``: that one is the schema check)."""
    kwargs = exp.get("kwargs", {})
    used = [kwargs[k] for k in ("column", "column_A", "column_B") if isinstance(kwargs.get(k), str)]
    return used + [str(c) for c in kwargs.get("column_list") or []]


def run_suite(
    suite: dict[str, Any],
    frames: dict[str, DataFrame | pd.DataFrame],
    parameters: dict[str, Any] | None = None,
) -> SuiteResult:
    """Validate each batch of ``suite`` against ``frames[batch]`` and collect the outcomes.

    An expectation on a column the frame lacks is not handed to GX (it would fail with an
    internal error such as "list index out of range"): it is recorded as skipped, and the
    batch's schema check names the missing column once.
    """
    import great_expectations as gx

    name = suite["name"]
    meta = suite.get("meta", {})
    result = SuiteResult(name, meta.get("kind", ""), meta.get("table", ""))
    for batch in batches_of(suite):
        if batch not in frames:
            raise ConfigError(f"suite {name}: no DataFrame for its batch {batch!r}")
        frame = frames[batch]
        present = set(frame.columns)
        exps: list[tuple[dict[str, Any], list[str]]] = []
        skipped: list[tuple[dict[str, Any], list[str]]] = []
        for e in suite["expectations"]:
            if e.get("meta", {}).get("batch", "rows") != batch:
                continue
            missing = [c for c in _columns_used(e) if c not in present]
            (skipped if missing else exps).append((e, missing))
        outcomes = []
        if exps:
            part = gx.ExpectationSuite(name=f"{name}.{batch}", expectations=[e for e, _ in exps])
            if len(part.expectations) != len(exps):
                raise ConfigError(
                    f"suite {name}: an expectation of batch {batch!r} is not valid GX"
                )
            with _in_memory(frame) as held:
                gx_batch = _batch_definition(batch, held).get_batch(
                    batch_parameters={"dataframe": held}
                )
                small = _is_pandas(held)
                validation = gx_batch.validate(
                    part,
                    result_format=SMALL_RESULT_FORMAT if small else RESULT_FORMAT,
                    expectation_parameters=parameters or {},
                )
            raw = validation.to_json_dict()
            result.gx_results[batch] = raw
            outcomes = [_outcome(name, result.table, batch, item) for item in raw["results"]]
        reported = any(o.expectation == SCHEMA_CHECK and not o.success for o in outcomes)
        outcomes += [_skipped(name, result.table, batch, e, cols, reported) for e, cols in skipped]
        result.outcomes += outcomes
    return result


def _skipped(
    suite: str, table: str, batch: str, exp: dict[str, Any], missing: list[str], reported: bool
) -> ExpectationOutcome:
    """The outcome of an expectation whose column is missing. Only skipped when the batch's
    schema check already failed on it; otherwise it is the failure that says so."""
    meta = exp.get("meta", {})
    what = f"no column {', '.join(missing)}"
    return ExpectationOutcome(
        suite=suite,
        table=table,
        batch=batch,
        expectation=exp["type"],
        column=", ".join(_columns_used(exp)) or None,
        severity=str(exp.get("severity") or CRITICAL),
        success=False,
        check=str(meta.get("check", exp["type"])) if reported else "missing column",
        why=str(meta.get("why", "")),
        detail=f"not evaluated: {what}" if reported else what,
        skipped=reported,
    )


def _outcome(suite: str, table: str, batch: str, item: dict[str, Any]) -> ExpectationOutcome:
    config = item["expectation_config"]
    kwargs = config.get("kwargs", {})
    res = item.get("result") or {}
    exc = item.get("exception_info") or {}
    if "raised_exception" not in exc and exc:
        # Some GX results key exception info by metric; any one explains the failure.
        exc = next(iter(exc.values())) if isinstance(next(iter(exc.values())), dict) else {}
    column = kwargs.get("column") or (
        ", ".join(kwargs["column_list"]) if "column_list" in kwargs else None
    )
    if "column_A" in kwargs:
        column = f"{kwargs['column_A']} = {kwargs['column_B']}"
    outcome = ExpectationOutcome(
        suite=suite,
        table=table,
        batch=batch,
        expectation=config["type"],
        column=column,
        severity=str(config.get("severity") or "critical"),
        success=bool(item.get("success")),
        check=str(config.get("meta", {}).get("check", config["type"])),
        why=str(config.get("meta", {}).get("why", "")),
        unexpected_count=res.get("unexpected_count"),
        element_count=res.get("element_count"),
        observed=res.get("observed_value"),
    )
    outcome.detail = _detail(outcome, kwargs, res, exc)
    return outcome


def _detail(
    o: ExpectationOutcome,
    kwargs: dict[str, Any],
    res: dict[str, Any],
    exc: dict[str, Any],
) -> str:
    if exc.get("raised_exception"):
        message = str(exc.get("exception_message") or "").strip().splitlines()
        return f"could not be evaluated: {message[0] if message else 'error'}"
    if o.expectation == SCHEMA_CHECK:
        mismatched = (res.get("details") or {}).get("mismatched") or {}
        missing = sorted(str(c) for c in mismatched.get("missing") or [])
        # Extra columns only matter to an exact match; our derived ones never do.
        exact = kwargs.get("exact_match", True)
        unexpected = (mismatched.get("unexpected") or []) if exact else []
        extra = sorted(str(c) for c in unexpected if not str(c).startswith(DERIVED_PREFIX))
        parts = [
            f"{label} column{'s' if len(cols) > 1 else ''} {', '.join(cols)}"
            for label, cols in (("missing", missing), ("unexpected", extra))
            if cols
        ]
        return "; ".join(parts) if parts else f"columns {res.get('observed_value')}"
    if o.expectation == "expect_table_row_count_to_be_between":
        return f"{res.get('observed_value')} rows"
    if o.expectation == "expect_column_values_to_be_of_type":
        return f"observed {res.get('observed_value')}, expected {kwargs.get('type_')}"
    if o.expectation == "expect_column_distinct_values_to_contain_set":
        missing = sorted(str(v) for v in res.get("partial_missing_list") or [])
        count = res.get("missing_count") or len(missing)
        o.unexpected_count = count
        if not count:
            return "all present"
        return f"missing: {', '.join(missing)}" if missing else f"{count} value(s) missing"
    if o.unexpected_count is not None:
        examples = (res.get("partial_unexpected_list") or [])[:EXAMPLES]
        pct = res.get("unexpected_percent")
        share = f" ({pct:.1f}%)" if isinstance(pct, int | float) else ""
        shown = f", e.g. {examples}" if examples and o.unexpected_count else ""
        return f"{o.unexpected_count} of {o.element_count} rows unexpected{share}{shown}"
    if "observed_value" in res:
        return f"observed {res['observed_value']}"
    return ""
