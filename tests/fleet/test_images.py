"""Tests of `layersim.fleet.images`: image order, stacks and repositories."""

from __future__ import annotations

import numpy as np

from layersim.fleet.images import image_repository
from layersim.fleet.presets import ImageKind, LayerKind


def test_image_repository_exact():
    """Two base families, three runtimes: base 1 -> 1, runtime 0 -> 2, app 0 -> 5, app 3 -> 8,
    base 0 -> 0."""
    kind = np.array([ImageKind.BASE, ImageKind.RUNTIME, ImageKind.APP, ImageKind.APP, 0], np.int8)
    owner = np.array([1, 0, 0, 3, 0])
    assert image_repository(kind, owner, 2, 3).tolist() == [1, 2, 5, 8, 0]


def test_image_order_and_plan(tiny):
    """Images are in build order (epoch, then bases, runtimes, apps) and every app image's
    stack starts with a base layer and ends with its code layer."""
    assert np.all(np.diff(tiny.image_epoch) >= 0)
    a = tiny.arrays
    for i in np.flatnonzero(tiny.image_kind == ImageKind.APP).tolist():
        layers = a.image_layers[a.image_offsets[i] : a.image_offsets[i + 1]]
        assert tiny.layer_kind[layers[0]] == LayerKind.BASE
        assert tiny.layer_kind[layers[-1]] == LayerKind.CODE


def test_layers_numbered_by_first_appearance(tiny):
    """Layer ids appear in image order: the first time a layer id occurs, it is one more than
    the largest seen before."""
    layers = tiny.arrays.image_layers
    first = np.maximum.accumulate(layers)
    assert layers[0] == 0
    assert np.all(np.diff(first) <= 1)
    assert int(first[-1]) == tiny.arrays.n_layers - 1
