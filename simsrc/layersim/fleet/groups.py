"""Index arithmetic on grouped arrays, shared by the fleet's stages.

A group is a run of consecutive positions, given by counts (CSR) or by a mask of group starts.
These helpers turn that into per-position indices without a Python loop. They draw nothing
(draws.py does) and know nothing of the fleet model.
"""

from __future__ import annotations

import numpy as np

from layersim.accounting.arrays import I64, Bool
from layersim.accounting.sortops import ranges


def local_index(counts: I64) -> I64:
    """`arange(c)` for every count, concatenated: each position's index within its group."""
    return ranges(np.zeros(counts.size, dtype=np.int64), counts)


def forward_fill_position(changed: Bool) -> I64:
    """For each position, the last position at or before it where `changed` holds (groups must
    start with `changed` true)."""
    src = np.where(changed, np.arange(changed.size, dtype=np.int64), 0)
    np.maximum.accumulate(src, out=src)
    return src
