"""Tests of `layersim.calibration.set_statistics`: the statistics of the hand-made set counted
by hand, their mean over several measurements, and an empty set."""

from __future__ import annotations

import pytest

from layersim.calibration.roles import leaf_indices
from layersim.calibration.set_statistics import (
    ImageSetStatistics,
    mean_statistics,
    set_statistics,
)
from layersim.errors import ModelError
from tests.calibration.image_sets import APPS


def test_statistics_of_the_hand_made_set(fitted) -> None:
    """The statistics of the set, counted by hand: 9 apps (base:1 is their parent) of 4 or 5
    layers; 23 distinct layers (1 base, 3 dependency layers, 18 code layers, 1 archive) holding
    45 + 3x12 + 18x6 + 1 = 190 files; per version pair the merged views share 45 + 12 + 12 =
    69 files of which 4 (1 -> 2) or 2 (2 -> 3) changed."""
    images, result = fitted
    h = result.analyzed
    assert h == set_statistics(images)
    assert [images[i].name for i in leaf_indices(images)] == [
        f"{app}:{v}" for app in APPS for v in (1, 2, 3)
    ]
    assert (h.images, h.layers, h.version_pairs) == (9, 23, 6)
    assert h.layers_per_image == pytest.approx((6 * 4 + 3 * 5) / 9)
    assert h.files_per_layer == pytest.approx(190 / 23)
    assert h.version_churn == pytest.approx(3 * (4 + 2) / (6 * 69))
    distinct = {x.diff_id: x for i in leaf_indices(images) for x in images[i].layers}
    compressed = sum(x.compressed_bytes for x in distinct.values())
    logical = sum(x.compressed_bytes for i in leaf_indices(images) for x in images[i].layers)
    tar = sum(x.tar_bytes for x in distinct.values())
    assert h.compressed_bytes_per_layer == pytest.approx(compressed / 23)
    assert h.compression_ratio == pytest.approx(tar / compressed)
    assert h.layer_dedup_ratio == pytest.approx(logical / compressed)


def test_one_image_has_no_churn(fitted) -> None:
    """A single image is an app of its own with no version to compare: churn is None."""
    images, _ = fitted
    alone = set_statistics([images[1]])
    assert (alone.images, alone.layers, alone.version_pairs) == (1, 4, 0)
    assert alone.version_churn is None
    assert alone.layer_dedup_ratio == 1.0


def test_mean_statistics() -> None:
    """Each statistic averaged; counts rounded; churn over the measurements that have one."""
    a = ImageSetStatistics(10, 20, 4.0, 1000.0, 2.0, 10.0, 3.0, 5, 0.1)
    b = ImageSetStatistics(13, 30, 5.0, 3000.0, 3.0, 20.0, 5.0, 8, None)
    mean = mean_statistics([a, b])
    assert mean == ImageSetStatistics(12, 25, 4.5, 2000.0, 2.5, 15.0, 4.0, 6, 0.1)
    assert mean_statistics([b]).version_churn is None


def test_no_images_to_measure() -> None:
    """An empty set is a `ModelError`."""
    with pytest.raises(ModelError, match="no images to measure"):
        set_statistics([])
