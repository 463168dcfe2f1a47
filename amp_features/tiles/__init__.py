"""amp_features.tiles"""
