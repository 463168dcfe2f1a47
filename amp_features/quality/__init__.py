"""amp_features.quality"""
