"""Every regular file of a layer cut into chunks as it streams (chunk-level dedup, `model.chunks`).

Per file, never across file boundaries (as Nydus RAFS): content-defined chunks with FastCDC 2020
(`pyfastcdc`, the Cython build) and fixed-size chunks (the last chunk of a file shorter). A
chunk's identity is sha256 of its bytes; its compressed bytes are the chunk compressed on its
own with zstd level 3 (as Nydus stores chunks), computed once per distinct chunk.

A file's bytes arrive in pieces wherever the stream cuts them; `FileChunker` never holds a file
whole. FastCDC decides a cut from the bytes between the chunk's start and at most `max` bytes
further, so a chunk found in the bytes held so far is final when it ends before their end or
has the maximum length; the rest is carried into the next round (at most `max` bytes).

Two shortcuts keep the work near the hashing floor: a file that is one chunk is identified by
its content digest (the same bytes), so it is hashed once; and a chunk seen before (by digest)
is not compressed again.
"""

from __future__ import annotations

import hashlib
import threading

import zstandard
from pyfastcdc import FastCDC

from layersim.model.chunks import Chunk, ChunkSizes, ContentChunks
from layersim.model.digest import ChunkDigest, ContentDigest

ZSTD_LEVEL = 3  # Nydus compresses chunks with zstd at its default level
FLUSH_BYTES = 4 << 20  # bytes gathered before a round of cutting (bounds memory per file)


class Chunking:
    """The chunking of one read: the chunkers' sizes, every content's chunks (`contents`, what
    `Population.chunks` holds) and the compressed bytes of every distinct chunk seen. Shared by
    the threads that read blobs at once."""

    def __init__(self, sizes: ChunkSizes) -> None:
        self.sizes = sizes
        self.contents: dict[ContentDigest, ContentChunks] = {}
        self._compressed: dict[ChunkDigest, int] = {}
        self._local = threading.local()

    def _compressor(self) -> zstandard.ZstdCompressor:
        # a ZstdCompressor is not safe to share between threads: one per thread
        found = getattr(self._local, "zstd", None)
        if found is None:
            found = self._local.zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        return found

    def chunk(self, digest: ChunkDigest, data: bytes | memoryview) -> Chunk:
        """The chunk of these bytes, compressed once per distinct digest."""
        compressed = self._compressed.get(digest)
        if compressed is None:
            compressed = self._compressed[digest] = len(self._compressor().compress(data))
        return Chunk(digest, len(data), compressed)

    def cdc(self) -> FastCDC:
        """A FastCDC chunker for the calling thread (one is not safe to share)."""
        found = getattr(self._local, "cdc", None)
        if found is None:
            s = self.sizes
            found = self._local.cdc = FastCDC(
                s.cdc_avg_bytes,
                min_size=s.cdc_min_bytes,
                max_size=s.cdc_max_bytes,
                normalized_chunking=1,
            )
        return found

    def file(self, file_bytes: int) -> FileChunker:
        """A chunker for one regular file of `file_bytes` (> 0)."""
        return FileChunker(self, file_bytes)


def _digest(data: bytes | memoryview) -> ChunkDigest:
    return ChunkDigest("sha256:" + hashlib.sha256(data).hexdigest())


class FileChunker:
    """One file's bytes, fed in order (`update`), cut by both chunkers (`finish`)."""

    def __init__(self, chunking: Chunking, file_bytes: int) -> None:
        self._chunking = chunking
        self._file_bytes = file_bytes
        self._cdc = chunking.cdc()
        self._max = chunking.sizes.cdc_max_bytes
        self._fixed = chunking.sizes.fixed_bytes
        self._pieces: list[bytes | memoryview] = []
        self._held = 0
        self._cdc_carry = b""
        self._fixed_carry = b""
        self._cdc_chunks: list[Chunk] = []
        self._fixed_chunks: list[Chunk] = []
        # chunks whose digest is the content's (the whole file): set by `finish`
        self._whole: list[tuple[list[Chunk], bytes]] = []

    def update(self, data: bytes | memoryview) -> None:
        self._pieces.append(data)  # a view of an immutable piece: no copy
        self._held += len(data)
        if self._held >= FLUSH_BYTES:
            self._cut(last=False)

    def _cut(self, *, last: bool) -> None:
        joined = b"".join(self._pieces)
        self._pieces.clear()
        self._held = 0
        self._cut_cdc(self._cdc_carry + joined, last)
        self._cut_fixed(self._fixed_carry + joined, last)

    def _add(self, out: list[Chunk], data: bytes | memoryview, whole: bool) -> None:
        if whole:  # identified by the content digest once it is known
            self._whole.append((out, bytes(data)))
        else:
            out.append(self._chunking.chunk(_digest(data), data))

    def _cut_cdc(self, data: bytes, last: bool) -> None:
        end = len(data)
        done = 0
        whole = last and not self._cdc_chunks
        for c in self._cdc.cut_buf(data):
            stop = c.offset + c.length
            if not last and stop == end and c.length < self._max:
                break  # the data ends inside this chunk's window: not final yet
            self._add(self._cdc_chunks, c.data, whole and c.offset == 0 and stop == end)
            done = stop
        self._cdc_carry = data[done:]

    def _cut_fixed(self, data: bytes, last: bool) -> None:
        size = self._fixed
        end = len(data) if last else len(data) - len(data) % size
        view = memoryview(data)
        whole = last and not self._fixed_chunks and len(data) <= size
        for start in range(0, end, size):
            self._add(self._fixed_chunks, view[start : min(start + size, end)], whole)
        self._fixed_carry = data[end:]

    def finish(self, content: ContentDigest) -> ContentChunks:
        """The file's chunks, now that all its bytes and its content digest are known."""
        self._cut(last=True)
        for out, data in self._whole:
            out.append(self._chunking.chunk(ChunkDigest(content), data))
        chunks = ContentChunks(tuple(self._cdc_chunks), tuple(self._fixed_chunks))
        self._chunking.contents.setdefault(content, chunks)
        return chunks
