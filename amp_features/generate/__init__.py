"""amp_features.generate: a synthetic Amp lake (the four raw tables) at any scale."""

from amp_features.generate.lake import GenerationReport, generate_lake, read_report
from amp_features.generate.options import GeneratorOptions

__all__ = ["GenerationReport", "GeneratorOptions", "generate_lake", "read_report"]
