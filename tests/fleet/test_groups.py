"""Tests of `layersim.fleet.groups`: positions within groups and forward fill, exact."""

from __future__ import annotations

import numpy as np

from layersim.fleet.groups import forward_fill_position, local_index


def test_local_index_exact():
    """Counts 2, 0, 3 give each position's index within its group: 0 1 | | 0 1 2."""
    assert local_index(np.array([2, 0, 3], dtype=np.int64)).tolist() == [0, 1, 0, 1, 2]


def test_forward_fill_position_exact():
    """Each position points at the last changed position at or before it."""
    changed = np.array([True, False, False, True, False, True])
    assert forward_fill_position(changed).tolist() == [0, 0, 0, 3, 3, 5]
