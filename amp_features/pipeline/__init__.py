"""amp_features.pipeline"""
