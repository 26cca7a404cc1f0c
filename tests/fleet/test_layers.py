"""Tests of `layersim.fleet.layers`: segments of layers, and reproducible builds that reuse
dependency layers."""

from __future__ import annotations

import numpy as np

from layersim.accounting.arrays import canonical, csr_rows
from layersim.accounting.images import image_table
from layersim.fleet import Fleet
from layersim.fleet.layers import Layers
from layersim.fleet.presets import ImageKind, LayerKind
from tests.fleet.fleets import tiny_fleet


def test_segments_of_layers_in_the_order_asked():
    """Instances 2 then 1 (one and two segments): their segments in that order, each with its
    position in the list."""
    empty = np.zeros(0, np.int64)
    layers = Layers(
        seg_offsets=np.array([0, 1, 3, 4]),
        seg_tree=np.array([5, 6, 7, 8]),
        seg_version=np.array([0, 1, 0, 2]),
        kind=np.array([LayerKind.BASE, LayerKind.DEPS, LayerKind.CODE]),
        owner=np.zeros(3, np.int64),
        version=np.zeros(3, np.int64),
        rep=np.arange(3),
        base=(),
        runtime=(),
        own_offsets=np.zeros(1, np.int64),
        own_layers=empty,
    )
    segments = layers.segments(np.array([2, 1]))
    assert segments.n_layers == 2
    assert segments.layer.tolist() == [0, 1, 1]
    assert segments.tree.tolist() == [8, 6, 7]
    assert segments.version.tolist() == [2, 1, 0]


def _dep_layers(fleet: Fleet) -> tuple[int, int]:
    """(distinct dependency layers, dependency layer positions in app images)."""
    a = fleet.arrays
    kinds = fleet.layer_kind[a.image_layers]
    app_rows = fleet.image_kind[csr_rows(a.image_offsets)] == ImageKind.APP
    # a position in an app image that is the app's own dependency layer
    mask = (kinds == LayerKind.DEPS) & app_rows
    return int((fleet.layer_kind == LayerKind.DEPS).sum()), int(mask.sum())


def test_reproducible_builds_reuse_dependency_layers():
    """With reproducible builds and no dependency refresh, every build of an app reuses its
    dependency layers (same DiffID); without reproducibility no build ever does."""
    frozen = ["apps.dep_update_probability=0", "packages.release_every=1000"]
    always = tiny_fleet(*frozen, "apps.reproducible_probability=1")
    never = tiny_fleet(*frozen, "apps.reproducible_probability=0")
    distinct, positions = _dep_layers(always)
    assert distinct < positions
    # per app, every build has the same dependency layers as its first build
    a = always.arrays
    for app in range(always.n_apps):
        builds = np.flatnonzero((always.image_kind == ImageKind.APP) & (always.image_owner == app))
        deps = [
            tuple(
                x
                for x in a.image_layers[a.image_offsets[i] : a.image_offsets[i + 1]].tolist()
                if always.layer_kind[x] == LayerKind.DEPS
            )
            for i in builds.tolist()
        ]
        assert len(set(deps)) == 1
    distinct_never, positions_never = _dep_layers(never)
    assert distinct_never == positions_never


def test_reproducible_layer_on_another_parent_is_another_chain():
    """A reused dependency layer on a newer parent version is one DiffID but another ChainID:
    the engine sees two chain nodes for it."""
    fleet = tiny_fleet(
        "apps.dep_update_probability=0",
        "packages.release_every=1000",
        "apps.reproducible_probability=1",
        "apps.latest_share=1",
        "apps.rebuild_every=1",
        "bases.release_every=1",
        "runtimes.rebuild_every=1",
    )
    a = fleet.arrays
    images = image_table(canonical(a))
    deps = fleet.layer_kind[a.image_layers] == LayerKind.DEPS
    chains_per_layer: dict[int, set[int]] = {}
    for lid, chain in zip(
        a.image_layers[deps].tolist(), images.image_chain[deps].tolist(), strict=True
    ):
        chains_per_layer.setdefault(lid, set()).add(chain)
    assert any(len(c) > 1 for c in chains_per_layer.values())


def test_reproducible_archive_is_one_layer_per_app():
    """A reproducible app with the archive pattern pushes its archive layer once: every build
    stacks the first build's archive layer; a non-reproducible app makes one per build."""
    fleet = tiny_fleet(
        "apps.waste_probability=1", "apps.reproducible_probability=1", "apps.rebuild_every=1"
    )
    plain = tiny_fleet(
        "apps.waste_probability=1", "apps.reproducible_probability=0", "apps.rebuild_every=1"
    )
    for f, per_build in ((fleet, False), (plain, True)):
        waste = f.layer_kind == LayerKind.WASTE
        app_images = int((f.image_kind == ImageKind.APP).sum())
        assert int(waste.sum()) == (app_images if per_build else f.n_apps)
