"""Tests of `layersim.fleet.generate`: the discrete fleet model emits valid, canonical, seeded arrays
whose figures the reference implementation accepts and agrees with."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layersim.accounting import reference
from layersim.accounting.arrays import canonical, to_population
from layersim.accounting.assemble import metrics_from_arrays
from layersim.accounting.containers import container_bytes
from layersim.fleet import Fleet
from layersim.fleet.presets import ImageKind, LayerKind
from tests.fleet.fleets import arrays_equal, tiny_fleet

# --------------------------------------------------------------------------- exact and seeded


# Seed 42, the TINY overrides: a change here is a change of the model or of its draws.
TINY_COUNTS = {"images": 44, "layers": 103, "entries": 2419, "contents": 482, "containers": 103}


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
    assert arrays_equal(tiny.arrays, again.arrays)
    for f in dataclasses.fields(Fleet):
        value = getattr(tiny, f.name)
        if isinstance(value, np.ndarray):
            assert np.array_equal(value, getattr(again, f.name)), f.name


def test_other_seed_other_arrays(tiny):
    """Another seed gives another fleet."""
    other = tiny_fleet(seed=43)
    assert not arrays_equal(tiny.arrays, other.arrays)


# --------------------------------------------------------------------------- structure


def test_arrays_are_valid_and_canonical(tiny):
    """The arrays pass `validate` and are already in the engine's canonical order (preorder
    path ids, each layer's entries sorted by path), so the engine never re-sorts them."""
    a = tiny.arrays
    a.validate()
    assert canonical(a).arrays is a


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
