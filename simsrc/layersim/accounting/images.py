"""Per-image figures (`metrics.ImageMetrics`) for every image of a population, on arrays.

It computes exactly what `reference` computes (the tests hold them equal, integer for integer),
in time that grows with the number of *distinct* layer stacks, not with images x entries.

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

The per-layer figures the per-image ones are summed from (`LayerScan`: file and disk bytes,
the file contents of each layer) travel in the result, for the storage accounting to reuse.
Transfers, stored bytes and containers are not here (`transfers`, `storage`, `containers`).
"""

from __future__ import annotations

import os
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from itertools import pairwise
from typing import Any, Protocol

import numpy as np
import numpy.typing as npt

from layersim.accounting import kernels
from layersim.accounting.arrays import I64, CanonicalArrays, PopulationArrays, csr_rows
from layersim.accounting.scratch import scratch
from layersim.accounting.sortops import combine, forest_preorder, group_ids, ranges, segment_sum
from layersim.model.sizes import TAR_END_BYTES

# the trie walk is split across this many threads, each taking at least this many occurrences,
# all of them together at most this much scratch memory
WORKERS = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count() or 1
ENTRIES_PER_WORKER = 1 << 18
SCRATCH_BYTES = 1 << 30


@dataclass(frozen=True, eq=False)
class LayerScan:
    """What one pass over every layer's entries finds (`kernels.scan_layers`), by layer id:
    file bytes, extracted disk bytes (`Layer.disk_bytes`), and the CSR of the contents of its
    regular files (`content_offsets`, `contents`; entries of other kinds dropped once, not once
    per store; int32 where content ids fit, half the bytes to read per store)."""

    file_bytes: I64
    disk_bytes: I64
    content_offsets: I64
    contents: npt.NDArray[Any]


def scan_layers(arrays: PopulationArrays) -> LayerScan:
    """Every layer's `LayerScan` figures, in one pass over the entries."""
    block = arrays.options.block_bytes
    dtype = np.int32 if arrays.content_file_bytes.size < 2**31 else np.int64
    contents = scratch(arrays.n_entries, dtype)  # pages past the files stay untouched
    layer_file, layer_disk, offsets = kernels.scan_layers(
        arrays.layer_offsets,
        arrays.entry_kind,
        arrays.entry_content,
        arrays.entry_file_bytes,
        block,
        kernels.block_shift(block),
        contents,
    )
    return LayerScan(
        file_bytes=layer_file,
        disk_bytes=layer_disk,
        content_offsets=offsets,
        contents=contents[: offsets[-1]],
    )


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
    layers: LayerScan  # per layer id: the figures the per-image ones are summed from


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
    """The chain trie of the images' layer stacks, and each image layer position's node."""
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


def image_table(canon: CanonicalArrays, walk_parts: WalkParts | None = None) -> ImageTable:
    """Per-image figures for every image (see `metrics.ImageMetrics` for definitions). The
    chain trie's walk runs on threads here, or, given `walk_parts`, as `OverlayParts` that it
    walks (elsewhere: `layersim.distributed.run`), with the same figures."""
    arrays, path_end = canon.arrays, canon.path_end
    n_img = arrays.n_images
    trie = build_chain_trie(arrays)
    layers = scan_layers(arrays)
    figures = (
        _chain_figures(arrays, trie, path_end)
        if walk_parts is None
        else _chain_figures_in_parts(arrays, trie, path_end, walk_parts)
    )
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
        layered_disk_bytes=per_image(layers.disk_bytes),
        flattened_tar_bytes=at_top[:, kernels.VIS_TAR] + TAR_END_BYTES,
        flattened_compressed_bytes=at_top[:, kernels.VIS_COMPRESSED] + arrays.blob_overhead_bytes,
        flattened_disk_bytes=at_top[:, kernels.VIS_DISK].copy(),
        shadowed_file_bytes=at_top[:, kernels.ALL_FILE] - at_top[:, kernels.VIS_FILE],
        dive_min_bytes=at_top[:, kernels.DIVE_MIN].copy(),
        dive_cumulative_bytes=at_top[:, kernels.DIVE_CUMULATIVE].copy(),
        dive_wasted_bytes=at_top[:, kernels.DIVE_WASTED].copy(),
        dive_user_bytes=segment_sum(layers.file_bytes[il] * ~first_layer, img_rows, n_img),
        flattened_key=top,
        image_chain=trie.image_chain,
        layers=layers,
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
            WORKERS,
            int(work[-1]) // ENTRIES_PER_WORKER,
            SCRATCH_BYTES // (24 * max(arrays.n_paths, 1)),
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
            scratch((arrays.n_paths, 2), entry_dtype),
            scratch(arrays.n_paths, np.int32),
            scratch(arrays.n_paths, np.int64),
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


# --------------------------------------------------------------------------- walks in parts


@dataclass(frozen=True, eq=False)
class OverlayPart:
    """One run of the chain trie's preorder (`nodes`) and exactly what walking it reads: the
    layers of its nodes and of their ancestors (`prefix`), renumbered 0.. (`chain_layer`: per
    trie node its layer's number in the part, -1 for the nodes the part never visits) with
    their entries; the trie's shape (`tin`, `tout`) and the paths (`path_end`) whole. A part
    of a large population is a small share of its entries."""

    nodes: I64
    prefix: I64
    chain_layer: I64
    tin: I64
    tout: I64
    max_depth: int
    log_capacity: int
    layer_offsets: I64
    entry_path: I64
    entry_kind: npt.NDArray[Any]
    entry_file_bytes: I64
    entry_tar_bytes: I64
    entry_compressed_bytes: I64
    path_end: I64
    block_bytes: int


class WalkParts(Protocol):
    """How a walk in parts is walked: into how many parts to cut it (`parts`), and, called
    with them, each part's figures (rows of `part.nodes`) in order."""

    parts: int

    def __call__(self, parts: list[OverlayPart]) -> list[npt.NDArray[np.int64]]: ...


def walk_part(part: OverlayPart) -> npt.NDArray[np.int64]:
    """`kernels.overlay_walk` over one part: the figures of each of `part.nodes`, one row
    each (the columns named in `kernels`)."""
    n_paths = part.path_end.size
    out = np.zeros((part.tin.size, kernels.N_FIGURES), dtype=np.int64)
    entry_dtype = np.int32 if part.entry_path.size < 2**31 else np.int64
    kernels.overlay_walk(
        out,
        scratch((n_paths, 2), entry_dtype),
        scratch(n_paths, np.int32),
        scratch(n_paths, np.int64),
        part.prefix,
        part.nodes,
        part.chain_layer,
        part.tin,
        part.tout,
        part.max_depth,
        part.log_capacity,
        part.layer_offsets,
        part.entry_path,
        part.entry_kind,
        part.entry_file_bytes,
        part.entry_tar_bytes,
        part.entry_compressed_bytes,
        part.path_end,
        part.block_bytes,
        kernels.block_shift(part.block_bytes),
    )
    return out[part.nodes]


def overlay_parts(
    arrays: PopulationArrays, trie: ChainTrie, path_end: I64, n_parts: int
) -> list[OverlayPart]:
    """The trie's preorder cut into `n_parts` runs with about equal shares of the
    occurrences (the entries a walk stacks), each with only the layers and entries it reads
    (`OverlayPart`). A run is a stretch of the preorder: whole subtrees (images sharing a
    layer chain) but at its ends, where it also carries the ancestors of its first node, so
    the layers of a chain cut between two runs are in both."""
    chain_by_tin = np.empty(trie.size, dtype=np.int64)
    chain_by_tin[trie.tin] = np.arange(trie.size, dtype=np.int64)
    layer_entries = np.diff(arrays.layer_offsets)[trie.layer]
    capacity = 3 * int(trie.accumulate(layer_entries).max()) + 1  # as `_chain_figures`
    work = np.cumsum(layer_entries[chain_by_tin])
    cuts = np.searchsorted(work, np.arange(1, n_parts) * (work[-1] / n_parts))
    bounds = np.unique(np.concatenate(([0], cuts, [trie.size]))).tolist()
    parts = []
    for lo, hi in pairwise(bounds):
        nodes = chain_by_tin[lo:hi]
        prefix = []
        node = int(trie.parent[nodes[0]])
        while node >= 0:
            prefix.append(node)
            node = int(trie.parent[node])
        visited = np.concatenate([np.asarray(prefix, dtype=np.int64), nodes])
        used, local = np.unique(trie.layer[visited], return_inverse=True)
        chain_layer = np.full(trie.size, -1, dtype=np.int64)
        chain_layer[visited] = local
        counts = np.diff(arrays.layer_offsets)[used]
        offsets = np.zeros(used.size + 1, dtype=np.int64)
        np.cumsum(counts, out=offsets[1:])
        entries = ranges(arrays.layer_offsets[used], counts)
        parts.append(
            OverlayPart(
                nodes=nodes,
                prefix=np.asarray(prefix[::-1], dtype=np.int64),
                chain_layer=chain_layer,
                tin=trie.tin,
                tout=trie.tout,
                max_depth=int(trie.depth.max()),
                log_capacity=capacity,
                layer_offsets=offsets,
                entry_path=arrays.entry_path[entries],
                entry_kind=arrays.entry_kind[entries],
                entry_file_bytes=arrays.entry_file_bytes[entries],
                entry_tar_bytes=arrays.entry_tar_bytes[entries],
                entry_compressed_bytes=arrays.entry_compressed_bytes[entries],
                path_end=path_end,
                block_bytes=arrays.options.block_bytes,
            )
        )
    return parts


@dataclass(frozen=True)
class WalkHere:
    """A walk cut into `parts` parts, each walked in this process, one after the other (what
    a partitioned walk does, without a cluster: the tests' oracle of the cut)."""

    parts: int

    def __call__(self, parts: list[OverlayPart]) -> list[npt.NDArray[np.int64]]:
        return [walk_part(part) for part in parts]


def _chain_figures_in_parts(
    arrays: PopulationArrays, trie: ChainTrie, path_end: I64, walk_parts: WalkParts
) -> npt.NDArray[np.int64]:
    """`_chain_figures` with the walk cut into `walk_parts.parts` `OverlayPart`s and walked
    by `walk_parts`."""
    out = np.zeros((trie.size, kernels.N_FIGURES), dtype=np.int64)
    if trie.size == 0:
        return out
    parts = overlay_parts(arrays, trie, path_end, max(1, walk_parts.parts))
    for part, figures in zip(parts, walk_parts(parts), strict=True):
        out[part.nodes] = figures
    return out
