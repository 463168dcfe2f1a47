"""Errors the library raises on purpose. The CLI prints their message as a one-line reason."""

from __future__ import annotations


class AmpFeaturesError(Exception):
    """Base class: a failure with a message meant for the person running the pipeline."""


class ConfigError(AmpFeaturesError):
    """A setting, flag or URL is wrong."""


class InputSchemaError(AmpFeaturesError):
    """A raw table is missing, lacks a required column, or has a column of the wrong type."""


class BrokenTableError(AmpFeaturesError):
    """A raw table is unusable as a whole (a dimension with a repeated key, a missing partition)."""


class CountMismatchError(AmpFeaturesError):
    """Row accounting does not add up (read != kept + duplicates + quarantined)."""


class QualityGateError(AmpFeaturesError):
    """A data-quality suite failed, so the run stops before publishing."""


class OnlineStoreError(AmpFeaturesError):
    """The online store could not be written or read."""


class StorageError(AmpFeaturesError):
    """A file or folder of the lake or warehouse could not be read, written or listed."""


class SnapshotMissingError(AmpFeaturesError):
    """An as_of that was asked for has no committed snapshot in the offline store."""


class SnapshotNotValidatedError(AmpFeaturesError):
    """The latest commit of an as_of has not passed its own output validation."""


class WarehouseBusyError(AmpFeaturesError):
    """Another run holds the warehouse's write lease."""


class EmptyWindowError(AmpFeaturesError):
    """The 60-day window holds no valid events, so there is nothing to commit."""


class MissingExtraError(ConfigError):
    """An optional dependency is not installed; the message names the extra that provides it."""
