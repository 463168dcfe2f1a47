"""amp_features.ingest"""
