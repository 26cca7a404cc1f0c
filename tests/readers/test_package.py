"""Tests of `layersim.readers` itself (`read_images`, `read_population`): paths of either
format read in order, images named uniquely, layers shared across paths read once, and the
population they form.
"""

from __future__ import annotations

import gzip
import os
import tarfile
from datetime import UTC, datetime
from pathlib import Path

import pytest

from layersim.accounting.reference import evaluate
from layersim.errors import ImageFormatError
from layersim.model import StorageOptions
from layersim.model.sizes import CompressionModel
from layersim.readers import DEFAULT_NODE, read, read_images, read_population
from tests.readers.images import (
    APP,
    BASE,
    Layout,
    M,
    docker_archive,
    good_layout,
    make_tar,
    sha,
    tar_of_dir,
)


def test_population_pushes_in_read_order_and_one_node_pulls_all(tmp_path: Path) -> None:
    """Paths form one population: push order = read order; the base layer blob is skipped in
    its own repository and mounted in another; a repeated name gets `#2` in the same
    repository; the uncompressed archive copy is another blob."""
    base, app = make_tar(BASE), make_tar(APP)
    base_layout = Layout(tmp_path / "base")
    base_layout.add(base_layout.image([base]), "1")
    app_layout = Layout(tmp_path / "app")
    app_layout.add(app_layout.image([base, app]), "1")
    app_layout.add(app_layout.image([base, app]), "2")
    archive = docker_archive(tmp_path / "a.tar", [(["app:1"], [base, app])])
    population = read_population([base_layout.root, app_layout.root, archive])
    names = ["base:1", "app:1", "app:2", "app:1#2"]
    assert population.push_order == tuple(names)
    assert [node.images for node in population.nodes] == [tuple(names)]
    pushes = {p.image: p for p in evaluate(population).pushes}
    base_label = sha(base)[7:19]
    app_label = sha(app)[7:19]
    assert pushes["app:1"].mounted_layers == (base_label,)
    assert pushes["app:1"].uploaded_layers == (app_label,)
    assert pushes["app:1"].uploaded_bytes == len(gzip.compress(app, mtime=0))
    assert pushes["app:2"].uploaded_layers == () and pushes["app:2"].mounted_layers == ()
    assert pushes["app:1#2"].uploaded_bytes == len(base) + len(app)


def test_shadowed_bytes_of_a_file_deleted_in_a_later_layer(tmp_path: Path) -> None:
    """Add then delete in the next layer: shadowed bytes are the file's; doing both in one
    layer costs nothing; a single-layer image's flattened blob equals its layer's."""
    blob = os.urandom(50_000)
    add = make_tar([M("opt", kind=tarfile.DIRTYPE), M("opt/blob.bin", blob)])
    delete = make_tar([M("opt", kind=tarfile.DIRTYPE), M("opt/.wh.blob.bin")])
    layout = Layout(tmp_path / "l")
    layout.add(layout.image([make_tar(BASE), add, delete]), "wasteful")
    layout.add(layout.image([make_tar(BASE)]), "base")
    metrics = {m.name: m for m in evaluate(read_population([layout.root])).images}
    assert metrics["l:wasteful"].shadowed_file_bytes == len(blob)
    assert (
        metrics["l:base"].flattened_compressed_bytes == metrics["l:base"].layered_compressed_bytes
    )
    assert metrics["l:base"].flattened_tar_bytes == metrics["l:base"].layered_tar_bytes


def test_not_an_image(tmp_path: Path) -> None:
    """A directory that is neither an OCI layout nor a docker-archive, by its exact message."""
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageFormatError, match="neither an OCI image layout") as info:
        read_images([tmp_path / "empty"])
    assert str(info.value) == (
        f"{tmp_path / 'empty'}: neither an OCI image layout (index.json) nor a docker-archive "
        "(manifest.json)"
    )


def test_image_without_layers(tmp_path: Path) -> None:
    """An image of no layer is refused: the model's images have one or more."""
    layout = Layout(tmp_path / "l")
    layout.add(layout.image([]), "empty")
    with pytest.raises(ImageFormatError, match="has no layers"):
        read_images([layout.root])


def test_reading_writes_nothing(tmp_path: Path) -> None:
    """Reading leaves the input tree exactly as it was (no extraction, no temp files)."""
    layout, _ = good_layout(tmp_path)
    before = sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    read_images([layout.root])
    assert sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before


def test_repeated_names_are_numbered_in_read_order(tmp_path: Path) -> None:
    """The same image read three times is `app:1`, `app:1#2`, `app:1#3`, and the three share
    their Layer objects (one blob, streamed once)."""
    layout, _ = good_layout(tmp_path)
    images = read_images([layout.root, layout.root, layout.root])
    assert [image.name for image in images] == ["app:1", "app:1#2", "app:1#3"]
    assert images[0].layers[0] is images[1].layers[0] is images[2].layers[0]


def test_progress_counts_distinct_stored_bytes_once(tmp_path: Path) -> None:
    """Progress runs from (0, total) to (total, total), total the stored bytes of the distinct
    blobs: a blob shared by two paths counts once."""
    layout, desc = good_layout(tmp_path)
    stored = sum(layer["size"] for layer in layout.manifest(desc)["layers"])
    calls: list[tuple[int, int]] = []
    read_images([layout.root, layout.root], progress=lambda d, t: calls.append((d, t)))
    assert calls[0] == (0, stored) and calls[-1] == (stored, stored)


def test_read_population_options(tmp_path: Path) -> None:
    """One node (named `node` by default, or as asked) pulls every image in read order; the
    storage options and compression model given are the population's."""
    layout, _ = good_layout(tmp_path)
    default = read_population([layout.root])
    assert [(n.name, n.images) for n in default.nodes] == [(DEFAULT_NODE, ("app:1",))]
    assert DEFAULT_NODE == "node"
    assert default.options == StorageOptions() and default.compression == CompressionModel()
    options = StorageOptions(block_bytes=512)
    named = read_population([layout.root], node="worker-1", options=options)
    assert [(n.name, n.images, n.containers) for n in named.nodes] == [("worker-1", ("app:1",), ())]
    assert named.options is options


def test_references_choose_the_format_and_the_image(tmp_path: Path) -> None:
    """`oci:DIR:REF` reads only the image named REF; `oci:DIR` every image; `oci-archive:` the
    layout packed in a tar; `docker-archive:` an archive; each transport refuses the other
    format, and an unknown REF lists the names there are."""
    layout = Layout(tmp_path / "app")
    layout.add(layout.image([make_tar(BASE)]), "1")
    layout.add(layout.image([make_tar(BASE), make_tar(APP)]), "2")
    root = layout.root
    assert [i.name for i in read_images([f"oci:{root}:2"])] == ["app:2"]
    assert [i.name for i in read_images([f"oci:{root}"])] == ["app:1", "app:2"]
    packed = tar_of_dir(root, tmp_path / "app.tar")
    assert read_images([f"oci-archive:{packed}:2"])[0].layers == read_images([root])[1].layers
    archive = docker_archive(tmp_path / "d.tar", [(["reg/app:1"], [make_tar(BASE)])])
    assert [i.name for i in read_images([f"docker-archive:{archive}"])] == ["reg/app:1"]
    with pytest.raises(ImageFormatError, match=r"no image named '3' \(it has: 1, 2\)"):
        read_images([f"oci:{root}:3"])
    with pytest.raises(ImageFormatError, match="not a docker-archive"):
        read_images([f"docker-archive:{root}"])
    with pytest.raises(ImageFormatError, match="not an OCI image layout"):
        read_images([f"oci:{archive}"])


def test_read_keeps_each_images_creation_time(tmp_path: Path) -> None:
    """`read` returns, in image order, each config's `created`; an image whose config has none
    (every docker-archive image here) has None."""
    layout = Layout(tmp_path / "layout")
    layout.add(layout.image([make_tar(BASE)], created="2024-05-01T00:00:00Z"), "dated:1")
    layout.add(layout.image([make_tar(APP)]), "undated:1")
    archive = docker_archive(tmp_path / "a.tar", [(["reg/app:1"], [make_tar(BASE)])])
    result = read([layout.root, archive])
    assert [image.name for image in result.images] == [
        "dated:1",
        "undated:1",
        "reg/app:1",
    ]
    assert result.created == (datetime(2024, 5, 1, tzinfo=UTC), None, None)
