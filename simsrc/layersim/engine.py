"""The population-scale engine: every figure of `metrics`, on numpy arrays.

It computes exactly what `reference` computes (the tests hold them equal, integer for integer),
but on `PopulationArrays` and in time that grows with the number of *distinct* layer stacks,
not with images x entries.

How the overlay is resolved at scale:
1. Every distinct prefix of a layer stack is a node of a *chain trie* (its ChainID). Images are
   paths from a root to a node; shared bases are shared trie nodes.
2. An *occurrence* is an entry of the top layer of a chain node. Occurrence `o` is hidden in an
   image whose top is `t` iff some chain node `k` between `o`'s node (exclusive) and `t`
   (inclusive) *kills* it: its layer has an entry at `o`'s path (exact key: any kind but an
   opaque marker) or a whiteout, opaque marker or non-directory at a strict ancestor of it
   (below key). Only the *minimal* killers matter (none above them on the same branch): each
   hidden byte is then charged to exactly one node, and a figure of image `t` is the sum of the
   charges along its branch (accumulated down the trie, level by level).
3. Candidates are found with sorts, not per-image expansion: an exact kill needs two
   occurrences of one path on one branch (a preorder test on the trie, `tin`/`tout`); a below
   kill needs a path with descendants, and lower entries in that path's preorder range.
dive's per-path figures follow the same scheme on each layer's leaves.
"""

from __future__ import annotations

import gc
import itertools
from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from itertools import compress, starmap
from typing import Any

import numpy as np
import numpy.typing as npt

from layersim.arrays import (
    I64,
    PopulationArrays,
    canonical,
    csr_offsets,
    csr_rows,
    from_population,
)
from layersim.errors import ModelError
from layersim.metrics import (
    ContainerUsage,
    ImageDiskUsage,
    ImageMetrics,
    NodeMetrics,
    PopulationMetrics,
    PullRecord,
    PushRecord,
    StoredBytes,
)
from layersim.model import EntryKind, Population, StorageDriver
from layersim.sizes import TAR_END_BYTES
from layersim.sortops import (
    combine,
    first_occurrence,
    forest_preorder,
    group_ids,
    lookup,
    ranges,
    run_starts,
    running_max_before,
    segment_sum,
    stable_order,
)

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


def _walk_up(
    trie: ChainTrie, start: I64, path_key: I64, table_keys: I64, n_paths: int
) -> tuple[I64, I64]:
    """For each query (a chain node and a path), the nearest strict ancestor node whose layer
    has the path in `table_keys` (sorted `layer * n_paths + path`). Returns (node, table index),
    -1 where none."""
    node_out = np.full(start.size, -1, dtype=np.int64)
    hit_out = np.full(start.size, -1, dtype=np.int64)
    active = np.arange(start.size, dtype=np.int64)
    cursor = trie.parent[start]
    while active.size:
        keep = cursor >= 0
        active, cursor = active[keep], cursor[keep]
        if not active.size:
            break
        hit = lookup(table_keys, combine(trie.layer[cursor], path_key[active], n_paths))
        found = hit >= 0
        node_out[active[found]] = cursor[found]
        hit_out[active[found]] = hit[found]
        active, cursor = active[~found], trie.parent[cursor[~found]]
    return node_out, hit_out


def _lexsort_pair(primary: I64, secondary: I64) -> I64:
    """A stable order by (primary, secondary) for non-negative keys, as two packed sorts (LSD):
    much faster than `np.lexsort` where each key fits beside the index bits."""
    first = stable_order(secondary)
    second = stable_order(primary[first])
    return first[second]


def _has_lower_twin(trie: ChainTrie, chain: I64, path: I64) -> np.ndarray:
    """Mask: does another occurrence of the same path sit on a strict ancestor chain node?
    Sorted by (path, tin), an ancestor comes earlier and its interval still covers us."""
    if chain.size == 0:
        return np.zeros(0, dtype=np.bool_)
    order = _lexsort_pair(path, trie.tin[chain])
    out = np.zeros(order.size, dtype=np.bool_)
    out[order] = _covered_by_earlier(path[order], trie.tin[chain[order]], trie.tout[chain[order]])
    return out


# --------------------------------------------------------------------------- images


@dataclass(frozen=True, eq=False)
class _Layout:
    """Entry-level facts shared by the image passes (arrays in canonical order)."""

    arrays: PopulationArrays
    path_end: I64  # exclusive end of each path's subtree (path ids are a preorder)
    n_paths: int
    trie: ChainTrie
    chain_offsets: I64  # CSR: chain nodes whose top is each layer
    chains: I64
    entry_layer: npt.NDArray[np.int32]  # layer of every entry

    def layer_of(self, entries: I64) -> I64:
        """Layer of each entry."""
        return self.entry_layer[entries].astype(np.int64)

    def key(self, layer: I64, path: I64) -> I64:
        return combine(layer, path, self.n_paths)

    def occurrences(self, entries: I64) -> tuple[I64, I64]:
        """(chain node, entry) for every chain node whose top layer holds each entry."""
        layer = self.layer_of(entries)
        reps = np.diff(self.chain_offsets)[layer]
        return self.chains[ranges(self.chain_offsets[layer], reps)], np.repeat(entries, reps)


def _layer_sums(
    arrays: PopulationArrays,
    values: npt.NDArray[Any],
    transform: Callable[[npt.NDArray[Any]], npt.NDArray[Any]] | None = None,
) -> I64:
    """Sum of an entry column (optionally transformed) over each layer. Entries are contiguous
    per layer; they are taken in chunks of whole layers so that a transform's temporary stays
    small."""
    offsets = arrays.layer_offsets
    out = np.zeros(offsets.size - 1, dtype=np.int64)
    nonempty = np.flatnonzero(np.diff(offsets) > 0)
    if nonempty.size == 0:
        return out
    starts = offsets[nonempty]
    # chunk boundaries: indices into `nonempty`, each chunk about _ENTRY_CHUNK entries
    cuts = np.searchsorted(starts, np.arange(_ENTRY_CHUNK, int(offsets[-1]), _ENTRY_CHUNK))
    bounds = np.unique(np.concatenate(([0], cuts, [nonempty.size])))
    for a, b in itertools.pairwise(bounds.tolist()):
        lo, hi = int(starts[a]), int(offsets[nonempty[b - 1] + 1])
        chunk = values[lo:hi] if transform is None else transform(values[lo:hi])
        # starts of non-empty layers increase strictly; empty ones lie between and add nothing
        out[nonempty[a:b]] = np.add.reduceat(chunk, starts[a:b] - lo, dtype=np.int64)
    return out


def _blocks(file_bytes: I64, block_bytes: int) -> I64:
    """Whole blocks each file occupies (a shift where the block is a power of two: integer
    division is several times slower in numpy)."""
    if block_bytes & (block_bytes - 1) == 0:
        return (file_bytes + (block_bytes - 1)) >> (block_bytes.bit_length() - 1)
    return (file_bytes + (block_bytes - 1)) // block_bytes


def _is_leaf(layout: _Layout, entries: I64) -> np.ndarray:
    """dive's leaves among `entries`: entries with no other entry of their layer strictly below
    their path. Only directories (and opaque markers, which stand for their directory) can have
    any; a DIR and its opaque marker at one path are one node, the DIR. Asked only of the
    entries dive's figures read (at contested paths), not of every entry."""
    a = layout.arrays
    kind, path = a.entry_kind, a.entry_path
    n = path.size
    leaf = np.ones(entries.size, dtype=np.bool_)
    at = np.flatnonzero((kind[entries] == DIR) | (kind[entries] == OPAQUE))
    if at.size == 0:
        return leaf
    dirs = entries[at]
    layer = layout.layer_of(dirs)
    layer_end = a.layer_offsets[layer + 1]
    nxt = dirs + 1
    # step over the opaque marker beside its DIR
    twin = (nxt < layer_end) & (path[np.minimum(nxt, n - 1)] == path[dirs])
    nxt = np.where(twin, nxt + 1, nxt)
    inside = nxt < layer_end
    child = inside & (path[np.minimum(nxt, n - 1)] < layout.path_end[path[dirs]])
    prev = np.maximum(dirs - 1, 0)
    beside_dir = (
        (kind[dirs] == OPAQUE)
        & (dirs > a.layer_offsets[layer])
        & (path[prev] == path[dirs])
        & (kind[prev] == DIR)
    )
    leaf[at[child | beside_dir]] = False
    return leaf


def image_table(arrays: PopulationArrays) -> ImageTable:
    """Per-image figures for every image (see `metrics.ImageMetrics` for definitions)."""
    arrays.validate()
    arrays, path_end = canonical(arrays)
    n_img, n_l = arrays.n_images, arrays.n_layers
    kind, path = arrays.entry_kind, arrays.entry_path
    block = arrays.options.block_bytes

    trie = build_chain_trie(arrays)
    chain_offsets, chains = _chains_by_layer(trie, n_l)
    entry_layer = np.repeat(
        np.arange(n_l, dtype=np.int32), np.diff(arrays.layer_offsets).astype(np.int64)
    )
    layout = _Layout(
        arrays, path_end, max(arrays.n_paths, 1), trie, chain_offsets, chains, entry_layer
    )

    # ---- per-layer sums; whiteouts and opaque markers are few, so subtract theirs
    marker = np.flatnonzero(kind >= WHITEOUT)
    marker_layer = layout.layer_of(marker)

    def visible_sum(values: I64) -> I64:
        return _layer_sums(arrays, values) - segment_sum(values[marker], marker_layer, n_l)

    layer_vis_tar = visible_sum(arrays.entry_tar_bytes)
    layer_vis_comp = visible_sum(arrays.entry_compressed_bytes)
    layer_file = _layer_sums(arrays, arrays.entry_file_bytes)
    layer_disk = block * (
        _layer_sums(arrays, arrays.entry_file_bytes, lambda b: _blocks(b, block))
        + _layer_sums(arrays, kind, lambda k: k == DIR)
    )

    img_rows = csr_rows(arrays.image_offsets)
    il = arrays.image_layers

    def per_image(layer_values: I64) -> I64:
        return segment_sum(layer_values[il], img_rows, n_img)

    occ_start = csr_offsets(np.diff(arrays.layer_offsets)[trie.layer])

    def occurrence(chain: I64, entry: I64) -> I64:
        return occ_start[chain] + entry - arrays.layer_offsets[trie.layer[chain]]

    # occurrences with another occurrence of their path lower on the branch (no filter first:
    # in generated fleets nearly every path is named at two depths somewhere, directories
    # and shared packages above all, so a filter costs more than it saves)
    twins = _twinned(layout)
    t_chain, t_entry = twins.chain, twins.entry

    # ---- exact kills: each occurrence kills the nearest lower occurrence of its path
    # (the nearest lower occurrence shares the path: only entries at twinned paths matter)
    not_opaque = kind[twins.entries] != OPAQUE
    exact, ex_keys = twins.entries[not_opaque], twins.keys[not_opaque]
    k_sel = kind[t_entry] != OPAQUE
    k_chain, k_entry = t_chain[k_sel], t_entry[k_sel]
    a_chain, a_hit = _walk_up(trie, k_chain, path[k_entry], ex_keys, layout.n_paths)
    found = a_chain >= 0
    k_chain, a_chain = k_chain[found], a_chain[found]
    a_entry = exact[a_hit[found]]
    live = kind[a_entry] != WHITEOUT
    pair_victim_chain = [a_chain[live]]
    pair_victim_entry = [a_entry[live]]
    pair_killer = [k_chain[live]]
    pair_key = [np.full(int(live.sum()), -1, dtype=np.int64)]  # exact: no below key

    # ---- below kills: a non-directory, whiteout or opaque marker at q kills lower entries
    # strictly below q; only entries under such a q can be victims
    has_below = path_end > np.arange(1, arrays.n_paths + 1)
    b_entries = np.flatnonzero(has_below[path] & (kind != DIR))
    if b_entries.size:
        q = path[b_entries]
        cover = np.zeros(arrays.n_paths + 1, dtype=np.int64)
        np.add.at(cover, q + 1, 1)
        np.add.at(cover, path_end[q], -1)
        under = np.cumsum(cover[:-1]) > 0
        vis_entries = np.flatnonzero(under[path] & (kind < WHITEOUT))
        vis_keys = layout.key(layout.layer_of(vis_entries), path[vis_entries])
        bq_chain, bq_entry = layout.occurrences(b_entries)
        cursor = trie.parent[bq_chain]
        query = np.arange(bq_entry.size, dtype=np.int64)
        while query.size:
            keep = cursor >= 0
            query, cursor = query[keep], cursor[keep]
            if not query.size:
                break
            key_entry = bq_entry[query]
            lo = np.searchsorted(vis_keys, layout.key(trie.layer[cursor], path[key_entry] + 1))
            hi = np.searchsorted(
                vis_keys, layout.key(trie.layer[cursor], path_end[path[key_entry]])
            )
            n_hit = hi - lo
            if n_hit.sum():
                pair_victim_chain.append(np.repeat(cursor, n_hit))
                pair_victim_entry.append(vis_entries[ranges(lo, n_hit)])
                pair_killer.append(np.repeat(bq_chain[query], n_hit))
                pair_key.append(np.repeat(key_entry, n_hit))
            cursor = trie.parent[cursor]

    v_chain = np.concatenate(pair_victim_chain)
    v_entry = np.concatenate(pair_victim_entry)
    killer = np.concatenate(pair_killer)
    key_entry = np.concatenate(pair_key)
    victim = occurrence(v_chain, v_entry) if v_chain.size else np.zeros(0, np.int64)

    # ---- minimal killers per victim: no other killer of it above them on the branch
    minimal = _minimal_killers(trie, victim, killer)
    unique_pair = minimal & first_occurrence(combine(victim, killer, trie.size + 1))

    # ---- hidden bytes charged to the killer node, accumulated down the trie
    def charged(victim_values: I64) -> I64:
        return trie.accumulate(segment_sum(victim_values * unique_pair, killer, trie.size))

    v_kind, v_file = kind[v_entry], arrays.entry_file_bytes[v_entry]
    hidden_tar = charged(arrays.entry_tar_bytes[v_entry])
    hidden_comp = charged(arrays.entry_compressed_bytes[v_entry])
    hidden_disk = charged(np.where(v_kind == DIR, block, _blocks(v_file, block) * block))
    hidden_file = charged(v_file)

    top = trie.image_chain[arrays.image_offsets[1:] - 1]
    flattened_tar = per_image(layer_vis_tar) - hidden_tar[top] + TAR_END_BYTES
    flattened_comp = per_image(layer_vis_comp) - hidden_comp[top] + arrays.blob_overhead_bytes
    flattened_disk = per_image(layer_disk) - hidden_disk[top]

    # dive sizes whiteouts on its own stacking, where opaque markers hide nothing
    by_opaque = (key_entry >= 0) & (kind[np.maximum(key_entry, 0)] == OPAQUE)
    dive_minimal = np.zeros(victim.size, dtype=np.bool_)
    dive_minimal[~by_opaque] = _minimal_killers(trie, victim[~by_opaque], killer[~by_opaque])
    dive_min, dive_cum, dive_wasted = _dive(
        layout, twins, layer_file, dive_minimal, v_entry, killer, key_entry
    )
    first_layer = np.zeros(il.size, dtype=np.bool_)
    first_layer[arrays.image_offsets[:-1]] = True
    user = segment_sum(layer_file[il] * ~first_layer, img_rows, n_img)

    return ImageTable(
        layered_tar_bytes=per_image(arrays.layer_tar_bytes),
        layered_compressed_bytes=per_image(arrays.layer_compressed_bytes),
        layered_disk_bytes=per_image(layer_disk),
        flattened_tar_bytes=flattened_tar,
        flattened_compressed_bytes=flattened_comp,
        flattened_disk_bytes=flattened_disk,
        shadowed_file_bytes=hidden_file[top],
        dive_min_bytes=dive_min[top],
        dive_cumulative_bytes=dive_cum[top],
        dive_wasted_bytes=dive_wasted[top],
        dive_user_bytes=user,
        flattened_key=top,
        image_chain=trie.image_chain,
        layer_disk_bytes=layer_disk,
    )


_TWIN_CHUNK = 1 << 23


@dataclass(frozen=True, eq=False)
class _Twins:
    """Occurrences with another occurrence of their path on a strict ancestor chain node, and
    every entry at those paths (the only entries the kills and dive read from there on)."""

    chain: I64  # per twinned occurrence: its chain node
    entry: I64  # ... its entry
    entries: I64  # every entry at a twinned path, ascending
    keys: I64  # their (layer, path) keys, ascending


def _twinned(layout: _Layout) -> _Twins:
    """The twinned occurrences (`_Twins`). Past `_TWIN_CHUNK` entries it runs over ranges of
    path ids (balanced by entries) so that memory stays bounded: paths are independent."""
    trie = layout.trie
    path = layout.arrays.entry_path
    if trie.size == 0:
        none = np.zeros(0, dtype=np.int64)
        return _Twins(none, none, none, none)
    tin_bits = max(1, int(trie.size).bit_length())
    path_bits = max(1, int(layout.n_paths).bit_length())
    parts: Iterable[I64 | None] = [None]  # None: every entry
    if path.size > _TWIN_CHUNK:
        pieces = -(-path.size // _TWIN_CHUNK)
        weight = np.cumsum(np.bincount(path, minlength=layout.n_paths))
        cuts = np.searchsorted(weight, np.arange(1, pieces) * (path.size / pieces))
        del weight
        piece_of_path = np.repeat(
            np.arange(pieces, dtype=np.uint16),
            np.diff(np.concatenate(([0], cuts, [layout.n_paths]))),
        )
        piece = piece_of_path[path]  # two bytes per entry, not eight
        del piece_of_path
        parts = (np.flatnonzero(piece == k) for k in range(pieces))
    chain_at = np.empty(trie.size, dtype=np.int64)
    chain_at[trie.tin] = np.arange(trie.size, dtype=np.int64)
    tout_at = trie.tout[chain_at]  # by tin
    low_bits = (1 << tin_bits) - 1
    chains: list[I64] = []
    paths: list[I64] = []
    for part in parts:
        if tin_bits + path_bits > 62:  # pragma: no cover - beyond any population in memory
            entries = np.arange(path.size) if part is None else part
            occ_chain, occ_entry = layout.occurrences(entries)
            twin = _has_lower_twin(trie, occ_chain, path[occ_entry])
            chains.append(occ_chain[twin])
            paths.append(path[occ_entry[twin]])
            continue
        # one packed value per occurrence, (path, tin): a plain sort groups paths and orders
        # each group by preorder, where an ancestor comes first and its interval covers us
        packed = _occurrence_keys(layout, part, tin_bits)
        packed.sort()
        tin = packed & low_bits
        # covered by an earlier occurrence of the same path: the running maximum of
        # (path, tout) before each row exceeds its (path, tin) only within its own path
        reach = packed & ~low_bits
        reach |= tout_at[tin]
        np.maximum.accumulate(reach, out=reach)
        twin = np.zeros(packed.size, dtype=np.bool_)
        np.greater(reach[:-1], packed[1:], out=twin[1:])
        del reach
        chains.append(chain_at[tin[twin]])
        paths.append(packed[twin] >> tin_bits)
        del packed, tin
    t_chain = np.concatenate(chains)
    t_path = np.concatenate(paths)
    # the entry of each twinned occurrence: its top layer's entry at that path (only entries
    # at twinned paths can matter from here on)
    twin_path = np.zeros(layout.n_paths, dtype=np.bool_)
    twin_path[t_path] = True
    at_twin = np.flatnonzero(twin_path[path])
    keys = layout.key(layout.layer_of(at_twin), path[at_twin])  # ascending
    hit = lookup(keys, layout.key(trie.layer[t_chain], t_path))
    return _Twins(t_chain, at_twin[hit], at_twin, keys)


def _occurrence_keys(layout: _Layout, part: I64 | None, tin_bits: int) -> I64:
    """`path << tin_bits | tin` of every occurrence of the entries `part` (None: all entries),
    unsorted. Most layers top exactly one chain node: their entries are their occurrences,
    one row each, built without a per-entry gather where `part` is all entries; the layers
    that top several (one layer on several parents) or none add or drop rows."""
    a, trie = layout.arrays, layout.trie
    count = np.diff(layout.chain_offsets)  # chain nodes each layer tops
    # per layer: tin of the first chain node it tops (any value where it tops none)
    first_tin = trie.tin[layout.chains[np.minimum(layout.chain_offsets[:-1], trie.size - 1)]]
    if part is None:
        path = a.entry_path
        layer_size = np.diff(a.layer_offsets)
        first = np.repeat(first_tin, layer_size)
        odd_layers = np.flatnonzero(count != 1)
        odd = ranges(a.layer_offsets[odd_layers], layer_size[odd_layers])
    else:
        path = a.entry_path[part]
        layer = layout.entry_layer[part]
        first = first_tin[layer]
        odd = np.flatnonzero(count[layer] != 1)
    n = path.size
    extra = count[layout.entry_layer[odd if part is None else part[odd]]] - 1
    grow = extra > 0
    n_extra = int(extra[grow].sum())
    packed = np.empty(n + n_extra, dtype=np.int64)
    np.left_shift(path, tin_bits, out=packed[:n])
    packed[:n] |= first
    if n_extra:
        src = odd[grow]
        src_layer = layout.entry_layer[src if part is None else part[src]]
        others = layout.chains[ranges(layout.chain_offsets[src_layer] + 1, extra[grow])]
        np.left_shift(np.repeat(path[src], extra[grow]), tin_bits, out=packed[n:])
        packed[n:] |= trie.tin[others]
    if bool(np.any(extra < 0)):
        packed = np.delete(packed, odd[extra < 0])  # entries of layers in no image
    return packed


def _covered_by_earlier(group: I64, tin: I64, tout: I64) -> np.ndarray:
    """Rows sorted by (group, tin): is the row inside the interval of an earlier row of its
    group?"""
    return running_max_before(run_starts(group), tout) > tin


def _chains_by_layer(trie: ChainTrie, n_layers: int) -> tuple[I64, I64]:
    """CSR: the chain nodes whose top is each layer."""
    order = stable_order(trie.layer)
    return csr_offsets(np.bincount(trie.layer, minlength=n_layers)), order


def _minimal_killers(trie: ChainTrie, victim: I64, killer: I64) -> np.ndarray:
    """Mask over (victim, killer) rows: no other killer of the victim is a strict ancestor."""
    n = victim.size
    if n == 0:
        return np.zeros(0, dtype=np.bool_)
    order = np.lexsort((trie.tin[killer], victim))
    v = victim[order]
    k = killer[order]
    tin = trie.tin[k]
    tout = trie.tout[k]
    group_start = run_starts(v)
    same_killer = np.zeros(n, dtype=np.bool_)
    same_killer[1:] = ~group_start[1:] & (k[1:] == k[:-1])
    # the widest interval among earlier *distinct* killers of the same victim
    covered = running_max_before(group_start, np.where(same_killer, 0, tout)) > tin
    # a duplicate row of the same killer shares the first row's verdict
    verdict = np.maximum.accumulate(np.where(~same_killer, np.arange(n), 0))
    out = np.empty(n, dtype=np.bool_)
    out[order] = ~covered[verdict]
    return out


def _dive(
    layout: _Layout,
    twins: _Twins,
    layer_file: I64,
    dive_minimal: np.ndarray,
    v_entry: I64,
    killer: I64,
    key_entry: I64,
) -> tuple[I64, I64, I64]:
    """dive's min, cumulative and wasted sums per chain node (accumulated down the trie).

    Every leaf but a whiteout counts its file bytes, so a layer's leaves sum to its file bytes;
    a whiteout counts what it deletes below its path (0 over a non-directory). Paths named by
    two or more leaves on a branch form linked lists, resolved level by level.
    `dive_minimal` marks the kills that dive's own stacking sees (opaque markers hide nothing)."""
    a, trie = layout.arrays, layout.trie
    minimal = dive_minimal
    kind, path = a.entry_kind, a.entry_path
    n_c = trie.size
    n_e1 = a.n_entries + 1

    # whiteout sizes, keyed by (chain node, whiteout entry)
    safe_key = np.maximum(key_entry, 0)
    wo = minimal & (key_entry >= 0) & (kind[safe_key] == WHITEOUT)  # a whiteout is a leaf
    wo_ids, wo_uniq = group_ids(combine(killer[wo], key_entry[wo], n_e1))
    wo_sums = segment_sum(a.entry_file_bytes[v_entry[wo]], wo_ids, wo_uniq.size)
    # dive counts 0 for a whiteout whose path the lower view shows as a non-directory, even
    # if (in a stack no real tar makes) entries below it are visible too
    over_nondir = minimal & (key_entry < 0) & (kind[v_entry] != DIR)
    _, nondir_keys = group_ids(
        combine(killer[over_nondir], path[v_entry[over_nondir]], layout.n_paths)
    )

    def whiteout_size(chain: I64, entry: I64) -> I64:
        out = np.zeros(chain.size, dtype=np.int64)
        if chain.size == 0 or wo_uniq.size == 0:
            return out
        hit = lookup(wo_uniq, combine(chain, entry, n_e1))
        ok = hit >= 0
        out[ok] = wo_sums[hit[ok]]
        out[lookup(nondir_keys, combine(chain, path[entry], layout.n_paths)) >= 0] = 0
        return out

    delta_cum = layer_file[trie.layer].copy()
    w_chain, w_entry = layout.occurrences(np.flatnonzero(kind == WHITEOUT))
    delta_cum += segment_sum(whiteout_size(w_chain, w_entry), w_chain, n_c)
    delta_min = delta_cum.copy()
    delta_wasted = np.zeros(n_c, dtype=np.int64)

    # leaf occurrences with a lower occurrence of their path: follow them down their branch
    is_leaf = _is_leaf(layout, twins.entry)
    frontier_chain, frontier_entry = twins.chain[is_leaf], twins.entry[is_leaf]
    if frontier_chain.size:
        # the leaves at the frontier's paths, lower occurrences included
        frontier_path = np.zeros(layout.n_paths, dtype=np.bool_)
        frontier_path[path[frontier_entry]] = True
        at = np.flatnonzero(frontier_path[path[twins.entries]])
        at = at[_is_leaf(layout, twins.entries[at])]
        leaf_entries, leaf_keys = twins.entries[at], twins.keys[at]
        level_chain: list[I64] = [frontier_chain]
        level_entry: list[I64] = [frontier_entry]
        links: list[tuple[I64, I64, I64]] = []  # (row of level i, lower chain, lower entry)
        while frontier_chain.size:
            low_chain, hit = _walk_up(
                trie, frontier_chain, path[frontier_entry], leaf_keys, layout.n_paths
            )
            ok = low_chain >= 0
            low_entry = leaf_entries[hit[ok]]
            links.append((np.flatnonzero(ok), low_chain[ok], low_entry))
            frontier_chain, frontier_entry = low_chain[ok], low_entry
            level_chain.append(frontier_chain)
            level_entry.append(frontier_entry)
        all_keys = combine(np.concatenate(level_chain), np.concatenate(level_entry), n_e1)
        _, uniq = group_ids(all_keys)
        u_chain, u_entry = uniq // n_e1, uniq % n_e1
        n_u = uniq.size
        prev = np.full(n_u, -1, dtype=np.int64)
        for i, (rows, low_chain, low_entry) in enumerate(links):
            src = lookup(uniq, combine(level_chain[i][rows], level_entry[i][rows], n_e1))
            prev[src] = lookup(uniq, combine(low_chain, low_entry, n_e1))
        u_size = np.where(
            kind[u_entry] == WHITEOUT, whiteout_size(u_chain, u_entry), a.entry_file_bytes[u_entry]
        ).astype(np.int64)
        count = np.ones(n_u, dtype=np.int64)
        low = u_size.copy()
        first = u_size.copy()
        depth = trie.depth[u_chain]
        for d in range(int(depth.max()) + 1):
            r = np.flatnonzero((depth == d) & (prev >= 0))
            p = prev[r]
            count[r] = count[p] + 1
            low[r] = np.minimum(low[p], u_size[r])
            first[r] = first[p]
        r = np.flatnonzero(prev >= 0)
        p = prev[r]
        # corrections to the defaults (a lone leaf adds its size to min and nothing to waste)
        delta_min += segment_sum((low[r] - low[p]) - u_size[r], u_chain[r], n_c)
        waste = np.where(count[r] == 2, first[r] + u_size[r], u_size[r])
        delta_wasted += segment_sum(waste, u_chain[r], n_c)
    return trie.accumulate(delta_min), trie.accumulate(delta_cum), trie.accumulate(delta_wasted)


# --------------------------------------------------------------------------- timelines
#
# A store changes over epochs: images arrive (push, pull) and leave (garbage collection). Each
# arrival is a row with the epoch it arrives (`start`) and the last epoch at which it is still
# there when the next arrivals come (`until`: an image removed by the garbage collection at the
# end of epoch g is still present for arrivals during epoch g). An object (a blob, a ChainID,
# an export) is present for a row iff an earlier row of the same store holds it with
# `until >= start`. A single sequence into an empty store is the case start = until = 0.


def _covered(group: I64, start: I64, until: I64) -> np.ndarray:
    """Per row (rows in arrival order): does an earlier row of the same group have
    `until >= start` of this row? One sort by group; a running max within groups."""
    if group.size == 0:
        return np.zeros(0, dtype=np.bool_)
    order = stable_order(group)
    low = min(int(until.min()), int(start.min()))  # shift epochs to be >= 0
    before = running_max_before(run_starts(group[order]), until[order] - low)
    out = np.empty(group.size, dtype=np.bool_)
    out[order] = before >= start[order] - low
    return out


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
    n_blob = int(arrays.layer_blob.max()) + 1 if arrays.layer_blob.size else 1
    s, u = start[row_push], until[row_push]
    present = _covered(blob, s, u)
    in_repo = _covered(combine(repo, blob, n_blob), s, u)
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
    row_node = pull_node[row_pull]
    s, u = start[row_pull], until[row_pull]
    chain = images.image_chain[rows]
    layer = arrays.image_layers[rows]
    n_chain = int(images.image_chain.max()) + 1 if images.image_chain.size else 1
    new_chain = ~_covered(combine(row_node, chain, n_chain), s, u)
    download = new_chain
    if keep:
        n_blob = int(arrays.layer_blob.max()) + 1 if arrays.layer_blob.size else 1
        download = new_chain & ~_covered(combine(row_node, arrays.layer_blob[layer], n_blob), s, u)
    outcome = np.where(download, 0, np.where(new_chain, 2, 1)).astype(np.int64)
    export_present = _covered(
        combine(pull_node, images.flattened_key[node_images], n_chain), start, until
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

    def held(key: I64, unit: I64, h: I64 = holder, s: I64 = start, e: I64 = end) -> I64:
        return _held_bytes(h, key, s, e, unit, n_holders, n_epochs)

    if registry:
        logical = held(image_ids, images.layered_compressed_bytes[image_ids])
        flattened = held(
            images.flattened_key[image_ids], images.flattened_compressed_bytes[image_ids]
        )
    else:
        logical = held(
            image_ids,
            images.layered_disk_bytes[image_ids]
            + (images.layered_compressed_bytes[image_ids] if keep else 0),
        )
        flattened = held(
            images.flattened_key[image_ids],
            images.flattened_disk_bytes[image_ids]
            + (images.flattened_compressed_bytes[image_ids] if keep else 0),
        )
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
    if n_epochs <= _EPOCH_BITS:
        return StoredTimeline(
            logical=logical,
            flattened=flattened,
            layer=layer_bytes,
            file=_file_bytes_by_holder(
                arrays, lh, ll, ls, le, n_holders, n_epochs, registry=registry
            ),
        )
    counts = np.diff(arrays.layer_offsets)[ll]
    entry = ranges(arrays.layer_offsets[ll], counts)
    content = arrays.entry_content[entry]
    is_file = content >= 0
    eh = np.repeat(lh, counts)[is_file]
    es = np.repeat(ls, counts)[is_file]
    ee = np.repeat(le, counts)[is_file]
    content = content[is_file]
    if registry:
        unit = arrays.content_compressed_bytes[content]
    else:
        unit = _blocks(arrays.content_file_bytes[content], block) * block
    file_bytes = held(content, unit, eh, es, ee)
    return StoredTimeline(logical=logical, flattened=flattened, layer=layer_bytes, file=file_bytes)


_EPOCH_BITS = 64
# a holder naming at least this share of all contents is counted by scanning the scratch
# array (O(contents)); one naming fewer, by claims (O(named))
_DENSE_SHARE = 0.25
_ENTRY_CHUNK = 1 << 22


def _epoch_masks(start: I64, end: I64) -> npt.NDArray[np.uint64]:
    """Bit t set for every epoch t in start..end-1 (end <= 64)."""
    one = np.uint64(1)
    full = np.where(end >= _EPOCH_BITS, ~np.uint64(0), (one << end.astype(np.uint64)) - one)
    return (full & ~((one << start.astype(np.uint64)) - one)).astype(np.uint64)


def _file_contents_by_layer(arrays: PopulationArrays) -> tuple[I64, npt.NDArray[Any]]:
    """CSR: the contents of each layer's regular files (entries of other kinds dropped once,
    not once per holder), as int32 where content ids fit: the per-holder passes are scattered
    reads and writes, and half the bytes is about half the time. Kept in `arrays.cache`."""
    cached = arrays.cache.get("file_contents_by_layer")
    if isinstance(cached, tuple):
        return cached
    content = arrays.entry_content
    offsets = csr_offsets(_layer_sums(arrays, content, lambda c: c >= 0))
    dtype = np.int32 if arrays.content_file_bytes.size < 2**31 else np.int64
    result = offsets, content[content >= 0].astype(dtype)
    arrays.cache["file_contents_by_layer"] = result
    return result


def _file_bytes_by_holder(
    arrays: PopulationArrays,
    holder: I64,
    layer: I64,
    start: I64,
    end: I64,
    n_holders: int,
    n_epochs: int,
    *,
    registry: bool,
) -> npt.NDArray[np.int64]:
    """File-strategy bytes per holder over (at most 64) epochs without sorting entries: one
    holder at a time, each held layer's epochs as a bit mask OR-ed into its contents in a
    scratch array indexed by content id, then each distinct content counted once per epoch it
    is held. Same figure as `_held_bytes` on (holder, content) rows, in memory O(contents)
    instead of O(rows).

    Rows of one mask are OR-ed in with one plain fancy assignment (`scratch[c] |= m` is the
    same whichever duplicate of `c` is written last), never a `ufunc.at`; a holder whose rows
    all share one mask (every single-epoch figure) needs no scratch at all."""
    if registry:
        unit = arrays.content_compressed_bytes
    else:
        block = arrays.options.block_bytes
        unit = _blocks(arrays.content_file_bytes, block) * block
    n_content = arrays.content_file_bytes.size
    out = np.zeros((n_holders, n_epochs), dtype=np.int64)
    if holder.size == 0 or n_content == 0:
        return out
    file_offsets, file_content = _file_contents_by_layer(arrays)
    file_counts = np.diff(file_offsets)
    # every content a holder's rows name gets a position, unique over all holders, so that a
    # claim left by an earlier holder can never pass for the current one's (no reset pass)
    n_named = int(file_counts[layer].sum())
    claim = np.full(n_content, -1, dtype=np.int32 if n_named < 2**31 else np.int64)
    named_before = 0
    scratch = np.zeros(n_content, dtype=np.uint64)
    marked = np.zeros(n_content, dtype=np.bool_)
    masks = _epoch_masks(start, end)
    order = stable_order(holder)
    bounds = np.searchsorted(holder[order], np.arange(n_holders + 1))
    epochs = np.arange(n_epochs, dtype=np.uint64)
    for h in range(n_holders):
        rows = order[bounds[h] : bounds[h + 1]]
        if rows.size == 0:
            continue
        row_mask = masks[rows]
        single = not bool(np.any(row_mask != row_mask[0]))
        # this holder's rows by mask (its masks are few: unions of a few intervals), then by
        # layer, so that a run of consecutive layers is one slice of the file contents
        rows = rows[np.lexsort((layer[rows], row_mask))]
        row_mask = masks[rows]
        held = layer[rows]
        named = file_counts[held]
        if single and held[-1] - held[0] + 1 == held.size:  # a registry holding every layer
            seen = file_content[file_offsets[held[0]] : file_offsets[held[-1] + 1]]
        else:
            seen = file_content[ranges(file_offsets[held], named)]
        if seen.size == 0:
            continue
        cuts = np.flatnonzero(row_mask[1:] != row_mask[:-1]) + 1
        if not single:
            # one plain OR per mask over that mask's slice of the named contents
            first_row = np.concatenate(([0], cuts))
            at = np.concatenate(([0], np.cumsum(named)[cuts - 1], [seen.size])).tolist()
            for k, row in enumerate(first_row.tolist()):
                scratch[seen[at[k] : at[k + 1]]] |= row_mask[row]
        if seen.size >= _DENSE_SHARE * n_content:
            # dense (a registry, a big node): the marked contents are the distinct ones, found
            # by one scan of the scratch array rather than by claims
            if single:
                marked[seen] = True  # a byte per content: a scatter that stays in cache
                distinct = np.flatnonzero(marked)
                marked.fill(False)
            else:
                distinct = np.flatnonzero(scratch)
                bits = scratch[distinct]
                scratch.fill(0)
        else:
            # one representative per distinct content: whichever duplicate's position was
            # written last, exactly one of its rows finds its own position there
            index = np.arange(named_before, named_before + seen.size, dtype=claim.dtype)
            named_before += seen.size
            claim[seen] = index
            distinct = seen[claim[seen] == index]
            if not single:
                bits = scratch[distinct]
                scratch[seen] = 0
        if single:
            mask_bits = ((row_mask[0] >> epochs) & np.uint64(1)).astype(np.int64)
            out[h] = int(unit[distinct].sum()) * mask_bits
            continue
        # contents share few distinct masks: sum per mask, then spread over its epochs
        ordered = np.sort(bits)
        masks_u = ordered[run_starts(ordered)]
        per_mask = segment_sum(unit[distinct], np.searchsorted(masks_u, bits), masks_u.size)
        held_bits = ((masks_u[:, None] >> epochs[None, :]) & np.uint64(1)).astype(np.int64)
        out[h] = per_mask @ held_bits
    return out


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
    """For each (image, path) query, the entry the image's merged view shows there, or -1.

    Walks each image's layers from the top, all queries at once: the first layer with an entry
    at the path decides (a whiteout: absent), unless a layer above it kills the path first (an
    opaque marker or a non-directory at one of its ancestors)."""
    image_ids = np.asarray(image_ids, dtype=np.int64)
    path_ids = np.asarray(path_ids, dtype=np.int64)
    n_q = image_ids.size
    out = np.full(n_q, -1, dtype=np.int64)
    if n_q == 0:
        return out
    arrays, _ = canonical(arrays)
    n_paths = max(arrays.n_paths, 1)
    parent = arrays.path_parent
    # the ancestors of every queried path (-1 padded), and only the entries that can matter
    ancestors = [parent[path_ids]]
    while np.any(ancestors[-1] >= 0):
        last = ancestors[-1]
        ancestors.append(np.where(last >= 0, parent[np.maximum(last, 0)], -1))
    anc = np.stack(ancestors[:-1], axis=1) if len(ancestors) > 1 else np.full((n_q, 0), -1)
    relevant = np.zeros(n_paths, dtype=np.bool_)
    relevant[path_ids] = True
    relevant[anc[anc >= 0]] = True
    sub = np.flatnonzero(relevant[arrays.entry_path])
    sub_layer = np.searchsorted(arrays.layer_offsets, sub, side="right") - 1
    opaque = arrays.entry_kind[sub] == OPAQUE
    keys = combine(sub_layer, arrays.entry_path[sub], n_paths)
    table, table_entry = keys[~opaque], sub[~opaque]  # ascending: canonical order
    opaque_table = keys[opaque]

    position = arrays.image_offsets[image_ids + 1] - 1
    active = np.arange(n_q, dtype=np.int64)
    while active.size:
        layer = arrays.image_layers[position[active]]
        hit = lookup(table, combine(layer, path_ids[active], n_paths))
        found = hit >= 0
        entry = table_entry[np.maximum(hit, 0)]
        decided = found.copy()
        out[active[found]] = np.where(arrays.entry_kind[entry[found]] == WHITEOUT, -1, entry[found])
        # a kill at an ancestor in this layer hides the path (only where not decided above)
        a = anc[active]
        has = a >= 0
        rows, cols = np.nonzero(has & ~found[:, None])
        if rows.size:
            k = combine(layer[rows], a[rows, cols], n_paths)
            h = lookup(table, k)
            nondir = (h >= 0) & (arrays.entry_kind[table_entry[np.maximum(h, 0)]] != DIR)
            killed = nondir | (lookup(opaque_table, k) >= 0)
            decided[np.unique(rows[killed])] = True
        position[active] -= 1
        floor = arrays.image_offsets[image_ids[active]]
        keep = ~decided & (position[active] >= floor)
        active = active[keep]
    return out


def container_bytes(arrays: PopulationArrays) -> I64:
    """Writable-layer disk bytes of every container (see `metrics.ContainerUsage`)."""
    block = arrays.options.block_bytes
    n = len(arrays.container_names)
    written = segment_sum(
        _blocks(arrays.write_file_bytes, block) * block, csr_rows(arrays.write_offsets), n
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
    whole = _blocks(arrays.entry_file_bytes[lower], block) * block
    if arrays.options.driver is StorageDriver.OVERLAY2:
        copied = whole
    else:
        changed = np.where(arrays.modify_changed_bytes < 0, block, arrays.modify_changed_bytes)
        copied = np.minimum(_blocks(changed, block) * block, whole)
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
