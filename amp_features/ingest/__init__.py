"""Read and validate: the lake's raw tables, checked against the contract, split into valid
rows (deduplicated) and quarantined rows."""
