"""Containers' writable layers (`accounting.containers`) and the lookup they rest on, the entry
an image shows at a path: worked examples, errors, and the lookup against `overlay`."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given

from layersim.accounting import reference
from layersim.accounting.arrays import canonical, from_population
from layersim.accounting.assemble import evaluate
from layersim.accounting.containers import check_container_paths, container_bytes, shown_entries
from layersim.errors import ModelError
from layersim.model import (
    Container,
    ContainerState,
    EntryKind,
    FileModify,
    FileWrite,
    Image,
    Node,
    Population,
    StorageDriver,
    StorageOptions,
    make_entry,
    make_layer,
)
from layersim.model.digest import content_digest
from layersim.model.overlay import merged_view
from tests.accounting.shuffle import shuffled
from tests.strategies import populations


def _file(path: str, size: int, content: str | None = None):
    return make_entry(path, EntryKind.FILE, size, content_digest(content or path, size))


BASE = make_layer(
    [make_entry("etc", EntryKind.DIR), _file("etc/a", 100), _file("etc/b", 9000), _file("etc/c", 5)]
)


def _population(container: Container, options: StorageOptions | None = None) -> Population:
    return Population(
        (Image("x:1", (BASE,)),),
        nodes=(Node("n", ("x:1",), (container,)),),
        options=options or StorageOptions(),
    )


WORKER = Container(
    "c",
    "x:1",
    ContainerState.RUNNING,
    writes=(FileWrite("tmp/log", 5000),),
    modifies=(FileModify("etc/b", 10),),
    deletes=("etc/c",),
)


def test_container_bytes_overlay2_copies_the_whole_file() -> None:
    """overlay2: a 5,000-byte write takes two blocks, a modify of the 9,000-byte etc/b copies
    it up whole (three blocks), the delete costs nothing: 5 x 4 KiB."""
    arrays = from_population(_population(WORKER))
    assert container_bytes(canonical(arrays)).tolist() == [5 * 4096]


def test_container_bytes_block_driver_copies_the_changed_blocks() -> None:
    """A block driver copies up only the changed blocks: 10 changed bytes take one block."""
    options = StorageOptions(driver=StorageDriver.BLOCK)
    arrays = from_population(_population(WORKER, options))
    assert container_bytes(canonical(arrays)).tolist() == [3 * 4096]


def test_container_bytes_of_arrays_out_of_canonical_order() -> None:
    """Arrays whose path ids and entries are out of canonical order give the same bytes: the
    queried paths and the entries found are read in the canonical arrays alike."""
    arrays = from_population(_population(WORKER))
    for seed in range(8):
        assert container_bytes(canonical(shuffled(arrays, seed))).tolist() == [5 * 4096]


def test_container_modify_of_a_hidden_file_is_an_error() -> None:
    """The engine refuses a copy-up of a file the image deleted, as the reference does."""
    add = make_layer([_file("tmp/a", 100)])
    delete = make_layer([make_entry("tmp/a", EntryKind.WHITEOUT)])
    pop = Population(
        (Image("w:1", (add, delete)),),
        nodes=(Node("n", ("w:1",), (Container("c", "w:1", modifies=(FileModify("tmp/a"),)),)),),
    )
    with pytest.raises(ModelError, match="not a file of image"):
        evaluate(pop)
    with pytest.raises(ModelError, match="not a file of image"):
        reference.evaluate(pop)


def test_container_errors_name_the_container_and_the_path() -> None:
    """A delete of a path the image lacks and a modify of a directory are refused, naming the
    container, the path and the image."""
    missing = Container("gone", "x:1", deletes=("etc/zzz",))
    with pytest.raises(ModelError, match="container 'gone' deletes 'etc/zzz', which image 'x:1'"):
        container_bytes(canonical(from_population(_population(missing))))
    directory = Container("dir", "x:1", modifies=(FileModify("etc"),))
    with pytest.raises(ModelError, match="container 'dir' modifies 'etc', which is not a file"):
        container_bytes(canonical(from_population(_population(directory))))


def test_check_container_paths_refuses_a_path_touched_twice() -> None:
    """A container that modifies and deletes one path is refused before interning."""
    twice = Container("c", "x:1", modifies=(FileModify("etc/a"),), deletes=("etc/a",))
    with pytest.raises(ModelError, match="container 'c' touches 'etc/a' twice"):
        check_container_paths(_population(twice))
    check_container_paths(_population(WORKER))  # each path once: no error


@given(populations(max_nodes=0))
def test_shown_entries_equal_the_merged_view(population: Population) -> None:
    """For every image and every path of the population, the entry `shown_entries` finds is
    the one the image's merged view (`overlay.merged_view`) shows there, or none."""
    canon = canonical(from_population(population))
    arrays = canon.arrays
    names = arrays.path_names
    assert names is not None
    n_img, n_paths = arrays.n_images, arrays.n_paths
    image_ids = np.repeat(np.arange(n_img), n_paths)
    path_ids = np.tile(np.arange(n_paths), n_img)
    found = shown_entries(canon, image_ids, path_ids).reshape(n_img, n_paths)
    for i, image in enumerate(population.images):
        view = merged_view(image.layers)
        for p, name in enumerate(names):
            entry = found[i, p]
            shown = (
                None if entry < 0 else (names[arrays.entry_path[entry]], arrays.entry_kind[entry])
            )
            expected = view.get(name)
            assert shown == (None if expected is None else (name, int(expected[1].kind))), name
