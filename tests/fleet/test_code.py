"""Tests of `layersim.fleet.code`: code layers split an app's code files, and the
add-then-delete archive leaves shadowed bytes."""

from __future__ import annotations

import dataclasses

import numpy as np

from layersim.accounting import reference
from layersim.accounting.arrays import canonical, to_population
from layersim.accounting.assemble import metrics_from_arrays
from layersim.fleet.presets import ImageKind, LayerKind
from layersim.model import EntryKind
from tests.fleet.fleets import tiny_fleet


def test_code_layers_split_the_code_files():
    """With `apps.code_layers` = 3 every app image ends with three code layers that split the
    app's code files (each holds some, no path twice), the first carrying the archive's
    whiteout; the arrays stay valid and canonical and the engine agrees with the reference."""
    fleet = tiny_fleet("apps.code_layers=3", "apps.code_files=8.0")
    a = fleet.arrays
    a.validate()
    assert canonical(a).arrays is a
    for i in np.flatnonzero(fleet.image_kind == ImageKind.APP).tolist():
        layers = a.image_layers[a.image_offsets[i] : a.image_offsets[i + 1]].tolist()
        assert [int(fleet.layer_kind[x]) for x in layers[-3:]] == [LayerKind.CODE] * 3
        assert all(fleet.layer_kind[x] != LayerKind.CODE for x in layers[:-3])
        seen: set[int] = set()
        for x in layers[-3:]:
            kinds = a.entry_kind[a.layer_offsets[x] : a.layer_offsets[x + 1]]
            files = set(
                a.entry_path[a.layer_offsets[x] : a.layer_offsets[x + 1]][kinds == EntryKind.FILE]
            )
            assert files and not seen & files
            seen |= files
        first = a.entry_kind[a.layer_offsets[layers[-3]] : a.layer_offsets[layers[-3] + 1]]
        assert (EntryKind.WHITEOUT in first) == bool(fleet.app_waste[fleet.image_owner[i]])
    assert any(label.endswith("/code3") for label in a.layer_labels)
    expected = reference.evaluate(to_population(a))
    assert metrics_from_arrays(a).registry_stored_bytes == expected.registry_stored_bytes


def test_add_then_delete_leaves_shadowed_bytes():
    """Apps with the add-then-delete pattern carry the archive's bytes as shadowed bytes (per
    the reference); apps without it have none."""
    fleet = tiny_fleet("apps.waste_probability=0.5", "apps.count=6")
    pop = to_population(fleet.arrays)
    metrics = reference.evaluate(dataclasses.replace(pop, nodes=()))
    for i, m in enumerate(metrics.images):
        if fleet.image_kind[i] != ImageKind.APP:
            assert m.shadowed_file_bytes == 0
            continue
        wasteful = bool(fleet.app_waste[fleet.image_owner[i]])
        assert (m.shadowed_file_bytes > 0) == wasteful, m.name
        if wasteful:
            assert m.dive_wasted_bytes >= m.shadowed_file_bytes
    assert fleet.app_waste.any() and not fleet.app_waste.all()
