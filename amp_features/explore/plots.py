"""Plots for notebooks. Spark does the aggregation; only a few dozen rows reach pandas.

Figures are built with ``matplotlib.figure.Figure`` (not pyplot), so nothing global changes and a
notebook shows each figure once, when it is the cell's result.
"""

from __future__ import annotations

import datetime as dt
from typing import TYPE_CHECKING, cast

from pyspark.sql import DataFrame, SparkSession
from pyspark.sql import functions as F

from amp_features.contract import parse_date
from amp_features.errors import ConfigError
from amp_features.explore.frames import feature, read_range
from amp_features.extras import require
from amp_features.training.snapshots import (
    SnapshotMissingError,
    describe_dates,
    group_as_of,
    read_group,
)

if TYPE_CHECKING:
    import pandas as pd
    from matplotlib.figure import Figure


def _figure_class() -> type[Figure]:
    """matplotlib's Figure, imported when a plot is asked for (the [notebook] extra)."""
    figure: type[Figure] = require("matplotlib.figure", "notebook").Figure
    return figure


def histogram(values: DataFrame, name: str, *, bins: int, lo: float, hi: float) -> DataFrame:
    """Pure transform: counts of ``name`` per as_of in ``bins`` equal bins over [lo, hi].

    Output (as_of, bin, count); nulls land in bin -1. Values equal to ``hi`` go to the last bin.
    """
    if bins < 1:
        raise ConfigError(f"bins must be >= 1, not {bins}")
    width = (hi - lo) / bins if hi > lo else 1.0
    value = F.col(name).cast("double")
    raw = F.floor((value - F.lit(lo)) / F.lit(width)).cast("int")
    clipped = F.least(F.greatest(raw, F.lit(0)), F.lit(bins - 1))
    bin_col = F.when(value.isNull(), F.lit(-1)).otherwise(clipped)
    return (
        values.select("as_of", bin_col.alias("bin"))
        .groupBy("as_of", "bin")
        .agg(F.count(F.lit(1)).alias("count"))
        .select("as_of", "bin", "count")
    )


def daily_stats(values: DataFrame, name: str) -> DataFrame:
    """Pure transform: per as_of, the mean, quartiles and row count of ``name``."""
    value = F.col(name).cast("double")
    return (
        values.groupBy("as_of")
        .agg(
            F.mean(value).alias("mean"),
            F.percentile_approx(value, [0.25, 0.5, 0.75]).alias("q"),
            F.count(F.lit(1)).alias("rows"),
        )
        .select(
            "as_of",
            "mean",
            F.col("q")[0].alias("p25"),
            F.col("q")[1].alias("p50"),
            F.col("q")[2].alias("p75"),
            "rows",
        )
    )


def plot_distribution(
    spark: SparkSession,
    warehouse: str,
    name: str,
    date_a: dt.date | str,
    date_b: dt.date | str,
    *,
    bins: int = 30,
) -> Figure:
    """A feature's distribution on two as_of dates, side by side on shared axes."""
    figure_cls = _figure_class()
    f = feature(name)
    days = [parse_date(date_a), parse_date(date_b)]
    dates = group_as_of(spark, warehouse, f.group)
    absent = [d for d in days if d not in dates]
    if absent:
        raise SnapshotMissingError(
            f"no {f.group!r} snapshot as_of {', '.join(map(str, absent))}; "
            f"the warehouse has as_of {describe_dates(dates)}"
        )
    table = read_group(spark, warehouse, f.group, days)
    values = table.select("as_of", f.name)

    is_bool = f.dtype == "boolean"
    discrete = True  # one bar per value, centred on it (booleans, small whole numbers)
    if is_bool:
        lo, hi, n_bins = 0.0, 2.0, 2
    else:
        as_double = F.col(f.name).cast("double")
        # small: one row, the value range both panels share.
        row = values.agg(F.min(as_double), F.max(as_double)).first()
        lo = float(row[0]) if row is not None and row[0] is not None else 0.0
        hi = float(row[1]) if row is not None and row[1] is not None else lo
        n_bins = bins
        discrete = f.dtype in ("int", "bigint") and hi - lo + 1 <= bins
        if discrete:
            n_bins, hi = int(hi - lo + 1), hi + 1
    # small: at most 2 * (bins + 1) rows.
    counts = cast("pd.DataFrame", histogram(values, f.name, bins=n_bins, lo=lo, hi=hi).toPandas())

    width = (hi - lo) / n_bins if hi > lo else 1.0
    fig = figure_cls(figsize=(10, 3.8), layout="constrained")
    axes = fig.subplots(1, 2, sharex=True, sharey=True)
    for ax, day in zip(axes, days, strict=True):
        mine = counts[counts["as_of"] == day]
        bars = mine[mine["bin"] >= 0]
        nulls = int(mine.loc[mine["bin"] < 0, "count"].sum())
        if discrete:
            ax.bar(lo + bars["bin"], bars["count"], width=0.8, align="center", alpha=0.8)
        else:
            ax.bar(lo + bars["bin"] * width, bars["count"], width=width, align="edge", alpha=0.8)
        total = int(mine["count"].sum())
        ax.set_title(f"as_of {day}  (rows {total}, nulls {nulls})")
        ax.set_xlabel(f.name)
        if is_bool:
            ax.set_xticks([0, 1], ["false", "true"])
    axes[0].set_ylabel("rows")
    fig.suptitle(f"{f.name} ({f.group}): {f.description}")
    return fig


def plot_daily_mean(
    spark: SparkSession,
    warehouse: str,
    name: str,
    start: dt.date | str,
    end: dt.date | str,
) -> Figure:
    """A feature's daily mean over [start, end], with the inter-quartile range shaded."""
    figure_cls = _figure_class()
    f = feature(name)
    table = read_range(spark, warehouse, [f.group], start, end)[f.group]
    # small: one row per as_of in the range.
    daily = cast("pd.DataFrame", daily_stats(table, f.name).orderBy("as_of").toPandas())
    fig = figure_cls(figsize=(9, 3.8), layout="constrained")
    ax = fig.subplots()
    ax.fill_between(daily["as_of"], daily["p25"], daily["p75"], alpha=0.2, label="p25-p75")
    ax.plot(daily["as_of"], daily["mean"], marker="o", label="mean")
    ax.set_xlabel("as_of")
    ax.set_ylabel(f.name)
    ax.set_title(f"{f.name} ({f.group}): daily mean over the group's rows")
    ax.legend(loc="best")
    fig.autofmt_xdate()
    return fig
