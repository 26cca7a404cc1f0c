"""Fixtures of the benchmarks: every population is built once per session, outside the timed
calls, and every benchmark runs through `timed` (explicit rounds, one call per round, no
calibration runs: most workloads take seconds).

Rounds come from `--benchmark-min-rounds` (scripts/bench.sh passes 3); workloads that take a
fraction of a second get three times as many.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any, TypeVar

import pytest

from bench import images, workloads
from layersim.accounting.arrays import PopulationArrays, canonical, to_population
from layersim.accounting.images import ImageTable, image_table
from layersim.model import Population

T = TypeVar("T")


@pytest.fixture(scope="session")
def rounds(request: pytest.FixtureRequest) -> int:
    """Rounds of a benchmark that takes seconds."""
    return max(1, int(request.config.getoption("benchmark_min_rounds", 3) or 3))


@pytest.fixture
def timed(benchmark: Any, rounds: int) -> Callable[..., Any]:
    """`timed(fn, info={...}, fast=False, rounds=None)`: run `fn` through pytest-benchmark,
    record `info` beside the timing, return `fn`'s result (of the last round)."""

    def run(
        fn: Callable[[], T],
        info: dict[str, Any] | None = None,
        *,
        fast: bool = False,
        n_rounds: int | None = None,
    ) -> T:
        benchmark.extra_info["source"] = workloads.SOURCE_AT_IMPORT
        benchmark.extra_info.update(info or {})
        count = n_rounds or (3 * rounds if fast else rounds)
        return benchmark.pedantic(fn, rounds=count, iterations=1, warmup_rounds=0)

    return run


@pytest.fixture(scope="session")
def engine_population() -> PopulationArrays:
    """Hub-shaped, a few million entries: the per-function and floor benchmarks."""
    return workloads.build(workloads.ENGINE_WORKLOAD)


@pytest.fixture(scope="session")
def engine_images(engine_population: PopulationArrays) -> ImageTable:
    return image_table(canonical(engine_population))


@pytest.fixture(scope="session")
def reference_arrays() -> PopulationArrays:
    """10,000 images with small stacks: the engine-against-reference comparison."""
    return workloads.with_image_labels(workloads.build(workloads.REFERENCE_WORKLOAD))


@pytest.fixture
def reference_objects(reference_arrays: PopulationArrays) -> Population:
    """The reference population as objects, built per test and freed after it: a large live
    object graph makes every garbage collection of whatever runs beside it slower."""
    return to_population(reference_arrays)


@pytest.fixture(scope="session")
def layout(tmp_path_factory: pytest.TempPathFactory) -> images.Layout:
    """An OCI layout of real gzip layer blobs (~30 MiB of tars) for the `analyze` benchmark."""
    return images.write_layout(tmp_path_factory.mktemp("analyze") / "oci")
