"""Scratch memory for the compiled loops: where the large arrays they read and write at random
come from (`kernels` takes them in uninitialised; see there).

Shared by every engine module that runs a kernel with scratch (`images`, `transfers`,
`storage`); it decides only which memory backs an array, never what goes in it.
"""

from __future__ import annotations

import math
import mmap
from typing import Any

import numpy as np

from layersim.accounting import kernels

# Scratch of at least this many bytes is backed by huge pages (2 MiB, where the OS has them)
HUGE_PAGES_FROM = 64 << 20

# An empty array per dtype: what tells `kernels.allocate` the type (scratch is asked for
# thousands of times per evaluation of a small population; making one each time showed)
_EMPTY: dict[np.dtype, np.ndarray] = {}


def scratch(shape: int | tuple[int, ...], dtype: Any) -> Any:
    """An uninitialised array for a kernel's scratch.

    The kernels read and write their scratch at random. Spread over hundreds of megabytes,
    4 KiB pages cost a TLB miss on nearly every access and huge pages pay off (the
    300,000-image synthetic population: the whole evaluation 3.1 -> 2.7 sorts of the floor);
    over a few megabytes, faulting fresh pages in costs more than that saves (the
    20,000-image benchmark: 3.1 -> 3.9). So from `HUGE_PAGES_FROM` bytes, a map of its own
    with huge pages asked for (madvise); below, the C heap, which hands back memory an
    earlier evaluation freed, already faulted in (numpy's own allocator would ask for huge
    pages from 4 MiB)."""
    count = math.prod(shape) if isinstance(shape, tuple) else int(shape)
    kind = np.dtype(dtype)
    nbytes = count * kind.itemsize
    if nbytes == 0 or nbytes < HUGE_PAGES_FROM or not hasattr(mmap, "MADV_HUGEPAGE"):
        like = _EMPTY.get(kind)
        if like is None:
            like = _EMPTY.setdefault(kind, np.zeros(0, dtype=kind))
        out = kernels.allocate(count, like)
        return out.reshape(shape) if isinstance(shape, tuple) else out
    memory = mmap.mmap(-1, nbytes)
    memory.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(memory, dtype=dtype, count=count).reshape(shape)
