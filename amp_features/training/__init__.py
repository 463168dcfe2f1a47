"""amp_features.training"""
