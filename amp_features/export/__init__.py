"""amp_features.export: publish an as_of snapshot of the offline store to the online store."""

from amp_features.export.publish import PublishReport, publish, retain, rollback, status

__all__ = ["PublishReport", "publish", "retain", "rollback", "status"]
