"""Tests of `layersim.fleet.draws`: seeded draws give exact values and keep their contracts."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.fleet.draws import (
    classes_by_bytes,
    distinct_per_row,
    draw_classes,
    draw_ranks,
    geometric,
    lognormal_bytes,
    release_epochs,
    zipf_cdf,
)


def rng() -> np.random.Generator:
    return np.random.default_rng(7)


def test_lognormal_bytes_seeded():
    """Seed 7, median 1000, sigma 1: these five byte counts (a change is a change of draws)."""
    assert lognormal_bytes(rng(), 5, 1000, 1.0).tolist() == [1001, 1348, 760, 410, 634]


def test_draw_classes_seeded():
    """Seed 7, mix (0.5, 0.3, 0.2): these eight classes."""
    assert draw_classes(rng(), 8, (0.5, 0.3, 0.2)).tolist() == [1, 2, 1, 0, 0, 2, 0, 2]


def test_classes_by_bytes_follows_byte_shares():
    """Four equal files with byte shares (1/2, 1/2, 0): the first two text, the last two
    binary (each file takes the class at the middle of its byte range)."""
    assert classes_by_bytes(np.array([10, 10, 10, 10]), (0.5, 0.5, 0.0)).tolist() == [0, 0, 1, 1]


def test_zipf_cdf_exact():
    """Three ranks, exponent 1: weights 1, 1/2, 1/3, so the cdf is 6/11, 9/11, 1."""
    assert zipf_cdf(3, 1.0) == pytest.approx([6 / 11, 9 / 11, 1.0])


def test_draw_ranks_seeded():
    """Seed 7, Zipf over five ranks: these eight ranks."""
    assert draw_ranks(rng(), zipf_cdf(5, 1.0), 8).tolist() == [1, 3, 2, 0, 0, 3, 0, 3]


def test_geometric_seeded_and_mean_one_draws_nothing():
    """Mean 3 with seed 7 gives these counts; a mean of 1 gives ones without using the
    generator (the next draw is the one a fresh generator makes)."""
    assert geometric(rng(), 3.0, 6).tolist() == [3, 6, 4, 1, 1, 6]
    g = rng()
    assert geometric(g, 1.0, 3).tolist() == [1, 1, 1]
    assert g.random() == rng().random()


def test_distinct_per_row_seeded():
    """Rows [0, 0, 0] and [1, 1, 2] below 3 become [0, 1, 2] and [1, 2, 0] with seed 7: the
    first occurrence of a value keeps it, repeats are redrawn."""
    values = np.array([0, 0, 0, 1, 1, 2])
    row = np.array([0, 0, 0, 1, 1, 1])
    got = distinct_per_row(rng(), values, row, np.array([3, 3]))
    assert got.tolist() == [0, 1, 2, 1, 2, 0]
    assert values.tolist() == [0, 0, 0, 1, 1, 2]  # the input is not modified


@given(
    seed=st.integers(0, 2**32),
    rows=st.lists(st.tuples(st.integers(1, 6), st.integers(0, 6)), min_size=1, max_size=8),
)
def test_distinct_per_row_property(seed, rows):
    """For any rows of at most `limit` values in [0, limit), the result has distinct values
    per row, all in [0, limit)."""
    g = np.random.default_rng(seed)
    limit = np.array([lim for lim, _ in rows], dtype=np.int64)
    count = np.array([min(n, lim) for lim, n in rows], dtype=np.int64)
    row = np.repeat(np.arange(limit.size), count)
    values = (g.random(row.size) * limit[row]).astype(np.int64)
    got = distinct_per_row(g, values, row, limit)
    assert np.all((got >= 0) & (got < limit[row]))
    assert len(set(zip(row.tolist(), got.tolist(), strict=True))) == got.size


def test_release_epochs_seeded():
    """Version 0 at epoch 0, then every `every` epochs from the drawn phase: seed 7, every 3
    over 10 epochs releases at 0, 3, 6, 9; seed 1, every 4 over 3 epochs at 0 and 2."""
    assert release_epochs(rng(), 3, 10) == (0, 3, 6, 9)
    assert release_epochs(np.random.default_rng(1), 4, 3) == (0, 2)
