"""Write: the Delta offline store (feature tables, quarantine, metrics, pipeline state)."""
