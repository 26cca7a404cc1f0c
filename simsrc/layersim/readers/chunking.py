"""Every regular file of a layer cut into chunks as it streams (chunk-level dedup, `model.chunks`).

Per file, never across file boundaries (as Nydus RAFS): content-defined chunks with FastCDC 2020
(`pyfastcdc`, the Cython build) and fixed-size chunks (the last chunk of a file shorter). A
chunk's identity is sha256 of its bytes; its compressed bytes are the chunk compressed on its
own with zstd level 3 (as Nydus stores chunks), computed once per distinct chunk.

A file's bytes arrive in pieces wherever the stream cuts them; `FileChunker` never holds a file
whole. FastCDC decides a cut from the bytes between the chunk's start and at most `max` bytes
further, so a chunk found in the bytes held so far is final when it ends before their end or
has the maximum length; the rest is carried into the next round (at most `max` bytes).

Three things keep the work near the hashing floor: a file that is one chunk is identified by
its content digest (the same bytes), so it is hashed once; a chunk seen before (by digest) is
not compressed again; and compressing, the largest part of the work, runs on worker threads
(zstandard releases the GIL) while the reading thread goes on cutting and hashing. A file's
chunks are therefore complete (`ContentChunks`, with compressed bytes) once the compressions
it queued are done: `Chunking.contents` waits for them. At most `QUEUED_BYTES` of chunk bytes
wait to be compressed at once (a reader that gets ahead waits), so memory stays bounded.
"""

from __future__ import annotations

import hashlib
import os
import threading
from concurrent.futures import Future, ThreadPoolExecutor

import zstandard
from pyfastcdc import FastCDC

from layersim.model.chunks import Chunk, ChunkSizes, ContentChunks
from layersim.model.digest import ChunkDigest, ContentDigest

ZSTD_LEVEL = 3  # Nydus compresses chunks with zstd at its default level
FLUSH_BYTES = 4 << 20  # bytes gathered before a round of cutting (bounds memory per file)
QUEUED_BYTES = 64 << 20  # chunk bytes waiting for a compressing thread, at most

# A file's chunks before their compressed bytes are known: (digest, file bytes) in file order.
Cuts = list[tuple[ChunkDigest, int]]


class Chunking:
    """The chunking of one read: the chunkers' sizes, every content's chunks (`contents`, what
    `Population.chunks` holds) and the compressed bytes of every distinct chunk seen. Shared by
    the threads that read blobs at once; compresses on threads of its own (`workers`, default
    one per available core)."""

    def __init__(self, sizes: ChunkSizes, workers: int | None = None) -> None:
        self.sizes = sizes
        self._contents: dict[ContentDigest, ContentChunks] = {}
        self._compressed: dict[ChunkDigest, int] = {}
        self._local = threading.local()
        self._workers = workers or len(os.sched_getaffinity(0))
        self._lock = threading.Condition()
        self._queued: set[ChunkDigest] = set()  # compressed or being compressed
        self._queued_bytes = 0
        self._jobs: list[Future[None]] = []
        self._pool: ThreadPoolExecutor | None = None
        self._unresolved: list[tuple[ContentDigest, Cuts, Cuts]] = []

    @property
    def contents(self) -> dict[ContentDigest, ContentChunks]:
        """Every content's chunks, once the compressions queued so far are done."""
        with self._lock:
            jobs, self._jobs = self._jobs, []
            pool, self._pool = self._pool, None
        for job in jobs:
            job.result()  # a failed compression raises here
        if pool is not None:
            pool.shutdown(wait=False)
        with self._lock:
            unresolved, self._unresolved = self._unresolved, []
        for content, cdc, fixed in unresolved:
            if content not in self._contents:
                self._contents[content] = ContentChunks(self._chunks(cdc), self._chunks(fixed))
        return self._contents

    def _chunks(self, cuts: Cuts) -> tuple[Chunk, ...]:
        return tuple(Chunk(digest, n, self._compressed[digest]) for digest, n in cuts)

    def _compressor(self) -> zstandard.ZstdCompressor:
        # a ZstdCompressor is not safe to share between threads: one per thread
        found = getattr(self._local, "zstd", None)
        if found is None:
            found = self._local.zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
        return found

    def queue(self, digest: ChunkDigest, data: bytes | memoryview) -> None:
        """Compress these bytes on a worker thread, unless a chunk of this digest has been."""
        with self._lock:
            if digest in self._queued:
                return
            self._queued.add(digest)
            while self._queued_bytes and self._queued_bytes + len(data) > QUEUED_BYTES:
                self._lock.wait()
            self._queued_bytes += len(data)
            if self._pool is None:
                self._pool = ThreadPoolExecutor(self._workers, "layersim-zstd")
            self._jobs.append(self._pool.submit(self._compress, digest, bytes(data)))

    def _compress(self, digest: ChunkDigest, data: bytes) -> None:
        try:
            self._compressed[digest] = len(self._compressor().compress(data))
        finally:
            with self._lock:
                self._queued_bytes -= len(data)
                self._lock.notify_all()

    def add(self, content: ContentDigest, cdc: Cuts, fixed: Cuts) -> None:
        """A content's chunks, complete once their compressions are done (`contents`)."""
        with self._lock:
            self._unresolved.append((content, cdc, fixed))

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
        self._cdc_cuts: Cuts = []
        self._fixed_cuts: Cuts = []
        # chunks whose digest is the content's (the whole file): set by `finish`
        self._whole: list[tuple[Cuts, bytes | memoryview]] = []

    def update(self, data: bytes | memoryview) -> None:
        self._pieces.append(data)  # a view of an immutable piece: no copy
        self._held += len(data)
        if self._held >= FLUSH_BYTES:
            self._cut(last=False)

    def _cut(self, *, last: bool) -> None:
        joined = b"".join(self._pieces)
        self._pieces.clear()
        self._held = 0
        self._cut_cdc(self._cdc_carry + joined if self._cdc_carry else joined, last)
        self._cut_fixed(self._fixed_carry + joined if self._fixed_carry else joined, last)

    def _add(self, out: Cuts, data: bytes | memoryview, whole: bool) -> None:
        if whole:  # identified by the content digest once it is known
            self._whole.append((out, data))
        else:
            digest = _digest(data)
            self._chunking.queue(digest, data)
            out.append((digest, len(data)))

    def _cut_cdc(self, data: bytes, last: bool) -> None:
        end = len(data)
        done = 0
        whole = last and not self._cdc_cuts
        for c in self._cdc.cut_buf(data):
            stop = c.offset + c.length
            if not last and stop == end and c.length < self._max:
                break  # the data ends inside this chunk's window: not final yet
            self._add(self._cdc_cuts, c.data, whole and c.offset == 0 and stop == end)
            done = stop
        self._cdc_carry = data[done:]

    def _cut_fixed(self, data: bytes, last: bool) -> None:
        size = self._fixed
        end = len(data) if last else len(data) - len(data) % size
        view = memoryview(data)
        whole = last and not self._fixed_cuts and len(data) <= size
        for start in range(0, end, size):
            self._add(self._fixed_cuts, view[start : min(start + size, end)], whole)
        self._fixed_carry = data[end:]

    def finish(self, content: ContentDigest, *, wait: bool = True) -> ContentChunks | None:
        """The file's chunks, now that all its bytes and its content digest are known: handed
        to the `Chunking` (whose `contents` holds them once compressed) and, with `wait`,
        returned once compressed."""
        self._cut(last=True)
        for out, data in self._whole:
            self._chunking.queue(ChunkDigest(content), data)
            out.append((ChunkDigest(content), len(data)))
        self._chunking.add(content, self._cdc_cuts, self._fixed_cuts)
        return self._chunking.contents[content] if wait else None
