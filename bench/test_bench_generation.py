"""Generation: the benchmark population (`bench.synthetic`) and the fleet generator
(`layersim.fleet.generate`, imported lazily: skipped while it is absent), and the default `company`
scenario end to end (generate, then evaluate every figure)."""

from __future__ import annotations

import time
from typing import Any

import numpy as np
import pytest

from bench import synthetic, workloads


def _fleet_modules() -> tuple[Any, Any]:
    generator = pytest.importorskip(
        "layersim.fleet.generate",
        reason="the fleet generator (layersim.fleet.generate) is not written yet",
    )
    config = pytest.importorskip("layersim.config", reason="layersim.config is not written yet")
    return generator, config


def test_synthetic_generation(timed) -> None:
    """The benchmark population of ~9M entries, built straight into arrays; a valid one."""
    spec = workloads.GENERATION_SPEC
    arrays = timed(lambda: synthetic.build(spec))
    assert arrays.n_images == spec.n_images
    synthetic.check(arrays)
    again = synthetic.build(spec)
    assert np.array_equal(again.entry_content, arrays.entry_content)  # deterministic


def _generate_company() -> Any:
    generator, config = _fleet_modules()
    settings = config.load_config(scenario="company")
    return generator.generate(settings, np.random.default_rng(settings.seed))


def test_fleet_generation_company(timed) -> None:
    """The fleet generator on the default `company` scenario; the same seed, the same arrays."""
    _fleet_modules()
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
    (`layersim.simulation.simulate`; while it is absent, one evaluation of the whole population)."""
    _fleet_modules()
    try:
        from layersim.simulation import simulate
    except ImportError:
        simulate = None
    stages: dict[str, Any] = {}

    def run():
        with workloads.engine_seconds() as engine_s:
            start = time.perf_counter()
            fleet = _generate_company()
            middle = time.perf_counter()
            result = simulate(fleet) if simulate else workloads.evaluate_tables(fleet.arrays)
            end = time.perf_counter()
        stages.update(generate=middle - start, simulate=end - middle, engine=dict(engine_s))
        return fleet, result

    fleet, result = timed(run)
    benchmark.extra_info.update(workloads.population_info(fleet.arrays))
    benchmark.extra_info["includes_simulate"] = simulate is not None
    benchmark.extra_info["stages_s"] = stages  # the split of the last round
    if simulate is None:
        workloads.check_tables(fleet.arrays, result)
    else:
        assert result.registry and result.nodes
        for r in result.registry:
            assert r.file_bytes <= r.layer_bytes <= r.logical_bytes, r
        for n in result.nodes:
            assert n.file_bytes <= n.layer_bytes <= n.logical_bytes, n
