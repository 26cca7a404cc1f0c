"""Tests of `layersim.accounting.held`: stored bytes as sums over keys are additive over any
hash split of the keys. The key parts of a generated fleet's timelines add up to the whole,
exactly, for every number of parts; each part holds only its own keys; the same holds for
arbitrary small sums (hypothesis); the hash spreads dense ids evenly."""

from __future__ import annotations

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.accounting.held import (
    STRATEGY_NAMES,
    HeldBytes,
    HeldRows,
    HeldSum,
    TimelineSums,
    add_held,
    key_part,
    part_of,
    sum_here,
)
from layersim.config import load_config
from layersim.experiment.run import run_experiment

TINY = [
    "time.epochs=3",
    "apps.count=5",
    "nodes.count=2",
    "bases.file_scale=0.05",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "apps.code_files=5.0",
]


def _equal(a: HeldBytes, b: HeldBytes) -> bool:
    return all(np.array_equal(a.by_strategy[s], b.by_strategy[s]) for s in STRATEGY_NAMES)


@pytest.fixture(scope="module")
def fleet_sums() -> list[TimelineSums]:
    """The sums of a tiny fleet's run (the registry's timeline, then the nodes'), recorded as
    the replay hands them over."""
    recorded: list[TimelineSums] = []

    def record(sums: TimelineSums) -> HeldBytes:
        recorded.append(sums)
        return sum_here(sums)

    run_experiment(load_config(scenario="small", overrides=TINY), sum_held=record)
    assert len(recorded) == 2
    return recorded


@pytest.mark.parametrize("parts", [1, 2, 3, 7])
def test_key_parts_of_a_fleet_add_up_to_the_whole(fleet_sums, parts):
    """Per timeline, the parts' bytes summed are the whole's bytes, holder by holder and
    epoch by epoch, under every strategy."""
    for sums in fleet_sums:
        whole = sum_here(sums)
        assert any(whole.by_strategy["file"].ravel())
        split = add_held([sum_here(key_part(sums, p, parts)) for p in range(parts)])
        assert _equal(split, whole)


def test_each_part_holds_only_its_keys(fleet_sums):
    """A part keeps the items whose key hashes there, renumbered: over the parts, every item
    of every sum is kept once, and every distinct key once."""
    parts = 3
    for sums in fleet_sums:
        split = [key_part(sums, p, parts) for p in range(parts)]
        for k, (name, one) in enumerate(sums.sums):
            pieces = [s.sums[k][1] for s in split]
            assert all(s.sums[k][0] == name for s in split)
            assert sum(p.items.size for p in pieces) == one.items.size
            assert sum(p.unit.size for p in pieces) == np.unique(one.items).size
            for p, piece in enumerate(pieces):
                assert piece.offsets[-1] == piece.items.size
                kept = one.items[part_of(one.items, parts) == p]
                assert np.array_equal(np.sort(piece.unit[piece.items]), np.sort(one.unit[kept]))


def test_part_of_is_a_balanced_hash():
    """Every key falls in 0..parts-1, one part for parts=1, and 40,000 dense ids spread
    within 5% of an even split over 4 parts."""
    keys = np.arange(40_000)
    assert not part_of(keys, 1).any()
    counts = np.bincount(part_of(keys, 4), minlength=4)
    assert counts.sum() == keys.size
    assert np.all(np.abs(counts - 10_000) < 500), counts


@st.composite
def _sums(draw: st.DrawFn) -> TimelineSums:
    n_holders = draw(st.integers(1, 3))
    n_epochs = draw(st.integers(1, 6))
    n_groups = draw(st.integers(1, 4))
    n_keys = draw(st.integers(1, 9))
    rows = draw(st.lists(st.integers(0, n_holders * n_groups - 1), min_size=0, max_size=8))
    holder = np.array([r // n_groups for r in rows], dtype=np.int64)
    group = np.array([r % n_groups for r in rows], dtype=np.int64)
    mask = np.array([draw(st.integers(1, 2**n_epochs - 1)) for _ in rows], dtype=np.int64).reshape(
        -1
    )
    order = np.argsort(holder, kind="stable")
    bounds = np.searchsorted(holder[order], np.arange(n_holders + 1))
    held = [draw(st.lists(st.integers(0, n_keys - 1), max_size=4)) for _ in range(n_groups)]
    offsets = np.concatenate([[0], np.cumsum([len(h) for h in held])]).astype(np.int64)
    items = np.array([k for h in held for k in h], dtype=np.int32)
    unit = np.array(draw(st.lists(st.integers(0, 10**12), min_size=n_keys, max_size=n_keys)))
    one = HeldSum(HeldRows(order, bounds, group, mask), offsets, items, unit.astype(np.int64))
    return TimelineSums(n_holders, n_epochs, (("file", one), ("layer", one)))


@given(_sums(), st.integers(1, 5))
def test_key_parts_add_up_for_any_sums(sums, parts):
    """Any sums (repeated keys within and across groups, rows held in different epochs): the
    parts add up to the whole exactly."""
    whole = sum_here(sums)
    assert _equal(add_held([sum_here(key_part(sums, p, parts)) for p in range(parts)]), whole)
