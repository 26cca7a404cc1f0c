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
from tests.fleet.stages import first_stages


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


def test_rebuild_noise_only_where_rebuilds_write_files():
    """Noise trees exist exactly for the slots of apps whose builds are not reproducible in
    the ecosystems that write at install time (system, python: `rebuild_noise`); each holds
    round(0.2 x the slot's files) files (1 to 16) of equal size summing to (within rounding)
    half the slot's file bytes, one version per build, every version a new content."""
    s = first_stages(
        "apps.rebuild_noise_files=0.2",
        "apps.rebuild_noise_bytes=0.5",
        "apps.reproducible_probability=0.5",
        "runtimes.families=['python', 'node']",
        "apps.count=30",
    )
    deps, trees, packages = s.deps, s.trees, s.packages
    noise = s.app_trees.noise_tree
    eco = np.array(packages.ecosystems)[deps.slot_eco]
    expected = ~s.apps.reproducible[deps.slot_app] & np.isin(eco, ["system", "python"])
    assert np.array_equal(noise >= 0, expected)
    assert expected.any() and (~expected).any()
    for k in np.flatnonzero(expected).tolist():
        pkgs = deps.slot_package[deps.package_offsets[k] : deps.package_offsets[k + 1]]
        files = int(packages.package_files[pkgs].sum())
        fbytes = int(packages.package_file_bytes[pkgs].sum())
        t = int(noise[k])
        n = int(np.clip(np.rint(0.2 * files), 1, 16))
        assert trees.n_files[t] == n
        entries = slice(trees.entry_offsets[t], trees.entry_offsets[t + 1])
        sizes = trees.file_bytes[entries][trees.file_index[entries] >= 0]
        assert np.all(sizes == sizes[0])
        assert fbytes * 0.5 - n <= sizes.sum() <= fbytes * 0.5
        assert trees.versions[t] == s.apps.n_builds[deps.slot_app[k]]
        assert trees.change_fraction[t] == 1.0


def test_boilerplate_files_share_contents_across_apps():
    """With every code file boilerplate and one template per file slot, every app's i-th code
    file has the same content in every image (boilerplate is never edited); with none, no two
    apps share a code content."""
    shared = tiny_fleet("apps.boilerplate_fraction=1.0", "apps.boilerplate_variants=1")
    none = tiny_fleet("apps.boilerplate_fraction=0.0")

    def code_contents(fleet):
        a = fleet.arrays
        by_path: dict[int, set[int]] = {}
        owners: dict[int, set[int]] = {}
        for x in np.flatnonzero(fleet.layer_kind == LayerKind.CODE).tolist():
            rows = slice(a.layer_offsets[x], a.layer_offsets[x + 1])
            for p, c in zip(
                a.entry_path[rows].tolist(), a.entry_content[rows].tolist(), strict=True
            ):
                if c >= 0:
                    by_path.setdefault(p, set()).add(c)
                    owners.setdefault(c, set()).add(int(fleet.layer_owner[x]))
        return by_path, owners

    by_path, owners = code_contents(shared)
    assert by_path and all(len(c) == 1 for c in by_path.values())
    assert max(len(o) for o in owners.values()) > 1
    _, owners = code_contents(none)
    assert all(len(o) == 1 for o in owners.values())
