"""amp_features.generate: a synthetic Amp lake (the four raw tables) at any scale."""

from amp_features.generate.lake import generate_lake
from amp_features.generate.options import GeneratorOptions
from amp_features.generate.report import GenerationReport, read_report

__all__ = ["GenerationReport", "GeneratorOptions", "generate_lake", "read_report"]
