"""Tests of `layersim.simulation.lazy`: the lazy-pull model's fetches per blob and per pull on
worked examples (a node pulling images of known layer sizes), and its invariants against the
full pull of `pulltime`."""

from __future__ import annotations

from dataclasses import replace

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.accounting.arrays import canonical, from_population
from layersim.accounting.images import image_table
from layersim.accounting.transfers import pull_sequences
from layersim.config import LazyConfig, TransferConfig
from layersim.model import EntryKind, Image, Node, Population, make_entry, make_layer
from layersim.model.digest import content_digest
from layersim.simulation.lazy import blob_fetches, pull_fetches, startup_seconds
from layersim.simulation.pulltime import pull_seconds

MB = 1_000_000
LAZY = LazyConfig(read_fraction=0.064, chunk_bytes=MB, request_latency_ms=50.0, background=True)


def _layer(path: str, content: str):
    return make_layer([make_entry(path, EntryKind.FILE, 4096, content_digest(content, 4096))])


BASE, APP, APP2 = _layer("etc/os", "base"), _layer("app/bin", "app"), _layer("app/bin", "v2")


def _one_node_pulls(layer_bytes: list[int]):
    """A node pulling a:1 (base, app) then a:2 (base, app2) onto an empty node, the three
    layers' compressed bytes set to `layer_bytes` (layer ids 0, 1, 2)."""
    population = Population(
        (Image("a:1", (BASE, APP)), Image("a:2", (BASE, APP2))),
        nodes=(Node("n", ("a:1", "a:2")),),
    )
    arrays = from_population(population)
    assert arrays.image_layers.tolist() == [0, 1, 0, 2]
    arrays = replace(arrays, layer_compressed_bytes=np.array(layer_bytes, dtype=np.int64))
    pulls = pull_sequences(
        arrays, arrays.node_offsets, arrays.node_images, image_table(canonical(arrays))
    )
    return arrays, pulls


def test_blob_fetches_worked_example():
    """6.4% of a 10 MB blob is 640,000 bytes: one 1 MB request at start-up, the other 9 MB in
    nine; 50% in 4 MB chunks: two requests (8 MB), the last 2 MB in one; a 0-byte (not
    fetched) blob costs nothing; a 0.5 MB blob is one short request."""
    fetched = blob_fetches(np.array([10 * MB, 0, MB // 2]), LAZY)
    assert fetched.startup_requests.tolist() == [1, 0, 1]
    assert fetched.startup_bytes.tolist() == [MB, 0, MB // 2]
    assert fetched.background_bytes.tolist() == [9 * MB, 0, 0]
    assert fetched.background_requests.tolist() == [9, 0, 0]
    half = blob_fetches(np.array([10 * MB]), replace(LAZY, read_fraction=0.5, chunk_bytes=4 * MB))
    assert (half.startup_requests[0], half.startup_bytes[0]) == (2, 8 * MB)
    assert (half.background_requests[0], half.background_bytes[0]) == (1, 2 * MB)


def test_pull_fetches_cold_then_warm():
    """The first pull (empty node) lacks base (10 MB) and app (3 MB): one request of each at
    start-up, 2 MB, the other 11 MB in 9 + 2 requests. The second holds base and lacks only
    app2 (2.5 MB): 1 MB at start-up, 1.5 MB in 2 requests. Without background fetching the
    rest is never moved."""
    arrays, pulls = _one_node_pulls([10 * MB, 3 * MB, 5 * MB // 2])
    assert pulls.downloaded_bytes.tolist() == [13 * MB, 5 * MB // 2]
    lazy = pull_fetches(arrays, pulls, LAZY)
    assert lazy.startup_bytes.tolist() == [2 * MB, MB]
    assert lazy.startup_requests.tolist() == [2, 1]
    assert lazy.background_bytes.tolist() == [11 * MB, 3 * MB // 2]
    assert lazy.background_requests.tolist() == [11, 2]
    assert lazy.moved_bytes(LAZY).tolist() == [13 * MB, 5 * MB // 2]
    assert lazy.requests(LAZY).tolist() == [13, 3]
    never = replace(LAZY, background=False)
    assert lazy.moved_bytes(never).tolist() == [2 * MB, MB]
    assert lazy.requests(never).tolist() == [2, 1]


def test_startup_seconds_worked_example():
    """Default link (1 Gbit/s, 3 parallel, 50 ms, 60 MB/s extraction): the cold full pull
    takes one wave plus 13 MB on the link and 13 MB extracted, 0.05 + 0.104 + 0.21667 s; the
    lazy start-up one wave plus 2 MB, 0.05 + 0.016 s (nothing extracted before the start)."""
    arrays, pulls = _one_node_pulls([10 * MB, 3 * MB, 5 * MB // 2])
    lazy = pull_fetches(arrays, pulls, LAZY)
    transfer = TransferConfig()
    full = pull_seconds(pulls.downloaded_layers, pulls.downloaded_bytes, transfer)
    fast = startup_seconds(lazy.startup_requests, lazy.startup_bytes, transfer, LAZY)
    assert full.tolist() == pytest.approx([0.154 + 13 / 60, 0.07 + 2.5 / 60])
    assert fast.tolist() == pytest.approx([0.066, 0.058])


blob_sizes = st.lists(st.integers(0, 50 * MB), min_size=1, max_size=8)
fractions = st.floats(0.0, 1.0)
chunks = st.integers(1, 8 * MB)


@given(blob_sizes, fractions, chunks)
def test_lazy_fetches_partition_the_blob(sizes, fraction, chunk):
    """Start-up bytes cover what is read (`ceil(f * B)`), never exceed the blob, and with the
    background bytes make up the whole blob; every request but a blob's last is a whole
    chunk."""
    blobs = np.array(sizes, dtype=np.int64)
    fetched = blob_fetches(blobs, LazyConfig(read_fraction=fraction, chunk_bytes=chunk))
    read = np.minimum(np.ceil(fraction * blobs), blobs)
    assert np.all(fetched.startup_bytes >= read)
    assert np.all(fetched.startup_bytes <= blobs)
    assert np.array_equal(fetched.startup_bytes + fetched.background_bytes, blobs)
    requests = fetched.startup_requests + fetched.background_requests
    assert np.all(requests >= -(-blobs // chunk))
    assert np.all(requests <= -(-blobs // chunk) + 1)


@given(blob_sizes, fractions, chunks, st.integers(1, 8))
def test_lazy_startup_is_never_more_than_a_full_pull(sizes, fraction, chunk, parallel):
    """Lazy start-up bytes <= full pull bytes; with no latency, lazy start-up time <= full
    pull time."""
    blobs = np.array(sizes, dtype=np.int64)
    lazy = LazyConfig(read_fraction=fraction, chunk_bytes=chunk, request_latency_ms=0.0)
    transfer = TransferConfig(blob_latency_ms=0.0, parallel_downloads=parallel)
    fetched = blob_fetches(blobs, lazy)
    assert fetched.startup_bytes.sum() <= blobs.sum()
    full = pull_seconds(np.array([(blobs > 0).sum()]), np.array([blobs.sum()]), transfer)
    fast = startup_seconds(
        np.array([fetched.startup_requests.sum()]),
        np.array([fetched.startup_bytes.sum()]),
        transfer,
        lazy,
    )
    assert fast[0] <= full[0]


@given(blob_sizes, st.integers(1, 8), st.floats(0.0, 500.0))
def test_reading_everything_in_one_chunk_per_blob_is_a_full_pull(sizes, parallel, latency):
    """With read_fraction 1 and chunks at least as large as every blob, a lazy start-up
    fetches exactly what a full pull does, one request per blob, in the same time when the
    request latency is the blob latency."""
    blobs = np.array(sizes, dtype=np.int64)
    lazy = LazyConfig(
        read_fraction=1.0, chunk_bytes=int(blobs.max()) + 1, request_latency_ms=latency
    )
    # a lazy pull extracts nothing before the start: compare downloads only (no extraction)
    transfer = TransferConfig(
        blob_latency_ms=latency, parallel_downloads=parallel, extract_mbyte_per_s=1e300
    )
    fetched = blob_fetches(blobs, lazy)
    assert np.array_equal(fetched.startup_bytes, blobs)
    assert np.array_equal(fetched.startup_requests, (blobs > 0).astype(np.int64))
    assert not fetched.background_bytes.any()
    full = pull_seconds(np.array([(blobs > 0).sum()]), np.array([blobs.sum()]), transfer)
    fast = startup_seconds(
        np.array([fetched.startup_requests.sum()]),
        np.array([fetched.startup_bytes.sum()]),
        transfer,
        lazy,
    )
    assert fast[0] == full[0]


@given(st.lists(st.integers(0, 40), min_size=1, max_size=8), st.integers(1, 4 * MB))
def test_reading_everything_in_chunks_that_divide_each_blob(counts, chunk):
    """With read_fraction 1 and blobs a whole number of chunks, a lazy start-up fetches every
    byte in `B / C` requests and leaves nothing for the background."""
    blobs = np.array(counts, dtype=np.int64) * chunk
    fetched = blob_fetches(blobs, LazyConfig(read_fraction=1.0, chunk_bytes=chunk))
    assert np.array_equal(fetched.startup_bytes, blobs)
    assert np.array_equal(fetched.startup_requests, blobs // chunk)
    assert not fetched.background_requests.any()
