"""The columnar form of a population (`accounting.arrays`): CSR helpers, interning by
`from_population` on a worked example, the round trip through `to_population`, `validate` and
the canonical order."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given

from layersim.accounting import reference
from layersim.accounting.arrays import (
    ChunkArrays,
    canonical,
    csr_offsets,
    csr_rows,
    expand_images,
    from_population,
    path_strings,
    preorder_subtree_end,
    to_population,
)
from layersim.accounting.metrics import PopulationMetrics, PullRecord, PushRecord
from layersim.errors import ModelError
from layersim.model import (
    Container,
    EntryKind,
    FileModify,
    FileWrite,
    Image,
    Node,
    Population,
    make_entry,
    make_layer,
)
from layersim.model.digest import content_digest
from layersim.model.sizes import CompressionModel
from tests.accounting.shuffle import shuffled
from tests.strategies import populations


def _file(path: str, size: int, content: str):
    return make_entry(path, EntryKind.FILE, size, content_digest(content, size))


BASE = make_layer([make_entry("etc", EntryKind.DIR), _file("etc/os", 100, "os")], name="base")
APP = make_layer(
    [
        _file("app/bin", 10, "bin"),
        _file("etc/copy", 100, "os"),  # the base's content under another path
        make_entry("etc/os", EntryKind.WHITEOUT),
    ],
    name="app",
)
POPULATION = Population(
    (Image("r/a:1", (BASE, APP)), Image("r/a:2", (BASE,)), Image("s:1", (BASE, APP))),
    nodes=(
        Node(
            "n",
            ("r/a:1", "s:1"),
            (
                Container(
                    "c",
                    "s:1",
                    writes=(FileWrite("x", 5),),
                    modifies=(FileModify("app/bin", 3),),
                    deletes=("etc/copy",),
                ),
            ),
        ),
        Node("m", ("r/a:2",)),
    ),
    push_order=("s:1", "r/a:1"),
)


def test_csr_offsets_and_rows() -> None:
    """Per-row counts 2, 0, 3 give offsets 0, 2, 2, 5 and values of rows 0, 0, 2, 2, 2; no rows
    give the offsets [0] and no values."""
    offsets = csr_offsets([2, 0, 3])
    assert offsets.tolist() == [0, 2, 2, 5]
    assert csr_rows(offsets).tolist() == [0, 0, 2, 2, 2]
    assert csr_offsets([]).tolist() == [0]
    assert csr_rows(np.zeros(1, dtype=np.int64)).tolist() == []


def test_expand_images_gives_each_image_layer_rows() -> None:
    """Images 2, 1, 2 of the example (two layers, one, two): row offsets per position, the
    position of each row and its index into `image_layers`."""
    arrays = from_population(POPULATION)
    offsets, position, rows = expand_images(arrays, np.array([2, 1, 2]))
    assert offsets.tolist() == [0, 2, 3, 5]
    assert position.tolist() == [0, 0, 1, 2, 2]
    assert rows.tolist() == [3, 4, 2, 3, 4]


def test_from_population_interns_every_id() -> None:
    """The worked example, every id exact: paths in preorder (etc, etc/os, etc/copy, app,
    app/bin) with their parents; one content for "os" under two paths; layers by DiffID in
    first use; blobs, repositories, pushes, pulls and containers by index."""
    a = from_population(POPULATION)
    assert a.path_names == ("etc", "etc/os", "etc/copy", "app", "app/bin")
    assert a.path_parent.tolist() == [-1, 0, 0, -1, 3]
    assert a.content_file_bytes.tolist() == [100, 10]
    assert a.layer_offsets.tolist() == [0, 2, 5]
    assert a.entry_path.tolist() == [0, 1, 1, 2, 4]  # app's entries in path id order
    kinds = [EntryKind.DIR, EntryKind.FILE, EntryKind.WHITEOUT, EntryKind.FILE, EntryKind.FILE]
    assert a.entry_kind.tolist() == [int(k) for k in kinds]
    assert a.entry_content.tolist() == [-1, 0, -1, 0, 1]
    assert a.entry_file_bytes.tolist() == [0, 100, 0, 100, 10]
    assert a.layer_blob.tolist() == [0, 1]
    assert a.layer_tar_bytes.tolist() == [BASE.tar_bytes, APP.tar_bytes]
    assert a.image_offsets.tolist() == [0, 2, 3, 5]
    assert a.image_layers.tolist() == [0, 1, 0, 0, 1]
    assert a.image_repository.tolist() == [0, 0, 1]  # r/a twice, then s
    assert a.push_order.tolist() == [2, 0]
    assert (a.node_offsets.tolist(), a.node_images.tolist()) == ([0, 2, 3], [0, 2, 1])
    assert (a.container_node.tolist(), a.container_image.tolist()) == ([0], [2])
    assert a.container_running.tolist() == [True]
    assert (a.write_offsets.tolist(), a.write_file_bytes.tolist()) == ([0, 1], [5])
    assert (a.modify_path.tolist(), a.modify_changed_bytes.tolist()) == ([4], [3])
    assert a.delete_path.tolist() == [2]
    assert a.layer_labels == ("base", "app")
    assert a.image_layer_labels == ("base", "app", "base", "base", "app")


def test_from_population_marks_a_modify_of_one_block() -> None:
    """A modify with no changed bytes given is stored as -1 (one block)."""
    pop = Population(
        (Image("x:1", (BASE,)),),
        nodes=(Node("n", ("x:1",), (Container("c", "x:1", modifies=(FileModify("etc/os"),)),)),),
    )
    assert from_population(pop).modify_changed_bytes.tolist() == [-1]


def test_round_trip_keeps_every_array() -> None:
    """Arrays to objects and back: every array and label of the example is the same (digests
    become synthetic ones, ids stay)."""
    arrays = from_population(POPULATION)
    again = from_population(to_population(arrays))
    for field in dataclasses.fields(arrays):
        before, after = getattr(arrays, field.name), getattr(again, field.name)
        if isinstance(before, np.ndarray):
            assert np.array_equal(before, after), field.name
        elif isinstance(before, ChunkArrays):
            for part in dataclasses.fields(before):
                assert np.array_equal(getattr(before, part.name), getattr(after, part.name)), (
                    field.name,
                    part.name,
                )
        else:
            assert before == after, field.name


def _counted(metrics: PopulationMetrics) -> PopulationMetrics:
    """The metrics with each tuple of layer labels replaced by as many empty labels (a layer
    id keeps one label in the arrays where an image may name the same layer otherwise)."""

    def blank(labels: tuple[str, ...]) -> tuple[str, ...]:
        return ("",) * len(labels)

    def record(r: PushRecord | PullRecord) -> PushRecord | PullRecord:
        names = [f.name for f in dataclasses.fields(r) if f.name.endswith("_layers")]
        return dataclasses.replace(r, **{n: blank(getattr(r, n)) for n in names})

    return dataclasses.replace(
        metrics,
        images=tuple(dataclasses.replace(i, layers=blank(i.layers)) for i in metrics.images),
        pushes=tuple(record(p) for p in metrics.pushes),
        nodes=tuple(
            dataclasses.replace(n, pulls=tuple(record(p) for p in n.pulls)) for n in metrics.nodes
        ),
    )


@given(populations(max_images=4, max_nodes=2))
def test_round_trip_keeps_every_figure(population: Population) -> None:
    """`to_population` of a population's arrays evaluates (by the reference) to the same
    metrics as the population, record for record, layer labels aside. It keeps no compression
    model: both sides take the default's blob overhead (the layers keep their sizes)."""
    population = dataclasses.replace(population, compression=CompressionModel())
    expected = reference.evaluate(population)
    actual = reference.evaluate(to_population(from_population(population)))
    assert _counted(actual) == _counted(expected)


def test_path_strings_synthetic_names() -> None:
    """Without stored names, paths are named `p<id>` under their parents' names."""
    arrays = dataclasses.replace(from_population(POPULATION), path_names=None)
    assert path_strings(arrays) == ("p0", "p0/p1", "p0/p2", "p3", "p3/p4")


def test_validate_returns_whether_entries_are_sorted() -> None:
    """Good arrays pass and report their entries sorted; entries out of order still pass (as
    `canonical` reorders them) but report it."""
    arrays = from_population(POPULATION)
    assert arrays.validate() is True
    backwards = dataclasses.replace(
        arrays,
        entry_path=arrays.entry_path[[1, 0, 4, 3, 2]],
        entry_kind=arrays.entry_kind[[1, 0, 4, 3, 2]],
        entry_content=arrays.entry_content[[1, 0, 4, 3, 2]],
        entry_file_bytes=arrays.entry_file_bytes[[1, 0, 4, 3, 2]],
    )
    assert backwards.validate() is False


@pytest.mark.parametrize(
    ("change", "message"),
    [
        ({"image_offsets": np.array([0, 2, 2, 5])}, "an image has no layers"),
        ({"image_layers": np.array([0, 1, 0, 0, 7])}, "image layer id"),
        ({"entry_content": np.array([3, 0, -1, 0, 1])}, "content"),
        ({"entry_file_bytes": np.array([0, 100, 0, -1, 10])}, "negative file bytes"),
        ({"layer_blob": np.array([0])}, "layer_blob size"),
    ],
)
def test_validate_names_the_inconsistency(change: dict, message: str) -> None:
    """Each kind of inconsistency is refused with what is wrong."""
    arrays = dataclasses.replace(from_population(POPULATION), **change)
    with pytest.raises(ModelError, match=f"inconsistent population arrays: {message}"):
        arrays.validate()
    with pytest.raises(ModelError, match=message):
        canonical(arrays)


def test_preorder_subtree_end() -> None:
    """Ids 0..4 with parents -1, 0, 1, 0, -1 are a preorder: subtree ends 4, 3, 3, 4, 5; a
    child numbered before its parent is not."""
    assert preorder_subtree_end(np.array([-1, 0, 1, 0, -1])).tolist() == [4, 3, 3, 4, 5]
    assert preorder_subtree_end(np.array([1, -1])) is None


def test_canonical_keeps_canonical_arrays() -> None:
    """Arrays already in canonical order come back as they are, with their subtree ends."""
    arrays = from_population(POPULATION)
    canon = canonical(arrays)
    assert canon.arrays is arrays
    assert canon.path_end.tolist() == [3, 2, 3, 5, 5]


def test_canonical_reorders_shuffled_arrays() -> None:
    """Shuffled path ids and entries come back in canonical order: the same population (the
    same paths by name under the same parents, the same entries per layer)."""
    arrays = from_population(POPULATION)
    for seed in range(5):
        canon = canonical(shuffled(arrays, seed))
        got = canon.arrays
        assert got.validate() is True
        assert preorder_subtree_end(got.path_parent) is not None
        names = got.path_names
        assert names is not None
        parents = [names[p] if p >= 0 else None for p in got.path_parent.tolist()]
        assert dict(zip(names, parents, strict=True)) == {
            "etc": None,
            "etc/os": "etc",
            "etc/copy": "etc",
            "app": None,
            "app/bin": "app",
        }
        entries = [
            (names[p], k, c)
            for p, k, c in zip(got.entry_path, got.entry_kind, got.entry_content, strict=True)
        ]
        assert sorted(entries) == sorted(
            (arrays.path_names[p], k, c)
            for p, k, c in zip(
                arrays.entry_path, arrays.entry_kind, arrays.entry_content, strict=True
            )
        )
        assert [names[p] for p in got.modify_path] == ["app/bin"]
        assert [names[p] for p in got.delete_path] == ["etc/copy"]
