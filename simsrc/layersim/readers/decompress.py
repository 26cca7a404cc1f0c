"""Decompressing a stored layer blob as it streams: pieces of tar, each with the stored bytes
that produced it.

A blob is read in `CHUNK_BYTES` chunks through a `BlobTap`, which counts every stored byte and
hands each chunk on (to be hashed for the blob digest) before it is decompressed. Decompressed
output comes in pieces of at most `PIECE_BYTES`, so a decompression bomb costs time, not
memory; each piece is paired with the stored bytes consumed to produce it, which is what lets
`entries` apportion compressed bytes by region of the stream.

Compressions: gzip (one or more members, as Go's gzip reader reads them), zstd (one or more
frames, skippable frames stepped over; a stream cut inside a frame is an error, which libzstd
alone does not report) and none. A blob's compression comes from its media type, or, where the
format declares none (docker-archives), is sniffed from its first bytes (`sniffed`). Every
codec error is an `ImageFormatError`.

This module knows nothing of tar or of digests: `tar_stream` parses the pieces, `layer_blob`
hashes them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from enum import StrEnum
from typing import Protocol

import zstandard
from zlib_ng import zlib_ng

from layersim.errors import ImageFormatError

CHUNK_BYTES = 1 << 20  # compressed bytes read at a time
PIECE_BYTES = 1 << 20  # most decompressed bytes handed on at a time


class Compression(StrEnum):
    NONE = "none"
    GZIP = "gzip"
    ZSTD = "zstd"


_GZIP_MAGIC = b"\x1f\x8b"
_ZSTD_MAGIC = b"\x28\xb5\x2f\xfd"


def sniff_compression(head: bytes) -> Compression:
    """The compression of a blob from its first bytes (docker-archives carry no media types)."""
    if head.startswith(_GZIP_MAGIC):
        return Compression.GZIP
    if head.startswith(_ZSTD_MAGIC):
        return Compression.ZSTD
    if head.startswith((b"BZh", b"\xfd7zXZ\x00")):
        raise ImageFormatError("bzip2/xz-compressed layers are not supported")
    return Compression.NONE


class Readable(Protocol):
    def read(self, n: int = -1, /) -> bytes: ...


def sniffed(file: Readable) -> tuple[Compression, Readable]:
    """The compression of `file`, sniffed from its first bytes, and a reader of `file` from
    its start (the sniffed bytes first)."""
    head = file.read(8)
    return sniff_compression(head), _Prefixed(head, file)


class _Prefixed:
    """A reader that yields `head` (bytes already read to sniff the compression) first."""

    def __init__(self, head: bytes, file: Readable) -> None:
        self._head = head
        self._file = file

    def read(self, n: int = -1) -> bytes:
        if self._head:
            if n < 0:
                data, self._head = self._head + self._file.read(), b""
                return data
            data, self._head = self._head[:n], self._head[n:]
            if len(data) < n:
                data += self._file.read(n - len(data))
            return data
        return self._file.read(n)


class BlobTap:
    """Reads the stored blob in chunks, counting every byte (`read_bytes`) and handing each
    chunk to `on_chunk` (which hashes it, on this thread or another)."""

    def __init__(self, file: Readable, on_chunk: Callable[[bytes], None]) -> None:
        self._file = file
        self.read_bytes = 0
        self._on_chunk = on_chunk

    def read(self, n: int = CHUNK_BYTES) -> bytes:
        data = self._file.read(n)
        if data:
            self.read_bytes += len(data)
            self._on_chunk(data)
        return data

    def chunks(self) -> Iterator[bytes]:
        while chunk := self.read(CHUNK_BYTES):
            yield chunk


def _raw_pieces(tap: BlobTap) -> Iterator[tuple[bytes, int]]:
    for chunk in tap.chunks():
        yield chunk, len(chunk)


def _gzip_pieces(tap: BlobTap) -> Iterator[tuple[bytes, int]]:
    """Inflate a gzip stream of one or more members (as Go's gzip reader does by default).
    Output is bounded per call (`max_length`), so a decompression bomb costs time, not memory.
    zlib-ng, not the standard library's zlib: the same API and output, inflating about twice
    as fast on the analyze benchmark's blobs (bench/test_bench_analyze.py), and inflating is
    the largest single cost of reading a gzip layer."""
    inflater = zlib_ng.decompressobj(31)
    in_member = False
    seen_member = False
    for chunk in tap.chunks():
        data = chunk
        while data:
            in_member = True
            out = inflater.decompress(data, PIECE_BYTES)
            if inflater.eof:
                rest = inflater.unused_data
                consumed = len(data) - len(rest)
                inflater = zlib_ng.decompressobj(31)
                in_member = False
                seen_member = True
            else:
                rest = inflater.unconsumed_tail
                consumed = len(data) - len(rest)
            if out or consumed:
                yield out, consumed
            elif rest:  # no progress at all: cannot happen with a positive max_length
                raise zlib_ng.error("inflate made no progress")
            data = rest
        # all input taken: drain output still buffered inside zlib (max_length was reached)
        while in_member and not inflater.eof:
            out = inflater.decompress(b"", PIECE_BYTES)
            if not out:
                break
            yield out, 0
        if inflater.eof:
            inflater = zlib_ng.decompressobj(31)
            in_member = False
            seen_member = True
    if in_member:
        raise ImageFormatError("truncated gzip stream")
    if not seen_member:
        raise ImageFormatError("empty gzip stream")


class _ZstdFrames:
    """Walks the frame and block headers of a zstd stream as it passes.

    libzstd's streaming reader ends quietly on a stream cut inside a frame; this walker makes
    that an error. It costs a few operations per 128 KiB block. Skippable frames (zstd:chunked
    metadata) are stepped over, as libzstd does.
    """

    _MAGIC = 0xFD2FB528

    def __init__(self) -> None:
        self._buf = bytearray()
        self._need = 4
        self._skip = 0
        self._state = "magic"
        self._checksum = False
        self.frames = 0

    def feed(self, data: bytes) -> None:
        i, n = 0, len(data)
        while i < n:
            if self._skip:
                take = min(self._skip, n - i)
                self._skip -= take
                i += take
                continue
            take = min(self._need - len(self._buf), n - i)
            self._buf += data[i : i + take]
            i += take
            if len(self._buf) == self._need:
                field = bytes(self._buf)
                self._buf.clear()
                self._advance(field)

    def _advance(self, field: bytes) -> None:
        state = self._state
        if state == "magic":
            magic = int.from_bytes(field, "little")
            if magic == self._MAGIC:
                self._state, self._need = "descriptor", 1
            elif magic & 0xFFFFFFF0 == 0x184D2A50:
                self._state, self._need = "skippable", 4
            else:
                raise ImageFormatError("corrupt zstd stream (no frame magic)")
        elif state == "skippable":
            self._skip = int.from_bytes(field, "little")
            self._state, self._need = "magic", 4
            self.frames += 1
        elif state == "descriptor":
            fhd = field[0]
            if fhd & 0x08:
                raise ImageFormatError("corrupt zstd stream (reserved frame header bit set)")
            single_segment = (fhd >> 5) & 1
            self._checksum = bool((fhd >> 2) & 1)
            rest = (0 if single_segment else 1) + (0, 1, 2, 4)[fhd & 3]
            rest += ((1 if single_segment else 0), 2, 4, 8)[fhd >> 6]
            if rest:
                self._state, self._need = "header", rest
            else:
                self._state, self._need = "block", 3
        elif state == "header":
            self._state, self._need = "block", 3
        elif state == "block":
            header = int.from_bytes(field, "little")
            block_type = (header >> 1) & 3
            if block_type == 3:
                raise ImageFormatError("corrupt zstd stream (reserved block type)")
            self._skip = 1 if block_type == 1 else header >> 3
            if header & 1:  # last block of the frame
                if self._checksum:
                    self._state, self._need = "checksum", 4
                else:
                    self._end_frame()
        elif state == "checksum":
            self._end_frame()

    def _end_frame(self) -> None:
        self._state, self._need = "magic", 4
        self.frames += 1

    def finish(self) -> None:
        if self._state != "magic" or self._buf or self._skip:
            raise ImageFormatError("truncated zstd stream")
        if not self.frames:
            raise ImageFormatError("empty zstd stream")


class _FrameWalked:
    """A reader of the tap that shows every chunk libzstd reads to the frame walker."""

    def __init__(self, tap: BlobTap, frames: _ZstdFrames) -> None:
        self._tap = tap
        self._frames = frames

    def read(self, n: int = CHUNK_BYTES) -> bytes:
        data = self._tap.read(n)
        self._frames.feed(data)
        return data


def _zstd_pieces(tap: BlobTap) -> Iterator[tuple[bytes, int]]:
    frames = _ZstdFrames()
    reader = zstandard.ZstdDecompressor().stream_reader(
        _FrameWalked(tap, frames), read_size=CHUNK_BYTES, read_across_frames=True
    )
    consumed = 0
    while True:
        out = reader.read(PIECE_BYTES)
        now = tap.read_bytes
        if not out:
            break
        yield out, now - consumed
        consumed = now
    if tap.read(1):  # libzstd stopped before the end of the stored blob
        raise ImageFormatError("trailing data after the zstd stream")
    frames.finish()
    if tap.read_bytes > consumed:
        yield b"", tap.read_bytes - consumed


def decompressed_pieces(tap: BlobTap, compression: Compression) -> Iterator[tuple[bytes, int]]:
    """The blob behind `tap`, decompressed: (piece, stored bytes consumed to produce it), each
    piece at most `PIECE_BYTES` (possibly empty, to count stored bytes that produce none);
    errors of the codecs are ImageFormatErrors."""
    try:
        if compression is Compression.GZIP:
            yield from _gzip_pieces(tap)
        elif compression is Compression.ZSTD:
            yield from _zstd_pieces(tap)
        else:
            yield from _raw_pieces(tap)
    except zlib_ng.error as exc:
        raise ImageFormatError(f"corrupt gzip stream ({exc})") from None
    except zstandard.ZstdError as exc:
        raise ImageFormatError(f"corrupt zstd stream ({exc})") from None
    except OSError as exc:
        raise ImageFormatError(f"read error ({exc})") from None
