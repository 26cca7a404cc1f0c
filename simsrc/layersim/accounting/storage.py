"""What stores hold: bytes per store (a registry, each node) under each strategy of `metrics`,
at one moment or at the end of every epoch, and `docker system df` per node.

A store holds each distinct object once per epoch it holds it: an image (logical), an export
(flattened), a layer (by blob digest in a registry, by ChainID on a node) or a file content
(file). Within 64 epochs the epochs a row holds an object are a bit mask and a compiled pass
sums each holder's distinct objects (`kernels.held_bytes`, as the sums over keys of `held`,
which may be computed in key partitions elsewhere); past 64, intervals are merged by sorting.
What moves between stores is `transfers`'.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

from layersim.accounting import kernels
from layersim.accounting.arrays import (
    I64,
    ChunkArrays,
    PopulationArrays,
    csr_rows,
    expand_images,
)
from layersim.accounting.held import HeldRows, HeldSum, SumHeld, TimelineSums, sum_here
from layersim.accounting.images import ImageTable
from layersim.accounting.metrics import StoredBytes
from layersim.accounting.scratch import scratch
from layersim.accounting.sortops import (
    combine,
    first_occurrence,
    group_ids,
    ranges,
    run_starts,
    running_max_before,
    segment_sum,
    stable_order,
)

# Epochs a bit mask holds (`stored_timeline` sorts intervals past that)
EPOCH_BITS = 64


@dataclass(frozen=True, eq=False)
class StoredTimeline:
    """Stored bytes per holder (row) and epoch (column) under each strategy."""

    logical: npt.NDArray[np.int64]
    flattened: npt.NDArray[np.int64]
    layer: npt.NDArray[np.int64]
    file: npt.NDArray[np.int64]
    # the chunk strategies (None when the arrays carry no chunks)
    chunk_cdc: npt.NDArray[np.int64] | None = None
    chunk_fixed: npt.NDArray[np.int64] | None = None


@dataclass(frozen=True, eq=False)
class StoredTable:
    """Per-node stored disk bytes under each strategy (chunks: None if the arrays carry none)."""

    logical: I64
    flattened: I64
    layer: I64
    file: I64
    chunks: ChunkStored | None = None


@dataclass(frozen=True, eq=False)
class DiskUsageTable:
    """`docker system df -v` rows: distinct (node, image) in first-pull order."""

    node: I64
    image: I64
    size_bytes: I64
    shared_bytes: I64


def whole_blocks(file_bytes: I64, block_bytes: int) -> I64:
    """Bytes rounded up to whole blocks (`sizes.pad_to_block`: a file's disk bytes), on a new
    array rounded in place (one temporary, not three); blocks are powers of two, so shifts, not
    a division."""
    shift = kernels.block_shift(block_bytes)
    out = np.add(file_bytes, block_bytes - 1, dtype=np.int64)
    out >>= shift
    out <<= shift
    return out


def _interval_runs(holder: I64, key: I64, start: I64, end: I64) -> tuple[I64, I64, I64, I64] | None:
    """Merge the intervals of each (holder, key) (row: held at the end of epochs
    start..end-1): the first row of every merged run in the rows' original order, the run's
    start and end, and the sort order used. None when there are no live rows."""
    if holder.size == 0:
        return None
    n_key = int(key.max()) + 1
    horizon = int(start.max()) + 1
    order = stable_order(combine(combine(holder, key, n_key), start, horizon))
    g = combine(holder[order], key[order], n_key)
    s, e = start[order], end[order]
    # a row opens a new run unless an earlier row of its group is still held when it starts
    opens = running_max_before(run_starts(g), e) < s
    first = np.flatnonzero(opens)
    run_end = np.maximum.reduceat(e, first)
    return order[first], s[first], run_end, order


def _held_bytes(
    holder: I64, key: I64, start: I64, end: I64, unit: I64, n_holders: int, n_epochs: int
) -> npt.NDArray[np.int64]:
    """Bytes held per holder and epoch when each distinct (holder, key) costs `unit` while any
    of its rows holds it (row: held at the end of epochs start..end-1)."""
    live = end > start
    runs = _interval_runs(holder[live], key[live], start[live], end[live])
    if runs is None:
        return np.zeros((n_holders, n_epochs), dtype=np.int64)
    first, s, e, _ = runs
    h, c = holder[live][first], unit[live][first]
    width = n_epochs + 1
    delta = segment_sum(
        np.concatenate([c, -c]),
        np.concatenate([h * width + s, h * width + np.minimum(e, n_epochs)]),
        n_holders * width,
    )
    return np.cumsum(delta.reshape(n_holders, width), axis=1)[:, :n_epochs]


def stored_timeline(
    arrays: PopulationArrays,
    images: ImageTable,
    holder: I64,
    image_ids: I64,
    start: I64,
    end: I64,
    n_holders: int,
    n_epochs: int,
    *,
    registry: bool,
    sum_held: SumHeld = sum_here,
) -> StoredTimeline:
    """What each store holds at the end of every epoch, under each strategy (`metrics`): store
    `holder[k]` holds image `image_ids[k]` at the end of epochs `start[k]..end[k]-1`.

    Up to `EPOCH_BITS` epochs the figures are sums over keys (`held.TimelineSums`) that
    `sum_held` computes: here by default, or in key partitions elsewhere, with the same
    result; past them, here.

    A registry (`registry=True`) counts compressed bytes and keys layers by blob digest; a node
    counts disk bytes and keys layers by ChainID (plus each kept blob's compressed bytes where
    `keep_compressed_blobs`)."""
    holder = np.asarray(holder, dtype=np.int64)
    image_ids = np.asarray(image_ids, dtype=np.int64)
    start = np.asarray(start, dtype=np.int64)
    end = np.asarray(end, dtype=np.int64)
    keep = arrays.options.keep_compressed_blobs and not registry
    block = arrays.options.block_bytes
    n_img = arrays.n_images
    if registry:
        image_unit = images.layered_compressed_bytes
        export_unit = images.flattened_compressed_bytes
    else:
        image_unit = images.layered_disk_bytes + (images.layered_compressed_bytes if keep else 0)
        export_unit = images.flattened_disk_bytes + (
            images.flattened_compressed_bytes if keep else 0
        )
    if registry:
        content_unit = arrays.content_compressed_bytes
    else:
        content_unit = whole_blocks(arrays.content_file_bytes, block)
    if n_epochs > EPOCH_BITS:
        return _stored_timeline_sorted(
            arrays, images, holder, image_ids, start, end, n_holders, n_epochs,
            registry=registry, image_unit=image_unit, export_unit=export_unit,
            content_unit=content_unit,
        )  # fmt: skip

    # each (holder, image) row holds an image in the epochs of its bit mask
    order = stable_order(holder)
    bounds = np.searchsorted(holder[order], np.arange(n_holders + 1))
    masks = _epoch_masks(start, end).view(np.int64)
    by_image = HeldRows(order, bounds, image_ids, masks)
    file_offsets, file_content = images.layers.content_offsets, images.layers.contents
    # one integer type for every kind of item, so that the kernel is compiled once
    chain, blob = images.image_chain, arrays.layer_blob[arrays.image_layers]
    id_type = file_content.dtype if max(chain.size, blob.size, n_img) < 2**31 else np.int64
    file_content = file_content.astype(id_type, copy=False)
    each_image = np.arange(n_img + 1, dtype=np.int64)
    export = images.flattened_key
    blob_unit = _by_key(blob, arrays.layer_compressed_bytes[arrays.image_layers])
    blobs = HeldSum(by_image, arrays.image_offsets, blob.astype(id_type), blob_unit)
    sums = [
        ("logical", HeldSum(by_image, each_image, each_image[:-1].astype(id_type), image_unit)),
        (
            "flattened",
            HeldSum(by_image, each_image, export.astype(id_type), _by_key(export, export_unit)),
        ),
    ]
    if registry:
        sums.append(("layer", blobs))
    else:
        chain_unit = _by_key(chain, images.layers.disk_bytes[arrays.image_layers])
        sums.append(
            ("layer", HeldSum(by_image, arrays.image_offsets, chain.astype(id_type), chain_unit))
        )
        if keep:
            sums.append(("layer", blobs))
    # file: rows per (holder, layer), so that each store reads a layer's contents once
    _, row_image, rows = expand_images(arrays, image_ids)
    row_holder = holder[row_image]
    layer_order = stable_order(row_holder)
    by_layer = HeldRows(
        layer_order,
        np.searchsorted(row_holder[layer_order], np.arange(n_holders + 1)),
        arrays.image_layers[rows],
        masks[row_image],
    )
    sums.append(("file", HeldSum(by_layer, file_offsets, file_content, content_unit)))
    held = sum_held(TimelineSums(n_holders, n_epochs, tuple(sums))).by_strategy
    chunk_bytes = _chunk_timelines(
        arrays, by_layer, file_offsets, file_content, n_epochs, registry=registry
    )
    return StoredTimeline(
        logical=held["logical"],
        flattened=held["flattened"],
        layer=held["layer"],
        file=held["file"],
        **chunk_bytes,
    )


def _chunk_timelines(
    arrays: PopulationArrays,
    by_layer: HeldRows,
    file_offsets: I64,
    file_content: I64,
    n_epochs: int,
    *,
    registry: bool,
) -> dict[str, I64]:
    """`stored_timeline`'s chunk strategies (none without chunks): the file rows (`by_layer`,
    a layer per row), one level deeper: each layer's contents, then their chunks. Computed in
    this process (not by `sum_held`: a partitioned run splits the other strategies' sums)."""
    layer_order, layer_bounds = by_layer.order, by_layer.bounds
    layer_rows, layer_masks = by_layer.group, by_layer.mask
    chunk_bytes = {}
    for name, table in (("chunk_cdc", arrays.cdc_chunks), ("chunk_fixed", arrays.fixed_chunks)):
        if table is None:
            continue
        unit = chunk_unit(table, registry=registry, block_bytes=arrays.options.block_bytes)
        n_groups, n_items = file_offsets.size - 1, table.content_offsets.size - 1
        chunk_bytes[name] = kernels.held_chunk_bytes(
            layer_order,
            layer_bounds,
            layer_rows,
            layer_masks,
            file_offsets,
            file_content,
            table.content_offsets,
            table.content_chunks,
            unit,
            n_epochs,
            scratch(n_groups, np.int32),
            scratch(n_groups, np.int64),
            scratch(n_groups, np.int64),
            scratch(n_items, np.int32),
            scratch(n_items, np.int64),
            scratch(n_items, np.int64),
            scratch(unit.size, np.int32),
            scratch(unit.size, np.int64),
            scratch(unit.size, np.int64),
        )
    return chunk_bytes


def chunk_unit(table: ChunkArrays, *, registry: bool, block_bytes: int) -> I64:
    """What one chunk costs a store: its compressed bytes in a registry, its disk bytes in a
    node's chunk store (`metrics.chunk_disk_bytes`)."""
    if registry:
        return table.chunk_compressed_bytes
    return whole_blocks(table.chunk_file_bytes, block_bytes)


def _by_key(key: I64, unit: I64) -> I64:
    """An array indexed by key holding each key's unit (rows of one key agree on it)."""
    out = np.zeros(int(key.max()) + 1 if key.size else 0, dtype=np.int64)
    out[key] = unit
    return out


def _stored_timeline_sorted(
    arrays: PopulationArrays,
    images: ImageTable,
    holder: I64,
    image_ids: I64,
    start: I64,
    end: I64,
    n_holders: int,
    n_epochs: int,
    *,
    registry: bool,
    image_unit: I64,
    export_unit: I64,
    content_unit: I64,
) -> StoredTimeline:
    """`stored_timeline` past 64 epochs (no bit masks): each distinct (holder, key)'s
    intervals merged by sorting its rows."""
    keep = arrays.options.keep_compressed_blobs and not registry

    def held(key: I64, unit: I64, h: I64 = holder, s: I64 = start, e: I64 = end) -> I64:
        return _held_bytes(h, key, s, e, unit, n_holders, n_epochs)

    logical = held(image_ids, image_unit[image_ids])
    flattened = held(images.flattened_key[image_ids], export_unit[image_ids])
    _, row_image, rows = expand_images(arrays, image_ids)
    h, s, e = holder[row_image], start[row_image], end[row_image]
    layer = arrays.image_layers[rows]
    blob = arrays.layer_blob[layer]
    if registry:
        layer_bytes = held(blob, arrays.layer_compressed_bytes[layer], h, s, e)
    else:
        layer_bytes = held(images.image_chain[rows], images.layers.disk_bytes[layer], h, s, e)
        if keep:
            layer_bytes = layer_bytes + held(blob, arrays.layer_compressed_bytes[layer], h, s, e)
    # file: merge each (holder, layer)'s intervals first, then spread them over its contents
    lh, ll, ls, le = _merged_intervals(h, layer, s, e)
    counts = np.diff(arrays.layer_offsets)[ll]
    entry = ranges(arrays.layer_offsets[ll], counts)
    content = arrays.entry_content[entry]
    is_file = content >= 0
    eh = np.repeat(lh, counts)[is_file]
    es = np.repeat(ls, counts)[is_file]
    ee = np.repeat(le, counts)[is_file]
    content = content[is_file]
    file_bytes = held(content, content_unit[content], eh, es, ee)
    chunk_bytes = {}
    for name, table in (("chunk_cdc", arrays.cdc_chunks), ("chunk_fixed", arrays.fixed_chunks)):
        if table is not None:
            per_content = np.diff(table.content_offsets)[content]
            chunk = table.content_chunks[ranges(table.content_offsets[content], per_content)]
            unit = chunk_unit(table, registry=registry, block_bytes=arrays.options.block_bytes)
            ch, cs, ce = (np.repeat(x, per_content) for x in (eh, es, ee))
            chunk_bytes[name] = held(chunk, unit[chunk], ch, cs, ce)
    return StoredTimeline(
        logical=logical, flattened=flattened, layer=layer_bytes, file=file_bytes, **chunk_bytes
    )


def _epoch_masks(start: I64, end: I64) -> npt.NDArray[np.uint64]:
    """Bit t set for every epoch t in start..end-1 (end <= 64)."""
    one = np.uint64(1)
    full = np.where(end >= EPOCH_BITS, ~np.uint64(0), (one << end.astype(np.uint64)) - one)
    return (full & ~((one << start.astype(np.uint64)) - one)).astype(np.uint64)


def _merged_intervals(holder: I64, key: I64, start: I64, end: I64) -> tuple[I64, I64, I64, I64]:
    """The disjoint intervals of each (holder, key): (holder, key, start, end) per interval."""
    live = end > start
    holder, key, start, end = holder[live], key[live], start[live], end[live]
    runs = _interval_runs(holder, key, start, end)
    if runs is None:
        empty = np.zeros(0, dtype=np.int64)
        return empty, empty, empty, empty
    first, s, e, _ = runs
    return holder[first], key[first], s, e


def registry_stored(arrays: PopulationArrays, image_ids: I64, images: ImageTable) -> StoredBytes:
    """Compressed bytes a registry holding these images stores under each strategy."""
    image_ids = np.asarray(image_ids, dtype=np.int64)
    n = image_ids.size
    zeros, ones = np.zeros(n, dtype=np.int64), np.ones(n, dtype=np.int64)
    t = stored_timeline(arrays, images, zeros, image_ids, zeros, ones, 1, 1, registry=True)
    chunks = chunk_stored(arrays, zeros, image_ids, 1, registry=True)
    return StoredBytes(
        logical=int(t.logical[0, 0]),
        flattened=int(t.flattened[0, 0]),
        layer=int(t.layer[0, 0]),
        file=int(t.file[0, 0]),
        chunk_cdc=None if chunks is None else int(chunks.cdc[0]),
        chunk_fixed=None if chunks is None else int(chunks.fixed[0]),
    )


@dataclass(frozen=True, eq=False)
class ChunkStored:
    """Bytes per holder under the chunk strategies (`metrics`: `chunk_cdc`, `chunk_fixed`)."""

    cdc: I64
    fixed: I64


def chunk_stored(
    arrays: PopulationArrays, holder: I64, image_ids: I64, n_holders: int, *, registry: bool
) -> ChunkStored | None:
    """What each store holds under the chunk strategies: store `holder[k]` holds image
    `image_ids[k]`; the distinct contents each store holds, then the distinct chunks of those
    contents, each costing its compressed bytes (`registry`) or its disk bytes in a node's
    chunk store (`metrics.chunk_disk_bytes`). None when the arrays carry no chunks (generated
    fleets). One sort per level (layers, contents, chunks): chunk keys are just more keys."""
    if arrays.cdc_chunks is None or arrays.fixed_chunks is None:
        return None
    holder = np.asarray(holder, dtype=np.int64)
    _, row_image, rows = expand_images(arrays, np.asarray(image_ids, dtype=np.int64))
    row_holder, layer = holder[row_image], arrays.image_layers[rows]
    once = first_occurrence(combine(row_holder, layer, max(arrays.n_layers, 1)))
    row_holder, layer = row_holder[once], layer[once]
    counts = np.diff(arrays.layer_offsets)[layer]
    content = arrays.entry_content[ranges(arrays.layer_offsets[layer], counts)]
    content_holder = np.repeat(row_holder, counts)
    is_file = content >= 0
    content, content_holder = content[is_file], content_holder[is_file]
    n_contents = max(int(arrays.content_file_bytes.size), 1)
    once = first_occurrence(combine(content_holder, content, n_contents))
    content, content_holder = content[once], content_holder[once]

    def held(table: ChunkArrays) -> I64:
        counts = np.diff(table.content_offsets)[content]
        chunk = table.content_chunks[ranges(table.content_offsets[content], counts)]
        chunk_holder = np.repeat(content_holder, counts)
        once = first_occurrence(combine(chunk_holder, chunk, max(table.chunk_file_bytes.size, 1)))
        chunk, chunk_holder = chunk[once], chunk_holder[once]
        unit = chunk_unit(table, registry=registry, block_bytes=arrays.options.block_bytes)
        return segment_sum(unit[chunk], chunk_holder, n_holders)

    return ChunkStored(cdc=held(arrays.cdc_chunks), fixed=held(arrays.fixed_chunks))


def node_stored(
    arrays: PopulationArrays, node_offsets: I64, node_images: I64, images: ImageTable
) -> StoredTable:
    """Disk bytes each node stores under each strategy (see `metrics` for the definitions)."""
    n_nodes = node_offsets.size - 1
    holder = csr_rows(node_offsets)
    zeros, ones = np.zeros(holder.size, dtype=np.int64), np.ones(holder.size, dtype=np.int64)
    t = stored_timeline(
        arrays, images, holder, node_images, zeros, ones, n_nodes, 1, registry=False
    )
    return StoredTable(
        logical=t.logical[:, 0],
        flattened=t.flattened[:, 0],
        layer=t.layer[:, 0],
        file=t.file[:, 0],
        chunks=chunk_stored(arrays, holder, node_images, n_nodes, registry=False),
    )


def disk_usage(
    arrays: PopulationArrays, node_offsets: I64, node_images: I64, images: ImageTable
) -> DiskUsageTable:
    """`docker system df -v` per distinct (node, image): size and shared bytes."""
    n_img = max(arrays.n_images, 1)
    pull_node = csr_rows(node_offsets)
    distinct = first_occurrence(combine(pull_node, node_images, n_img))
    nodes, imgs = pull_node[distinct], node_images[distinct]
    n_rows = imgs.size
    counts = np.diff(arrays.image_offsets)[imgs]
    rows = ranges(arrays.image_offsets[imgs], counts)
    row_of = np.repeat(np.arange(n_rows, dtype=np.int64), counts)
    row_node = nodes[row_of]
    chain = images.image_chain[rows]
    n_chain = int(images.image_chain.max()) + 1 if images.image_chain.size else 1
    # distinct chains within each (node, image) row
    once = first_occurrence(combine(row_of, chain, n_chain))
    row_of, row_node, chain, layer = (
        row_of[once],
        row_node[once],
        chain[once],
        arrays.image_layers[rows][once],
    )
    node_chain = combine(row_node, chain, n_chain)
    ids, uniq = group_ids(node_chain)
    refs = np.bincount(ids, minlength=uniq.size)
    disk = images.layers.disk_bytes[layer]
    size = segment_sum(disk, row_of, n_rows)
    shared = segment_sum(disk * (refs[ids] > 1), row_of, n_rows)
    return DiskUsageTable(node=nodes, image=imgs, size_bytes=size, shared_bytes=shared)
