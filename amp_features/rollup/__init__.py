"""amp_features.rollup"""
