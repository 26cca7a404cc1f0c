"""Tests of `layersim.model`: path normalisation, tar names, entries and layers (identity,
invariants, sizes), image references, storage options and population validation."""

from __future__ import annotations

import dataclasses
import random

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.errors import ModelError
from layersim.model import (
    Container,
    EntryKind,
    Image,
    Node,
    Population,
    StorageOptions,
    make_entry,
    make_layer,
    normalize_path,
    parent_path,
    repository_of,
    tar_name,
)
from layersim.model.digest import chain_ids, content_digest, parse_digest
from layersim.model.sizes import CompressionModel
from tests.strategies import entries


def _file(path: str, file_bytes: int, name: str | None = None, cls: str | None = None):
    return make_entry(
        path,
        EntryKind.FILE,
        file_bytes,
        content=content_digest(name or path, file_bytes),
        content_class=cls,
    )


# --- paths --------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("usr/bin/sh", "usr/bin/sh"),
        ("/usr/bin/sh", "usr/bin/sh"),
        ("./usr/bin/sh", "usr/bin/sh"),
        ("usr/bin/", "usr/bin"),
        ("usr//bin/./sh", "usr/bin/sh"),
        ("///a///", "a"),
        (".wh.x", ".wh.x"),
    ],
)
def test_normalize_path(raw: str, expected: str) -> None:
    """Leading '/' and './', trailing '/', empty and '.' components are dropped."""
    assert normalize_path(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        ("", "empty path"),
        ("/", "empty path"),
        ("./.", "empty path"),
        ("..", "climbs out"),
        ("a/../../etc", "climbs out"),
        ("a\0b", "NUL"),
        (None, "must be a string"),
    ],
)
def test_normalize_path_rejects(raw: object, message: str) -> None:
    """Empty paths, paths that climb out of the root, NUL bytes and non-strings: ModelError."""
    with pytest.raises(ModelError, match=message):
        normalize_path(raw)  # type: ignore[arg-type]


def test_normalize_path_rejects_any_dotdot_even_inside_the_root() -> None:
    """`a/../b` stays inside the root but is rejected too (conservative: a layer tar naming
    `..` is suspect); documented here so a change is deliberate."""
    with pytest.raises(ModelError, match="climbs out"):
        normalize_path("a/../b")


def test_parent_path() -> None:
    """parent_path: the directory holding a path, '' at the top."""
    assert parent_path("a/b/c") == "a/b"
    assert parent_path("a") == ""


@pytest.mark.parametrize(
    ("kind", "expected"),
    [
        (EntryKind.FILE, "usr/lib/x"),
        (EntryKind.DIR, "usr/lib/x/"),
        (EntryKind.SYMLINK, "usr/lib/x"),
        (EntryKind.HARDLINK, "usr/lib/x"),
        (EntryKind.WHITEOUT, "usr/lib/.wh.x"),
        (EntryKind.OPAQUE, "usr/lib/x/.wh..wh..opq"),
    ],
)
def test_tar_name_of_each_kind(kind: EntryKind, expected: str) -> None:
    """The name an entry carries in the tar: directories end in '/', a whiteout prefixes the
    base name with `.wh.`, an opaque marker is `<dir>/.wh..wh..opq`."""
    assert tar_name("usr/lib/x", kind) == expected


def test_tar_name_of_top_level_whiteout_and_opaque() -> None:
    """At the top level there is no directory part: `.wh.x` and `x/.wh..wh..opq`."""
    assert tar_name("x", EntryKind.WHITEOUT) == ".wh.x"
    assert tar_name("x", EntryKind.OPAQUE) == "x/.wh..wh..opq"


# --- entries --------------------------------------------------------------------------------


def test_make_entry_sizes() -> None:
    """A 4096-byte binary file: tar 512 + 4096 = 4608; compressed 52 + ceil(4096000/2400) =
    52 + 1707 = 1759; content alone 1707; disk one 4096 block (8 blocks of 512)."""
    e = _file("/usr/bin/x", 4096)
    assert e.path == "usr/bin/x"
    assert e.tar_bytes == 4608
    assert e.compressed_bytes == 1759
    assert e.content_compressed_bytes == 1707
    assert e.disk_bytes() == 4096
    assert e.disk_bytes(512) == 4096
    assert not e.is_whiteout


def test_make_entry_non_files() -> None:
    """A directory costs a header (512 tar, 52 compressed) and one disk block; a symlink,
    a hard link, a whiteout and an opaque marker cost a header and no disk block."""
    d = make_entry("etc", EntryKind.DIR)
    assert (d.tar_bytes, d.compressed_bytes, d.disk_bytes(), d.disk_bytes(512)) == (
        512,
        52,
        4096,
        512,
    )
    for kind in (EntryKind.SYMLINK, EntryKind.HARDLINK, EntryKind.WHITEOUT, EntryKind.OPAQUE):
        e = make_entry("etc/x", kind, link_target="y" if kind < EntryKind.WHITEOUT else "")
        assert (e.tar_bytes, e.compressed_bytes, e.disk_bytes(), e.content) == (512, 52, 0, None)
    assert make_entry("a", EntryKind.WHITEOUT).is_whiteout
    assert make_entry("a", EntryKind.OPAQUE).is_whiteout


def test_make_entry_long_whiteout_name_counts_its_tar_name() -> None:
    """The header size follows the *tar* name: a whiteout of a 97-char name is `.wh.` + 97 =
    101 chars with no '/': a PAX header (512 + 512 + 512)."""
    assert make_entry("w" * 97, EntryKind.WHITEOUT).tar_bytes == 1536
    assert make_entry("w" * 96, EntryKind.WHITEOUT).tar_bytes == 512


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"kind": EntryKind.FILE, "file_bytes": -1, "content": "c"}, "non-negative"),
        ({"kind": EntryKind.FILE, "file_bytes": True, "content": "c"}, "non-negative"),
        ({"kind": EntryKind.FILE, "file_bytes": 1.5, "content": "c"}, "non-negative"),
        ({"kind": EntryKind.DIR, "file_bytes": 3}, "only regular files"),
        ({"kind": EntryKind.FILE, "file_bytes": 3}, "content identity"),
        ({"kind": EntryKind.FILE, "content": "c", "content_class": "video"}, "unknown content"),
    ],
)
def test_make_entry_rejects(kwargs: dict, message: str) -> None:
    """Negative, bool or float sizes, bytes on a non-file, a file without content, an unknown
    content class: ModelError."""
    with pytest.raises(ModelError, match=message):
        make_entry("x", **kwargs)


def test_make_entry_drops_content_of_non_files() -> None:
    """A content identity given to a directory is ignored (non-files have no bytes)."""
    assert make_entry("d", EntryKind.DIR, content=content_digest("x", 0)).content is None


# --- layers ---------------------------------------------------------------------------------


def test_make_layer_sizes() -> None:
    """Layer of a 4096-byte binary file and a directory: tar 4608 + 512 + 1024 end = 6144;
    compressed 1759 + 52 + 123 overhead = 1934; disk 4096 + 4096 = 8192; file bytes 4096."""
    layer = make_layer([_file("d/x", 4096), make_entry("d", EntryKind.DIR)])
    assert layer.tar_bytes == 6144
    assert layer.compressed_bytes == 1934
    assert layer.disk_bytes() == 8192
    assert layer.disk_bytes(512) == 4096 + 512
    assert layer.file_bytes == 4096


def test_empty_layer_is_the_end_blocks() -> None:
    """A layer with no entries is 1024 tar bytes, 123 compressed, 0 on disk."""
    layer = make_layer([])
    assert (layer.tar_bytes, layer.compressed_bytes, layer.disk_bytes()) == (1024, 123, 0)


def test_layer_identity_same_entries_same_mtime() -> None:
    """The same entries built at the same time are the same DiffID and blob digest, and equal
    as values whatever their report names."""
    a = make_layer([_file("x", 10), _file("y", 20)], mtime=5, name="one")
    b = make_layer([_file("x", 10), _file("y", 20)], mtime=5, name="two")
    assert a.diff_id == b.diff_id
    assert a.blob_digest == b.blob_digest
    assert a == b
    assert (a.label, b.label) == ("one", "two")
    parse_digest(a.diff_id)
    parse_digest(a.blob_digest)
    assert a.diff_id != a.blob_digest  # never conflated


def test_layer_identity_other_mtime_is_another_layer() -> None:
    """The same entries at another mtime: another tar, another DiffID and blob, same sizes."""
    a = make_layer([_file("x", 10)], mtime=0)
    b = make_layer([_file("x", 10)], mtime=1)
    assert a.diff_id != b.diff_id
    assert a.blob_digest != b.blob_digest
    assert (a.tar_bytes, a.compressed_bytes) == (b.tar_bytes, b.compressed_bytes)


def test_layer_identity_depends_on_every_entry_field() -> None:
    """Another path, size, content, kind or link target is another DiffID."""
    base = make_layer([_file("x", 10)])
    assert make_layer([_file("y", 10)]).diff_id != base.diff_id
    assert make_layer([_file("x", 11)]).diff_id != base.diff_id
    assert make_layer([_file("x", 10, name="other")]).diff_id != base.diff_id
    assert make_layer([make_entry("x", EntryKind.DIR)]).diff_id != base.diff_id
    link_a = make_layer([make_entry("x", EntryKind.SYMLINK, link_target="a")])
    link_b = make_layer([make_entry("x", EntryKind.SYMLINK, link_target="b")])
    assert link_a.diff_id != link_b.diff_id


@given(entries(), st.randoms(use_true_random=False))
def test_layer_identity_is_order_independent(layer_entries: list, rnd: random.Random) -> None:
    """Entries are sorted canonically: any input order gives the same layer."""
    shuffled = list(layer_entries)
    rnd.shuffle(shuffled)
    assert make_layer(shuffled) == make_layer(layer_entries)
    assert make_layer(shuffled).diff_id == make_layer(layer_entries).diff_id


def test_duplicate_paths_are_rejected() -> None:
    """One entry per path per layer: two files, a file and a whiteout, a file and an opaque
    marker at one path are ModelErrors."""
    with pytest.raises(ModelError, match="appears twice"):
        make_layer([_file("x", 1), _file("x", 2)])
    with pytest.raises(ModelError, match="appears twice"):
        make_layer([_file("x", 1), make_entry("x", EntryKind.WHITEOUT)])
    with pytest.raises(ModelError, match="appears twice"):
        make_layer([_file("x", 1), make_entry("x", EntryKind.OPAQUE)])
    with pytest.raises(ModelError, match="appears twice"):
        make_layer([make_entry("x", EntryKind.OPAQUE), make_entry("x", EntryKind.OPAQUE)])
    with pytest.raises(ModelError, match="appears twice"):
        make_layer([make_entry("x", EntryKind.DIR), make_entry("x", EntryKind.DIR)])


@pytest.mark.parametrize(
    "top",
    [
        _file("d", 1),
        make_entry("d", EntryKind.SYMLINK, link_target="x"),
        make_entry("d", EntryKind.HARDLINK, link_target="x"),
        make_entry("d", EntryKind.WHITEOUT),
    ],
    ids=["file", "symlink", "hardlink", "whiteout"],
)
def test_nothing_below_a_non_directory_of_the_same_layer(top) -> None:
    """A file, link or whiteout has no children in one tar: `d/e/x` below any of them is a
    ModelError naming both paths (a real tar would delete and recreate `d` as a directory,
    i.e. an opaque directory)."""
    with pytest.raises(ModelError, match="'d/e/x' lies below 'd'"):
        make_layer([top, _file("d/e/x", 1)])


def test_children_of_directories_and_opaque_markers_are_allowed() -> None:
    """Below a directory, an opaque marker, or a directory beside its marker: fine."""
    make_layer([make_entry("d", EntryKind.DIR), _file("d/x", 1)])
    make_layer([make_entry("d", EntryKind.OPAQUE), _file("d/x", 1)])
    make_layer([make_entry("d", EntryKind.DIR), make_entry("d", EntryKind.OPAQUE), _file("d/x", 1)])


def test_directory_beside_its_opaque_marker_is_allowed() -> None:
    """A directory entry and its own opaque marker share a path (in either input order)."""
    d, o = make_entry("x", EntryKind.DIR), make_entry("x", EntryKind.OPAQUE)
    layer = make_layer([o, d])
    assert [e.kind for e in layer.entries] == [EntryKind.DIR, EntryKind.OPAQUE]
    assert make_layer([d, o]) == layer


def test_one_blob_digest_has_one_compressed_size() -> None:
    """The same entries whose content is declared `text` in one layer and `archive` in
    another are different bytes to the compression model, so they are different layers: one
    DiffID always means one compressed size (123 + 52 + 2500 = 2675 vs 123 + 52 + 10000)."""
    text = make_layer([_file("a", 10_000, name="x", cls="text")])
    archive = make_layer([_file("a", 10_000, name="x", cls="archive")])
    assert text.diff_id != archive.diff_id
    assert text.blob_digest != archive.blob_digest
    assert (text.compressed_bytes, archive.compressed_bytes) == (2675, 10175)


# --- image references -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("reference", "repository"),
    [
        ("reg:5000/team/app:1.2", "reg:5000/team/app"),
        ("reg:5000/team/app", "reg:5000/team/app"),
        ("app@sha256:" + "0" * 64, "app"),
        ("app:1.2@sha256:" + "0" * 64, "app"),
        ("reg:5000/app@sha256:" + "0" * 64, "reg:5000/app"),
        ("app", "app"),
        ("app:latest", "app"),
        ("library/app:1", "library/app"),
    ],
)
def test_repository_of(reference: str, repository: str) -> None:
    """The repository drops the tag (a ':' after the last '/') and any digest; a registry port
    (a ':' before a '/') stays."""
    assert repository_of(reference) == repository


def test_image_identities() -> None:
    """An image's DiffIDs are its layers' in order; its ChainIDs follow from them."""
    a, b = make_layer([_file("x", 1)]), make_layer([_file("y", 1)])
    image = Image("reg:5000/app:1", (a, b))
    assert image.repository == "reg:5000/app"
    assert image.diff_ids == [a.diff_id, b.diff_id]
    assert image.chain_ids == chain_ids([a.diff_id, b.diff_id])


# --- options and population -------------------------------------------------------------------


@pytest.mark.parametrize("block", [0, -4096, 3000, 4095])
def test_storage_options_block_must_be_a_power_of_two(block: int) -> None:
    """Block sizes that are not positive powers of two are ModelErrors."""
    with pytest.raises(ModelError, match="power of two"):
        StorageOptions(block_bytes=block)


def test_storage_options_defaults() -> None:
    """Defaults: 4 KiB blocks, overlay2, compressed blobs not kept (Docker)."""
    options = StorageOptions()
    assert (options.block_bytes, options.driver.value, options.keep_compressed_blobs) == (
        4096,
        "overlay2",
        False,
    )


def _image(name: str) -> Image:
    return Image(name, (make_layer([_file("x", 1)]),))


@pytest.mark.parametrize(
    ("build", "message"),
    [
        (lambda: Population((Image("a:1", ()),)), "has no layers"),
        (lambda: Population((_image("a:1"), _image("a:1"))), "defined twice"),
        (lambda: Population((_image("a:1"),), push_order=("b:1",)), "unknown image 'b:1'"),
        (
            lambda: Population((_image("a:1"),), nodes=(Node("n"), Node("n"))),
            "node 'n' is defined twice",
        ),
        (
            lambda: Population((_image("a:1"),), nodes=(Node("n", ("b:1",)),)),
            "pulls unknown image",
        ),
        (
            lambda: Population(
                (_image("a:1"), _image("b:1")),
                nodes=(Node("n", ("a:1",), (Container("c", "b:1"),)),),
            ),
            "has not pulled",
        ),
    ],
)
def test_population_validation(build, message: str) -> None:
    """An image without layers, a name defined twice, a push or pull of an unknown image, a
    node defined twice, a container of an image its node has not pulled: ModelError."""
    with pytest.raises(ModelError, match=message):
        build()


def test_population_defaults() -> None:
    """The push order defaults to the order images are listed; duplicates in a push order are
    allowed (pushing an image twice); layers() lists distinct layers by DiffID."""
    a, b = _image("a:1"), _image("b:1")
    population = Population((a, b))
    assert population.push_order == ("a:1", "b:1")
    assert Population((a, b), push_order=("b:1", "b:1")).push_order == ("b:1", "b:1")
    assert population.layers() == [a.layers[0]]  # the same layer in both images
    assert population.image_by_name["b:1"] is b


def test_values_are_frozen() -> None:
    """Entries, layers and images are immutable values."""
    layer = make_layer([_file("x", 1)])
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.tar_bytes = 0  # type: ignore[misc]
    with pytest.raises(dataclasses.FrozenInstanceError):
        layer.entries[0].file_bytes = 0  # type: ignore[misc]


def test_custom_compression_model_flows_into_entries_and_layers() -> None:
    """With text at 3000 and metadata at 8000 per-mille: a 3000-byte text file compresses to
    1000, its header to ceil(512000/8000) = 64, the blob overhead is 20 + 128 = 148."""
    model = CompressionModel(
        class_ratios_permille={"text": 3000}, metadata_ratio_permille=8000, default_class="text"
    )
    e = make_entry("t", EntryKind.FILE, 3000, content=content_digest("t", 3000), compression=model)
    assert (e.compressed_bytes, e.content_compressed_bytes) == (1064, 1000)
    assert make_layer([e], compression=model).compressed_bytes == 148 + 1064
