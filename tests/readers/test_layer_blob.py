"""Tests of `layersim.readers.layer_blob`: one layer blob streamed into a `Layer`, its blob
digest, size and DiffID verified, on the calling thread or as a threaded pipeline.

Every expected identity is computed independently with hashlib on the bytes the test wrote.
"""

from __future__ import annotations

import gzip
import io
import os
import threading
from pathlib import Path

import pytest
import zstandard

import layersim.readers.decompress as decompress
import layersim.readers.layer_blob as layer_blob
from layersim.errors import ImageFormatError
from layersim.model import EntryKind
from layersim.model.sizes import TAR_END_BYTES, CompressionModel
from layersim.readers import read_images
from layersim.readers.decompress import Compression
from layersim.readers.layer_blob import LayerBlob, read_layer
from tests.readers.images import (
    APP,
    BASE,
    GZIP_MT,
    OVERHEAD,
    TAR_MT,
    ZSTD_MT,
    Layout,
    M,
    compress,
    corrupt_layer_case,
    good_layout,
    make_tar,
    one_layer,
    sha,
)


@pytest.mark.parametrize("how", ["gzip", "zstd", "none"])
def test_oci_layer_identities_and_sizes_are_exact(tmp_path: Path, how: str) -> None:
    """DiffID, blob digest, tar and compressed bytes of each layer are those of the bytes
    written; every regular file's content digest is the sha256 of its data."""
    base, app = make_tar(BASE), make_tar(APP)
    layout = Layout(tmp_path / "layout")
    layout.add(layout.image([base, app], how), "app:1")
    (image,) = read_images([layout.root])
    assert image.name == "layout:app:1" or image.name == "app:1"
    for layer, tar in zip(image.layers, (base, app), strict=True):
        stored = compress(tar, how)
        assert layer.diff_id == sha(tar)
        assert layer.blob_digest == sha(stored)
        assert layer.tar_bytes == len(tar)
        assert layer.compressed_bytes == len(stored)
        assert sum(e.tar_bytes for e in layer.entries) + TAR_END_BYTES == len(tar)
        assert sum(e.compressed_bytes for e in layer.entries) == len(stored) - OVERHEAD
    files = {e.path: e for e in image.layers[0].entries}
    assert files["bin/busybox"].kind is EntryKind.FILE
    assert files["bin/busybox"].file_bytes == 4 + 256 * 40
    assert files["bin/busybox"].content == sha(BASE[1].data)
    assert files["bin/sh"].kind is EntryKind.SYMLINK and files["bin/sh"].link_target == "busybox"
    assert files["bin"].kind is EntryKind.DIR and files["bin"].tar_bytes == 512
    assert files["etc/motd"].tar_bytes == 512 + 1024


def test_same_tar_in_three_compressions_gives_the_same_entries(tmp_path: Path) -> None:
    """gzip, zstd and uncompressed blobs of one tar: one DiffID, the same entries but for
    compressed bytes; the uncompressed blob's digest is its DiffID."""
    tar = make_tar(BASE)
    layers = [one_layer(tar, how, tmp_path / how) for how in ("gzip", "zstd", "none")]
    assert len({layer.diff_id for layer in layers}) == 1
    assert len({layer.blob_digest for layer in layers}) == 3
    assert layers[2].blob_digest == layers[2].diff_id

    def shape(layer):
        return [(e.path, e.kind, e.file_bytes, e.content, e.tar_bytes) for e in layer.entries]

    assert shape(layers[0]) == shape(layers[1]) == shape(layers[2])


@pytest.mark.parametrize("how", ["gzip", "zstd", "none"])
def test_threaded_pipeline_agrees_with_the_inline_path(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three-stage threaded pipeline reads a layer exactly as the single-thread path."""
    members = [M(f"f{i}", os.urandom(300_000) + bytes(500_000)) for i in range(4)]
    tar = make_tar(members)
    inline = one_layer(tar, how, tmp_path / "inline")
    monkeypatch.setattr(layer_blob, "THREADED_MIN_BYTES", 1)
    threaded = one_layer(tar, how, tmp_path / "threaded")
    assert threaded == inline


def test_threaded_pipeline_stops_cleanly_on_corrupt_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrupt stream in the threaded pipeline is an ImageFormatError, and no thread is left
    running."""
    monkeypatch.setattr(layer_blob, "THREADED_MIN_BYTES", 1)
    monkeypatch.setattr(decompress, "CHUNK_BYTES", 16 << 10)
    tar = make_tar([M(f"f{i}", os.urandom(100_000)) for i in range(8)])
    stored = bytearray(gzip.compress(tar, mtime=0))
    stored[len(stored) // 2 : len(stored) // 2 + 64] = bytes(64)
    before = threading.active_count()
    blob = LayerBlob("blob X", Compression.GZIP, None, len(stored), sha(tar))
    with pytest.raises(ImageFormatError, match="blob X"):
        read_layer(io.BytesIO(bytes(stored)), blob)
    assert threading.active_count() == before


def truncated_tar() -> bytes:
    return make_tar(BASE)[:1500]


BAD_STREAMS = {
    "truncated tar": (
        lambda t: truncated_tar(),
        lambda t: sha(truncated_tar()),
        TAR_MT,
        "truncated tar",
    ),
    "truncated gzip": (
        lambda t: gzip.compress(t)[:-20],
        lambda t: sha(t),
        GZIP_MT,
        "truncated gzip",
    ),
    "corrupt gzip": (
        lambda t: gzip.compress(t)[:30] + b"\xff" * 40 + gzip.compress(t)[70:],
        lambda t: sha(t),
        GZIP_MT,
        "corrupt gzip",
    ),
    "gzip with trailing garbage": (
        lambda t: gzip.compress(t) + b"junk",
        lambda t: sha(t),
        GZIP_MT,
        "corrupt gzip",
    ),
    "empty gzip": (lambda t: b"", lambda t: sha(b""), GZIP_MT, "empty gzip"),
    "truncated zstd": (
        lambda t: zstandard.ZstdCompressor().compress(t)[:-7],
        lambda t: sha(t),
        ZSTD_MT,
        "truncated zstd|DiffID",
    ),
    "corrupt zstd": (
        lambda t: b"\x28\xb5\x2f\xfd" + b"\xff" * 64,
        lambda t: sha(t),
        ZSTD_MT,
        "corrupt zstd|zstd",
    ),
    "not a tar": (
        lambda t: b"hello world" * 100,
        lambda t: sha(b"hello world" * 100),
        TAR_MT,
        "not a tar",
    ),
    "wrong DiffID": (lambda t: gzip.compress(t), lambda t: sha(b"other"), GZIP_MT, "DiffID"),
}


@pytest.mark.parametrize("case", sorted(BAD_STREAMS))
def test_bad_layer_streams(tmp_path: Path, case: str) -> None:
    """Truncated or corrupt streams and wrong DiffIDs name the blob that is wrong."""
    make_stored, make_diff, media_type, message = BAD_STREAMS[case]
    tar = make_tar(BASE)
    stored = make_stored(tar)
    root = corrupt_layer_case(tmp_path, stored, make_diff(tar), media_type)
    with pytest.raises(ImageFormatError, match=message) as info:
        read_images([root])
    assert sha(stored) in str(info.value)
    assert "\n" not in str(info.value)


def test_blob_with_wrong_digest(tmp_path: Path) -> None:
    """Same size, other bytes: the digest check names the blob."""
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][0]["digest"]
    path = layout.blob_file(digest)
    path.write_bytes(
        gzip.compress(make_tar(APP) + bytes(path.stat().st_size))[: path.stat().st_size]
    )
    with pytest.raises(ImageFormatError, match=digest):
        read_images([layout.root])


# ---------------------------------------------------------------------------------------------
# read_layer on its own: a LayerBlob and a file


def blob_of(tar: bytes, stored: bytes, compression: Compression | None) -> LayerBlob:
    return LayerBlob("blob B", compression, sha(stored), len(stored), sha(tar))  # type: ignore[arg-type]


def test_read_layer_gives_the_identities_and_default_name() -> None:
    """A layer read from a file: blob digest and stored bytes of the bytes given, DiffID and
    tar bytes of the tar, named by the 12 hex digits after `sha256:` of its DiffID."""
    tar = make_tar(APP)
    stored = gzip.compress(tar, mtime=0)
    layer = read_layer(io.BytesIO(stored), blob_of(tar, stored, Compression.GZIP))
    assert (layer.blob_digest, layer.diff_id) == (sha(stored), sha(tar))
    assert (layer.compressed_bytes, layer.tar_bytes) == (len(stored), len(tar))
    assert layer.name == sha(tar)[7:19]
    assert [e.path for e in layer.entries] == ["app", "app/main.py"]


def test_read_layer_keeps_a_given_name() -> None:
    """`LayerBlob.name`, where given, labels the layer instead of its DiffID."""
    tar = make_tar(APP)
    blob = LayerBlob("blob B", Compression.NONE, sha(tar), len(tar), sha(tar), name="app-layer")  # type: ignore[arg-type]
    assert read_layer(io.BytesIO(tar), blob).name == "app-layer"


@pytest.mark.parametrize("how", ["gzip", "zstd", "none"])
def test_compression_is_sniffed_when_the_blob_declares_none(how: str) -> None:
    """A blob of unknown compression (a docker-archive's) reads as the same layer as the one
    whose compression is declared: the bytes sniffed are not lost."""
    tar = make_tar(BASE)
    stored = compress(tar, how)
    declared = read_layer(io.BytesIO(stored), blob_of(tar, stored, Compression(how)))
    sniffed = read_layer(io.BytesIO(stored), blob_of(tar, stored, None))
    assert sniffed == declared


def test_progress_counts_every_stored_byte_once() -> None:
    """`on_bytes` is called with positive counts that add up to the stored bytes exactly."""
    tar = make_tar([M("big", os.urandom(3 << 20))])
    stored = gzip.compress(tar, mtime=0)
    counts: list[int] = []
    read_layer(io.BytesIO(stored), blob_of(tar, stored, Compression.GZIP), on_bytes=counts.append)
    assert sum(counts) == len(stored)
    assert min(counts) > 0


def test_compressed_bytes_exclude_the_modelled_blob_overhead() -> None:
    """The entries share the stored bytes less `CompressionModel.blob_overhead_bytes()`; the
    layer's own compressed bytes are the stored bytes, whatever the model."""
    tar = make_tar(BASE)
    stored = gzip.compress(tar, mtime=0)
    model = CompressionModel()
    layer = read_layer(io.BytesIO(stored), blob_of(tar, stored, Compression.GZIP), model)
    assert layer.compressed_bytes == len(stored)
    assert sum(e.compressed_bytes for e in layer.entries) == len(stored) - (
        model.blob_overhead_bytes()
    )


def test_read_layer_errors_are_one_line_naming_the_blob() -> None:
    """Each check's exact message, after the blob's `where`: stored size, blob digest, DiffID,
    and an unsupported compression sniffed."""
    tar = make_tar(APP)
    good = blob_of(tar, tar, Compression.NONE)
    with pytest.raises(ImageFormatError) as size:
        read_layer(io.BytesIO(tar + bytes(512)), good)
    assert str(size.value) == f"blob B: {len(tar) + 512} bytes stored, but {len(tar)} declared"

    other = make_tar(BASE)[: len(tar)]
    with pytest.raises(ImageFormatError) as digest:
        read_layer(io.BytesIO(other), good)
    assert (
        str(digest.value) == f"blob B: content has digest {sha(other)}, not the declared {sha(tar)}"
    )

    wrong_diff = LayerBlob("blob B", Compression.NONE, None, len(tar), sha(b"x"))  # type: ignore[arg-type]
    with pytest.raises(ImageFormatError) as diff:
        read_layer(io.BytesIO(tar), wrong_diff)
    assert str(diff.value) == (
        f"blob B: uncompressed content has DiffID {sha(tar)}, but the image config says {sha(b'x')}"
    )

    bzip2 = b"BZh91AY&SY" + bytes(100)
    with pytest.raises(ImageFormatError) as sniffed:
        read_layer(io.BytesIO(bzip2), LayerBlob("blob B", None, None, len(bzip2), sha(b"")))  # type: ignore[arg-type]
    assert str(sniffed.value) == "blob B: bzip2/xz-compressed layers are not supported"
