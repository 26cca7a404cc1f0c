"""One experiment run: a config's fleet generated and simulated, with the wall time of each stage.

`run_experiment(config, progress)` is what `layersim run` and every point of `layersim sweep`
do: seed the run's one `numpy.random.Generator` with `config.seed`, `fleet.generate`, then
`simulation.simulate`; with `advise`, also the advice for the final state
(`advice.fleet.fleet_advice`, `layersim run` only: sweeps do not need it). The wall times are returned apart from the result (`RunOutcome.timings`)
because they differ from run to run: they go to `timings.json`, never into the figures.

Pure: no printing, no files; progress goes out through the callback.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field

import numpy as np

from layersim.accounting.held import SumHeld, sum_here
from layersim.accounting.images import WalkParts
from layersim.advice.fleet import FleetAdvice, fleet_advice
from layersim.config import ExperimentConfig
from layersim.fleet import generate
from layersim.progress import Progress
from layersim.simulation import SimulationResult, simulate
from layersim.simulation.state import state_arrays


@dataclass(frozen=True)
class RunOutcome:
    """A run's result, its advice (None unless asked for) and its wall time per stage in
    seconds (`generate`, `simulate`, `advise`)."""

    result: SimulationResult
    timings: dict[str, float] = field(default_factory=dict)
    advice: FleetAdvice | None = None


def run_experiment(
    config: ExperimentConfig,
    progress: Progress | None = None,
    sum_held: SumHeld = sum_here,
    walk_parts: WalkParts | None = None,
    advise: bool = False,
) -> RunOutcome:
    """Generate and simulate `config`'s fleet with a generator seeded by `config.seed`; the
    stored bytes' sums over keys computed by `sum_held` (`accounting.held`) and the overlay
    walk by `walk_parts` (`accounting.images`): here by default, the same figures wherever;
    with `advise`, advise on its final state."""
    started = time.perf_counter()
    fleet = generate(config, np.random.default_rng(config.seed), progress)
    generated = time.perf_counter()
    result = simulate(fleet, progress, sum_held, walk_parts)
    simulated = time.perf_counter()
    timings = {"generate": generated - started, "simulate": simulated - generated}
    advice = None
    if advise:
        advice = fleet_advice(state_arrays(fleet, fleet.epochs - 1), progress=progress)
        timings["advise"] = time.perf_counter() - simulated
    return RunOutcome(result=result, timings=timings, advice=advice)
