"""amp_features.serve"""
