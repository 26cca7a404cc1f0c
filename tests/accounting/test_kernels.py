"""The engine's compiled loops on worked examples (the engine tests hold them, through the
engine, equal to the reference implementation on random populations)."""

from __future__ import annotations

import numpy as np
import pytest

from layersim.accounting import kernels
from layersim.model import EntryKind

I = np.int64  # noqa: E741 - shorthand for the arrays below


def _held_bytes(*args):
    """`kernels.held_bytes` with its scratch, filled with values a stale run could leave
    (stamps of holder 0), which the kernel must not trust."""
    n_groups, n_items = args[4].size - 1, args[6].size
    return kernels.held_bytes(
        *args,
        np.zeros(n_groups, np.int32),
        np.full(n_groups, -1, I),
        np.full(n_groups, 7, I),
        np.zeros(n_items, np.int32),
        np.full(n_items, -1, I),
        np.full(n_items, 7, I),
    )


def test_held_bytes_counts_each_item_once_per_epoch_held() -> None:
    """Holder 0 holds group 0 (items 0, 1) in epochs 0-1 and group 1 (items 1, 2) in epochs
    1-2; holder 1 holds group 1 twice in epoch 0. Item 1 is counted once per epoch however
    many groups or rows hold it."""
    unit = np.array([1, 10, 100], dtype=I)
    group_offsets = np.array([0, 2, 4], dtype=I)
    group_items = np.array([0, 1, 1, 2], dtype=np.int32)
    row_holder = np.array([0, 0, 1, 1], dtype=I)
    row_group = np.array([0, 1, 1, 1], dtype=I)
    row_mask = np.array([0b011, 0b110, 0b001, 0b001], dtype=I)
    order = np.argsort(row_holder, kind="stable")
    bounds = np.searchsorted(row_holder[order], np.arange(3))
    out = _held_bytes(order, bounds, row_group, row_mask, group_offsets, group_items, unit, 4)
    assert out.tolist() == [[11, 111, 110, 0], [110, 0, 0, 0]]


def test_held_bytes_of_a_holder_with_no_rows_is_zero() -> None:
    """A holder with no rows holds nothing in any epoch; the next holder's row still counts."""
    unit = np.array([5], dtype=I)
    out = _held_bytes(
        np.array([0], dtype=I),
        np.array([0, 0, 1], dtype=I),  # holder 0 has no rows, holder 1 has row 0
        np.array([0], dtype=I),
        np.array([0b1], dtype=I),
        np.array([0, 1], dtype=I),
        np.array([0], dtype=I),
        unit,
        2,
    )
    assert out.tolist() == [[0, 0], [5, 0]]


def test_held_chunk_bytes_counts_each_chunk_once_per_epoch_held() -> None:
    """Groups (layers) hold items (contents), items hold chunks: layer 0 holds contents 0 and
    1, layer 1 content 1 and 2; content 0 is chunks 0, 1, content 1 chunks 1, 2 (chunk 1
    shared), content 2 chunk 3. Holder 0 holds layer 0 in epochs 0-1 and layer 1 in epochs
    1-2; holder 1 holds layer 1 in epoch 0. A chunk counts once per epoch, however many
    contents, layers or rows hold it."""
    unit = np.array([1, 10, 100, 1000], dtype=I)
    row_holder = np.array([0, 0, 1], dtype=I)
    row_group = np.array([0, 1, 1], dtype=I)
    row_mask = np.array([0b011, 0b110, 0b001], dtype=I)
    order = np.argsort(row_holder, kind="stable")
    bounds = np.searchsorted(row_holder[order], np.arange(3))
    n_groups, n_items, n_chunks = 2, 3, 4
    out = kernels.held_chunk_bytes(
        order,
        bounds,
        row_group,
        row_mask,
        np.array([0, 2, 4], dtype=I),
        np.array([0, 1, 1, 2], dtype=I),
        np.array([0, 2, 4, 5], dtype=I),
        np.array([0, 1, 1, 2, 3], dtype=I),
        unit,
        4,
        *(np.zeros(n_groups, t) for t in (np.int32, I, I)),
        *(np.zeros(n_items, t) for t in (np.int32, I, I)),
        *(np.zeros(n_chunks, t) for t in (np.int32, I, I)),
    )
    # holder 0: epoch 0 chunks 0,1,2; epoch 1 all; epoch 2 chunks 1,2,3; holder 1: 1,2,3
    assert out.tolist() == [[111, 1111, 1110, 0], [1110, 0, 0, 0]]


def test_scan_layers_sums_and_gathers_contents() -> None:
    """Per layer: file bytes, disk bytes (a file rounded up to 4 KiB blocks, a block per
    directory) and the contents of its regular files."""
    offsets = np.array([0, 3, 3, 4], dtype=I)
    kind = np.array([kernels.DIR, kernels.FILE, kernels.SYMLINK, kernels.FILE], dtype=np.int8)
    content = np.array([-1, 7, -1, 2], dtype=I)
    file_bytes = np.array([0, 5000, 0, 4096], dtype=I)
    contents = np.full(4, -5, dtype=np.int32)
    file_sum, disk_sum, file_offsets = kernels.scan_layers(
        offsets, kind, content, file_bytes, 4096, 12, contents
    )
    assert file_sum.tolist() == [5000, 0, 4096]
    assert disk_sum.tolist() == [4096 + 8192, 0, 4096]
    assert file_offsets.tolist() == [0, 1, 1, 2]
    assert contents.tolist() == [7, 2, -5, -5]


def test_check_entries_names_the_problem() -> None:
    """(0, sorted) for good entries, `sorted` false for an opaque marker before its DIR; problem
    1 for a content on a non-file, 2 for negative file bytes."""
    offsets = np.array([0, 2], dtype=I)
    path = np.array([1, 1], dtype=I)
    dir_then_opaque = np.array([kernels.DIR, kernels.OPAQUE], dtype=np.int8)
    no_content = np.array([-1, -1], dtype=I)
    zero = np.zeros(2, dtype=I)
    assert kernels.check_entries(offsets, path, dir_then_opaque, no_content, zero) == (0, True)
    opaque_then_dir = dir_then_opaque[::-1].copy()
    assert kernels.check_entries(offsets, path, opaque_then_dir, no_content, zero) == (0, False)
    with_content = np.array([-1, 3], dtype=I)
    assert kernels.check_entries(offsets, path, dir_then_opaque, with_content, zero)[0] == 1
    negative = np.array([0, -1], dtype=I)
    assert kernels.check_entries(offsets, path, dir_then_opaque, no_content, negative)[0] == 2


def test_block_shift() -> None:
    """log2 of power-of-two block sizes; any other size is refused with the size named."""
    assert [kernels.block_shift(b) for b in (1, 512, 4096)] == [0, 9, 12]
    with pytest.raises(ValueError, match="power of two, got 3000"):
        kernels.block_shift(3000)


def test_lowest_bit_of_every_single_bit_and_of_mixed_masks() -> None:
    """The index of the lowest set bit, for each of the 64 single bits (bit 63 is the int64
    sign) and for a mask with several bits set."""
    for b in range(64):
        x = np.int64(-(1 << 63)) if b == 63 else np.int64(1 << b)
        assert kernels._lowest_bit(x) == b
    assert kernels._lowest_bit(np.int64(0b1011000)) == 3


def test_held_bytes_with_runs_reaching_the_last_of_64_epochs() -> None:
    """One item held by two rows, in epochs 0-1 and in 62-63 (the bit patterns differ, so the
    epochs are spread by runs; one run ends on bit 63)."""
    late = np.int64((0b11 << 62) - (1 << 64))  # bits 62, 63 as an int64 bit pattern
    out = _held_bytes(
        np.array([0, 1], dtype=I),
        np.array([0, 2], dtype=I),
        np.array([0, 0], dtype=I),
        np.array([0b11, late], dtype=I),
        np.array([0, 1], dtype=I),
        np.array([0], dtype=I),
        np.array([7], dtype=I),
        64,
    )
    assert np.flatnonzero(out[0]).tolist() == [0, 1, 62, 63]
    assert set(out[0].tolist()) == {0, 7}


def test_covered_within_each_store() -> None:
    """Store 0 gets key 5 at epoch 0 kept until 0, then again at epoch 1 (gone by then: not
    covered), then at epoch 1 (covered by the row before); store 1's first row of key 5 is
    never covered by store 0's."""
    key = np.array([5, 5, 5, 5], dtype=I)
    start = np.array([0, 1, 1, 0], dtype=I)
    until = np.array([0, 3, 3, 0], dtype=I)
    order = np.array([0, 1, 2, 3], dtype=I)
    bounds = np.array([0, 3, 4], dtype=I)
    out = kernels.covered(
        order, bounds, key, start, until, np.zeros(6, np.int32), np.full(6, 99, I)
    )
    assert out.tolist() == [False, False, True, False]


def test_entry_kind_codes_agree_everywhere() -> None:
    """Every spelling of the entry kind codes is `model.EntryKind`'s (the kernels' constants, the
    only other place they are named); and the orders the loops rely on hold
    (whiteouts and opaque markers the two largest codes, a DIR before an opaque marker)."""
    for kind in EntryKind:
        assert getattr(kernels, kind.name) == int(kind), kind
    largest = sorted(int(kind) for kind in EntryKind)[-2:]
    assert sorted([kernels.WHITEOUT, kernels.OPAQUE]) == largest
    assert kernels.DIR < kernels.OPAQUE


def test_search_shown_entries_from_the_top() -> None:
    """One image of two layers over paths 0 (`d`) and 1 (`d/f`): layer 0 has d and d/f, layer 1
    an opaque marker at d. d shows layer 0's DIR (an opaque marker hides only what is below);
    d/f is hidden; a query on a second image of layer 0 alone finds d/f."""
    image_offsets = np.array([0, 2, 3], dtype=I)
    image_layers = np.array([0, 1, 0], dtype=I)
    layer_offsets = np.array([0, 2, 3], dtype=I)
    path = np.array([0, 1, 0], dtype=I)
    kind = np.array([kernels.DIR, kernels.FILE, kernels.OPAQUE], dtype=np.int8)
    path_parent = np.array([-1, 0], dtype=I)
    found = kernels.search_shown_entries(
        image_offsets,
        image_layers,
        layer_offsets,
        path,
        kind,
        path_parent,
        np.array([0, 0, 1], dtype=I),
        np.array([0, 1, 1], dtype=I),
    )
    assert found.tolist() == [0, -1, 1]
