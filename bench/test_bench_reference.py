"""The engine against the reference implementation on a 10,000-image population, in the same
run, with the same answers (`PopulationMetrics` equal field for field)."""

from __future__ import annotations

import gc
import time

import pytest

from bench import workloads
from layersim.accounting import reference
from layersim.accounting.arrays import PopulationArrays, to_population
from layersim.accounting.assemble import evaluate, metrics_from_arrays
from layersim.accounting.metrics import PopulationMetrics
from layersim.model import Population


@pytest.fixture(scope="module")
def engine_answer(reference_arrays: PopulationArrays) -> PopulationMetrics:
    return metrics_from_arrays(reference_arrays)


def test_engine_metrics_10k(timed, reference_arrays, engine_answer) -> None:
    """Engine, arrays to `PopulationMetrics` (the side compared with the reference)."""
    metrics = timed(
        lambda: metrics_from_arrays(reference_arrays),
        workloads.population_info(reference_arrays),
    )
    assert metrics == engine_answer


def test_engine_tables_10k(timed, reference_arrays) -> None:
    """Engine, arrays only (no result objects): how much of the above is the conversion."""
    tables = timed(
        lambda: workloads.evaluate_tables(reference_arrays),
        workloads.population_info(reference_arrays),
    )
    workloads.check_tables(reference_arrays, tables)


def test_engine_objects_10k(timed, reference_objects: Population, engine_answer) -> None:
    """Engine from objects (`assemble.evaluate`: interning into arrays included)."""
    metrics = timed(lambda: evaluate(reference_objects), {"images": len(reference_objects.images)})
    assert metrics == engine_answer


def test_reference_10k(timed, benchmark, reference_arrays, engine_answer) -> None:
    """The reference implementation (one round: it takes about half a minute); same answers.
    The engine (arrays to `PopulationMetrics`, cold) is also timed right before and right after
    it, three rounds each, so that the ratio has an engine time taken under the same load as
    the reference's single round (`engine_around_s`). Each side runs with only its own input
    alive: the reference's objects are built after the engine's first rounds and freed before
    its last (a large live object graph slows every garbage collection beside it)."""

    def engine_rounds() -> list[float]:
        seconds = []
        for _ in range(3):
            start = time.perf_counter()
            metrics_from_arrays(reference_arrays)
            seconds.append(time.perf_counter() - start)
        return seconds

    before = engine_rounds()
    objects = to_population(reference_arrays)
    metrics = timed(
        lambda objects=objects: reference.evaluate(objects),
        {"images": len(objects.images)},
        n_rounds=1,
    )
    del objects
    gc.collect()
    benchmark.extra_info["engine_around_s"] = before + engine_rounds()
    assert metrics.images == engine_answer.images
    assert metrics.registry_stored_bytes == engine_answer.registry_stored_bytes
    assert metrics.pushes == engine_answer.pushes
    assert metrics.nodes == engine_answer.nodes
