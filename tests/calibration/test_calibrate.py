"""Tests of `layersim.calibration.calibrate`: the calibration of the hand-made set end to end,
the experiment file written from it (`report.calibration.calibration_toml`), and the round trip
calibrate -> generate + simulate -> the analyzed statistics again.

The image sets are `tests.calibration.image_sets`' (written as OCI layouts and read with the
real readers); the exact fits of each role are in `test_fit`.
"""

from __future__ import annotations

import statistics
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from layersim.accounting.arrays import to_population
from layersim.accounting.assemble import evaluate
from layersim.calibration import calibrate
from layersim.calibration.check import ABSOLUTE, TOLERANCES, within_tolerance
from layersim.calibration.set_statistics import ImageSetStatistics, set_statistics
from layersim.config import load_config
from layersim.errors import ConfigError, ModelError
from layersim.fleet import generate
from layersim.readers import read_images, read_population
from layersim.report.calibration import calibration_toml, toml_value
from layersim.simulation import simulate
from tests.calibration.conftest import keys
from tests.calibration.image_sets import base_members
from tests.readers.images import Layout, make_tar

# The round trip averages this many seeds: with three apps one seed's draws (file sizes are
# log-normal, sigma 1.2 to 1.5) move the means by up to a third; ten seeds' means stay well
# within TOLERANCES for this set (measured over 40 groups of ten seeds: at most 15% off for
# files per layer, 13% for compressed bytes per layer, 9% for the compression ratio, 8% for
# the dedup ratio, 5.4% for layers per image, 0.005 for churn).
ROUND_TRIP_SEEDS = 10
REGISTRY_TOLERANCE = 0.15  # the simulated registry's dedup ratio against `evaluate`'s


def test_the_file_loads_and_says_where_each_value_came_from(fitted, tmp_path: Path) -> None:
    """The TOML parses, `load_config` accepts it and gives the fit's config; its header names
    the sources and the apps; every fitted key has a comment line just above it."""
    _, result = fitted
    text = calibration_toml(result)
    path = tmp_path / "fit.toml"
    path.write_text(text)
    loaded = load_config(path)
    assert loaded == result.config
    assert loaded.apps.code_layers == 2 and loaded.scenario == "company"
    document = tomllib.loads(text)
    assert document["scenario"] == "company"
    lines = text.splitlines()
    for source in result.sources:
        assert f"#   {source}" in lines
    assert any("alpha:1" in line for line in lines if line.startswith("#"))
    for f in result.fitted:
        if not f.section:
            continue
        index = lines.index(f"{f.key} = {toml_value(f.value)}")
        assert lines[index - 1].startswith("# "), f.dotted
        assert document[f.section][f.key] == f.value
    # overrides on the command line still apply over the file
    assert load_config(path, overrides=["time.epochs=2"]).time.epochs == 2


def test_another_scenario_keeps_its_values(fitted) -> None:
    """`scenario` names the built-in scenario whose values the keys not fitted keep."""
    images, _ = fitted
    result = calibrate(images, scenario="small", check_seeds=0)
    config = result.config
    assert config.scenario == "small"
    assert config.packages.count == load_config(scenario="small").packages.count
    assert 'scenario = "small"' in calibration_toml(result)
    with pytest.raises(ConfigError, match="unknown scenario"):
        calibrate(images, scenario="nope", check_seeds=0)


# ---------------------------------------------------------------------------------------------
# the round trip


def test_calibrate_then_run_reproduces_the_statistics(fitted, hand_made, tmp_path: Path) -> None:
    """calibrate -> the written file -> generate and simulate (10 seeds from the file's) ->
    each statistic of the generated apps, averaged over the seeds, is within TOLERANCES of the
    analyzed set's (docs/analyze.md), and so is the dedup ratio of the simulated registry
    (logical / layer, compressed) against `evaluate` of the analyzed set."""
    _, result = fitted
    path = tmp_path / "fit.toml"
    path.write_text(calibration_toml(result))
    config = load_config(path)
    measured, registry_ratios = [], []
    for k in range(ROUND_TRIP_SEEDS):
        seeded = replace(config, seed=config.seed + k)
        fleet = generate(seeded, np.random.default_rng(seeded.seed))
        run = simulate(fleet)
        last = run.registry[-1]
        registry_ratios.append(last.logical_bytes / last.layer_bytes)
        measured.append(set_statistics(to_population(fleet.arrays).images))
    analyzed = result.analyzed
    generated = {
        name: statistics.fmean(getattr(s, name) for s in measured)
        for name in ImageSetStatistics.STATISTICS
    }
    for name in ImageSetStatistics.STATISTICS:
        assert within_tolerance(name, getattr(analyzed, name), generated[name]), (
            name,
            getattr(analyzed, name),
            generated[name],
        )
    stored = evaluate(read_population(hand_made)).registry_stored_bytes
    expected = stored.logical / stored.layer
    assert statistics.fmean(registry_ratios) == pytest.approx(expected, rel=REGISTRY_TOLERANCE)


def test_the_check_in_the_file(fitted) -> None:
    """With check seeds the file's header compares both sets, statistic by statistic, and the
    comparison says each is within tolerance for this set."""
    images, _ = fitted
    result = calibrate(images, check_seeds=ROUND_TRIP_SEEDS)
    rows = result.comparison()
    assert [r.statistic for r in rows] == list(ImageSetStatistics.STATISTICS)
    assert all(r.within for r in rows), rows
    text = calibration_toml(result)
    assert f"# Check: this file generated with {ROUND_TRIP_SEEDS} seeds" in text
    for name in ImageSetStatistics.STATISTICS:
        tol = TOLERANCES[name]
        shown = f"{tol:.2f}" if name in ABSOLUTE else f"{tol:.0%}"
        assert any(line.startswith(f"#   {name} ") and shown in line for line in text.splitlines())


# ---------------------------------------------------------------------------------------------
# other shapes


def test_one_image_of_one_layer(tmp_path: Path) -> None:
    """A single base image is an app of its own: no versions, no code, still a valid file."""
    layout = Layout(tmp_path / "one")
    layout.add(layout.image([make_tar(base_members())]), "1")
    result = calibrate(read_images([layout.root]), check_seeds=1)
    assert result.analyzed.version_churn is None
    assert keys(result)["apps.code_files"] == 1.0
    assert "version_churn" not in [r.statistic for r in result.comparison()]
    tomllib.loads(calibration_toml(result))
    with pytest.raises(ModelError):
        calibrate([])
