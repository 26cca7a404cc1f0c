"""The engine against the reference implementation, and its building blocks."""

from __future__ import annotations

import dataclasses
from unittest.mock import patch

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.accounting import engine, reference
from layersim.accounting.arrays import from_population
from layersim.errors import ModelError
from layersim.model import (
    Container,
    EntryKind,
    FileModify,
    Image,
    Node,
    Population,
    make_entry,
    make_layer,
)
from layersim.model.digest import content_digest
from layersim.model.overlay import merged_view
from tests.strategies import populations


@given(populations())
def test_engine_equals_reference(population: Population) -> None:
    """Every figure the engine computes equals the reference's, integer for integer."""
    expected = reference.evaluate(population)
    actual = engine.evaluate(population)
    assert actual.images == expected.images
    assert actual.registry_stored_bytes == expected.registry_stored_bytes
    assert actual.pushes == expected.pushes
    assert actual.nodes == expected.nodes


@given(populations(max_images=4, max_nodes=2))
def test_image_table_is_order_free(population: Population) -> None:
    """Listing the images in reverse order permutes the per-image figures and nothing else."""
    forward = engine.image_table(from_population(population))
    backward_population = Population(
        tuple(reversed(population.images)),
        push_order=population.push_order,
        options=population.options,
        compression=population.compression,
    )
    backward = engine.image_table(from_population(backward_population))
    n = len(population.images)
    for field in ("flattened_tar_bytes", "shadowed_file_bytes", "dive_wasted_bytes"):
        assert getattr(forward, field).tolist() == getattr(backward, field)[::-1].tolist()
        assert getattr(forward, field).size == n


def _file(path: str, size: int, content: str | None = None):
    return make_entry(path, EntryKind.FILE, size, content_digest(content or path, size))


def test_chain_trie_shares_prefixes() -> None:
    """Two apps on one base make three chain nodes; the same app layer on two bases makes two
    more, because a ChainID depends on everything below."""
    base1 = make_layer([_file("etc/os", 10, "v1")])
    base2 = make_layer([_file("etc/os", 10, "v2")])
    app = make_layer([_file("app/x", 10)])
    other = make_layer([_file("app/y", 10)])
    pop = Population(
        (
            Image("a:1", (base1, app)),
            Image("b:1", (base1, other)),
            Image("c:1", (base2, app)),
        )
    )
    trie = engine.build_chain_trie(from_population(pop))
    assert trie.size == 5
    assert trie.depth_bounds.tolist() == [0, 2, 5]
    chains = trie.image_chain.tolist()
    assert chains[0] == chains[2]  # both images start at base1
    assert chains[1] != chains[5]  # app on base1 vs app on base2


def test_container_modify_of_a_hidden_file_is_an_error() -> None:
    """The engine refuses a copy-up of a file the image deleted, as the reference does."""
    add = make_layer([_file("tmp/a", 100)])
    delete = make_layer([make_entry("tmp/a", EntryKind.WHITEOUT)])
    pop = Population(
        (Image("w:1", (add, delete)),),
        nodes=(Node("n", ("w:1",), (Container("c", "w:1", modifies=(FileModify("tmp/a"),)),)),),
    )
    with pytest.raises(ModelError, match="not a file of image"):
        engine.evaluate(pop)
    with pytest.raises(ModelError, match="not a file of image"):
        reference.evaluate(pop)


def test_closed_form_n_apps_on_one_base() -> None:
    """n apps of app size A on one base of size B: a node stores B + nA by layer and n(B + A)
    flattened (disk bytes; sizes are whole blocks so A and B are exact)."""
    n, base_bytes, app_bytes = 7, 40960, 8192
    base = make_layer([_file("usr/lib/libc", base_bytes)])
    apps = [make_layer([_file(f"app{i}/bin", app_bytes)]) for i in range(n)]
    images = tuple(Image(f"app{i}:1", (base, apps[i])) for i in range(n))
    pop = Population(images, nodes=(Node("node", tuple(i.name for i in images)),))
    stored = engine.evaluate(pop).nodes[0].stored_bytes
    assert stored.layer == base_bytes + n * app_bytes
    assert stored.flattened == n * (base_bytes + app_bytes)
    assert stored.logical == n * (base_bytes + app_bytes)
    assert stored.file == base_bytes + n * app_bytes


@given(populations(max_images=5, max_nodes=0), st.data())
def test_stored_timeline_equals_each_epoch_alone(population: Population, data) -> None:
    """Over epochs, each store holds what the single-epoch accounting of the images it holds
    at that epoch gives, under every strategy: overlapping and disjoint stays, images held
    twice, holders that hold nothing; bit-mask file timelines (<= 64 epochs) and the sorted
    fallback (more)."""
    arrays = from_population(population)
    images = engine.image_table(arrays)
    n_images = arrays.n_images
    n_holders = data.draw(st.integers(1, 3))
    n_epochs = data.draw(st.sampled_from([1, 2, 4, 65]))
    n_rows = data.draw(st.integers(0, 8))
    ints = st.integers
    holder = np.array(data.draw(st.lists(ints(0, n_holders - 1), min_size=n_rows, max_size=n_rows)))
    image = np.array(data.draw(st.lists(ints(0, n_images - 1), min_size=n_rows, max_size=n_rows)))
    start = np.array(data.draw(st.lists(ints(0, n_epochs - 1), min_size=n_rows, max_size=n_rows)))
    stay = np.array(data.draw(st.lists(ints(0, 3), min_size=n_rows, max_size=n_rows)))
    holder, image, start = (x.astype(np.int64).reshape(-1) for x in (holder, image, start))
    end = np.minimum(start + stay.astype(np.int64).reshape(-1), n_epochs)
    # against single-epoch figures (held equal to the reference's)
    for registry in (True, False):
        timeline = engine.stored_timeline(
            arrays, images, holder, image, start, end, n_holders, n_epochs, registry=registry
        )
        for h in range(n_holders):
            for epoch in range(n_epochs):
                held = image[(holder == h) & (start <= epoch) & (epoch < end)]
                if registry:
                    alone = engine.registry_stored(arrays, held, images)
                    expected = (alone.logical, alone.flattened, alone.layer, alone.file)
                else:
                    table = engine.node_stored(arrays, np.array([0, held.size]), held, images)
                    expected = tuple(int(getattr(table, s)[0]) for s in _STRATEGIES)
                actual = tuple(int(getattr(timeline, s)[h, epoch]) for s in _STRATEGIES)
                assert actual == expected, (registry, h, epoch)


_STRATEGIES = ("logical", "flattened", "layer", "file")


def test_file_timeline_counts_a_content_while_any_layer_holds_it() -> None:
    """One content in two different layers, held over epochs 0-1 and 1-2 by one node: the
    file strategy stores it once in each of epochs 0, 1 and 2, and nothing in epoch 3."""
    base_a = make_layer([_file("usr/lib/a", 10_000, "shared")])
    base_b = make_layer([_file("opt/b", 10_000, "shared")])
    pop = Population((Image("a:1", (base_a,)), Image("b:1", (base_b,))))
    arrays = from_population(pop)
    images = engine.image_table(arrays)
    timeline = engine.stored_timeline(
        arrays,
        images,
        holder=np.array([0, 0]),
        image_ids=np.array([0, 1]),
        start=np.array([0, 1]),
        end=np.array([2, 3]),
        n_holders=1,
        n_epochs=4,
        registry=False,
    )
    assert timeline.file[0].tolist() == [12_288, 12_288, 12_288, 0]  # 10,000 B in 4 KiB
    assert timeline.layer[0].tolist() == [12_288, 24_576, 12_288, 0]


@given(populations(max_images=5, max_nodes=0))
def test_layers_in_no_image_change_no_figure(population: Population) -> None:
    """Dropping the last image from the arrays but not its layers (layers no image uses, as a
    fleet's arrays keep after its images are collected) leaves every other image's figures
    as they are without those layers."""
    if len(population.images) < 2:
        return
    arrays = from_population(population)
    keep = len(population.images) - 1
    offsets = arrays.image_offsets[: keep + 1]
    labels = arrays.image_layer_labels
    orphaned = dataclasses.replace(
        arrays,
        image_offsets=offsets,
        image_layers=arrays.image_layers[: offsets[-1]],
        image_names=arrays.image_names[:keep],
        push_order=arrays.push_order[arrays.push_order < keep],
        image_layer_labels=None if labels is None else labels[: offsets[-1]],
        cache={},
    )
    without = from_population(
        Population(
            population.images[:keep],
            options=population.options,
            compression=population.compression,
        )
    )
    actual, expected = engine.image_table(orphaned), engine.image_table(without)
    for field in dataclasses.fields(engine.ImageTable):
        if field.name in ("flattened_key", "image_chain", "layer_disk_bytes"):
            continue  # ids and per-layer rows: the two arrays number their layers differently
        assert np.array_equal(getattr(actual, field.name), getattr(expected, field.name)), field


@given(populations(max_nodes=0), st.integers(1, 4), st.integers(1, 40))
def test_split_walk_equals_whole(population: Population, workers: int, per_worker: int) -> None:
    """Splitting the trie walk into runs of the preorder walked by several threads (as large
    populations are, each run re-stacking its first node's ancestors) changes no figure."""
    arrays = from_population(population)
    whole = engine.image_table(arrays)
    with (
        patch.object(engine, "_WORKERS", workers),
        patch.object(engine, "_ENTRIES_PER_WORKER", per_worker),
    ):
        split = engine.image_table(arrays)
    for field in dataclasses.fields(engine.ImageTable):
        assert np.array_equal(getattr(split, field.name), getattr(whole, field.name)), field


@given(populations(max_nodes=0))
def test_visible_entries_equal_the_merged_view(population: Population) -> None:
    """For every image and every path of the population, the entry `visible_entries` finds is
    the one the image's merged view (`overlay.merged_view`) shows there, or none."""
    arrays = from_population(population)
    names = arrays.path_names
    assert names is not None
    n_img, n_paths = arrays.n_images, arrays.n_paths
    image_ids = np.repeat(np.arange(n_img), n_paths)
    path_ids = np.tile(np.arange(n_paths), n_img)
    found = engine.visible_entries(arrays, image_ids, path_ids).reshape(n_img, n_paths)
    for i, image in enumerate(population.images):
        view = merged_view(image.layers)
        for p, name in enumerate(names):
            entry = found[i, p]
            shown = (
                None if entry < 0 else (names[arrays.entry_path[entry]], arrays.entry_kind[entry])
            )
            expected = view.get(name)
            assert shown == (None if expected is None else (name, int(expected[1].kind))), name


@given(populations(max_images=4, max_nodes=2))
def test_scratch_in_huge_pages_changes_no_figure(population: Population) -> None:
    """With every scratch array in a map of its own with huge pages asked for (as large
    populations get), every figure still equals the reference's."""
    with patch.object(engine, "_HUGE_PAGES_FROM", 0):
        actual = engine.evaluate(population)
    expected = reference.evaluate(population)
    assert actual.images == expected.images
    assert actual.registry_stored_bytes == expected.registry_stored_bytes
    assert actual.nodes == expected.nodes


def test_entries_hidden_twice_on_one_branch() -> None:
    """Files hidden first by an opaque marker (the view) and then by a whiteout of their
    directory (dive's view, where opaque markers hide nothing): each change is logged to be
    undone, three per file on the branch (an undo log sized for two overflowed). The figures
    equal the reference's. dive names `a` twice (the opaque directory, 0 bytes; the whiteout,
    sized by the 120 bytes of files it deletes from dive's view): 120 wasted."""
    files = [_file(f"a/f{i}", 10, f"c{i}") for i in range(12)]
    base = make_layer([make_entry("a", EntryKind.DIR), *files])
    opaque = make_layer([make_entry("a", EntryKind.DIR), make_entry("a", EntryKind.OPAQUE)])
    gone = make_layer([make_entry("a", EntryKind.WHITEOUT)])
    population = Population((Image("x:1", (base, opaque, gone)),))
    actual = engine.evaluate(population)
    assert actual.images == reference.evaluate(population).images
    assert actual.images[0].dive_wasted_bytes == 120
