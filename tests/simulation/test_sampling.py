"""Tests of `layersim.simulation.sampling`: nearest-rank percentiles, totals estimated from a
node sample, and which nodes the sample holds."""

from __future__ import annotations

import math

import numpy as np

from layersim.simulation.sampling import measured_nodes, nearest_rank, sampled_total


def test_nearest_rank():
    """Nearest-rank percentiles: the smallest value with at least q of the values at or below."""
    values = np.array([5, 1, 4, 2, 3])
    assert nearest_rank(values, 0.5) == 3
    assert nearest_rank(values, 0.95) == 5
    assert nearest_rank(values, 1.0) == 5
    assert nearest_rank(np.array([7]), 0.5) == 7
    assert nearest_rank(np.zeros(0), 0.5) == 0


def test_sampled_total():
    """A full sample is exact; a partial one scales the mean and gives a 95% interval."""
    assert sampled_total(np.array([1, 2, 3]), 3) == (6, 0)
    estimate, half = sampled_total(np.array([10, 20]), 4)
    assert estimate == 60
    assert half == round(1.96 * np.std([10, 20], ddof=1) / math.sqrt(2) * math.sqrt(0.5) * 4)


def test_measured_nodes_are_evenly_spaced():
    """A node sample is evenly spaced over the node ids; 0 means every node."""
    assert measured_nodes(10, 0).tolist() == list(range(10))
    assert measured_nodes(10, 5).tolist() == [0, 2, 4, 6, 8]
    assert measured_nodes(3, 5).tolist() == [0, 1, 2]
