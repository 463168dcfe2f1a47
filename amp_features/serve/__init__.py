"""amp_features.serve: ranking vectors offline (``vector``) and online (``OnlineStore``)."""

from amp_features.serve.store import OnlineStore

__all__ = ["OnlineStore"]
