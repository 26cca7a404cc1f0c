"""Tests of `layersim.fleet.presets`: the class mix that calibrates a tree's compression."""

from __future__ import annotations

import pytest

from layersim.fleet.presets import CLASS_NAMES, class_mix_for_ratio
from layersim.model.sizes import DEFAULT_CLASS_RATIOS_PERMILLE


def test_class_mix_hits_the_ratio():
    """`class_mix_for_ratio` gives byte shares that compress at the asked ratio."""
    ratios = [DEFAULT_CLASS_RATIOS_PERMILLE[c] / 1000 for c in CLASS_NAMES]
    for target in (1.5, 2.19, 2.4, 2.72, 3.5):
        mix = class_mix_for_ratio(target)
        assert sum(mix) == pytest.approx(1.0)
        assert 1 / sum(s / r for s, r in zip(mix, ratios, strict=True)) == pytest.approx(target)
