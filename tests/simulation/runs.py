"""Runs of the `small` scenario cut down for the simulation tests (shared by its test modules)."""

from __future__ import annotations

import numpy as np

from layersim.config import load_config
from layersim.fleet import Fleet, generate
from layersim.simulation import SimulationResult, simulate

# The `small` scenario with few files per layer, so that the reference runs in seconds.
SMALL_FEW_FILES = [
    "time.epochs=6",
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


def run(*overrides: str, scenario: str = "small") -> tuple[Fleet, SimulationResult]:
    """Generate and simulate `scenario` with `overrides`, seeded by the config's seed."""
    config = load_config(scenario=scenario, overrides=list(overrides))
    fleet = generate(config, np.random.default_rng(config.seed))
    return fleet, simulate(fleet)
