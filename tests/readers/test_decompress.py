"""Tests of `layersim.readers.decompress`: a stored blob decompressed in bounded pieces, each
with the stored bytes that produced it; compression sniffed; codec errors as ImageFormatErrors.
"""

from __future__ import annotations

import gzip
import io
from pathlib import Path

import pytest
import zstandard

from layersim.errors import ImageFormatError
from layersim.readers import read_images
from layersim.readers.decompress import (
    CHUNK_BYTES,
    PIECE_BYTES,
    BlobTap,
    Compression,
    decompressed_pieces,
    sniff_compression,
    sniffed,
)
from tests.readers.images import BASE, GZIP_MT, MANIFEST_MT, ZSTD_MT, Layout, M, make_tar, sha

NO_MAGIC = "corrupt zstd stream (no frame magic)"


def pieces(stored: bytes, compression: Compression) -> list[tuple[bytes, int]]:
    tap = BlobTap(io.BytesIO(stored), lambda chunk: None)
    return list(decompressed_pieces(tap, compression))


def test_every_piece_of_a_decompression_bomb_is_bounded(tmp_path: Path) -> None:
    """64 MiB of zeros gzip to 64 KiB; no decompressed piece exceeds PIECE_BYTES."""
    tar = make_tar([M("zeros", bytes(64 << 20))])
    stored = gzip.compress(tar, mtime=0)
    sizes = [len(piece) for piece, _ in pieces(stored, Compression.GZIP)]
    assert max(sizes) <= PIECE_BYTES
    assert sum(sizes) == len(tar)


def test_multi_member_gzip_and_tar_without_end_blocks(tmp_path: Path) -> None:
    """A gzip blob of two members reads as their concatenation; a tar without its two zero
    blocks is accepted (as Go's archive/tar does)."""
    tar = make_tar(BASE, end=False)
    assert len(tar) % 512 == 0
    half = len(tar) // 1024 * 512
    stored = gzip.compress(tar[:half], mtime=0) + gzip.compress(tar[half:], mtime=0)
    layout = Layout(tmp_path / "l")
    desc = layout.image([tar], "none")
    manifest = layout.manifest(desc)
    manifest["layers"][0] = layout.blob(stored, GZIP_MT)
    layout.add(layout.json_blob(manifest, MANIFEST_MT), "x")
    (image,) = read_images([layout.root])
    assert image.layers[0].diff_id == sha(tar)
    assert sum(e.tar_bytes for e in image.layers[0].entries) == len(tar)


def test_zstd_frames_and_skippable_frames(tmp_path: Path) -> None:
    """A zstd blob of two frames with a skippable frame between them (as zstd:chunked writes)
    reads as one tar."""
    tar = make_tar(BASE)
    half = len(tar) // 1024 * 512
    skippable = (0x184D2A5E).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"meta!"
    stored = (
        zstandard.ZstdCompressor(write_checksum=True).compress(tar[:half])
        + skippable
        + zstandard.ZstdCompressor().compress(tar[half:])
    )
    layout = Layout(tmp_path / "l")
    manifest = layout.manifest(layout.image([tar], "none"))
    manifest["layers"][0] = layout.blob(stored, ZSTD_MT)
    layout.add(layout.json_blob(manifest, MANIFEST_MT), "x")
    (image,) = read_images([layout.root])
    assert image.layers[0].diff_id == sha(tar) and image.layers[0].blob_digest == sha(stored)


@pytest.mark.parametrize(
    ("compression", "encode"),
    [
        (Compression.GZIP, lambda t: gzip.compress(t[:9000], mtime=0) + gzip.compress(t[9000:])),
        (Compression.ZSTD, lambda t: zstandard.ZstdCompressor().compress(t)),
        (Compression.NONE, lambda t: t),
    ],
)
def test_pieces_account_for_every_stored_and_every_decompressed_byte(
    compression: Compression, encode
) -> None:
    """Joined, the pieces are the tar; their consumed counts add up to the stored bytes
    exactly, each non-negative (a multi-member gzip and a zstd frame alike)."""
    tar = make_tar([M(f"f{i}", bytes([i]) * 5000) for i in range(5)])
    stored = encode(tar)
    out = pieces(stored, compression)
    assert b"".join(piece for piece, _ in out) == tar
    assert sum(consumed for _, consumed in out) == len(stored)
    assert all(consumed >= 0 for _, consumed in out)


def test_uncompressed_pieces_are_the_stored_chunks() -> None:
    """Without compression every piece is one stored chunk of `CHUNK_BYTES` (the last one
    shorter), paired with its own length."""
    stored = bytes(range(256)) * ((2 * CHUNK_BYTES + 1000) // 256 + 1)
    out = pieces(stored, Compression.NONE)
    assert [len(p) for p, _ in out] == [CHUNK_BYTES, CHUNK_BYTES, len(stored) - 2 * CHUNK_BYTES]
    assert [c for _, c in out] == [len(p) for p, _ in out]


def test_the_tap_counts_and_hands_on_every_stored_byte() -> None:
    """`BlobTap` hands each chunk to `on_chunk` once, in order, and counts them in
    `read_bytes`."""
    seen: list[bytes] = []
    stored = b"x" * (CHUNK_BYTES + 10)
    tap = BlobTap(io.BytesIO(stored), seen.append)
    assert list(tap.chunks()) == [stored[:CHUNK_BYTES], stored[CHUNK_BYTES:]]
    assert seen == [stored[:CHUNK_BYTES], stored[CHUNK_BYTES:]]
    assert tap.read_bytes == len(stored)


@pytest.mark.parametrize(
    ("head", "expected"),
    [
        (b"\x1f\x8b\x08\x00", Compression.GZIP),
        (b"\x28\xb5\x2f\xfd\x00", Compression.ZSTD),
        (b"etc/passwd\x00", Compression.NONE),
        (b"", Compression.NONE),
    ],
)
def test_sniff_compression_from_the_magic_bytes(head: bytes, expected: Compression) -> None:
    """gzip and zstd by their magic numbers; anything else is taken as an uncompressed tar."""
    assert sniff_compression(head) is expected


@pytest.mark.parametrize("head", [b"BZh91AY&SY", b"\xfd7zXZ\x00\x00"])
def test_bzip2_and_xz_are_refused_by_name(head: bytes) -> None:
    """bzip2 and xz blobs are recognised and refused, not read as tars."""
    with pytest.raises(ImageFormatError) as info:
        sniff_compression(head)
    assert str(info.value) == "bzip2/xz-compressed layers are not supported"


@pytest.mark.parametrize("size", [0, 3, 8, 9, 100_000])
def test_sniffed_reader_gives_back_the_bytes_it_looked_at(size: int) -> None:
    """`sniffed` reads ahead to decide, yet its reader yields the whole file from byte 0, in
    reads of any size."""
    data = gzip.compress(bytes(range(256)) * 1000)[:size]
    compression, reader = sniffed(io.BytesIO(data))
    assert compression is (Compression.GZIP if size >= 2 else Compression.NONE)
    got = reader.read(5)
    while chunk := reader.read(7):
        got += chunk
    assert got == data


def test_sniffed_reader_reads_everything_at_once() -> None:
    """`read()` with no size returns the sniffed head and the rest together."""
    _, reader = sniffed(io.BytesIO(b"0123456789abc"))
    assert reader.read() == b"0123456789abc"
    assert reader.read() == b""


@pytest.mark.parametrize(
    ("stored", "compression", "message"),
    [
        (b"", Compression.GZIP, "empty gzip stream"),
        (gzip.compress(b"x" * 1000)[:-20], Compression.GZIP, "truncated gzip stream"),
        (b"", Compression.ZSTD, "empty zstd stream"),
        (
            zstandard.ZstdCompressor().compress(b"x" * 1000)[:-3],
            Compression.ZSTD,
            "truncated zstd stream",
        ),
        (zstandard.ZstdCompressor().compress(b"x") + bytes(10), Compression.ZSTD, NO_MAGIC),
        (b"\x00\x01\x02\x03" + bytes(60), Compression.ZSTD, NO_MAGIC),
    ],
)
def test_codec_errors_are_image_format_errors(
    stored: bytes, compression: Compression, message: str
) -> None:
    """Empty, truncated and corrupt streams fail with the message of what is wrong: a zstd
    stream cut inside a frame is caught by the frame walker (libzstd ends quietly on it), junk
    where a frame should start too."""
    with pytest.raises(ImageFormatError) as info:
        pieces(stored, compression)
    assert str(info.value) == message


def test_libzstd_errors_are_corrupt_zstd_streams() -> None:
    """An error libzstd reports (here: a bad frame descriptor after a frame) is a corrupt zstd
    stream, with libzstd's own words in parentheses (they vary with its version)."""
    stored = zstandard.ZstdCompressor().compress(b"x") + b"\x00"
    with pytest.raises(ImageFormatError, match=r"^corrupt zstd stream \(.+\)$"):
        pieces(stored, Compression.ZSTD)
