"""Per-image figures (`accounting.images`): the chain trie, the layer scan and the trie walk,
on worked examples and against the reference implementation."""

from __future__ import annotations

import dataclasses
from unittest.mock import patch

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from layersim.accounting import images, reference
from layersim.accounting.arrays import canonical, from_population
from layersim.accounting.assemble import evaluate
from layersim.accounting.images import ImageTable, LayerScan, build_chain_trie, image_table
from layersim.model import EntryKind, Image, Population, make_entry, make_layer
from layersim.model.digest import content_digest
from tests.strategies import populations


def _file(path: str, size: int, content: str | None = None):
    return make_entry(path, EntryKind.FILE, size, content_digest(content or path, size))


def _tables_equal(actual: ImageTable, expected: ImageTable, skip: tuple[str, ...] = ()) -> None:
    """Every array of two image tables equal, the layer scan's field by field."""
    for field in dataclasses.fields(ImageTable):
        if field.name in skip:
            continue
        left, right = getattr(actual, field.name), getattr(expected, field.name)
        if isinstance(left, LayerScan):
            for part in dataclasses.fields(LayerScan):
                assert np.array_equal(getattr(left, part.name), getattr(right, part.name)), part
        else:
            assert np.array_equal(left, right), field


@given(populations(max_images=4, max_nodes=2))
def test_image_table_is_order_free(population: Population) -> None:
    """Listing the images in reverse order permutes the per-image figures and nothing else."""
    forward = image_table(canonical(from_population(population)))
    backward_population = Population(
        tuple(reversed(population.images)),
        push_order=population.push_order,
        options=population.options,
        compression=population.compression,
        chunks=population.chunks,  # the same chunk lists (modelling them again is most of the cost)
    )
    backward = image_table(canonical(from_population(backward_population)))
    n = len(population.images)
    for field in ("flattened_tar_bytes", "shadowed_file_bytes", "dive_wasted_bytes"):
        assert getattr(forward, field).tolist() == getattr(backward, field)[::-1].tolist()
        assert getattr(forward, field).size == n


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
    trie = build_chain_trie(from_population(pop))
    assert trie.size == 5
    assert trie.depth_bounds.tolist() == [0, 2, 5]
    chains = trie.image_chain.tolist()
    assert chains[0] == chains[2]  # both images start at base1
    assert chains[1] != chains[5]  # app on base1 vs app on base2


def test_chain_trie_parents_depths_and_accumulate() -> None:
    """The trie of a:1 = (base, app) and b:1 = (base, other): node 0 is base (the root), nodes 1
    and 2 the two apps under it; sums over ancestors-or-self add the root's value to each."""
    base = make_layer([_file("etc/os", 10)])
    app = make_layer([_file("app/x", 10)])
    other = make_layer([_file("app/y", 10)])
    trie = build_chain_trie(
        from_population(Population((Image("a:1", (base, app)), Image("b:1", (base, other)))))
    )
    assert trie.parent.tolist() == [-1, 0, 0]
    assert trie.depth.tolist() == [0, 1, 1]
    assert trie.layer.tolist() == [0, 1, 2]
    assert trie.image_chain.tolist() == [0, 1, 0, 2]
    assert trie.accumulate(np.array([100, 10, 1])).tolist() == [100, 110, 101]


def test_scan_layers_worked_example() -> None:
    """Per layer: file bytes, disk bytes (5,000 B of file in two 4 KiB blocks, a directory one
    block) and the contents of its regular files, CSR by layer."""
    first = make_layer(
        [make_entry("etc", EntryKind.DIR), _file("etc/a", 5000, "a"), _file("etc/b", 10, "b")]
    )
    second = make_layer([make_entry("etc/a", EntryKind.WHITEOUT), _file("etc/c", 5000, "a")])
    scan = images.scan_layers(from_population(Population((Image("x:1", (first, second)),))))
    assert scan.file_bytes.tolist() == [5010, 5000]
    assert scan.disk_bytes.tolist() == [4096 + 8192 + 4096, 8192]
    assert scan.content_offsets.tolist() == [0, 2, 3]
    assert scan.contents.tolist() == [0, 1, 0]  # the same bytes under two paths: one content


def test_image_table_worked_example() -> None:
    """A base of two files and an app that deletes one and overwrites the other: the layered
    and flattened figures, and the shadowed bytes, exact; the rest equal to the reference."""
    base = make_layer([_file("a", 100, "a0"), _file("b", 200, "b0")])
    app = make_layer([make_entry("a", EntryKind.WHITEOUT), _file("b", 50, "b1")])
    population = Population((Image("x:1", (base, app)),))
    table = image_table(canonical(from_population(population)))
    assert table.layered_tar_bytes.tolist() == [base.tar_bytes + app.tar_bytes]
    assert table.layered_disk_bytes.tolist() == [3 * 4096]
    assert table.flattened_disk_bytes.tolist() == [4096]  # only the new b is shown
    assert table.shadowed_file_bytes.tolist() == [300]  # the old a and the old b
    assert table.dive_user_bytes.tolist() == [50]
    assert table.flattened_key.tolist() == [1]  # the top chain node
    expected = reference.evaluate(population).images[0]
    assert table.flattened_tar_bytes.tolist() == [expected.flattened_tar_bytes]
    assert table.flattened_compressed_bytes.tolist() == [expected.flattened_compressed_bytes]
    assert table.dive_wasted_bytes.tolist() == [expected.dive_wasted_bytes]


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
    )
    without = from_population(
        Population(
            population.images[:keep],
            options=population.options,
            compression=population.compression,
            chunks=population.chunks,
        )
    )
    actual = image_table(canonical(orphaned))
    expected = image_table(canonical(without))
    # ids and per-layer rows: the two arrays number their layers differently
    _tables_equal(actual, expected, skip=("flattened_key", "image_chain", "layers"))


@given(populations(max_nodes=0), st.integers(1, 4), st.integers(1, 40))
def test_split_walk_equals_whole(population: Population, workers: int, per_worker: int) -> None:
    """Splitting the trie walk into runs of the preorder walked by several threads (as large
    populations are, each run re-stacking its first node's ancestors) changes no figure."""
    canon = canonical(from_population(population))
    whole = image_table(canon)
    with (
        patch.object(images, "WORKERS", workers),
        patch.object(images, "ENTRIES_PER_WORKER", per_worker),
    ):
        split = image_table(canon)
    _tables_equal(split, whole)


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
    actual = evaluate(population)
    assert actual.images == reference.evaluate(population).images
    assert actual.images[0].dive_wasted_bytes == 120


@given(populations(max_nodes=0), st.integers(1, 6))
def test_walk_in_parts_equals_whole(population: Population, n_parts: int) -> None:
    """Cutting the trie walk into parts that each carry only the layers and entries they read
    (renumbered; as a cluster's tasks do) changes no figure, for any number of parts."""
    canon = canonical(from_population(population))
    whole = image_table(canon)
    _tables_equal(image_table(canon, images.WalkHere(n_parts)), whole)


def test_overlay_parts_carry_only_their_layers() -> None:
    """Two image trees of 3 entries each, cut into two parts of about equal work (the
    preorder: root a 2 entries, top a 1, root b 1, top b 2; the cut falls after root a): the
    first part holds root a's entries only; the second walks top a (re-stacking its ancestor
    root a) and tree b, so it holds all 6; every trie node is in exactly one part."""
    base_a = make_layer([_file("a", 10, "ca"), _file("b", 20, "cb")])
    base_b = make_layer([_file("x", 30, "cx")])
    top_a = make_layer([_file("c", 5, "cc")])
    top_b = make_layer([_file("y", 7, "cy"), _file("z", 8, "cz")])
    population = Population((Image("a:1", (base_a, top_a)), Image("b:1", (base_b, top_b))))
    canon = canonical(from_population(population))
    arrays = canon.arrays
    trie = images.build_chain_trie(arrays)
    parts = images.overlay_parts(arrays, trie, canon.path_end, 2)
    assert len(parts) == 2
    assert [p.entry_path.size for p in parts] == [2, 6]
    assert [p.prefix.size for p in parts] == [0, 1]
    assert sorted(np.concatenate([p.nodes for p in parts]).tolist()) == list(range(trie.size))
