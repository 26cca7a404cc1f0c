"""Tests of `layersim.calibration.check`: the difference and tolerance of each statistic, the
comparison rows, and the generated statistics of a config over several seeds."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest

from layersim.accounting.arrays import to_population
from layersim.calibration.check import (
    ABSOLUTE,
    TOLERANCES,
    StatisticCheck,
    compare,
    difference,
    generated_statistics,
    within_tolerance,
)
from layersim.calibration.set_statistics import (
    ImageSetStatistics,
    mean_statistics,
    set_statistics,
)
from layersim.config import load_config
from layersim.fleet import generate

TINY = ["apps.count=6", "time.epochs=3", "nodes.count=2"]


def test_every_statistic_has_a_tolerance() -> None:
    """Each compared statistic has a tolerance; only churn is absolute."""
    assert set(TOLERANCES) == set(ImageSetStatistics.STATISTICS)
    assert sorted(ABSOLUTE) == ["version_churn"]


def test_difference_is_relative_or_absolute() -> None:
    """Relative to the analyzed value (0 against 0, infinite against 0 otherwise), absolute
    for churn; within tolerance either way."""
    assert difference("files_per_layer", 10.0, 12.5) == 0.25
    assert difference("files_per_layer", 0.0, 0.0) == 0.0
    assert difference("files_per_layer", 0.0, 1.0) == float("inf")
    assert difference("version_churn", 0.1, 0.125) == pytest.approx(0.025)
    assert within_tolerance("files_per_layer", 10.0, 7.5)
    assert not within_tolerance("files_per_layer", 10.0, 12.6)
    assert within_tolerance("version_churn", 0.1, 0.15)
    assert not within_tolerance("version_churn", 0.1, 0.151)


def test_compare_rows() -> None:
    """One row per statistic in order; a churn the analyzed set lacks is left out; without a
    generated set only the analyzed values."""
    analyzed = ImageSetStatistics(9, 23, 4.0, 1000.0, 2.0, 10.0, 3.0, 6, None)
    generated = ImageSetStatistics(9, 20, 4.2, 1300.0, 2.0, 10.0, 2.4, 6, 0.2)
    rows = compare(analyzed, generated)
    assert [r.statistic for r in rows] == list(ImageSetStatistics.STATISTICS[:-1])
    assert rows[0] == StatisticCheck("layers_per_image", 4.0, 4.2, pytest.approx(0.05), True)
    assert rows[1] == StatisticCheck(
        "compressed_bytes_per_layer", 1000.0, 1300.0, pytest.approx(0.3), False
    )
    assert rows[4] == StatisticCheck("layer_dedup_ratio", 3.0, 2.4, pytest.approx(-0.2), False)
    assert compare(analyzed, None)[2] == StatisticCheck("compression_ratio", 2.0)


def test_generated_statistics_are_the_seeds_mean() -> None:
    """The config generated with seeds config.seed, config.seed + 1, each fleet's apps measured
    by `set_statistics`, then averaged."""
    config = load_config(scenario="small", overrides=TINY)
    measured = []
    for seed in (config.seed, config.seed + 1):
        fleet = generate(replace(config, seed=seed), np.random.default_rng(seed))
        measured.append(set_statistics(to_population(fleet.arrays).images))
    stages = []
    got = generated_statistics(config, 2, lambda stage, fraction: stages.append(fraction))
    assert got == mean_statistics(measured)
    assert stages == [0.0, 0.5]
