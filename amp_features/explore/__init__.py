"""amp_features.explore"""
