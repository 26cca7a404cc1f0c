"""Tests of `layersim.experiment.run`: the same config and seed give the same figures, the seed
is the run's only randomness, timings stay out of the figures, and progress goes out through
the callback."""

from __future__ import annotations

import dataclasses
import json
import random

import numpy as np
import pytest

from layersim.config import load_config
from layersim.experiment.run import run_experiment
from layersim.simulation import SimulationResult

TINY = [
    "time.epochs=3",
    "apps.count=5",
    "nodes.count=2",
    "bases.file_scale=0.05",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "apps.code_files=5.0",
]


def _figures(outcome) -> str:
    return json.dumps(outcome.result.as_dict(), sort_keys=True)


@pytest.fixture(scope="module")
def config():
    return load_config(scenario="small", overrides=[*TINY, "seed=11"])


@pytest.fixture(scope="module")
def first(config):
    return run_experiment(config)


def test_same_config_and_seed_give_identical_figures(config, first):
    """Two runs of one config and seed give byte-identical figures; another seed other ones."""
    assert _figures(run_experiment(config)) == _figures(first)
    other = load_config(scenario="small", overrides=[*TINY, "seed=12"])
    assert _figures(run_experiment(other)) != _figures(first)


def test_the_seed_is_the_only_randomness(config, first):
    """Whatever the global random states (numpy's and Python's), the figures are the same, and
    a run draws nothing from them."""
    np.random.seed(1)
    random.seed(1)
    numpy_state, python_state = np.random.get_state(), random.getstate()
    again = run_experiment(config)
    assert _figures(again) == _figures(first)
    after = np.random.get_state()
    assert after[0] == numpy_state[0] and np.array_equal(after[1], numpy_state[1])
    assert after[2:] == numpy_state[2:]
    assert random.getstate() == python_state


def test_timings_are_kept_out_of_the_figures(first):
    """The outcome's timings are the wall seconds of the two stages, apart from the result:
    the result has no field for a time, and no timing appears among its figures."""
    assert set(first.timings) == {"generate", "simulate"}
    assert all(seconds >= 0 for seconds in first.timings.values())
    names = [f.name for f in dataclasses.fields(SimulationResult)]
    assert not [n for n in names if "time" in n or "seconds" in n]
    text = json.dumps(first.result.as_dict())
    for seconds in first.timings.values():
        assert repr(seconds) not in text


def test_progress_reports_generate_then_simulate(config):
    """Progress goes out through the callback: the generator's stages, then the replay's,
    ending with the summaries at fraction 1."""
    calls: list[tuple[str, float]] = []
    run_experiment(config, lambda stage, fraction: calls.append((stage, fraction)))
    stages = [stage for stage, _ in calls]
    assert stages[0].startswith("generate:")
    first_simulate = next(i for i, s in enumerate(stages) if s.startswith("simulate:"))
    assert all(s.startswith("generate:") for s in stages[:first_simulate])
    assert all(s.startswith("simulate:") for s in stages[first_simulate:])
    assert calls[-1] == ("simulate: summaries", 1.0)
