"""Where things live: the lake's four raw tables and the warehouse's tables.

Paths are plain strings joined with ``/`` so that local folders and ``s3a://`` URIs work alike.
"""

from __future__ import annotations

import os
from dataclasses import dataclass


def join(root: str, *parts: str) -> str:
    return "/".join([root.rstrip("/"), *parts])


def qualify(root: str) -> str:
    """A URI (``s3a://``, ``file:``) as given; a local path made absolute.

    Delta's ``delta.`path``` SQL identifiers accept absolute paths only, and an absolute path
    keeps meaning the same folder when a notebook or job changes its working directory.
    """
    if "://" in root or root.startswith("file:"):
        return root
    return os.path.abspath(os.path.expanduser(root))


@dataclass(frozen=True)
class Lake:
    """The lake root holding ``playback``, ``engagement``, ``shows`` and ``users``."""

    root: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", qualify(self.root))

    def table(self, name: str) -> str:
        return join(self.root, name)


@dataclass(frozen=True)
class Warehouse:
    """The offline store and the pipeline's own state, all Delta tables under one root."""

    root: str

    def __post_init__(self) -> None:
        object.__setattr__(self, "root", qualify(self.root))

    # -- outputs -----------------------------------------------------------------------------
    def feature_table(self, group: str) -> str:
        """One Delta table per feature group, partitioned by ``as_of``."""
        return join(self.root, "features", group)

    @property
    def show_attributes(self) -> str:
        """Each show's creator_id and topic as used for an as_of (partitioned by ``as_of``)."""
        return join(self.root, "features", "show_attributes")

    # -- validation ----------------------------------------------------------------------------
    def quarantine(self, table: str) -> str:
        """Invalid raw rows with the rule they broke, partitioned by ``dt``."""
        return join(self.root, "quarantine", table)

    @property
    def input_counts(self) -> str:
        """Per (table, dt): rows read, kept, duplicates dropped, quarantined."""
        return join(self.root, "metrics", "input_counts")

    @property
    def runs(self) -> str:
        """One row per pipeline stage run: as_of, mode, stage, rows, seconds."""
        return join(self.root, "metrics", "runs")

    # -- incremental state ---------------------------------------------------------------------
    def tile(self, name: str) -> str:
        """Daily state built from one dt of valid events, partitioned by ``dt``."""
        return join(self.root, "state", "tiles", name)

    @property
    def tile_log(self) -> str:
        """Which raw input version each (table, dt) tile was built from."""
        return join(self.root, "state", "tile_log")

    @property
    def window_log(self) -> str:
        """Which daily-state builds each as_of's window state was made from."""
        return join(self.root, "state", "window_log")

    def window_state(self, name: str) -> str:
        """The 60-day window state carried from one as_of to the next, partitioned by ``as_of``."""
        return join(self.root, "state", "window", name)

    @property
    def lease(self) -> str:
        """The write lease: one JSON object naming the run that may write (``offline.lease``)."""
        return join(self.root, "state", "lease.json")

    # -- quality -------------------------------------------------------------------------------
    @property
    def quality(self) -> str:
        return join(self.root, "quality")
