"""The per-run HTML report: every suite's results, then every feature's distribution and null
rate against the previous as_of. One self-contained file (charts are inline PNGs), written to
``<warehouse>/quality/as_of=D/report.html`` and a copy in ``history/``.
"""

from __future__ import annotations

import base64
import datetime as dt
import html
import io
from typing import TYPE_CHECKING, Any

from amp_features.offline import snapshots
from amp_features.offline.snapshots import Commit
from amp_features.quality import derive, store
from amp_features.quality.results import QualityResult, SuiteResult
from amp_features.registry import GROUPS, features_of

if TYPE_CHECKING:
    from pyspark.sql import SparkSession

BINS = 20
CURRENT_COLOR = "#2b6cb0"
PREVIOUS_COLOR = "#a0aec0"

CSS = """
body{font-family:-apple-system,Segoe UI,Helvetica,Arial,sans-serif;margin:24px;color:#1a202c}
h1{font-size:22px;margin:0 0 4px} h2{font-size:18px;margin:28px 0 8px;border-bottom:1px solid #e2e8f0}
h3{font-size:15px;margin:18px 0 6px} .muted{color:#718096;font-size:13px}
table{border-collapse:collapse;font-size:13px;margin:6px 0 12px}
td,th{border:1px solid #e2e8f0;padding:4px 8px;text-align:left;vertical-align:top}
th{background:#f7fafc} .ok{color:#276749;font-weight:600} .fail{color:#c53030;font-weight:700}
.warn{color:#b7791f;font-weight:600} .badge{display:inline-block;padding:2px 10px;border-radius:10px;
color:#fff;font-weight:700} .b-ok{background:#38a169} .b-fail{background:#e53e3e}
img{max-width:100%} details{margin:4px 0 10px} summary{cursor:pointer;font-size:13px}
"""


def _badge(ok: bool) -> str:
    return f'<span class="badge b-{"ok" if ok else "fail"}">{"PASSED" if ok else "FAILED"}</span>'


def _suite_rows(result: QualityResult | None) -> str:
    if result is None:
        return '<p class="muted">not validated for this as_of</p>'
    out = ["<table><tr><th>suite</th><th>table</th><th>result</th><th>expectations met</th>"
           "<th>failures</th><th>warnings</th></tr>"]  # fmt: skip
    for s in result.suites:
        met = sum(o.success for o in s.outcomes)
        state = (
            '<span class="ok">passed</span>' if s.success else '<span class="fail">FAILED</span>'
        )
        out.append(
            f"<tr><td>{html.escape(s.name)}</td><td>{html.escape(s.table)}</td><td>{state}</td>"
            f"<td>{met}/{len(s.outcomes)}</td><td>{len(s.failures)}</td>"
            f"<td>{len(s.warnings)}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _problems(result: QualityResult | None) -> str:
    if result is None or (result.success and not result.warnings):
        return ""
    out = ["<table><tr><th></th><th>table</th><th>check</th><th>column</th><th>observed</th>"
           "<th>suite / expectation</th></tr>"]  # fmt: skip
    for o in result.failures + result.warnings:
        mark = '<span class="fail">FAIL</span>' if o.fatal else '<span class="warn">warn</span>'
        out.append(
            f"<tr><td>{mark}</td><td>{html.escape(o.table)}</td><td>{html.escape(o.check)}</td>"
            f"<td>{html.escape(o.column or '')}</td><td>{html.escape(o.detail)}</td>"
            f"<td>{html.escape(o.suite)} / {html.escape(o.expectation)}</td></tr>"
        )
    out.append("</table>")
    return "".join(out)


def _suite_details(s: SuiteResult) -> str:
    rows = []
    for o in s.outcomes:
        state = (
            '<span class="ok">ok</span>'
            if o.success
            else ('<span class="fail">FAIL</span>' if o.fatal else '<span class="warn">warn</span>')
        )
        rows.append(
            f"<tr><td>{state}</td><td>{html.escape(o.batch)}</td>"
            f"<td>{html.escape(o.expectation)}</td><td>{html.escape(o.column or '')}</td>"
            f"<td>{html.escape(o.why)}</td><td>{html.escape(o.detail)}</td></tr>"
        )
    return (
        f"<details><summary>{html.escape(s.name)}: all {len(s.outcomes)} expectations</summary>"
        "<table><tr><th></th><th>batch</th><th>expectation</th><th>column</th><th>why</th>"
        f"<th>observed</th></tr>{''.join(rows)}</table></details>"
    )


def _pct(v: Any) -> str:
    return "-" if v is None else f"{100 * float(v):.1f}%"


def _histograms_png(
    hist: dict[str, dict[str, list[int]]],
    ranges: dict[str, tuple[float, float]],
    profile: dict[str, Any],
    features: list[str],
) -> str:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    cols = 3
    nrows = (len(features) + cols - 1) // cols
    fig, axes = plt.subplots(nrows, cols, figsize=(13, 2.6 * nrows), squeeze=False)
    cur_label = profile.get("as_of", "current")
    prev_label = profile.get("previous_as_of") or "no previous as_of"
    for i, feature in enumerate(features):
        ax = axes[i // cols][i % cols]
        counts = hist.get(feature, {})
        lo, hi = ranges.get(feature, (0.0, 0.0))
        width = (hi - lo) / BINS if hi > lo else 1.0
        xs = [lo + (b + 0.5) * width for b in range(BINS)]
        cur = counts.get("current", [0] * BINS)
        prev = counts.get("previous", [0] * BINS)
        ax.bar(xs, cur, width=width * 0.9, color=CURRENT_COLOR, label=cur_label)
        if any(prev):
            ax.step(xs, prev, where="mid", color=PREVIOUS_COLOR, linewidth=2, label=prev_label)
        stats = profile.get("features", {}).get(feature, {})
        ax.set_title(
            f"{feature}\nnull {_pct(stats.get('null_rate'))} "
            f"(prev {_pct(stats.get('previous_null_rate'))})",
            fontsize=9,
        )
        ax.tick_params(labelsize=7)
        if not any(cur) and not any(prev):
            ax.text(0.5, 0.5, "no non-null values", ha="center", va="center",
                    transform=ax.transAxes, color="#c53030")  # fmt: skip
        if i == 0:
            ax.legend(fontsize=7)
    for j in range(len(features), nrows * cols):
        axes[j // cols][j % cols].axis("off")
    # Fixed margins: tight_layout measures every text box and took 3.5 s of a small day's run.
    top = 1 - 0.55 / (2.6 * nrows)
    fig.subplots_adjust(
        left=0.04, right=0.99, bottom=0.25 / nrows, top=top, wspace=0.2, hspace=0.75
    )
    buf = io.BytesIO()
    fig.savefig(buf, format="png", dpi=80)
    plt.close(fig)
    return base64.b64encode(buf.getvalue()).decode("ascii")


def _group_section(
    spark: SparkSession,
    warehouse: str,
    group: str,
    profile: dict[str, Any],
    commit: Commit,
    previous: Commit | None,
) -> str:
    title = f"<h3>{html.escape(group)}</h3>"
    if not profile or group not in commit.versions:
        return title + '<p class="fail">feature table missing or unreadable</p>'
    df = snapshots.read(spark, warehouse, commit, group)
    if previous is not None and group in previous.versions:
        df = df.unionByName(snapshots.read(spark, warehouse, previous, group))
    features = [f.name for f in features_of(group) if f.name in profile.get("features", {})]
    day = dt.date.fromisoformat(profile["as_of"])
    prev = profile.get("previous_as_of")
    prev_day = dt.date.fromisoformat(prev) if prev else None
    as_ofs = [day] + ([prev_day] if prev_day else [])
    hist: dict[str, dict[str, list[int]]] = {}
    # The ranges come from the validation's profile pass (null for an all-null feature).
    stats = profile["features"]
    ranges = {
        f: (stats[f]["range"][0], stats[f]["range"][1]) for f in features if stats[f].get("range")
    }
    counted = derive.histogram_counts(df, as_ofs, ranges, BINS)
    for r in counted.collect():  # small: at most features x 2 as_ofs x BINS rows
        which = "current" if r["as_of"] == day else "previous"
        hist.setdefault(r["feature"], {}).setdefault(which, [0] * BINS)[r["bin"]] += r["count"]
    table = ["<table><tr><th>feature</th><th>range</th><th>null rate</th>"
             "<th>previous null rate</th></tr>"]  # fmt: skip
    for f in features:
        stats = profile["features"][f]
        lo, hi = ranges.get(f, (float("nan"), float("nan")))
        table.append(
            f"<tr><td>{f}</td><td>{lo:g} .. {hi:g}</td><td>{_pct(stats['null_rate'])}</td>"
            f"<td>{_pct(stats['previous_null_rate'])}</td></tr>"
        )
    table.append("</table>")
    rows = (
        f'<p class="muted">rows {profile["rows"]} (previous as_of {prev or "-"}: '
        f"{profile['previous_rows'] if profile['previous_rows'] is not None else '-'})</p>"
    )
    png = _histograms_png(hist, ranges, profile, features)
    return (
        f'{title}{rows}<img alt="{group} histograms" src="data:image/png;base64,{png}"/>'
        + "".join(table)
    )


def render_report(
    spark: SparkSession,
    warehouse: str,
    outputs: QualityResult,
    inputs: QualityResult | None = None,
    commit: Commit | None = None,
    previous: Commit | None = None,
) -> str:
    commit = commit or snapshots.resolve(spark, warehouse, outputs.as_of)
    parts = [
        "<!doctype html><html><head><meta charset='utf-8'>",
        f"<title>amp_features quality, as_of {outputs.as_of}</title><style>{CSS}</style></head><body>",
        f"<h1>Feature quality for as_of {outputs.as_of} {_badge(outputs.success)}</h1>",
        f'<p class="muted">{html.escape(commit.describe())}, output run {outputs.run_id}'
        + (f", input run {inputs.run_id}" if inputs else "")
        + f". Suites: expectations/*.json. Results: {html.escape(outputs.path or '')}</p>",
        "<h2>Output suites (the publish gate)</h2>",
        _suite_rows(outputs),
        _problems(outputs),
        "<h2>Input suites</h2>",
        _suite_rows(inputs),
        _problems(inputs),
        "<h2>Feature distributions (current as_of bars, previous as_of line)</h2>",
    ]
    for group in GROUPS:
        profile = outputs.profiles.get(group, {})
        parts.append(_group_section(spark, warehouse, group, profile, commit, previous))
    parts.append("<h2>All expectations</h2>")
    for s in (inputs.suites if inputs else []) + outputs.suites:
        parts.append(_suite_details(s))
    parts.append("</body></html>")
    return "\n".join(parts)


def write_report(
    spark: SparkSession,
    warehouse: str,
    outputs: QualityResult,
    commit: Commit | None = None,
    previous: Commit | None = None,
) -> str:
    """Write the report for ``outputs`` (with the as_of's input results, if any); return its path.

    The distributions are read from ``commit`` (default: the latest commit of the as_of) and the
    ``previous`` commit it is compared with."""
    from amp_features.quality.validate import load_result

    inputs = load_result(warehouse, outputs.as_of, "inputs")
    page = render_report(spark, warehouse, outputs, inputs, commit, previous)
    path = store.report_path(warehouse, outputs.as_of)
    store.write_text(path, page)
    store.write_text(
        store.history_path(warehouse, outputs.as_of, outputs.run_id, "report.html"), page
    )
    return path
