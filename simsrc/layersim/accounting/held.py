"""Stored bytes as sums over keys, and those sums split by key: what lets a store's bytes be
computed in partitions that each hold a part of the population.

Every stored-bytes figure of a timeline (`storage.stored_timeline`, bit-mask path) is a
`HeldSum`: per holder (a registry, a node) and epoch, the sum of `unit[key]` over the distinct
keys (images, exports, layer blobs or ChainIDs, file contents) that the holder's rows hold in
that epoch (`kernels.held_bytes`). Such a sum is additive over any split of the keys: if the
keys are cut into disjoint parts, the sum over all keys is the sum of the parts' sums, exactly
(integers). `key_part(sums, part, parts)` is the part of every sum whose keys hash to `part`,
with the keys renumbered within the part, so it carries only its keys' CSR items and units
(the file sums, one item per file entry, are most of a population); `sum_here(sums)` is the
timeline computed in this process, the default; a distributed runner sums the parts computed
elsewhere (`layersim.distributed.run`).

Not here: what the keys and units are (`storage`), where the parts run (`distributed`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np
import numpy.typing as npt

from layersim.accounting import kernels
from layersim.accounting.arrays import I64
from layersim.accounting.scratch import scratch

# Fibonacci hashing: the key ids are dense and ordered by creation, so a plain modulo would
# put neighbours (a layer's files, one app's versions) in turn into every part; the multiply
# spreads them evenly whatever their order.
_GOLDEN = np.uint64(0x9E3779B97F4A7C15)
_HIGH_BITS = np.uint64(32)

STRATEGY_NAMES = ("logical", "flattened", "layer", "file")


@dataclass(frozen=True, eq=False)
class HeldRows:
    """Rows of stores holding groups: holder h's rows are `order[bounds[h]:bounds[h + 1]]`;
    row r holds group `group[r]` at the end of the epochs whose bits are set in `mask[r]`."""

    order: I64
    bounds: I64
    group: I64
    mask: I64


@dataclass(frozen=True, eq=False)
class HeldSum:
    """One sum of `kernels.held_bytes`: `rows` hold groups, group g holds the keys
    `items[offsets[g]:offsets[g + 1]]`, key k costs `unit[k]` bytes per epoch held."""

    rows: HeldRows
    offsets: I64
    items: npt.NDArray[np.integer]
    unit: I64


@dataclass(frozen=True, eq=False)
class TimelineSums:
    """The sums of one stored timeline: per strategy (`STRATEGY_NAMES`) the sums whose total
    is its bytes per holder and epoch (a node keeping compressed blobs adds a second layer
    sum)."""

    n_holders: int
    n_epochs: int
    sums: tuple[tuple[str, HeldSum], ...]


@dataclass(frozen=True, eq=False)
class HeldBytes:
    """Bytes per holder (row) and epoch (column) of each strategy, by name."""

    by_strategy: dict[str, npt.NDArray[np.int64]]


SumHeld = Callable[[TimelineSums], HeldBytes]
"""How a timeline's sums are computed: `sum_here`, or in partitions elsewhere."""


def held_sum(one: HeldSum, n_holders: int, n_epochs: int) -> npt.NDArray[np.int64]:
    """`one`'s bytes per holder and epoch (`kernels.held_bytes`)."""
    n_groups = one.offsets.size - 1
    return kernels.held_bytes(  # type: ignore[no-any-return]
        one.rows.order,
        one.rows.bounds,
        one.rows.group,
        one.rows.mask,
        one.offsets,
        one.items,
        one.unit,
        n_epochs,
        scratch(n_groups, np.int32),
        scratch(n_groups, np.int64),
        scratch(n_groups, np.int64),
        scratch(one.unit.size, np.int32),
        scratch(one.unit.size, np.int64),
        scratch(one.unit.size, np.int64),
    )


def sum_here(sums: TimelineSums) -> HeldBytes:
    """Every strategy's bytes per holder and epoch, computed in this process."""
    out = {
        name: np.zeros((sums.n_holders, sums.n_epochs), dtype=np.int64) for name in STRATEGY_NAMES
    }
    for name, one in sums.sums:
        out[name] += held_sum(one, sums.n_holders, sums.n_epochs)
    return HeldBytes(out)


def add_held(parts: list[HeldBytes]) -> HeldBytes:
    """The bytes of disjoint key parts added up: the bytes of all their keys (exact)."""
    total = {name: np.zeros_like(parts[0].by_strategy[name]) for name in STRATEGY_NAMES}
    for part in parts:
        for name in STRATEGY_NAMES:
            total[name] += part.by_strategy[name]
    return HeldBytes(total)


def part_of(keys: npt.NDArray[np.integer], parts: int) -> I64:
    """The part (0..parts-1) each key id belongs to: a hash of the id, so the same key is in
    the same part in every sum and every store."""
    hashed = (keys.astype(np.uint64) * _GOLDEN) >> _HIGH_BITS
    return (hashed % np.uint64(parts)).astype(np.int64)


def _key_part_of(one: HeldSum, part: int, parts: int) -> HeldSum:
    keep = part_of(one.items, parts) == part
    kept = one.items[keep]
    group_of_item = np.repeat(np.arange(one.offsets.size - 1), np.diff(one.offsets))[keep]
    counts = np.bincount(group_of_item, minlength=one.offsets.size - 1)
    offsets = np.zeros(one.offsets.size, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    keys = np.unique(kept)  # this part's keys, renumbered 0.. in id order
    items = np.searchsorted(keys, kept).astype(one.items.dtype)
    return replace(one, offsets=offsets, items=items, unit=one.unit[keys])


def key_part(sums: TimelineSums, part: int, parts: int) -> TimelineSums:
    """The part `part` of `parts` of every sum of `sums`: only the keys that hash there
    (`part_of`), renumbered within the part. Summed over every part, the bytes are those of
    `sums` (`add_held`)."""
    return replace(
        sums, sums=tuple((name, _key_part_of(one, part, parts)) for name, one in sums.sums)
    )
