"""Sort-based primitives: each against a plain-Python oracle."""

from __future__ import annotations

import numpy as np
from hypothesis import given
from hypothesis import strategies as st
from hypothesis.extra.numpy import arrays

from layersim.accounting.sortops import (
    first_occurrence,
    forest_preorder,
    group_ids,
    lookup,
    ranges,
    segment_sum,
    stable_order,
)

keys = arrays(np.int64, st.integers(0, 60), elements=st.integers(0, 20))


@given(keys)
def test_stable_order_sorts_stably(values: np.ndarray) -> None:
    """The permutation sorts the keys and keeps equal keys in input order."""
    order = stable_order(values)
    assert order.tolist() == sorted(range(values.size), key=lambda i: (values[i], i))


def test_stable_order_falls_back_for_wide_keys() -> None:
    """Keys too wide to pack with their index still sort stably."""
    values = np.array([2**62, 5, 2**62, 5], dtype=np.int64)
    assert stable_order(values).tolist() == [1, 3, 0, 2]


@given(keys)
def test_first_occurrence(values: np.ndarray) -> None:
    """True exactly at the first position of each key."""
    seen: set[int] = set()
    expected = []
    for v in values.tolist():
        expected.append(v not in seen)
        seen.add(v)
    assert first_occurrence(values).tolist() == expected


@given(keys)
def test_group_ids(values: np.ndarray) -> None:
    """Dense ids index the sorted uniques."""
    ids, uniques = group_ids(values)
    assert uniques.tolist() == sorted(set(values.tolist()))
    assert uniques[ids].tolist() == values.tolist()


@given(keys)
def test_segment_sum(values: np.ndarray) -> None:
    """Sums per segment equal a dictionary tally."""
    segments = values % 4
    expected = [int(values[segments == s].sum()) for s in range(4)]
    assert segment_sum(values, segments, 4).tolist() == expected


def test_segment_sum_is_exact_beyond_float_precision() -> None:
    """Sums past 2**53 stay exact (no float rounding)."""
    values = np.array([2**53 + 1, 1, 3], dtype=np.int64)
    assert segment_sum(values, np.array([0, 0, 1]), 2).tolist() == [2**53 + 2, 3]


def test_ranges() -> None:
    """Concatenated aranges."""
    assert ranges(np.array([5, 0, 9]), np.array([2, 0, 3])).tolist() == [5, 6, 9, 10, 11]


@given(st.lists(st.integers(0, 50), unique=True), st.lists(st.integers(0, 60)))
def test_lookup(table: list[int], queries: list[int]) -> None:
    """Index of each query in the sorted table, -1 when absent."""
    sorted_table = np.array(sorted(table), dtype=np.int64)
    got = lookup(sorted_table, np.array(queries, dtype=np.int64)).tolist()
    assert got == [sorted(table).index(q) if q in table else -1 for q in queries]


@given(st.lists(st.integers(-1, 30), max_size=30))
def test_forest_preorder(raw: list[int]) -> None:
    """Intervals nest exactly as ancestry does."""
    parent = [p if p < i else -1 for i, p in enumerate(raw)]  # a forest: parents come first
    tin, tout, depth = forest_preorder(np.array(parent, dtype=np.int64))

    def ancestors(i: int) -> set[int]:
        out = {i}
        while parent[i] >= 0:
            i = parent[i]
            out.add(i)
        return out

    n = len(parent)
    assert sorted(tin.tolist()) == list(range(n))
    for a in range(n):
        assert depth[a] == len(ancestors(a)) - 1
        for b in range(n):
            assert (tin[a] <= tin[b] < tout[a]) == (a in ancestors(b))


@given(st.lists(st.integers(-1, 30), max_size=30))
def test_preorder_check_agrees_with_forest_preorder(raw: list[int]) -> None:
    """`preorder_subtree_end` accepts exactly the id orders that are already a preorder, and
    then gives the same subtree ends as `forest_preorder`."""
    from layersim.accounting.arrays import preorder_subtree_end

    parent = np.array([p if p < i else -1 for i, p in enumerate(raw)], dtype=np.int64)
    tin, tout, _ = forest_preorder(parent)
    end = preorder_subtree_end(parent)
    is_preorder = tin.tolist() == list(range(parent.size))
    assert (end is not None) == is_preorder
    if end is not None:
        assert end.tolist() == tout.tolist()


@given(st.lists(st.integers(0, 1000), max_size=40), st.randoms(use_true_random=False))
def test_preorder_check_on_renumbered_trees(raw: list[int], rnd) -> None:
    """A forest numbered in its own preorder passes; the same forest with two ids swapped
    passes only if the swap leaves a preorder (checked against `forest_preorder`)."""
    from layersim.accounting.arrays import preorder_subtree_end

    parent = np.array([(p % i) - 1 if i else -1 for i, p in enumerate(raw)], dtype=np.int64)
    tin, _, _ = forest_preorder(parent)
    renumbered = np.full(parent.size, -1, dtype=np.int64)
    has = parent >= 0
    renumbered[tin[has]] = tin[parent[has]]
    end = preorder_subtree_end(renumbered)
    assert end is not None
    if parent.size >= 2:
        i, j = rnd.sample(range(parent.size), 2)
        perm = np.arange(parent.size)
        perm[i], perm[j] = j, i
        swapped = np.full(parent.size, -1, dtype=np.int64)
        ok = renumbered >= 0
        swapped[perm[ok.nonzero()[0]]] = perm[renumbered[ok]]
        t2, _, _ = forest_preorder(swapped)
        is_pre = t2.tolist() == list(range(parent.size)) and bool(
            np.all(swapped[swapped >= 0] < np.flatnonzero(swapped >= 0))
        )
        assert (preorder_subtree_end(swapped) is not None) == is_pre


@given(st.lists(st.tuples(st.integers(0, 3), st.integers(0, 50)), max_size=40))
def test_running_max_before(rows: list[tuple[int, int]]) -> None:
    """Within runs of equal group keys, the max of the values of the earlier rows (-1 for a
    run's first row), against a plain loop."""
    from layersim.accounting.sortops import run_starts, running_max_before

    rows = sorted(rows, key=lambda r: r[0])
    groups = np.array([g for g, _ in rows], dtype=np.int64)
    values = np.array([v for _, v in rows], dtype=np.int64)
    expected = []
    for i, (g, _) in enumerate(rows):
        earlier = [v for h, v in rows[:i] if h == g]
        expected.append(max(earlier) if earlier else -1)
    assert running_max_before(run_starts(groups), values).tolist() == expected
