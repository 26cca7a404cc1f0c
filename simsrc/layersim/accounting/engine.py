"""The population-scale engine: every figure of `metrics`, on numpy arrays.

It computes exactly what `reference` computes (the tests hold them equal, integer for integer),
but on `PopulationArrays` and in time that grows with the number of *distinct* layer stacks,
not with images x entries. The loops that numpy could only express as many whole-array passes
are compiled (`kernels`); this module prepares their inputs and assembles the result tables.

How the overlay is resolved at scale:
1. Every distinct prefix of a layer stack is a node of a *chain trie* (its ChainID). Images are
   paths from a root to a node; shared bases are shared trie nodes.
2. One walk of the trie in preorder (`kernels.overlay_walk`) keeps the merged view of the
   current node, one slot per path id: entering a node stacks its layer on its parent's view
   by the overlay rules, leaving it undoes what entering changed (an undo log). The running
   sums of what the view shows are the node's figures, and an image's are its top node's.
   Each *occurrence* (an entry of a node's layer) is stacked once, so the walk costs about
   the entries of the distinct layer stacks, not of the images.
3. dive's per-path figures ride along: per path, how many leaves on the branch name it and
   the smallest of their sizes, kept and undone the same way.

Storage over time (`stored_timeline`) counts each distinct object a store holds once per
epoch it holds it, with the epochs as bit masks (`kernels.held_bytes`).
"""

from __future__ import annotations

import gc
import mmap
import os
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress, pairwise, starmap
from typing import Any

import numpy as np
import numpy.typing as npt

from layersim.accounting import kernels
from layersim.accounting.arrays import (
    I64,
    PopulationArrays,
    canonical,
    csr_offsets,
    csr_rows,
    from_population,
)
from layersim.accounting.metrics import (
    ContainerUsage,
    ImageDiskUsage,
    ImageMetrics,
    NodeMetrics,
    PopulationMetrics,
    PullRecord,
    PushRecord,
    StoredBytes,
)
from layersim.accounting.sortops import (
    combine,
    first_occurrence,
    forest_preorder,
    group_ids,
    ranges,
    run_starts,
    running_max_before,
    segment_sum,
    stable_order,
)
from layersim.errors import ModelError
from layersim.model import EntryKind, Population, StorageDriver
from layersim.model.sizes import TAR_END_BYTES

FILE, DIR, SYMLINK, HARDLINK, WHITEOUT, OPAQUE = (int(k) for k in EntryKind)


# --------------------------------------------------------------------------- result tables


@dataclass(frozen=True, eq=False)
class ImageTable:
    """Per-image figures (one int64 array per `metrics.ImageMetrics` field, by image id)."""

    layered_tar_bytes: I64
    layered_compressed_bytes: I64
    layered_disk_bytes: I64
    flattened_tar_bytes: I64
    flattened_compressed_bytes: I64
    flattened_disk_bytes: I64
    shadowed_file_bytes: I64
    dive_min_bytes: I64
    dive_cumulative_bytes: I64
    dive_wasted_bytes: I64
    dive_user_bytes: I64
    flattened_key: I64  # equal iff the exports are the same blob (the top chain node)
    image_chain: I64  # chain node of every image layer position (parallel to image_layers)
    layer_disk_bytes: I64  # per layer id: extracted disk bytes (`Layer.disk_bytes`)


@dataclass(frozen=True, eq=False)
class PushTable:
    """Per push (in push order). `layer_outcome` per pushed layer row: 0 uploaded, 1 exists in
    the repository, 2 mounted from another repository; rows are CSR by push (`row_offsets`)."""

    image: I64
    uploaded_bytes: I64
    uploaded_layers: I64
    skipped_layers: I64
    mounted_layers: I64
    flattened_uploaded_bytes: I64
    row_offsets: I64
    layer_outcome: I64


@dataclass(frozen=True, eq=False)
class PullTable:
    """Per (node, pull) in node order then pull order. `layer_outcome` per pulled layer row:
    0 downloaded, 1 skipped (ChainID present), 2 extracted from a kept blob; CSR by pull."""

    node: I64
    image: I64
    downloaded_bytes: I64
    extracted_disk_bytes: I64
    downloaded_layers: I64
    skipped_layers: I64
    flattened_downloaded_bytes: I64
    row_offsets: I64
    layer_outcome: I64


@dataclass(frozen=True, eq=False)
class StoredTable:
    """Per-node stored disk bytes under each strategy."""

    logical: I64
    flattened: I64
    layer: I64
    file: I64


@dataclass(frozen=True, eq=False)
class DiskUsageTable:
    """`docker system df -v` rows: distinct (node, image) in first-pull order."""

    node: I64
    image: I64
    size_bytes: I64
    shared_bytes: I64


# --------------------------------------------------------------------------- scratch

# Scratch of at least this many bytes is backed by huge pages (2 MiB, where the OS has them)
_HUGE_PAGES_FROM = 64 << 20


def _scratch(shape: int | tuple[int, ...], dtype: Any) -> Any:
    """An uninitialised array for a kernel's scratch.

    The kernels read and write their scratch at random. Spread over hundreds of megabytes,
    4 KiB pages cost a TLB miss on nearly every access and huge pages pay off (the
    300,000-image synthetic population: the whole evaluation 3.1 -> 2.7 sorts of the floor);
    over a few megabytes, faulting fresh pages in costs more than that saves (the
    20,000-image benchmark: 3.1 -> 3.9). So from `_HUGE_PAGES_FROM` bytes, a map of its own
    with huge pages asked for (madvise); below, the C heap, which hands back memory an
    earlier evaluation freed, already faulted in (numpy's own allocator would ask for huge
    pages from 4 MiB)."""
    count = int(np.prod(shape))
    nbytes = count * np.dtype(dtype).itemsize
    if nbytes == 0 or nbytes < _HUGE_PAGES_FROM or not hasattr(mmap, "MADV_HUGEPAGE"):
        return kernels.allocate(count, np.zeros(0, dtype=dtype)).reshape(shape)
    memory = mmap.mmap(-1, nbytes)
    memory.madvise(mmap.MADV_HUGEPAGE)
    return np.frombuffer(memory, dtype=dtype, count=count).reshape(shape)


# --------------------------------------------------------------------------- the chain trie


@dataclass(frozen=True, eq=False)
class ChainTrie:
    """Distinct layer-stack prefixes. Node ids are grouped by depth (`depth_bounds`)."""

    layer: I64
    parent: I64
    depth: I64
    depth_bounds: I64  # nodes of depth d are ids depth_bounds[d]:depth_bounds[d+1]
    tin: I64
    tout: I64
    image_chain: I64  # per image layer position

    @property
    def size(self) -> int:
        return int(self.layer.size)

    def accumulate(self, delta: I64) -> I64:
        """Sum of `delta` over every node's ancestors-or-self (root to node)."""
        total = delta.copy()
        for d in range(1, self.depth_bounds.size - 1):
            lo, hi = self.depth_bounds[d], self.depth_bounds[d + 1]
            total[lo:hi] += total[self.parent[lo:hi]]
        return total


def build_chain_trie(arrays: PopulationArrays) -> ChainTrie:
    offsets = arrays.image_offsets
    lengths = np.diff(offsets)
    n_layers = max(arrays.n_layers, 1)
    image_chain = np.full(arrays.image_layers.size, -1, dtype=np.int64)
    layers: list[I64] = []
    parents: list[I64] = []
    bounds = [0]
    previous = np.full(lengths.size, -1, dtype=np.int64)
    for d in range(int(lengths.max()) if lengths.size else 0):
        active = np.flatnonzero(lengths > d)
        rows = offsets[active] + d
        layer = arrays.image_layers[rows]
        ids, uniques = group_ids(combine(previous[active] + 1, layer, n_layers))
        ids += bounds[-1]
        image_chain[rows] = ids
        previous[active] = ids
        layers.append(uniques % n_layers)
        parents.append(uniques // n_layers - 1)
        bounds.append(bounds[-1] + uniques.size)
    layer = np.concatenate(layers) if layers else np.zeros(0, np.int64)
    parent = np.concatenate(parents) if parents else np.zeros(0, np.int64)
    tin, tout, depth = forest_preorder(parent)
    return ChainTrie(
        layer=layer,
        parent=parent,
        depth=depth,
        depth_bounds=np.asarray(bounds, dtype=np.int64),
        tin=tin,
        tout=tout,
        image_chain=image_chain,
    )


# --------------------------------------------------------------------------- images


def _padded(file_bytes: I64, block_bytes: int) -> I64:
    """Bytes rounded up to whole blocks (`sizes.pad_to_block`), on a new array, in place (one
    temporary, not three); blocks are powers of two, so shifts, not a division."""
    shift = kernels.block_shift(block_bytes)
    out = np.add(file_bytes, block_bytes - 1, dtype=np.int64)
    out >>= shift
    out <<= shift
    return out


def image_table(arrays: PopulationArrays) -> ImageTable:
    """Per-image figures for every image (see `metrics.ImageMetrics` for definitions)."""
    arrays.validate()
    arrays, path_end = canonical(arrays)
    n_img = arrays.n_images
    trie = build_chain_trie(arrays)
    layer_file, layer_disk = _scan_layers(arrays)
    figures = _chain_figures(arrays, trie, path_end)
    top = trie.image_chain[arrays.image_offsets[1:] - 1]
    at_top = figures[top]

    img_rows = csr_rows(arrays.image_offsets)
    il = arrays.image_layers

    def per_image(layer_values: I64) -> I64:
        return segment_sum(layer_values[il], img_rows, n_img)

    first_layer = np.zeros(il.size, dtype=np.bool_)
    first_layer[arrays.image_offsets[:-1]] = True
    return ImageTable(
        layered_tar_bytes=per_image(arrays.layer_tar_bytes),
        layered_compressed_bytes=per_image(arrays.layer_compressed_bytes),
        layered_disk_bytes=per_image(layer_disk),
        flattened_tar_bytes=at_top[:, kernels.VIS_TAR] + TAR_END_BYTES,
        flattened_compressed_bytes=at_top[:, kernels.VIS_COMPRESSED] + arrays.blob_overhead_bytes,
        flattened_disk_bytes=at_top[:, kernels.VIS_DISK].copy(),
        shadowed_file_bytes=at_top[:, kernels.ALL_FILE] - at_top[:, kernels.VIS_FILE],
        dive_min_bytes=at_top[:, kernels.DIVE_MIN].copy(),
        dive_cumulative_bytes=at_top[:, kernels.DIVE_CUMULATIVE].copy(),
        dive_wasted_bytes=at_top[:, kernels.DIVE_WASTED].copy(),
        dive_user_bytes=segment_sum(layer_file[il] * ~first_layer, img_rows, n_img),
        flattened_key=top,
        image_chain=trie.image_chain,
        layer_disk_bytes=layer_disk,
    )


def _chain_figures(
    arrays: PopulationArrays, trie: ChainTrie, path_end: I64
) -> npt.NDArray[np.int64]:
    """`kernels.overlay_walk` on a population: per chain node, the figures of its merged view
    (columns named in `kernels`). Large walks are split into runs of the preorder with equal
    shares of the occurrences, one per core, walked at once (the kernel releases the GIL);
    each run first re-stacks the ancestors of its first node, so every node's figures are
    the same however the walk is split."""
    out = np.zeros((trie.size, kernels.N_FIGURES), dtype=np.int64)
    if trie.size == 0:
        return out
    chain_by_tin = np.empty(trie.size, dtype=np.int64)
    chain_by_tin[trie.tin] = np.arange(trie.size, dtype=np.int64)
    layer_entries = np.diff(arrays.layer_offsets)[trie.layer]
    # per stacked entry a branch logs at most one change of a path's dive count and three of
    # what its views show: shown; hidden in the view (an opaque marker above); hidden in dive's
    # view too (a whiteout above that) - the log's capacity (the kernel does not check bounds)
    branch_entries = trie.accumulate(layer_entries)
    block = arrays.options.block_bytes
    work = np.cumsum(layer_entries[chain_by_tin])
    # each part has its own scratch, about 24 bytes per path id (`kernels.overlay_walk`)
    n_parts = max(
        1,
        min(
            _WORKERS,
            int(work[-1]) // _ENTRIES_PER_WORKER,
            _SCRATCH_BYTES // (24 * max(arrays.n_paths, 1)),
        ),
    )
    cuts = np.searchsorted(work, np.arange(1, n_parts) * (work[-1] / n_parts))
    bounds = np.unique(np.concatenate(([0], cuts, [trie.size]))).tolist()
    entry_dtype = np.int32 if arrays.n_entries < 2**31 else np.int64

    def walk(lo: int, hi: int) -> None:
        prefix = []
        node = int(trie.parent[chain_by_tin[lo]])
        while node >= 0:
            prefix.append(node)
            node = int(trie.parent[node])
        kernels.overlay_walk(
            out,
            _scratch((arrays.n_paths, 2), entry_dtype),
            _scratch(arrays.n_paths, np.int32),
            _scratch(arrays.n_paths, np.int64),
            np.asarray(prefix[::-1], dtype=np.int64),
            chain_by_tin[lo:hi],
            trie.layer,
            trie.tin,
            trie.tout,
            int(trie.depth.max()),
            3 * int(branch_entries.max()) + 1,
            arrays.layer_offsets,
            arrays.entry_path,
            arrays.entry_kind,
            arrays.entry_file_bytes,
            arrays.entry_tar_bytes,
            arrays.entry_compressed_bytes,
            path_end,
            block,
            kernels.block_shift(block),
        )

    parts = list(pairwise(bounds))
    if len(parts) == 1:
        walk(*parts[0])
    else:
        with ThreadPoolExecutor(len(parts)) as pool:
            for done in [pool.submit(walk, lo, hi) for lo, hi in parts]:
                done.result()
    return out


# the walk is split across this many threads, each taking at least this many occurrences,
# all of them together at most this much scratch memory
_WORKERS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
_ENTRIES_PER_WORKER = 1 << 18
_SCRATCH_BYTES = 1 << 30


# --------------------------------------------------------------------------- timelines
#
# A store changes over epochs: images arrive (push, pull) and leave (garbage collection). Each
# arrival is a row with the epoch it arrives (`start`) and the last epoch at which it is still
# there when the next arrivals come (`until`: an image removed by the garbage collection at the
# end of epoch g is still present for arrivals during epoch g). An object (a blob, a ChainID,
# an export) is present for a row iff an earlier row of the same store holds it with
# `until >= start`. A single sequence into an empty store is the case start = until = 0.


def _covered(
    key: I64, start: I64, until: I64, store: I64 | None = None, bounds: I64 | None = None
) -> np.ndarray:
    """Per row (rows in arrival order): does an earlier row of the same store with the same key
    have `until >= start` of this row? `store` per row (None: one store), or `bounds` where the
    rows already come grouped by store, CSR (`kernels.covered`)."""
    n = key.size
    if store is not None:
        order = stable_order(store)
        bounds = np.searchsorted(store[order], np.arange(int(store.max(initial=-1)) + 2))
    else:
        order = np.arange(n, dtype=np.int64)
        if bounds is None:
            bounds = np.array([0, n], dtype=np.int64)
    n_keys = int(key.max(initial=-1)) + 1
    return kernels.covered(
        order,
        bounds,
        key,
        start,
        until,
        _scratch(n_keys, np.int32),
        _scratch(n_keys, np.int64),
    )


def _expand_images(arrays: PopulationArrays, image_ids: I64) -> tuple[I64, I64, I64]:
    """Layer rows of a sequence of images: (row offsets per image, sequence index per row,
    index into `image_layers` per row)."""
    counts = np.diff(arrays.image_offsets)[image_ids]
    offsets = csr_offsets(counts)
    return offsets, csr_rows(offsets), ranges(arrays.image_offsets[image_ids], counts)


def _as_epochs(values: I64 | None, n: int) -> I64:
    return np.zeros(n, dtype=np.int64) if values is None else np.asarray(values, dtype=np.int64)


def push_timeline(
    arrays: PopulationArrays,
    push_order: I64,
    images: ImageTable,
    start: I64 | None = None,
    until: I64 | None = None,
) -> PushTable:
    """Pushes to one registry over time (DESIGN.md §7): push `k` of image `push_order[k]` at
    epoch `start[k]`, its manifest kept until the registry's garbage collection after epoch
    `until[k]`. Per layer blob: skip if this repository holds it, mount if another repository
    does, else upload (compressed bytes). Default: one sequence into an empty registry."""
    push_order = np.asarray(push_order, dtype=np.int64)
    n_push = push_order.size
    start, until = _as_epochs(start, n_push), _as_epochs(until, n_push)
    offsets, row_push, rows = _expand_images(arrays, push_order)
    layer = arrays.image_layers[rows]
    blob = arrays.layer_blob[layer]
    repo = arrays.image_repository[push_order][row_push]
    s, u = start[row_push], until[row_push]
    present = _covered(blob, s, u)
    in_repo = _covered(blob, s, u, store=repo)
    upload = ~present
    outcome = np.where(upload, 0, np.where(in_repo, 1, 2)).astype(np.int64)
    up_layers = segment_sum(upload, row_push, n_push)
    export_present = _covered(images.flattened_key[push_order], start, until)
    return PushTable(
        image=push_order,
        uploaded_bytes=segment_sum(arrays.layer_compressed_bytes[layer] * upload, row_push, n_push),
        uploaded_layers=up_layers,
        skipped_layers=np.diff(offsets) - up_layers,
        mounted_layers=segment_sum(outcome == 2, row_push, n_push),
        flattened_uploaded_bytes=images.flattened_compressed_bytes[push_order] * ~export_present,
        row_offsets=offsets,
        layer_outcome=outcome,
    )


def push_sequence(arrays: PopulationArrays, push_order: I64, images: ImageTable) -> PushTable:
    """Push images in order to an empty registry: `push_timeline` within one epoch."""
    return push_timeline(arrays, push_order, images)


def pull_timeline(
    arrays: PopulationArrays,
    node_offsets: I64,
    node_images: I64,
    images: ImageTable,
    start: I64 | None = None,
    until: I64 | None = None,
) -> PullTable:
    """Pulls onto nodes over time (DESIGN.md §7): per node (CSR `node_offsets`), pull `k` of
    image `node_images[k]` at epoch `start[k]`, the image kept until the node's garbage
    collection after epoch `until[k]`. Per layer: skip if the node holds its ChainID; else
    download its blob (unless the node keeps blobs and holds this one) and extract it."""
    keep = arrays.options.keep_compressed_blobs
    node_images = np.asarray(node_images, dtype=np.int64)
    n_pull = node_images.size
    start, until = _as_epochs(start, n_pull), _as_epochs(until, n_pull)
    pull_node = csr_rows(node_offsets)
    offsets, row_pull, rows = _expand_images(arrays, node_images)
    row_bounds = offsets[node_offsets]  # rows come grouped by node
    s, u = start[row_pull], until[row_pull]
    chain = images.image_chain[rows]
    layer = arrays.image_layers[rows]
    new_chain = ~_covered(chain, s, u, bounds=row_bounds)
    download = new_chain
    if keep:
        download = new_chain & ~_covered(arrays.layer_blob[layer], s, u, bounds=row_bounds)
    outcome = np.where(download, 0, np.where(new_chain, 2, 1)).astype(np.int64)
    export_present = _covered(
        images.flattened_key[node_images], start, until, bounds=np.asarray(node_offsets)
    )
    down_layers = segment_sum(download, row_pull, n_pull)
    return PullTable(
        node=pull_node,
        image=node_images,
        downloaded_bytes=segment_sum(
            arrays.layer_compressed_bytes[layer] * download, row_pull, n_pull
        ),
        extracted_disk_bytes=segment_sum(
            images.layer_disk_bytes[layer] * new_chain, row_pull, n_pull
        ),
        downloaded_layers=down_layers,
        skipped_layers=np.diff(offsets) - down_layers,
        flattened_downloaded_bytes=images.flattened_compressed_bytes[node_images] * ~export_present,
        row_offsets=offsets,
        layer_outcome=outcome,
    )


def pull_sequences(
    arrays: PopulationArrays, node_offsets: I64, node_images: I64, images: ImageTable
) -> PullTable:
    """Pull images in order onto empty nodes: `pull_timeline` within one epoch."""
    return pull_timeline(arrays, node_offsets, node_images, images)


@dataclass(frozen=True, eq=False)
class StoredTimeline:
    """Stored bytes per holder (row) and epoch (column) under each strategy."""

    logical: npt.NDArray[np.int64]
    flattened: npt.NDArray[np.int64]
    layer: npt.NDArray[np.int64]
    file: npt.NDArray[np.int64]


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
) -> StoredTimeline:
    """What each store holds at the end of every epoch, under each strategy (`metrics`): store
    `holder[k]` holds image `image_ids[k]` at the end of epochs `start[k]..end[k]-1`.

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
        content_unit = _padded(arrays.content_file_bytes, block)
    if n_epochs > _EPOCH_BITS:
        return _stored_timeline_sorted(
            arrays, images, holder, image_ids, start, end, n_holders, n_epochs,
            registry=registry, image_unit=image_unit, export_unit=export_unit,
            content_unit=content_unit,
        )  # fmt: skip

    # each (holder, image) row holds an image in the epochs of its bit mask
    order = stable_order(holder)
    bounds = np.searchsorted(holder[order], np.arange(n_holders + 1))
    masks = _epoch_masks(start, end).view(np.int64)

    def held(groups: I64, offsets: I64, items: I64, unit: I64, rows: tuple[I64, I64, I64]) -> I64:
        row_order, row_bounds, row_masks = rows
        return kernels.held_bytes(
            row_order,
            row_bounds,
            groups,
            row_masks,
            offsets,
            items,
            unit,
            n_epochs,
            _scratch(offsets.size - 1, np.int32),
            _scratch(offsets.size - 1, np.int64),
            _scratch(offsets.size - 1, np.int64),
            _scratch(unit.size, np.int32),
            _scratch(unit.size, np.int64),
            _scratch(unit.size, np.int64),
        )

    by_image = (order, bounds, masks)
    file_offsets, file_content = _file_contents_by_layer(arrays)
    # one integer type for every kind of item, so that the kernel is compiled once
    chain, blob = images.image_chain, arrays.layer_blob[arrays.image_layers]
    id_type = file_content.dtype if max(chain.size, blob.size, n_img) < 2**31 else np.int64
    file_content = file_content.astype(id_type, copy=False)
    each_image = np.arange(n_img + 1, dtype=np.int64)
    export = images.flattened_key
    logical = held(image_ids, each_image, each_image[:-1].astype(id_type), image_unit, by_image)
    flattened = held(
        image_ids, each_image, export.astype(id_type), _by_key(export, export_unit), by_image
    )
    blob_unit = _by_key(blob, arrays.layer_compressed_bytes[arrays.image_layers])
    if registry:
        layer_bytes = held(
            image_ids, arrays.image_offsets, blob.astype(id_type), blob_unit, by_image
        )
    else:
        chain_unit = _by_key(chain, images.layer_disk_bytes[arrays.image_layers])
        layer_bytes = held(
            image_ids, arrays.image_offsets, chain.astype(id_type), chain_unit, by_image
        )
        if keep:
            layer_bytes += held(
                image_ids, arrays.image_offsets, blob.astype(id_type), blob_unit, by_image
            )
    # file: rows per (holder, layer), so that each store reads a layer's contents once
    _, row_image, rows = _expand_images(arrays, image_ids)
    row_holder = holder[row_image]
    layer_order = stable_order(row_holder)
    by_layer = (
        layer_order,
        np.searchsorted(row_holder[layer_order], np.arange(n_holders + 1)),
        masks[row_image],
    )
    file_bytes = held(arrays.image_layers[rows], file_offsets, file_content, content_unit, by_layer)
    return StoredTimeline(logical=logical, flattened=flattened, layer=layer_bytes, file=file_bytes)


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
    _, row_image, rows = _expand_images(arrays, image_ids)
    h, s, e = holder[row_image], start[row_image], end[row_image]
    layer = arrays.image_layers[rows]
    blob = arrays.layer_blob[layer]
    if registry:
        layer_bytes = held(blob, arrays.layer_compressed_bytes[layer], h, s, e)
    else:
        layer_bytes = held(images.image_chain[rows], images.layer_disk_bytes[layer], h, s, e)
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
    return StoredTimeline(logical=logical, flattened=flattened, layer=layer_bytes, file=file_bytes)


_EPOCH_BITS = 64


def _epoch_masks(start: I64, end: I64) -> npt.NDArray[np.uint64]:
    """Bit t set for every epoch t in start..end-1 (end <= 64)."""
    one = np.uint64(1)
    full = np.where(end >= _EPOCH_BITS, ~np.uint64(0), (one << end.astype(np.uint64)) - one)
    return (full & ~((one << start.astype(np.uint64)) - one)).astype(np.uint64)


def _file_contents_by_layer(arrays: PopulationArrays) -> tuple[I64, npt.NDArray[Any]]:
    """CSR: the contents of each layer's regular files (entries of other kinds dropped once,
    not once per store), as int32 where content ids fit (half the bytes to read per store).
    Kept in `arrays.cache` by `_scan_layers`."""
    cached = arrays.cache.get("file_contents_by_layer")
    if not isinstance(cached, tuple):
        _scan_layers(arrays)
        cached = arrays.cache["file_contents_by_layer"]
    return cached  # type: ignore[return-value]


def _scan_layers(arrays: PopulationArrays) -> tuple[I64, I64]:
    """Per layer its file bytes and extracted disk bytes; the file contents by layer go to
    `arrays.cache` (one pass over the entries, `kernels.scan_layers`)."""
    block = arrays.options.block_bytes
    dtype = np.int32 if arrays.content_file_bytes.size < 2**31 else np.int64
    contents = _scratch(arrays.n_entries, dtype)  # pages past the files stay untouched
    layer_file, layer_disk, offsets = kernels.scan_layers(
        arrays.layer_offsets,
        arrays.entry_kind,
        arrays.entry_content,
        arrays.entry_file_bytes,
        block,
        kernels.block_shift(block),
        contents,
    )
    contents = contents[: offsets[-1]]
    arrays.cache["file_contents_by_layer"] = (offsets, contents)
    return layer_file, layer_disk


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
    return StoredBytes(
        logical=int(t.logical[0, 0]),
        flattened=int(t.flattened[0, 0]),
        layer=int(t.layer[0, 0]),
        file=int(t.file[0, 0]),
    )


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
        logical=t.logical[:, 0], flattened=t.flattened[:, 0], layer=t.layer[:, 0], file=t.file[:, 0]
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
    disk = images.layer_disk_bytes[layer]
    size = segment_sum(disk, row_of, n_rows)
    shared = segment_sum(disk * (refs[ids] > 1), row_of, n_rows)
    return DiskUsageTable(node=nodes, image=imgs, size_bytes=size, shared_bytes=shared)


# --------------------------------------------------------------------------- containers


def visible_entries(arrays: PopulationArrays, image_ids: I64, path_ids: I64) -> I64:
    """For each (image, path) query, the entry the image's merged view shows there, or -1
    (`kernels.visible_entries`: each image's layers from the top, a binary search per layer
    for the path and its ancestors)."""
    arrays, _ = canonical(arrays)
    return kernels.visible_entries(
        arrays.image_offsets,
        arrays.image_layers,
        arrays.layer_offsets,
        arrays.entry_path,
        arrays.entry_kind,
        arrays.path_parent,
        np.asarray(image_ids, dtype=np.int64),
        np.asarray(path_ids, dtype=np.int64),
    )


def container_bytes(arrays: PopulationArrays) -> I64:
    """Writable-layer disk bytes of every container (see `metrics.ContainerUsage`)."""
    block = arrays.options.block_bytes
    n = len(arrays.container_names)
    written = segment_sum(
        _padded(arrays.write_file_bytes, block), csr_rows(arrays.write_offsets), n
    )
    names = arrays.path_names

    def fail(k: int, path: int, what: str) -> None:
        label = names[path] if names is not None else f"path #{path}"
        image = arrays.image_names[int(arrays.container_image[k])]
        raise ModelError(
            f"container {arrays.container_names[k]!r} {what} {label!r}, "
            + ("which is not a file of" if what == "modifies" else "which")
            + f" image {image!r}"
            + ("" if what == "modifies" else " does not have")
        )

    d_owner = csr_rows(arrays.delete_offsets)
    if d_owner.size:
        shown = visible_entries(arrays, arrays.container_image[d_owner], arrays.delete_path)
        bad = np.flatnonzero(shown < 0)
        if bad.size:
            fail(int(d_owner[bad[0]]), int(arrays.delete_path[bad[0]]), "deletes")
    m_owner = csr_rows(arrays.modify_offsets)
    if m_owner.size == 0:
        return written
    lower = visible_entries(arrays, arrays.container_image[m_owner], arrays.modify_path)
    bad = np.flatnonzero((lower < 0) | (arrays.entry_kind[np.maximum(lower, 0)] != FILE))
    if bad.size:
        fail(int(m_owner[bad[0]]), int(arrays.modify_path[bad[0]]), "modifies")
    whole = _padded(arrays.entry_file_bytes[lower], block)
    if arrays.options.driver is StorageDriver.OVERLAY2:
        copied = whole
    else:
        changed = np.where(arrays.modify_changed_bytes < 0, block, arrays.modify_changed_bytes)
        copied = np.minimum(_padded(changed, block), whole)
    return written + segment_sum(copied, m_owner, n)


# --------------------------------------------------------------------------- objects


def evaluate(population: Population) -> PopulationMetrics:
    """Every figure of `metrics` for an object population, computed on arrays."""
    _check_container_paths(population)
    arrays = from_population(population)
    return metrics_from_arrays(arrays)


def _check_container_paths(population: Population) -> None:
    for node in population.nodes:
        for c in node.containers:
            seen: set[str] = set()
            for path in [w.path for w in c.writes] + [m.path for m in c.modifies] + list(c.deletes):
                if path in seen:
                    raise ModelError(f"container {c.name!r} touches {path!r} twice")
                seen.add(path)


class _Outcomes:
    """The layer labels of every transfer split by outcome, for all transfers at once: each
    outcome's labels are picked from the rows with `itertools.compress` (a C loop over all
    rows) and cut per transfer, rather than split transfer by transfer in Python."""

    def __init__(
        self, arrays: PopulationArrays, labels: list[str], image: I64, offsets: I64, outcome: I64
    ) -> None:
        rows = ranges(arrays.image_offsets[image], np.diff(arrays.image_offsets)[image])
        row_labels = list(map(labels.__getitem__, rows.tolist()))
        self._cuts: list[tuple[list[str], list[int]]] = []
        for flags in (outcome == 0, outcome != 0, outcome == 2):
            picked = list(compress(row_labels, flags.tolist()))
            before = np.zeros(outcome.size + 1, dtype=np.int64)
            np.cumsum(flags, out=before[1:])
            self._cuts.append((picked, before[offsets].tolist()))

    def split(self, k: int) -> tuple[tuple[str, ...], tuple[str, ...], tuple[str, ...]]:
        """Transfer k's labels: (outcome 0, any other outcome, outcome 2)."""
        (moved, at_moved), (other, at_other), (two, at_two) = self._cuts
        return (
            tuple(moved[at_moved[k] : at_moved[k + 1]]),
            tuple(other[at_other[k] : at_other[k + 1]]),
            tuple(two[at_two[k] : at_two[k + 1]]),
        )


def _rows_by(owner: I64, n: int) -> list[list[int]]:
    """Row indices grouped by owner id (rows in order within each group)."""
    groups: list[list[int]] = [[] for _ in range(n)]
    for row, who in enumerate(np.asarray(owner).tolist()):
        groups[who].append(row)
    return groups


def metrics_from_arrays(arrays: PopulationArrays) -> PopulationMetrics:
    """All figures as `metrics` objects (for populations small enough to list per layer)."""
    images = image_table(arrays)
    pushes = push_sequence(arrays, arrays.push_order, images)
    registry = registry_stored(arrays, arrays.push_order, images)
    pulls = pull_sequences(arrays, arrays.node_offsets, arrays.node_images, images)
    stored = node_stored(arrays, arrays.node_offsets, arrays.node_images, images)
    usage = disk_usage(arrays, arrays.node_offsets, arrays.node_images, images)
    writable = container_bytes(arrays).tolist()
    with _gc_paused():
        return _metrics_objects(arrays, images, pushes, registry, pulls, stored, usage, writable)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the result objects are built. They hold only
    strings, ints and tuples, so there are no cycles to find, but tens of thousands of new
    objects would set off full collections that walk the caller's whole heap (measured: more
    than the building itself in a process with a large heap, such as a test session)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _metrics_objects(
    arrays: PopulationArrays,
    images: ImageTable,
    pushes: PushTable,
    registry: StoredBytes,
    pulls: PullTable,
    stored: StoredTable,
    usage: DiskUsageTable,
    writable: list[int],
) -> PopulationMetrics:
    """The engine's tables as `metrics` objects."""
    if arrays.image_layer_labels is not None:
        labels = list(arrays.image_layer_labels)
    else:
        by_layer = [f"layer{lid}" for lid in range(arrays.n_layers)]
        labels = list(map(by_layer.__getitem__, arrays.image_layers.tolist()))
    names = arrays.image_names
    bounds = arrays.image_offsets.tolist()
    per_image = [labels[bounds[i] : bounds[i + 1]] for i in range(arrays.n_images)]
    columns = {
        f: getattr(images, f).tolist()
        for f in (
            "layered_tar_bytes",
            "layered_compressed_bytes",
            "layered_disk_bytes",
            "flattened_tar_bytes",
            "flattened_compressed_bytes",
            "flattened_disk_bytes",
            "shadowed_file_bytes",
            "dive_min_bytes",
            "dive_cumulative_bytes",
            "dive_wasted_bytes",
            "dive_user_bytes",
        )
    }
    image_metrics = tuple(
        starmap(ImageMetrics, zip(names, map(tuple, per_image), *columns.values(), strict=True))
    )

    outcome = _Outcomes(arrays, labels, pushes.image, pushes.row_offsets, pushes.layer_outcome)
    uploaded = pushes.uploaded_bytes.tolist()
    flat_up = pushes.flattened_uploaded_bytes.tolist()
    push_records = []
    for s, image in enumerate(pushes.image.tolist()):
        up, skipped, mounted = outcome.split(s)
        push_records.append(PushRecord(names[image], uploaded[s], up, skipped, mounted, flat_up[s]))

    n_nodes = arrays.n_nodes
    pull_outcome = _Outcomes(arrays, labels, pulls.image, pulls.row_offsets, pulls.layer_outcome)
    pull_image = pulls.image.tolist()
    downloaded = pulls.downloaded_bytes.tolist()
    extracted = pulls.extracted_disk_bytes.tolist()
    flat_down = pulls.flattened_downloaded_bytes.tolist()
    usage_image, usage_size, usage_shared = (
        usage.image.tolist(),
        usage.size_bytes.tolist(),
        usage.shared_bytes.tolist(),
    )
    c_image, c_running = arrays.container_image.tolist(), arrays.container_running.tolist()
    pulls_of = _rows_by(pulls.node, n_nodes)
    usage_of = _rows_by(usage.node, n_nodes)
    containers_of = _rows_by(arrays.container_node, n_nodes)
    nodes = []
    for n, node_name in enumerate(arrays.node_names):
        pull_records = []
        for s in pulls_of[n]:
            image = pull_image[s]
            down, skipped, _ = pull_outcome.split(s)
            pull_records.append(
                PullRecord(names[image], downloaded[s], extracted[s], down, skipped, flat_down[s])
            )
        nodes.append(
            NodeMetrics(
                name=node_name,
                stored_bytes=StoredBytes(
                    logical=int(stored.logical[n]),
                    flattened=int(stored.flattened[n]),
                    layer=int(stored.layer[n]),
                    file=int(stored.file[n]),
                ),
                pulls=tuple(pull_records),
                images=tuple(
                    ImageDiskUsage(
                        names[usage_image[r]],
                        usage_size[r],
                        usage_shared[r],
                        usage_size[r] - usage_shared[r],
                    )
                    for r in usage_of[n]
                ),
                containers=tuple(
                    ContainerUsage(
                        arrays.container_names[k],
                        names[c_image[k]],
                        "running" if c_running[k] else "stopped",
                        writable[k],
                    )
                    for k in containers_of[n]
                ),
            )
        )
    return PopulationMetrics(
        images=image_metrics,
        registry_stored_bytes=registry,
        pushes=tuple(push_records),
        nodes=tuple(nodes),
    )
