"""A run of the `small` scenario cut down (few files, few epochs) so that a run, its report
and the reference implementation on its last state take about a second: the shared input of
the run report's tests (`tests/report/conftest.py` holds it as session fixtures)."""

from __future__ import annotations

import numpy as np

from layersim.config import load_config
from layersim.fleet import Fleet, generate
from layersim.simulation import SimulationResult, simulate

TINY = [
    "time.epochs=5",
    "bases.file_scale=0.05",
    "bases.release_every=2",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "apps.count=8",
    "apps.code_files=5.0",
    "apps.packages_per_layer=3.0",
    "apps.waste_probability=0.5",
    "apps.rebuild_every=1.5",
    "registry.retention=2",
    "nodes.count=3",
]


def tiny_run(seed: int = 42) -> tuple[Fleet, SimulationResult]:
    """The fleet and the simulation of the cut-down `small` scenario with `seed`."""
    config = load_config(scenario="small", overrides=[*TINY, f"seed={seed}"])
    fleet = generate(config, np.random.default_rng(config.seed))
    return fleet, simulate(fleet)
