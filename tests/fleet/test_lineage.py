"""Tests of `layersim.fleet.lineage`: modelled chunk lengths follow pyfastcdc's on random
bytes, a file edited in one place shares all but the touched chunks (content-defined: one or
two; fixed-size: one for an overwrite, every chunk from the edit point on for an insertion),
the lineage draws nothing from the run's generator, and on generated fleets the engine's chunk
figures equal the reference's."""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pyfastcdc.cy import FastCDC

from layersim.accounting import reference
from layersim.accounting.arrays import ChunkArrays, csr_offsets, to_population
from layersim.accounting.assemble import metrics_from_arrays
from layersim.fleet.contents import Contents
from layersim.fleet.lineage import (
    EditModel,
    cdc_lengths,
    cdc_slots,
    fixed_slots,
    lineage_chunks,
)
from layersim.model.chunks import ChunkSizes
from tests.fleet.fleets import arrays_equal, tiny_fleet

SMALL_CHUNKS = ChunkSizes(256, 1024, 4096, 4096)


def test_cdc_lengths_follow_pyfastcdc_on_random_bytes() -> None:
    """Over 4 MiB of random bytes pyfastcdc (min 256, avg 1024, max 4096) cuts chunks whose mean
    length and share below the average size the modelled lengths match within 3% (both from
    fixed seeds, so the figures are fixed too)."""
    data = np.random.default_rng(7).integers(0, 256, 4 << 20, dtype=np.uint8).tobytes()
    real = np.array([c.length for c in FastCDC(1024, min_size=256, max_size=4096).cut_buf(data)])
    real = real[:-1]  # the last chunk is what is left
    drawn = cdc_lengths(SMALL_CHUNKS, 200_000, np.random.default_rng(7))
    assert drawn.min() >= 256 and drawn.max() <= 4096
    assert drawn.mean() == pytest.approx(real.mean(), rel=0.03)
    assert (drawn < 1024).mean() == pytest.approx((real < 1024).mean(), abs=0.03)


def test_slots_cover_each_file() -> None:
    """Each file's slots add up to its bytes (none for an empty file); fixed-size slots are
    ceil(size / chunk) with the last one shorter; a file no longer than `min` is one chunk."""
    sizes = np.array([0, 1, 256, 5000, 100_000], dtype=np.int64)
    fixed = fixed_slots(sizes, 4096)
    assert np.diff(fixed.offsets).tolist() == [0, 1, 1, 2, 25]
    assert fixed.slot_bytes[fixed.offsets[3] : fixed.offsets[4]].tolist() == [4096, 904]
    cdc = cdc_slots(sizes, SMALL_CHUNKS, np.random.default_rng(1))
    n = np.diff(cdc.offsets)
    assert n[:3].tolist() == [0, 1, 1]
    for f, size in enumerate(sizes.tolist()):
        assert int(cdc.slot_bytes[cdc.offsets[f] : cdc.offsets[f + 1]].sum()) == size
    # every chunk but a file's last is at least min bytes
    last = cdc.offsets[1:][n > 0] - 1
    inner = np.setdiff1d(np.arange(cdc.slot_bytes.size), last)
    assert cdc.slot_bytes[inner].min() >= 256


def _two_versions(n_files: int, file_bytes: int) -> Contents:
    """One tree of `n_files` files of `file_bytes`, two versions, every file rewritten in
    version 1: contents 2f (version 0) and 2f + 1 (version 1) of file f."""
    positions = 2 * n_files
    return Contents(
        tfv_offsets=np.array([0, positions], dtype=np.int64),
        content=np.arange(positions, dtype=np.int64),
        birth=np.arange(positions, dtype=np.int64),
        content_file_bytes=np.full(positions, file_bytes, dtype=np.int64),
        content_compressed_bytes=np.full(positions, file_bytes // 2, dtype=np.int64),
        content_class=np.zeros(positions, dtype=np.int8),
    )


def _shared(table: ChunkArrays, a: int, b: int) -> tuple[int, int]:
    """(chunks of content b also in content a, chunks of content b)."""
    off = table.content_offsets
    x = set(table.content_chunks[off[a] : off[a + 1]].tolist())
    y = table.content_chunks[off[b] : off[b + 1]].tolist()
    return sum(c in x for c in y), len(y)


@pytest.mark.parametrize("insert_probability", [0.0, 1.0])
def test_one_edit_shares_all_but_the_touched_chunks(insert_probability: float) -> None:
    """A 64 KiB file edited by one byte: content-defined chunks share all but one or two
    (the edited chunk, and the next when the edit is not in the last); fixed-size chunks
    (4 KiB) lose one chunk to an overwrite and every chunk from the edit point on to an
    insertion, so over 40 files CDC shares more where edits insert."""
    contents = _two_versions(40, 65536)
    model = EditModel(edit_fraction=0.0, insert_probability=insert_probability)
    cdc, fixed = lineage_chunks(
        contents, np.array([2]), SMALL_CHUNKS, model, np.random.default_rng(3)
    )
    cdc_shared = fixed_shared = 0
    for f in range(40):
        shared, n = _shared(cdc, 2 * f, 2 * f + 1)
        assert n - 2 <= shared <= n - 1
        cdc_shared += shared / n
        shared, n = _shared(fixed, 2 * f, 2 * f + 1)
        assert n == 16
        if insert_probability == 0.0:
            assert shared == 15
        else:
            assert shared <= 15
            # shared chunks are a prefix: everything after the edit point moved
            off = fixed.content_offsets
            old = fixed.content_chunks[off[2 * f] : off[2 * f + 1]]
            new = fixed.content_chunks[off[2 * f + 1] : off[2 * f + 2]]
            assert (old[:shared] == new[:shared]).all() and not (old[shared:] == new[shared:]).any()
        fixed_shared += shared / n
    if insert_probability == 1.0:
        assert cdc_shared > fixed_shared


def test_whole_rewrites_share_nothing() -> None:
    """With `edit_fraction` 1 every version rewrites every chunk: the distinct chunks hold
    exactly the distinct contents' bytes (chunk dedup = file dedup)."""
    contents = _two_versions(5, 30_000)
    cdc, fixed = lineage_chunks(
        contents, np.array([2]), SMALL_CHUNKS, EditModel(1.0, 0.5), np.random.default_rng(0)
    )
    for table in (cdc, fixed):
        assert int(table.chunk_file_bytes.sum()) == 10 * 30_000
        assert (
            table.content_offsets.tolist() == csr_offsets(np.diff(table.content_offsets)).tolist()
        )


def test_unused_versions_still_edit() -> None:
    """Three versions of one 64 KiB file, the middle one used by no layer: the last content
    still differs from the first where either edit touched it (fixed-size overwrites of one
    byte: it shares 14 or 15 of 16 chunks, not 15 for sure)."""
    contents = Contents(
        tfv_offsets=np.array([0, 3], dtype=np.int64),
        content=np.array([0, -1, 1], dtype=np.int64),
        birth=np.array([0, 1, 2], dtype=np.int64),
        content_file_bytes=np.array([65536, 65536], dtype=np.int64),
        content_compressed_bytes=np.array([100, 100], dtype=np.int64),
        content_class=np.zeros(2, dtype=np.int8),
    )
    seen = set()
    for seed in range(20):
        _, fixed = lineage_chunks(
            contents, np.array([3]), SMALL_CHUNKS, EditModel(0.0, 0.0), np.random.default_rng(seed)
        )
        shared, n = _shared(fixed, 0, 1)
        assert n == 16 and shared in (14, 15)
        seen.add(shared)
    assert seen == {14, 15}


def test_lineage_leaves_every_other_draw_alone() -> None:
    """Other chunk settings change the chunks only: every other array of the fleet is the
    same (the lineage draws from a child generator)."""
    a = tiny_fleet().arrays
    b = tiny_fleet("chunks.edit_fraction=0.7", "chunks.cdc_avg_bytes=131072").arrays
    assert not np.array_equal(a.cdc_chunks.chunk_file_bytes, b.cdc_chunks.chunk_file_bytes)
    no_chunks = {"cdc_chunks": None, "fixed_chunks": None}
    assert arrays_equal(dataclasses.replace(a, **no_chunks), dataclasses.replace(b, **no_chunks))


def test_same_seed_same_chunks() -> None:
    """The same config and seed give the same chunks."""
    a, b = tiny_fleet().arrays, tiny_fleet().arrays
    for x, y in ((a.cdc_chunks, b.cdc_chunks), (a.fixed_chunks, b.fixed_chunks)):
        for f in dataclasses.fields(x):
            assert np.array_equal(getattr(x, f.name), getattr(y, f.name))


# chunk sizes that keep the reference fast on the tiny fleet's 1.2 GB of contents
@settings(max_examples=6, deadline=None)
@given(
    seed=st.integers(0, 2**32),
    edit=st.floats(0, 1),
    insert=st.floats(0, 1),
    fixed_bytes=st.sampled_from([65536, 1 << 20, 4 << 20]),
    avg=st.sampled_from([32768, 65536, 262144]),
)
def test_engine_chunk_figures_equal_the_reference(seed, edit, insert, fixed_bytes, avg) -> None:
    """On generated fleets with any seed, edit model and chunk sizes, the engine's chunk
    figures (registry and every node, both chunkers) equal the reference implementation's,
    and chunks never store more file bytes than whole files do."""
    fleet = tiny_fleet(
        f"chunks.edit_fraction={edit}",
        f"chunks.insert_probability={insert}",
        f"chunks.fixed_bytes={fixed_bytes}",
        f"chunks.cdc_min_bytes={avg // 4}",
        f"chunks.cdc_avg_bytes={avg}",
        f"chunks.cdc_max_bytes={avg * 4}",
        seed=seed,
    )
    a = fleet.arrays
    a.validate()
    expected = reference.evaluate(to_population(a))
    got = metrics_from_arrays(a)
    assert got.registry_stored_bytes.chunk_cdc is not None
    assert got.registry_stored_bytes == expected.registry_stored_bytes
    for x, y in zip(got.nodes, expected.nodes, strict=True):
        assert (x.stored_bytes.chunk_cdc, x.stored_bytes.chunk_fixed) == (
            y.stored_bytes.chunk_cdc,
            y.stored_bytes.chunk_fixed,
        )
    for table in (a.cdc_chunks, a.fixed_chunks):
        assert int(table.chunk_file_bytes.sum()) <= int(a.content_file_bytes.sum())
