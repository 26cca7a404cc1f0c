"""Tests of `layersim.fleet.generate`: the discrete fleet model emits valid, canonical, seeded arrays
whose figures the reference implementation accepts and agrees with."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layersim.accounting import reference
from layersim.accounting.arrays import canonical, csr_rows, path_strings, to_population
from layersim.accounting.assemble import metrics_from_arrays
from layersim.accounting.containers import container_bytes
from layersim.accounting.images import image_table
from layersim.config import load_config
from layersim.fleet.generate import (
    BASE_PRESETS,
    CLASS_NAMES,
    Fleet,
    ImageKind,
    LayerKind,
    class_mix_for_ratio,
    generate,
)
from layersim.model import EntryKind, make_entry
from layersim.model.sizes import DEFAULT_CLASS_RATIOS_PERMILLE, TAR_END_BYTES, CompressionModel

# A fleet small enough for the pure-Python reference: the `small` scenario with few files.
TINY = [
    "time.epochs=6",
    "bases.file_scale=0.05",
    "bases.release_every=2",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "packages.release_every=3.0",
    "apps.count=8",
    "apps.code_files=5.0",
    "apps.packages_per_layer=3.0",
    "apps.waste_probability=0.5",
    "apps.reproducible_probability=0.5",
    "nodes.count=3",
]


def tiny_fleet(*overrides: str, seed: int = 42) -> Fleet:
    config = load_config(scenario="small", overrides=[*TINY, *overrides, f"seed={seed}"])
    return generate(config, np.random.default_rng(config.seed))


@pytest.fixture(scope="module")
def tiny() -> Fleet:
    return tiny_fleet()


def _arrays_equal(a, b) -> bool:
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y):
                return False
        elif f.name != "cache" and x != y:
            return False
    return True


# --------------------------------------------------------------------------- exact and seeded


# Seed 42, the TINY overrides: a change here is a change of the model or of its draws.
TINY_COUNTS = {"images": 49, "layers": 98, "entries": 1463, "contents": 377, "containers": 115}


def test_seeded_counts(tiny):
    """The tiny fleet with seed 42 has exactly these counts (a change here is a model change)."""
    a = tiny.arrays
    assert (a.n_images, a.n_layers, a.n_entries, a.content_file_bytes.size) == (
        TINY_COUNTS["images"],
        TINY_COUNTS["layers"],
        TINY_COUNTS["entries"],
        TINY_COUNTS["contents"],
    )
    assert (a.n_nodes, len(a.container_names)) == (3, TINY_COUNTS["containers"])


def test_same_seed_same_arrays(tiny):
    """The same config and seed give identical arrays, labels and time plan."""
    again = tiny_fleet()
    assert _arrays_equal(tiny.arrays, again.arrays)
    for f in dataclasses.fields(Fleet):
        value = getattr(tiny, f.name)
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(again, f.name)), f.name


def test_other_seed_other_arrays(tiny):
    """Another seed gives another fleet."""
    other = tiny_fleet(seed=43)
    assert not _arrays_equal(tiny.arrays, other.arrays)


# --------------------------------------------------------------------------- structure


def test_arrays_are_valid_and_canonical(tiny):
    """The arrays pass `validate` and are already in the engine's canonical order (preorder
    path ids, each layer's entries sorted by path), so the engine never re-sorts them."""
    a = tiny.arrays
    a.validate()
    assert canonical(a).arrays is a


def test_image_order_and_plan(tiny):
    """Images are in build order (epoch, then bases, runtimes, apps) and every app image's
    stack starts with a base layer and ends with its code layer."""
    assert np.all(np.diff(tiny.image_epoch) >= 0)
    a = tiny.arrays
    for i in np.flatnonzero(tiny.image_kind == ImageKind.APP).tolist():
        layers = a.image_layers[a.image_offsets[i] : a.image_offsets[i + 1]]
        assert tiny.layer_kind[layers[0]] == LayerKind.BASE
        assert tiny.layer_kind[layers[-1]] == LayerKind.CODE


def test_entry_sizes_follow_make_entry(tiny):
    """Every entry's tar and compressed bytes are what `model.make_entry` computes for it, and
    layers add the end blocks and the gzip framing (sizes.py)."""
    a = tiny.arrays
    paths = path_strings(a)
    classes = a.content_classes
    for i in range(a.n_entries):
        kind = EntryKind(int(a.entry_kind[i]))
        cid = int(a.entry_content[i])
        entry = make_entry(
            paths[int(a.entry_path[i])],
            kind,
            int(a.entry_file_bytes[i]),
            content=f"sha256:{cid:064x}" if cid >= 0 else None,
            content_class=classes[cid] if cid >= 0 else None,
        )
        assert entry.tar_bytes == a.entry_tar_bytes[i]
        assert entry.compressed_bytes == a.entry_compressed_bytes[i]
        if cid >= 0:
            assert entry.content_compressed_bytes == a.content_compressed_bytes[cid]
            assert entry.file_bytes == a.content_file_bytes[cid]
    layer = csr_rows(a.layer_offsets)
    tar = np.bincount(layer, weights=a.entry_tar_bytes, minlength=a.n_layers)
    comp = np.bincount(layer, weights=a.entry_compressed_bytes, minlength=a.n_layers)
    assert np.array_equal(a.layer_tar_bytes, tar.astype(np.int64) + TAR_END_BYTES)
    overhead = CompressionModel().blob_overhead_bytes()
    assert np.array_equal(a.layer_compressed_bytes, comp.astype(np.int64) + overhead)


def test_layers_have_directories(tiny):
    """Like Docker layers, every layer holds directory entries for its files' directories."""
    a = tiny.arrays
    for lid in range(a.n_layers):
        lo, hi = a.layer_offsets[lid], a.layer_offsets[lid + 1]
        kinds = a.entry_kind[lo:hi]
        paths = set(a.entry_path[lo:hi].tolist())
        dirs = set(a.entry_path[lo:hi][kinds == EntryKind.DIR].tolist())
        assert dirs, f"layer {lid} has no directory"
        for p in paths:
            parent = int(a.path_parent[p])
            if parent >= 0:
                assert parent in dirs, f"layer {lid}: directory of path {p} missing"


# --------------------------------------------------------------------------- the model


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


def test_reference_accepts_and_agrees(tiny):
    """The generated arrays convert to objects; the reference evaluates them and the engine's
    figures equal the reference's (images, registry, nodes, containers)."""
    pop = to_population(tiny.arrays)
    expected = reference.evaluate(pop)
    got = metrics_from_arrays(tiny.arrays)
    assert got.registry_stored_bytes == expected.registry_stored_bytes
    for x, y in zip(got.images, expected.images, strict=True):
        assert (x.layered_compressed_bytes, x.flattened_disk_bytes, x.shadowed_file_bytes) == (
            y.layered_compressed_bytes,
            y.flattened_disk_bytes,
            y.shadowed_file_bytes,
        )
    for x, y in zip(got.nodes, expected.nodes, strict=True):
        assert x.stored_bytes == y.stored_bytes
        assert [c.writable_bytes for c in x.containers] == [c.writable_bytes for c in y.containers]


def test_class_mix_hits_the_ratio():
    """`class_mix_for_ratio` gives byte shares that compress at the asked ratio."""
    ratios = [DEFAULT_CLASS_RATIOS_PERMILLE[c] / 1000 for c in CLASS_NAMES]
    for target in (1.5, 2.19, 2.4, 2.72, 3.5):
        mix = class_mix_for_ratio(target)
        assert sum(mix) == pytest.approx(1.0)
        assert 1 / sum(s / r for s, r in zip(mix, ratios, strict=True)) == pytest.approx(target)


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


def test_retention_plan():
    """The registry never holds more than `registry.retention` versions of a repository and a
    node never more than `nodes.retention` versions of an app, at the end of any epoch."""
    fleet = tiny_fleet("registry.retention=2", "nodes.retention=1", "apps.rebuild_every=1")
    a = fleet.arrays
    for t in range(fleet.epochs):
        held = (fleet.image_epoch <= t) & (fleet.image_registry_gc_epoch > t)
        counts = np.bincount(a.image_repository[held])
        assert counts.max() <= 2
        on_node = a.node_images[
            (fleet.image_epoch[a.node_images] <= t) & (fleet.image_node_gc_epoch[a.node_images] > t)
        ]
        node = csr_rows(a.node_offsets)[
            (fleet.image_epoch[a.node_images] <= t) & (fleet.image_node_gc_epoch[a.node_images] > t)
        ]
        pairs = node * fleet.n_apps + fleet.image_owner[on_node]
        assert np.bincount(pairs).max() <= 1


def test_placement_policies():
    """`spread` balances replicas (loads differ by at most one); `binpack` groups apps by
    parent, so nodes see fewer distinct parent images."""
    spread = tiny_fleet("nodes.placement=spread", "apps.count=30", "nodes.count=5")
    packed = tiny_fleet("nodes.placement=binpack", "apps.count=30", "nodes.count=5")

    def first_containers(fleet: Fleet) -> np.ndarray:
        return fleet.container_start_epoch == 0

    load = np.bincount(spread.arrays.container_node[first_containers(spread)], minlength=5)
    assert load.max() - load.min() <= 1

    def parents_per_node(fleet: Fleet) -> float:
        a = fleet.arrays
        c = first_containers(fleet)
        parent = fleet.app_parent[fleet.image_owner[a.container_image[c]]]
        pairs = {(n, p) for n, p in zip(a.container_node[c].tolist(), parent.tolist(), strict=True)}
        return len(pairs) / a.n_nodes

    assert parents_per_node(packed) <= parents_per_node(spread)


@settings(max_examples=15, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    waste=st.floats(0, 1),
    reproducible=st.floats(0, 1),
    placement=st.sampled_from(["spread", "binpack"]),
    epochs=st.integers(1, 5),
)
def test_any_seed_gives_valid_canonical_arrays(seed, waste, reproducible, placement, epochs):
    """For any seed and a range of knobs the arrays validate, are canonical, and every
    container modifies only files its image has (the engine checks that)."""
    fleet = tiny_fleet(
        f"apps.waste_probability={waste}",
        f"apps.reproducible_probability={reproducible}",
        f"nodes.placement={placement}",
        f"time.epochs={epochs}",
        seed=seed,
    )
    a = fleet.arrays
    a.validate()
    assert canonical(a).arrays is a
    assert container_bytes(canonical(a)).size == len(a.container_names)


# --------------------------------------------------------------------------- calibration keys


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


def _file_bytes(fleet: Fleet, layers: np.ndarray) -> int:
    a = fleet.arrays
    return sum(
        int(a.entry_file_bytes[a.layer_offsets[x] : a.layer_offsets[x + 1]].sum())
        for x in layers.tolist()
    )


def _first_image_layers(fleet: Fleet, kind: ImageKind) -> np.ndarray:
    a = fleet.arrays
    i = int(np.flatnonzero(fleet.image_kind == kind)[0])
    return a.image_layers[a.image_offsets[i] : a.image_offsets[i + 1]]


def test_size_scales_and_compression_ratio():
    """`bases.bytes_scale` scales a base's file bytes and `bases.compression_ratio` sets how it
    compresses; `runtimes.bytes_scale` scales the runtime layers and `packages.file_bytes_scale`
    the package files (the draws are the same, so the sizes scale but for rounding down)."""
    plain = tiny_fleet()
    scaled = tiny_fleet(
        "bases.bytes_scale=0.25",
        "bases.compression_ratio=3.0",
        "runtimes.bytes_scale=0.5",
        "packages.file_bytes_scale=0.1",
    )
    base = _first_image_layers(scaled, ImageKind.BASE)
    base_bytes = _file_bytes(scaled, base)
    assert base_bytes == pytest.approx(
        _file_bytes(plain, _first_image_layers(plain, ImageKind.BASE)) * 0.25, rel=0.01
    )
    assert base_bytes / scaled.arrays.layer_compressed_bytes[base[0]] == pytest.approx(
        3.0, rel=0.05
    )
    runtime = _first_image_layers(scaled, ImageKind.RUNTIME)[1:]
    assert _file_bytes(scaled, runtime) == pytest.approx(
        _file_bytes(plain, _first_image_layers(plain, ImageKind.RUNTIME)[1:]) * 0.5, rel=0.01
    )
    deps_plain = _file_bytes(plain, np.flatnonzero(plain.layer_kind == LayerKind.DEPS))
    deps_scaled = _file_bytes(scaled, np.flatnonzero(scaled.layer_kind == LayerKind.DEPS))
    assert deps_scaled == pytest.approx(deps_plain * 0.1, rel=0.02)
