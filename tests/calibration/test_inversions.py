"""Tests of `layersim.calibration.inversions`: each inverse against the generator's draw it
inverts, worked by hand or measured on a generated fleet."""

from __future__ import annotations

import math

import numpy as np
import pytest

from layersim.calibration.inversions import (
    clamped_ratio,
    expected_code_files,
    forced_fraction,
    lognormal_median,
    mix_ratio,
    solve_increasing,
)
from layersim.config import load_config
from layersim.fleet import generate
from layersim.fleet.presets import CODE_CLASS_MIX


def test_forced_fraction_inverts_the_generators_churn() -> None:
    """A tree of n files with rewrite fraction f changes 1 + (n - 1) f files per version (one
    is forced): the inverse, clamped to [0, 1]."""
    for n, f in ((6, 0.1), (10, 0.0), (100, 0.37), (2, 1.0)):
        assert forced_fraction((1 + (n - 1) * f) / n, n) == pytest.approx(f)
    assert forced_fraction(0.01, 10) == 0.0
    assert forced_fraction(0.3, 1) == 0.3


def test_expected_code_files_matches_the_generators_draws() -> None:
    """`expected_code_files` is the mean of the generator's draw of code files per app."""
    config = load_config(
        scenario="small",
        overrides=["apps.count=4000", "apps.code_files=7.5", "apps.code_layers=3", "time.epochs=1"],
    )
    fleet = generate(config, np.random.default_rng(1))
    got = fleet_code_files(fleet)
    assert got.mean() == pytest.approx(expected_code_files(7.5, 3), rel=0.02)


def fleet_code_files(fleet) -> np.ndarray:
    from layersim.fleet.presets import ImageKind, LayerKind
    from layersim.model import EntryKind

    a = fleet.arrays
    counts = []
    for i in np.flatnonzero(fleet.image_kind == ImageKind.APP).tolist():
        layers = a.image_layers[a.image_offsets[i] : a.image_offsets[i + 1]]
        n = 0
        for lid in layers.tolist():
            if fleet.layer_kind[lid] == LayerKind.CODE:
                lo, hi = a.layer_offsets[lid], a.layer_offsets[lid + 1]
                n += int((a.entry_kind[lo:hi] == EntryKind.FILE).sum())
        counts.append(n)
    return np.asarray(counts)


def test_expected_code_files_floor_and_growth() -> None:
    """Never fewer than the code layers (each has a file); about c for a large c (the median
    of the log-normal is c, its mean c exp(sigma**2 / 2))."""
    assert expected_code_files(0.01, 3) == 3.0
    assert expected_code_files(1000.0, 1) == pytest.approx(1000 * math.exp(0.5**2 / 2), rel=1e-3)


def test_lognormal_median_of_a_mean() -> None:
    """median = (mean + 0.5) / exp(sigma**2 / 2): the generator floors its draws."""
    assert lognormal_median(99.5, 0.0) == 100.0
    assert lognormal_median(59_999.5, 0.8) == pytest.approx(60_000 / math.exp(0.32))


def test_mix_ratio_of_class_shares() -> None:
    """The code class mix (90% text at 4x, 10% binary at 2.4x): 1 / (0.9/4 + 0.1/2.4) = 3.75;
    one class alone gives its own ratio, whatever the scale of the shares."""
    assert mix_ratio(CODE_CLASS_MIX) == pytest.approx(3.75)
    assert mix_ratio((0.0, 0.0, 2.0)) == pytest.approx(1.0)


def test_clamped_ratio_stays_within_the_classes() -> None:
    """A measured ratio is clamped to what a generated layer can have (1x to 4x)."""
    assert (clamped_ratio(0.5), clamped_ratio(2.5), clamped_ratio(9.0)) == (1.0, 2.5, 4.0)


def test_solve_increasing() -> None:
    """The root of an increasing function, clamped to the interval's ends."""
    assert solve_increasing(lambda x: x * x, 49.0, 1.0, 100.0) == pytest.approx(7.0)
    assert solve_increasing(lambda x: x, 0.5, 1.0, 10.0) == 1.0
    assert solve_increasing(lambda x: x, 50.0, 1.0, 10.0) == 10.0
