"""amp_features.export"""
