"""TEMPORARY during the first session's build-up: delegates to the reference until the numpy
engine lands (same signature: `evaluate(population) -> PopulationMetrics`)."""

from layersim.metrics import PopulationMetrics
from layersim.model import Population
from layersim.reference import evaluate as _reference_evaluate


def evaluate(population: Population) -> PopulationMetrics:
    return _reference_evaluate(population)
