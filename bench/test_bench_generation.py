"""Generation: the fleet generator (`layersim.fleet.generate`) on a hub-shaped population of
~9M entries and on the default `company` scenario, and `company` end to end (generate, then
simulate)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np

from bench import workloads
from layersim.config import load_config
from layersim.fleet import generate
from layersim.simulation import simulate


def test_generation_hub_shaped(timed, benchmark) -> None:
    """A hub-shaped population of ~50,000 images generated into arrays (fleet at its last
    epoch); the requested size within 5%, a valid population, the same arrays again."""
    target = workloads.GENERATION_WORKLOAD.images
    config = workloads.configure(workloads.GENERATION_WORKLOAD)  # the sizing pilot: untimed
    arrays = timed(lambda: workloads.population(config))
    benchmark.extra_info.update(workloads.population_info(arrays))
    assert target is not None and abs(arrays.n_images - target) <= 0.05 * target
    arrays.validate()
    again = workloads.population(config)
    assert np.array_equal(again.entry_content, arrays.entry_content)  # deterministic
    assert np.array_equal(again.node_images, arrays.node_images)


def _generate_company() -> Any:
    settings = load_config(scenario="company")
    return generate(settings, np.random.default_rng(settings.seed))


def test_fleet_generation_company(timed) -> None:
    """The fleet generator on the default `company` scenario; the same seed, the same arrays."""
    fleets = []

    def run():
        fleet = _generate_company()
        fleets.append(fleet)
        return fleet

    fleet = timed(run)
    fleet.arrays.validate()
    first = fleets[0].arrays
    assert np.array_equal(first.entry_content, fleet.arrays.entry_content)
    assert np.array_equal(first.image_layers, fleet.arrays.image_layers)


def test_company_end_to_end(timed, benchmark) -> None:
    """`company` end to end: generate the fleet, then simulate it epoch by epoch
    (`layersim.simulation.simulate`)."""
    stages: dict[str, Any] = {}

    def run():
        with workloads.engine_seconds() as engine_s:
            start = time.perf_counter()
            fleet = _generate_company()
            middle = time.perf_counter()
            result = simulate(fleet)
            end = time.perf_counter()
        stages.update(generate=middle - start, simulate=end - middle, engine=dict(engine_s))
        return fleet, result

    fleet, result = timed(run)
    benchmark.extra_info.update(workloads.population_info(fleet.arrays))
    benchmark.extra_info["stages_s"] = stages  # the split of the last round
    assert result.registry and result.nodes
    for r in result.registry:
        assert r.file_bytes <= r.layer_bytes <= r.logical_bytes, r
    for n in result.nodes:
        assert n.file_bytes <= n.layer_bytes <= n.logical_bytes, n
