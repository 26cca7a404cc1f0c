"""The fleet over time: what the registry and the nodes hold and move in every epoch.

`simulate(fleet)` (`replay`) replays the epochs of a generated fleet (pushes, rollouts, garbage
collection) through the accounting engine and returns a `SimulationResult` (`results`), whose
`headline()` is the run's headline figures. `statistics` computes the end-of-run statistics
(sharing, waste, the anchors), `metrics` the figures a sweep records per run, `pulltime` the
pull-time model, `lazy` the lazy-pull model, `sampling` the node sample, `state` what a store
holds at an epoch.
"""

from layersim.simulation.metrics import (
    CHUNK_SAVINGS,
    LAZY_SAVINGS,
    SAVINGS,
    STANDARD_METRICS,
    Metric,
    measure,
)
from layersim.simulation.replay import simulate
from layersim.simulation.results import Headline, SimulationResult, TransferEpoch

__all__ = [
    "CHUNK_SAVINGS",
    "LAZY_SAVINGS",
    "SAVINGS",
    "STANDARD_METRICS",
    "Headline",
    "Metric",
    "SimulationResult",
    "TransferEpoch",
    "measure",
    "simulate",
]
