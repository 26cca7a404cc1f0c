"""Fixtures of the run report's tests: one tiny run (`tests.report.tiny`), its advice, its
folder as `write_run` writes it, and the reference implementation's figures for its last state, each
made once per session."""

from __future__ import annotations

from pathlib import Path

import pytest

from layersim.accounting import reference
from layersim.accounting.arrays import to_population
from layersim.advice.fleet import fleet_advice
from layersim.report.documents import write_run
from layersim.simulation.state import state_arrays
from tests.report.tiny import tiny_run


@pytest.fixture(scope="session")
def tiny():
    """The fleet and the simulation of the tiny run, seed 42."""
    return tiny_run()


@pytest.fixture(scope="session")
def expected(tiny):
    """The reference implementation's figures for the state at the end of the last epoch."""
    fleet, _ = tiny
    population = to_population(state_arrays(fleet, fleet.epochs - 1))
    return population, reference.evaluate(population)


@pytest.fixture(scope="session")
def tiny_advice(tiny):
    """The advice for the tiny run's final state (`advice.fleet.fleet_advice`)."""
    fleet, _ = tiny
    return fleet_advice(state_arrays(fleet, fleet.epochs - 1))


@pytest.fixture(scope="session")
def folder(tiny, tiny_advice, tmp_path_factory) -> Path:
    """The folder `write_run` writes for the tiny run, with its advice."""
    out = tmp_path_factory.mktemp("run")
    write_run(tiny[1], out, {"generate": 0.1, "simulate": 0.2}, tiny_advice)
    return out
