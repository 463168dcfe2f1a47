"""Point-in-time training sets from the offline store (``build_training_set``)."""

from amp_features.training.pit import AS_OF_COL, MISSING_COL, build_training_set
from amp_features.training.snapshots import SnapshotMissingError, available_as_of

__all__ = [
    "AS_OF_COL",
    "MISSING_COL",
    "SnapshotMissingError",
    "available_as_of",
    "build_training_set",
]
