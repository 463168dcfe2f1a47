"""amp_features.generate"""
