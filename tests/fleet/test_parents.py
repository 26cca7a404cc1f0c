"""Tests of `layersim.fleet.parents`: release schedules, and base layers calibrated to their
anchors that share most file contents across versions."""

from __future__ import annotations

import numpy as np
import pytest

from layersim.accounting.arrays import canonical
from layersim.accounting.images import image_table
from layersim.fleet.parents import Bases, Runtimes, parent_names, parent_released, released_by_epoch
from layersim.fleet.presets import BASE_PRESETS, ImageKind
from tests.fleet.fleets import tiny_fleet


def test_released_by_epoch_exact():
    """Releases at epochs 0, 2 and 5 over 7 epochs: 1, 1, 2, 2, 2, 3, 3 versions out."""
    assert released_by_epoch((0, 2, 5), 7).tolist() == [1, 1, 2, 2, 2, 3, 3]


def test_parents_are_runtimes_then_bases():
    """An app's parent index counts runtimes first, then bases, in names and release rows."""
    bases = Bases(("alpine", "debian"), ((0,), (0, 1)), np.array([0, 1]))
    runtimes = Runtimes(("python",), ((0, 2),), (np.array([2, 3]),))
    assert parent_names(runtimes, bases) == ("python", "alpine", "debian")
    assert parent_released(runtimes, bases, 3).tolist() == [[1, 1, 2], [1, 1, 1], [1, 2, 2]]


def test_base_versions_share_files_not_layers():
    """Versions of a base rewrite a few files: each is a new layer, but most file contents are
    the ones of the version before (layer dedup fails across versions, file dedup does not)."""
    fleet = tiny_fleet("bases.file_scale=1.0", "bases.rewrite_fraction=0.05")
    a = fleet.arrays
    debian = fleet.base_families.index("debian")
    versions = np.flatnonzero((fleet.image_kind == ImageKind.BASE) & (fleet.image_owner == debian))
    assert versions.size >= 2
    layers = a.image_layers[a.image_offsets[versions]]
    assert np.unique(layers).size == versions.size
    for older, newer in zip(layers[:-1].tolist(), layers[1:].tolist(), strict=True):
        old = a.entry_content[a.layer_offsets[older] : a.layer_offsets[older + 1]]
        new = a.entry_content[a.layer_offsets[newer] : a.layer_offsets[newer + 1]]
        old, new = old[old >= 0], new[new >= 0]
        shared = np.isin(new, old).mean()
        assert 0.85 < shared < 1.0


def test_base_sizes_are_calibrated():
    """Version 0 of each base family is within a few percent of its ANCHORS row."""
    fleet = tiny_fleet("bases.file_scale=1.0", 'bases.families=["alpine", "debian", "ubuntu"]')
    images = image_table(canonical(fleet.arrays))
    for f, name in enumerate(fleet.base_families):
        i = int(
            np.flatnonzero(
                (fleet.image_kind == ImageKind.BASE)
                & (fleet.image_owner == f)
                & (fleet.image_version == 0)
            )[0]
        )
        preset = BASE_PRESETS[name]
        assert images.layered_compressed_bytes[i] == pytest.approx(preset.compressed_bytes, rel=0.1)
        assert images.layered_tar_bytes[i] == pytest.approx(preset.file_bytes, rel=0.1)
