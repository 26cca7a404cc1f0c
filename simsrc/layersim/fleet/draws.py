"""Seeded draws the fleet's stages share: sizes, classes, ranks, counts.

Every function takes the run's `numpy.random.Generator` and draws a fixed number of values in
a fixed order, so the same seed gives the same fleet. The distributions' parameters come from
the caller (config and presets); nothing here knows what is being drawn for.
"""

from __future__ import annotations

from collections.abc import Sequence

import numpy as np
import numpy.typing as npt

from layersim.accounting.arrays import I8, I64
from layersim.accounting.sortops import first_occurrence

F64 = npt.NDArray[np.float64]


def lognormal_bytes(rng: np.random.Generator, n: int, median: float, sigma: float) -> I64:
    """`n` byte counts, log-normal around `median` with spread `sigma` (rounded down)."""
    return np.floor(median * np.exp(sigma * rng.standard_normal(n))).astype(np.int64)


def _mix_cdf(mix: Sequence[float]) -> F64:
    cdf = np.cumsum(np.asarray(mix, dtype=np.float64))
    cdf /= cdf[-1]
    return cdf


def draw_classes(rng: np.random.Generator, n: int, mix: Sequence[float]) -> I8:
    """`n` content classes, each independently with the probabilities `mix` (by class code)."""
    cdf = _mix_cdf(mix)
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(mix) - 1).astype(
        np.int8
    )


def classes_by_bytes(file_bytes: I64, mix: Sequence[float]) -> I8:
    """Classes assigned along the (random) file order so that byte shares follow `mix`
    closely (a calibration: the layer then compresses about as the preset says). Draws
    nothing: the order of `file_bytes` is the randomness."""
    total = max(int(file_bytes.sum()), 1)
    middle = (np.cumsum(file_bytes) - file_bytes / 2) / total
    cdf = _mix_cdf(mix)
    return np.minimum(np.searchsorted(cdf, middle, side="right"), len(mix) - 1).astype(np.int8)


def zipf_cdf(n: int, exponent: float) -> F64:
    """The cumulative distribution of ranks 0..n-1 with weight `1 / (rank + 1) ** exponent`."""
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def draw_ranks(rng: np.random.Generator, cdf: F64, n: int) -> I64:
    """`n` ranks drawn from the distribution `cdf` (e.g. `zipf_cdf`)."""
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), cdf.size - 1).astype(
        np.int64
    )


def geometric(rng: np.random.Generator, mean: float, n: int) -> I64:
    """`n` draws >= 1 with the given mean (a mean of at most 1: always 1, and no draw)."""
    if mean <= 1.0:
        return np.ones(n, dtype=np.int64)
    return rng.geometric(1.0 / mean, n).astype(np.int64)


def distinct_per_row(
    rng: np.random.Generator, values: I64, row: I64, limit: I64, max_rounds: int = 1000
) -> I64:
    """Make the values of each row distinct by redrawing repeats uniformly in [0, limit[row])
    (rows must have at most `limit` values). Deterministic: repeats are found by sorting, and
    the first occurrence of a value keeps it."""
    values = values.copy()
    if values.size == 0:
        return values
    span = int(limit.max()) + 1
    for _ in range(max_rounds):
        key = row * span + values
        repeat = ~first_occurrence(key)
        if not repeat.any():
            return values
        where = np.flatnonzero(repeat)
        values[where] = (rng.random(where.size) * limit[row[where]]).astype(np.int64)
    raise AssertionError("could not draw distinct packages")  # pragma: no cover


def release_epochs(rng: np.random.Generator, every: int, epochs: int) -> tuple[int, ...]:
    """Version 0 at epoch 0, then one every `every` epochs from a random phase in [1, every]."""
    phase = int(rng.integers(1, every + 1))
    return (0, *range(phase, epochs, every))
