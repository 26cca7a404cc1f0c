"""Scratch memory for the compiled loops (`accounting.scratch`): arrays of the asked shape and
type from either source, and every figure the same whichever backs the kernels' scratch."""

from __future__ import annotations

import mmap
from unittest.mock import patch

import numpy as np
from hypothesis import given

from layersim.accounting import reference, scratch
from layersim.accounting.assemble import evaluate
from layersim.model import Population
from tests.strategies import populations


def _owner(array: np.ndarray) -> object:
    """The object that holds an array's memory (through views and buffers)."""
    owner: object = array
    while isinstance(owner, np.ndarray) and owner.base is not None:
        owner = owner.base
    return owner.obj if isinstance(owner, memoryview) else owner


def test_scratch_small_comes_from_the_heap() -> None:
    """Below `HUGE_PAGES_FROM`: a writable array of the shape and type asked, not a map."""
    out = scratch.scratch((3, 2), np.int32)
    assert out.shape == (3, 2) and out.dtype == np.int32
    out[:] = 7  # writable
    assert not isinstance(_owner(out), mmap.mmap)


def test_scratch_large_is_a_map_of_its_own() -> None:
    """From `HUGE_PAGES_FROM` bytes (where the OS can madvise huge pages): a map of its own,
    writable, of the shape and type asked; an empty array never is."""
    with patch.object(scratch, "HUGE_PAGES_FROM", 0):
        out = scratch.scratch(5, np.int64)
        empty = scratch.scratch(0, np.int64)
    assert out.shape == (5,) and out.dtype == np.int64
    out[:] = 1
    assert isinstance(_owner(out), mmap.mmap) == hasattr(mmap, "MADV_HUGEPAGE")
    assert empty.size == 0 and not isinstance(_owner(empty), mmap.mmap)


@given(populations(max_images=4, max_nodes=2))
def test_scratch_in_huge_pages_changes_no_figure(population: Population) -> None:
    """With every scratch array in a map of its own with huge pages asked for (as large
    populations get), every figure still equals the reference's."""
    with patch.object(scratch, "HUGE_PAGES_FROM", 0):
        actual = evaluate(population)
    expected = reference.evaluate(population)
    assert actual.images == expected.images
    assert actual.registry_stored_bytes == expected.registry_stored_bytes
    assert actual.nodes == expected.nodes
