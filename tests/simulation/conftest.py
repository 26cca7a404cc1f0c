"""The run the simulation tests share: `SMALL_FEW_FILES`, simulated once per test session."""

from __future__ import annotations

import pytest

from layersim.fleet import Fleet
from layersim.simulation import SimulationResult
from tests.simulation.runs import SMALL_FEW_FILES, run


@pytest.fixture(scope="package")
def small_run() -> tuple[Fleet, SimulationResult]:
    return run(*SMALL_FEW_FILES)
