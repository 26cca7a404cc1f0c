"""The whole evaluation (`accounting.assemble`): every figure of the engine equal to the
reference's, and the tables turned into `metrics` objects with each layer under its outcome."""

from __future__ import annotations

from hypothesis import given

from layersim.accounting import reference
from layersim.accounting.arrays import from_population
from layersim.accounting.assemble import evaluate, metrics_from_arrays
from layersim.model import (
    EntryKind,
    Image,
    Node,
    Population,
    StorageOptions,
    make_entry,
    make_layer,
)
from layersim.model.digest import content_digest
from tests.accounting.shuffle import shuffled
from tests.strategies import populations


def _file(path: str, size: int, content: str | None = None):
    return make_entry(path, EntryKind.FILE, size, content_digest(content or path, size))


@given(populations())
def test_engine_equals_reference(population: Population) -> None:
    """Every figure the engine computes equals the reference's, integer for integer."""
    expected = reference.evaluate(population)
    actual = evaluate(population)
    assert actual.images == expected.images
    assert actual.registry_stored_bytes == expected.registry_stored_bytes
    assert actual.pushes == expected.pushes
    assert actual.nodes == expected.nodes


def test_engine_equals_reference_on_a_huge_modelled_content() -> None:
    """A content over 2 GiB with no chunk list (modelled: 32,769 content-defined and 2,049
    fixed chunks), shared by two images and beside a small file, pulled by a node: every
    figure the engine computes, chunk strategies included, equals the reference's. (The
    population strategy always gives so large a content a read-like chunk list, for speed.)"""
    huge = _file("data/blob", 2**31 + 5, "huge")
    base = make_layer([huge], name="base")
    app = make_layer([_file("app/bin", 8192)], name="app")
    other = make_layer([huge, _file("etc/x", 100)], name="other")
    population = Population(
        (Image("a:1", (base, app)), Image("b:1", (other,))),
        nodes=(Node("n", ("a:1", "b:1")),),
    )
    expected = reference.evaluate(population)
    actual = evaluate(population)
    assert actual.images == expected.images
    assert actual.registry_stored_bytes == expected.registry_stored_bytes
    assert actual.pushes == expected.pushes
    assert actual.nodes == expected.nodes
    assert expected.registry_stored_bytes.chunk_cdc > 2**29  # the content, compressed once


@given(populations(max_images=4, max_nodes=2))
def test_arrays_out_of_canonical_order_give_the_same_metrics(population: Population) -> None:
    """The same population with its path ids and entries out of canonical order evaluates to
    the same metrics, every figure and every record."""
    arrays = from_population(population)
    assert metrics_from_arrays(shuffled(arrays, 1)) == metrics_from_arrays(arrays)


def test_records_name_each_layer_under_its_outcome() -> None:
    """Pushes: a:1 uploads base and app; b:1 (another repository) mounts base and uploads its
    own app. Pulls, keeping blobs: y:1 downloads its base and extracts app from the kept
    blob, which counts as skipped (no bytes moved); x:1 again skips both."""
    base = make_layer([_file("etc/os", 40960, "base")], name="base")
    other_base = make_layer([_file("etc/os", 40960, "other")], name="other-base")
    app = make_layer([_file("app/bin", 8192)], name="app")
    other_app = make_layer([_file("app/bin", 4096, "b")], name="b-app")
    population = Population(
        (
            Image("a:1", (base, app)),
            Image("b:1", (base, other_app)),
            Image("y:1", (other_base, app)),
        ),
        nodes=(Node("n", ("a:1", "y:1", "a:1")),),
        push_order=("a:1", "b:1"),
        options=StorageOptions(keep_compressed_blobs=True),
    )
    metrics = evaluate(population)
    pushes = [
        (p.image, p.uploaded_layers, p.skipped_layers, p.mounted_layers) for p in metrics.pushes
    ]
    assert pushes == [
        ("a:1", ("base", "app"), (), ()),
        ("b:1", ("b-app",), ("base",), ("base",)),
    ]
    pulls = [(p.image, p.downloaded_layers, p.skipped_layers) for p in metrics.nodes[0].pulls]
    assert pulls == [
        ("a:1", ("base", "app"), ()),
        ("y:1", ("other-base",), ("app",)),
        ("a:1", (), ("base", "app")),
    ]
    assert metrics.nodes[0].pulls[1].extracted_disk_bytes == 40960 + 8192
