"""Tests of `layersim.readers.chunking`: every regular file cut into content-defined and
fixed-size chunks as it streams, chunk identities sha256 of their bytes, compressed bytes zstd
level 3 of each chunk alone.
"""

from __future__ import annotations

import hashlib
import itertools
import random
import threading
import time

import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st
from pyfastcdc import FastCDC

from layersim.model.chunks import ChunkSizes
from layersim.model.digest import ContentDigest
from layersim.readers import chunking as chunking_module
from layersim.readers.chunking import ZSTD_LEVEL, Chunking

# small sizes, so that short inputs have many chunks (pyfastcdc's lowest bounds)
SMALL = ChunkSizes(cdc_min_bytes=64, cdc_avg_bytes=256, cdc_max_bytes=1024, fixed_bytes=1000)


def _sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


def _random_bytes(seed: int, n: int) -> bytes:
    return random.Random(seed).randbytes(n)


def _chunked(data: bytes, sizes: ChunkSizes = SMALL, cuts: list[int] | None = None):
    """Feed `data` to a file chunker in pieces cut at `cuts` (default: whole) and finish."""
    chunking = Chunking(sizes)
    chunker = chunking.file(len(data))
    bounds = [0, *(cuts or []), len(data)]
    for lo, hi in itertools.pairwise(bounds):
        chunker.update(memoryview(data)[lo:hi])
    return chunker.finish(ContentDigest(_sha(data)))


def test_zero_bytes_cut_at_the_maximum() -> None:
    """All-zero bytes never match FastCDC's masks (the gear hash of zeros stays off them), so
    10240 zero bytes with max 1024 are ten chunks of 1024 — fastcdc-rs's `test_all_zeros`
    vector — all one digest; fixed chunks of 1000: ten of 1000 and one of 240."""
    chunks = _chunked(bytes(10240))
    assert [c.file_bytes for c in chunks.cdc] == [1024] * 10
    assert {c.digest for c in chunks.cdc} == {_sha(bytes(1024))}
    assert [c.file_bytes for c in chunks.fixed] == [1000] * 10 + [240]
    assert chunks.fixed[-1].digest == _sha(bytes(240))


def test_a_small_file_is_one_chunk_identified_by_its_content() -> None:
    """A file shorter than the CDC minimum is one chunk under both chunkers, whose digest is
    the file's own sha256 and whose compressed bytes are zstd level 3 of the file."""
    data = b"hello, chunks\n" * 3
    chunks = _chunked(data)
    expected = len(zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(data))
    assert [(c.digest, c.file_bytes, c.compressed_bytes) for c in chunks.cdc] == [
        (_sha(data), len(data), expected)
    ]
    assert chunks.fixed == chunks.cdc


def test_fixed_chunks_are_slices_of_the_chunk_size() -> None:
    """Fixed-size chunks of 2500 bytes at 1000: 1000, 1000, 500, each the sha256 of its slice."""
    data = _random_bytes(7, 2500)
    chunks = _chunked(data)
    assert [(c.digest, c.file_bytes) for c in chunks.fixed] == [
        (_sha(data[0:1000]), 1000),
        (_sha(data[1000:2000]), 1000),
        (_sha(data[2000:2500]), 500),
    ]


@settings(max_examples=40, deadline=None)
@given(
    seed=st.integers(0, 2**16),
    n=st.integers(1, 6000),
    cuts=st.lists(st.integers(0, 6000), max_size=6),
)
def test_streaming_cuts_as_the_whole_buffer_does(seed: int, n: int, cuts: list[int]) -> None:
    """However the stream cuts a file, its CDC chunks are pyfastcdc's chunks of the whole file
    (the same offsets and sha256 digests), and its fixed chunks the whole file's slices."""
    data = _random_bytes(seed, n)
    chunks = _chunked(data, cuts=sorted(c for c in cuts if c <= n))
    cdc = FastCDC(256, min_size=64, max_size=1024, normalized_chunking=1)
    whole = [(_sha(bytes(c.data)), c.length) for c in cdc.cut_buf(data)]
    assert [(c.digest, c.file_bytes) for c in chunks.cdc] == whole
    assert [c.file_bytes for c in chunks.fixed] == [min(1000, n - k) for k in range(0, n, 1000)]


def test_streaming_a_large_file_across_rounds() -> None:
    """A file longer than a round of cutting (`FLUSH_BYTES`), fed in 64 KiB pieces, gets the
    chunks pyfastcdc finds in the whole file with the default sizes."""
    data = _random_bytes(3, 9 << 20)
    step = 64 << 10
    chunks = _chunked(data, ChunkSizes(), cuts=list(range(step, len(data), step)))
    whole = [(_sha(bytes(c.data)), c.length) for c in FastCDC(65536).cut_buf(data)]
    assert [(c.digest, c.file_bytes) for c in chunks.cdc] == whole
    assert [c.file_bytes for c in chunks.fixed] == [1 << 20] * 9


def test_an_edit_in_one_place_changes_one_or_two_cdc_chunks() -> None:
    """Overwriting 10 bytes in the middle of a 20000-byte file leaves every CDC chunk but the
    one or two around the edit shared (content-defined boundaries resynchronize), and every
    fixed chunk but the one holding the edit."""
    data = _random_bytes(11, 20000)
    edited = data[:10000] + b"0123456789" + data[10010:]
    before, after = _chunked(data), _chunked(edited)
    old = {c.digest for c in before.cdc}
    new = [c for c in after.cdc if c.digest not in old]
    assert 1 <= len(new) <= 2
    assert len(after.cdc) - len(new) >= len(before.cdc) - 3
    old_fixed = {c.digest for c in before.fixed}
    assert sum(c.digest not in old_fixed for c in after.fixed) == 1


def test_an_insertion_shifts_fixed_chunks_but_not_cdc_ones() -> None:
    """Inserting 100 bytes near the start of a file: every fixed chunk after the insertion
    changes (their boundaries shift), while all CDC chunks but one or two stay shared."""
    data = _random_bytes(5, 20000)
    inserted = data[:500] + _random_bytes(6, 100) + data[500:]
    before, after = _chunked(data), _chunked(inserted)
    old_fixed = {c.digest for c in before.fixed}
    assert not any(c.digest in old_fixed for c in after.fixed)
    old = {c.digest for c in before.cdc}
    assert sum(c.digest not in old for c in after.cdc) <= 2
    assert len(after.cdc) >= 10


def test_contents_collects_each_content_once_and_compresses_each_chunk_once() -> None:
    """Two files sharing their first chunk: both contents are collected, and the shared chunk
    carries one compressed size (computed once per distinct digest)."""
    chunking = Chunking(SMALL)
    a = bytes(1024) + _random_bytes(1, 300)
    b = bytes(1024) + _random_bytes(2, 300)
    for data in (a, b):
        chunker = chunking.file(len(data))
        chunker.update(data)
        chunker.finish(ContentDigest(_sha(data)))
    assert set(chunking.contents) == {_sha(a), _sha(b)}
    first = [chunking.contents[_sha(d)].cdc[0] for d in (a, b)]
    assert first[0] == first[1]
    assert first[0].compressed_bytes == len(
        zstandard.ZstdCompressor(level=ZSTD_LEVEL).compress(bytes(1024))
    )


def test_chunks_are_compressed_on_worker_threads_with_the_same_sizes() -> None:
    """The reading thread only queues compressions: every chunk is compressed on a
    `layersim-zstd` worker thread, and `contents` gives each chunk the size of zstd level 3 of
    its bytes alone, as compressing on the reading thread would."""
    chunking = Chunking(SMALL, workers=2)
    threads: set[str] = set()
    compress = chunking._compress

    def on_worker(digest, data):
        threads.add(threading.current_thread().name)
        compress(digest, data)

    chunking._compress = on_worker
    files = [_random_bytes(seed, 5000 + 700 * seed) for seed in range(4)]
    for data in files:
        chunker = chunking.file(len(data))
        chunker.update(data)
        assert chunker.finish(ContentDigest(_sha(data)), wait=False) is None
    assert threads and all(name.startswith("layersim-zstd") for name in threads)
    zstd = zstandard.ZstdCompressor(level=ZSTD_LEVEL)
    for data in files:
        chunks = chunking.contents[_sha(data)]
        offset = 0
        for chunk in chunks.cdc:
            piece = data[offset : offset + chunk.file_bytes]
            assert chunk.digest == _sha(piece)
            assert chunk.compressed_bytes == len(zstd.compress(piece))
            offset += chunk.file_bytes
        assert offset == len(data)
        assert [c.compressed_bytes for c in chunks.fixed] == [
            len(zstd.compress(data[k : k + 1000])) for k in range(0, len(data), 1000)
        ]


def test_bytes_waiting_for_compression_are_bounded(monkeypatch) -> None:
    """A reader that gets ahead of the compressing threads waits: with room for 3000 bytes,
    never more than 3000 bytes of chunks (1000 each) wait to be compressed at once, however
    slow the compression."""
    monkeypatch.setattr(chunking_module, "QUEUED_BYTES", 3000)
    chunking = Chunking(SMALL, workers=1)
    compress = chunking._compress
    waiting: list[int] = []

    def slow(digest, data):
        waiting.append(chunking._queued_bytes)
        time.sleep(0.002)
        compress(digest, data)

    chunking._compress = slow
    data = _random_bytes(9, 40_000)
    chunker = chunking.file(len(data))
    chunker.update(data)
    chunker.finish(ContentDigest(_sha(data)))
    assert len(waiting) >= 40 and max(waiting) <= 3000
