"""Figures over nodes: which nodes are measured, totals estimated from that sample, and
nearest-rank percentiles.

Measuring every node of a large fleet at every stored-bytes epoch costs most of a run, so
`nodes.stats_sample` measures evenly spaced nodes and scales up (`sampled_total`). Not here:
what a node holds (`state`, `replay`).
"""

from __future__ import annotations

import math

import numpy as np

from layersim.accounting.arrays import I64


def nearest_rank(values: np.ndarray, q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `q` of the values at or
    below it (0 for no values)."""
    if values.size == 0:
        return 0
    ordered = np.sort(values)
    return ordered[max(0, math.ceil(q * ordered.size) - 1)].item()


def sampled_total(values: np.ndarray, population: int) -> tuple[int, int]:
    """Total over `population` nodes estimated from a simple random-like sample of them:
    (mean x population, half-width of the 95% interval with the finite-population correction).
    Exact (error 0) when the sample is the population."""
    n = values.size
    if n == 0:
        return 0, 0
    if n >= population:
        return int(values.sum()), 0
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else 0.0
    half = 1.96 * sd / math.sqrt(n) * math.sqrt(1 - n / population) * population
    return round(mean * population), round(half)


def measured_nodes(n_nodes: int, sample: int) -> I64:
    """Nodes whose stored bytes are measured: all, or `sample` evenly spaced ones."""
    if sample <= 0 or sample >= n_nodes:
        return np.arange(n_nodes, dtype=np.int64)
    return np.arange(sample, dtype=np.int64) * n_nodes // sample
