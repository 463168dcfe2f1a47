"""amp_features.offline"""
