"""Notebook helpers: load a group or ranking vectors for a date, the catalog, drift statistics
and plots. Every helper takes ``spark`` and the warehouse root; aggregation happens in Spark.
"""

from amp_features.explore.frames import (
    describe,
    feature_summary,
    load_group,
    load_vectors,
    summarize,
)
from amp_features.explore.plots import plot_daily_mean, plot_distribution

__all__ = [
    "describe",
    "feature_summary",
    "load_group",
    "load_vectors",
    "plot_daily_mean",
    "plot_distribution",
    "summarize",
]
