"""What stores hold (`accounting.storage`): stored bytes under each strategy, at one moment and
over epochs, and `docker system df` per node, on worked examples and against the single-epoch
figures (themselves held equal to the reference's)."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st

from layersim.accounting.arrays import canonical, from_population
from layersim.accounting.assemble import evaluate
from layersim.accounting.images import image_table
from layersim.accounting.storage import (
    EPOCH_BITS,
    disk_usage,
    node_stored,
    registry_stored,
    stored_timeline,
    whole_blocks,
)
from layersim.model import EntryKind, Image, Node, Population, make_entry, make_layer
from layersim.model.digest import content_digest
from tests.strategies import populations

_STRATEGIES = ("logical", "flattened", "layer", "file")


def _file(path: str, size: int, content: str | None = None):
    return make_entry(path, EntryKind.FILE, size, content_digest(content or path, size))


def test_whole_blocks_rounds_up() -> None:
    """Bytes rounded up to whole blocks: 0 stays 0, 1 and 4096 take one 4 KiB block, 4097 two."""
    values = np.array([0, 1, 4096, 4097], dtype=np.int64)
    assert whole_blocks(values, 4096).tolist() == [0, 4096, 4096, 8192]
    assert whole_blocks(values, 512).tolist() == [0, 512, 4096, 4608]
    assert values.tolist() == [0, 1, 4096, 4097]  # on a new array


def test_closed_form_n_apps_on_one_base() -> None:
    """n apps of app size A on one base of size B: a node stores B + nA by layer and n(B + A)
    flattened (disk bytes; sizes are whole blocks so A and B are exact)."""
    n, base_bytes, app_bytes = 7, 40960, 8192
    base = make_layer([_file("usr/lib/libc", base_bytes)])
    apps = [make_layer([_file(f"app{i}/bin", app_bytes)]) for i in range(n)]
    images = tuple(Image(f"app{i}:1", (base, apps[i])) for i in range(n))
    pop = Population(images, nodes=(Node("node", tuple(i.name for i in images)),))
    stored = evaluate(pop).nodes[0].stored_bytes
    assert stored.layer == base_bytes + n * app_bytes
    assert stored.flattened == n * (base_bytes + app_bytes)
    assert stored.logical == n * (base_bytes + app_bytes)
    assert stored.file == base_bytes + n * app_bytes


def test_registry_stored_by_blob_and_content() -> None:
    """A registry given (base, app) twice and (base, app2): the logical sum counts each image
    once however often it is pushed, the layer strategy each blob once, the file strategy each
    content once (app2 ships the base's file again)."""
    base = make_layer([_file("etc/os", 40960, "os")])
    app = make_layer([_file("app/bin", 8192, "bin")])
    app2 = make_layer([_file("app/os", 40960, "os")])
    arrays = from_population(Population((Image("a:1", (base, app)), Image("b:1", (base, app2)))))
    images = image_table(canonical(arrays))
    stored = registry_stored(arrays, np.array([0, 0, 1]), images)
    blob = arrays.layer_compressed_bytes.tolist()
    assert stored.logical == (blob[0] + blob[1]) + (blob[0] + blob[2])
    assert stored.layer == sum(blob)
    assert stored.flattened == int(images.flattened_compressed_bytes.sum())  # two exports
    assert stored.file == int(arrays.content_compressed_bytes.sum())
    assert arrays.content_compressed_bytes.size == 2  # "os" once, "bin"


def test_disk_usage_shares_the_base() -> None:
    """`docker system df -v` on a node with a:1 and b:1 on one base (a:1 pulled twice: one
    row): each image's size is its layers' disk bytes; the base is shared by both."""
    base = make_layer([_file("etc/os", 40960)])
    app = make_layer([_file("app/a", 8192)])
    other = make_layer([_file("app/b", 4096)])
    population = Population(
        (Image("a:1", (base, app)), Image("b:1", (base, other))),
        nodes=(Node("n", ("a:1", "b:1", "a:1")), Node("m", ("b:1",))),
    )
    arrays = from_population(population)
    images = image_table(canonical(arrays))
    usage = disk_usage(arrays, arrays.node_offsets, arrays.node_images, images)
    assert usage.node.tolist() == [0, 0, 1]
    assert usage.image.tolist() == [0, 1, 1]
    assert usage.size_bytes.tolist() == [40960 + 8192, 40960 + 4096, 40960 + 4096]
    assert usage.shared_bytes.tolist() == [40960, 40960, 0]


def test_node_stored_per_node() -> None:
    """Two nodes, one holding both images and one holding b:1: stored disk bytes per node."""
    base = make_layer([_file("etc/os", 40960)])
    app = make_layer([_file("app/a", 8192)])
    other = make_layer([_file("app/b", 4096)])
    arrays = from_population(
        Population(
            (Image("a:1", (base, app)), Image("b:1", (base, other))),
            nodes=(Node("n", ("a:1", "b:1")), Node("m", ("b:1",))),
        )
    )
    images = image_table(canonical(arrays))
    stored = node_stored(arrays, arrays.node_offsets, arrays.node_images, images)
    assert stored.layer.tolist() == [40960 + 8192 + 4096, 40960 + 4096]
    assert stored.logical.tolist() == [2 * 40960 + 8192 + 4096, 40960 + 4096]
    assert stored.flattened.tolist() == stored.logical.tolist()  # nothing hidden, two exports
    assert stored.file.tolist() == stored.layer.tolist()


@given(populations(max_images=5, max_nodes=0), st.data())
def test_stored_timeline_equals_each_epoch_alone(population: Population, data) -> None:
    """Over epochs, each store holds what the single-epoch accounting of the images it holds
    at that epoch gives, under every strategy: overlapping and disjoint stays, images held
    twice, holders that hold nothing; bit-mask file timelines (<= 64 epochs) and the sorted
    fallback (more); the chunk strategies too (the test populations carry chunks)."""
    arrays = from_population(population)
    images = image_table(canonical(arrays))
    n_images = arrays.n_images
    n_holders = data.draw(st.integers(1, 3))
    n_epochs = data.draw(st.sampled_from([1, 2, 4, EPOCH_BITS + 1]))
    n_rows = data.draw(st.integers(0, 8))
    ints = st.integers
    holder = np.array(data.draw(st.lists(ints(0, n_holders - 1), min_size=n_rows, max_size=n_rows)))
    image = np.array(data.draw(st.lists(ints(0, n_images - 1), min_size=n_rows, max_size=n_rows)))
    start = np.array(data.draw(st.lists(ints(0, n_epochs - 1), min_size=n_rows, max_size=n_rows)))
    stay = np.array(data.draw(st.lists(ints(0, 3), min_size=n_rows, max_size=n_rows)))
    holder, image, start = (x.astype(np.int64).reshape(-1) for x in (holder, image, start))
    end = np.minimum(start + stay.astype(np.int64).reshape(-1), n_epochs)
    # against single-epoch figures (held equal to the reference's); most of up to 65 epochs
    # hold the same images (often none), so each distinct holding is accounted once
    alone: dict[tuple[bool, tuple[int, ...]], tuple[int, ...]] = {}

    def stored_alone(registry: bool, held: np.ndarray) -> tuple[int, ...]:
        key = (registry, tuple(held.tolist()))
        if key not in alone:
            if registry:
                r = registry_stored(arrays, held, images)
                alone[key] = (r.logical, r.flattened, r.layer, r.file, r.chunk_cdc, r.chunk_fixed)
            else:
                table = node_stored(arrays, np.array([0, held.size]), held, images)
                figures = tuple(int(getattr(table, s)[0]) for s in _STRATEGIES)
                chunks = (int(table.chunks.cdc[0]), int(table.chunks.fixed[0]))
                alone[key] = figures + chunks
        return alone[key]

    for registry in (True, False):
        timeline = stored_timeline(
            arrays, images, holder, image, start, end, n_holders, n_epochs, registry=registry
        )
        for h in range(n_holders):
            for epoch in range(n_epochs):
                held = image[(holder == h) & (start <= epoch) & (epoch < end)]
                actual = tuple(int(getattr(timeline, s)[h, epoch]) for s in _STRATEGIES)
                # the chunk strategies over epochs, against their single-epoch figures
                chunks = (int(timeline.chunk_cdc[h, epoch]), int(timeline.chunk_fixed[h, epoch]))
                assert actual + chunks == stored_alone(registry, held), (registry, h, epoch)


def test_file_timeline_counts_a_content_while_any_layer_holds_it() -> None:
    """One content in two different layers, held over epochs 0-1 and 1-2 by one node: the
    file strategy stores it once in each of epochs 0, 1 and 2, and nothing in epoch 3."""
    base_a = make_layer([_file("usr/lib/a", 10_000, "shared")])
    base_b = make_layer([_file("opt/b", 10_000, "shared")])
    pop = Population((Image("a:1", (base_a,)), Image("b:1", (base_b,))))
    arrays = from_population(pop)
    images = image_table(canonical(arrays))
    timeline = stored_timeline(
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
