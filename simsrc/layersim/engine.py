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

from dataclasses import dataclass

import numpy as np

from layersim.arrays import I64, PopulationArrays, csr_offsets, csr_rows, from_population
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


# --------------------------------------------------------------------------- per-entry sizes


def entry_disk_bytes(arrays: PopulationArrays) -> I64:
    """Disk bytes of every entry (`Entry.disk_bytes`): files block-rounded, a block per dir."""
    block = arrays.options.block_bytes
    kind = arrays.entry_kind
    files = -(-arrays.entry_file_bytes // block) * block
    return np.where(kind == FILE, files, np.where(kind == DIR, block, 0)).astype(np.int64)


def layer_disk_bytes(arrays: PopulationArrays, disk: I64 | None = None) -> I64:
    disk = entry_disk_bytes(arrays) if disk is None else disk
    return segment_sum(disk, csr_rows(arrays.layer_offsets), arrays.n_layers)


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


def _has_lower_twin(trie: ChainTrie, chain: I64, path: I64) -> I64:
    """Mask: does another occurrence of the same path sit on a strict ancestor chain node?
    Sorted by (path, tin), an ancestor comes earlier and its interval still covers us."""
    if chain.size == 0:
        return np.zeros(0, dtype=np.bool_)
    order = stable_order(combine(path, trie.tin[chain], trie.size + 1))
    p = path[order]
    tin = trie.tin[chain[order]]
    tout = trie.tout[chain[order]]
    group_start = np.empty(order.size, dtype=np.bool_)
    group_start[0] = True
    np.not_equal(p[1:], p[:-1], out=group_start[1:])
    # running max of tout over earlier members of the same path group
    big = np.int64(trie.size + 2)
    group = np.cumsum(group_start)
    shifted = np.maximum.accumulate(group * big + tout)
    prev = np.empty(order.size, dtype=np.int64)
    prev[0] = -1
    prev[1:] = shifted[:-1]
    prev_same = np.where(group_start, -1, prev - group * big)
    out = np.zeros(order.size, dtype=np.bool_)
    out[order] = prev_same > tin
    return out


# --------------------------------------------------------------------------- images


@dataclass(frozen=True, eq=False)
class _Paths:
    pre: I64  # preorder rank of every path id
    end: I64  # exclusive end of its subtree, in preorder ranks
    n: int


def _paths(arrays: PopulationArrays) -> _Paths:
    tin, tout, _ = forest_preorder(arrays.path_parent)
    return _Paths(pre=tin, end=tout, n=max(arrays.n_paths, 1))


def _leaf_mask(arrays: PopulationArrays, paths: _Paths) -> np.ndarray:
    """dive's leaves: entries with no other entry of their layer strictly below their path
    (opaque markers are not nodes: an opaque directory with no DIR entry is a size-0 leaf)."""
    layer = csr_rows(arrays.layer_offsets)
    pre = paths.pre[arrays.entry_path]
    order = stable_order(combine(combine(layer, pre, paths.n), arrays.entry_kind, 8))
    o_layer, o_pre = layer[order], pre[order]
    o_end = paths.end[arrays.entry_path[order]]
    o_kind = arrays.entry_kind[order]
    n = order.size
    leaf = np.ones(n, dtype=np.bool_)
    if n == 0:
        return leaf
    # the next entry of the same layer with another path: a child iff inside our subtree
    same_as_next = np.zeros(n, dtype=np.bool_)
    same_as_next[:-1] = (o_layer[1:] == o_layer[:-1]) & (o_pre[1:] == o_pre[:-1])
    # index of the next entry with a different (layer, path)
    idx = np.arange(n)
    nxt = np.where(same_as_next, -1, idx + 1)
    nxt = np.minimum.accumulate(np.where(nxt < 0, n + 1, nxt)[::-1])[::-1]
    has_next = nxt < n
    nxt_c = np.minimum(nxt, n - 1)
    child = has_next & (o_layer[nxt_c] == o_layer) & (o_pre[nxt_c] < o_end)
    leaf &= ~child
    # a DIR and its opaque marker at one path: the DIR is the leaf
    prev_same = np.zeros(n, dtype=np.bool_)
    prev_same[1:] = same_as_next[:-1]
    leaf &= ~((o_kind == OPAQUE) & prev_same)
    out = np.empty(n, dtype=np.bool_)
    out[order] = leaf
    return out


def image_table(arrays: PopulationArrays) -> ImageTable:
    """Per-image figures for every image (see `metrics.ImageMetrics` for definitions)."""
    arrays.validate()
    n_img = arrays.n_images
    kind = arrays.entry_kind
    entry_layer = csr_rows(arrays.layer_offsets)
    disk = entry_disk_bytes(arrays)
    visible_kind = (kind != WHITEOUT) & (kind != OPAQUE)
    n_l = arrays.n_layers

    def per_layer(values: I64) -> I64:
        return segment_sum(values, entry_layer, n_l)

    vis = visible_kind.astype(np.int64)
    layer_vis_tar = per_layer(arrays.entry_tar_bytes * vis)
    layer_vis_comp = per_layer(arrays.entry_compressed_bytes * vis)
    layer_vis_disk = per_layer(disk)
    layer_file = per_layer(arrays.entry_file_bytes)
    layer_disk = layer_vis_disk

    img_rows = csr_rows(arrays.image_offsets)
    il = arrays.image_layers

    def per_image(layer_values: I64) -> I64:
        return segment_sum(layer_values[il], img_rows, n_img)

    trie = build_chain_trie(arrays)
    paths = _paths(arrays)
    n_paths = paths.n
    entry_pre = paths.pre[arrays.entry_path]

    # occurrences: (chain node, entry of its top layer); occurrence id = occ_start[c] + i
    counts = np.diff(arrays.layer_offsets)[trie.layer]
    occ_start = csr_offsets(counts)

    def occurrence(chain: I64, entry: I64) -> I64:
        return occ_start[chain] + entry - arrays.layer_offsets[trie.layer[chain]]

    # per-path occurrence counts decide which entries can be contested at all
    mult = np.bincount(trie.layer, minlength=n_l).astype(np.int64)
    path_occ = segment_sum(mult[entry_layer], arrays.entry_path, arrays.n_paths)
    exact_key = kind != OPAQUE
    candidate = exact_key & (path_occ[arrays.entry_path] >= 2)

    # lookup table of exact keys: (layer, path) -> entry
    ex_entries = np.flatnonzero(exact_key)
    ex_keys = combine(entry_layer[ex_entries], entry_pre[ex_entries], n_paths)
    ex_order = stable_order(ex_keys)
    ex_keys, ex_entries = ex_keys[ex_order], ex_entries[ex_order]

    # ---- exact kills: each occurrence kills the nearest lower occurrence of its path
    cand_entries = np.flatnonzero(candidate)
    chain_of_layer_offsets, chain_of_layer = _chains_by_layer(trie, n_l)
    reps = np.diff(chain_of_layer_offsets)[entry_layer[cand_entries]]
    occ_entry = np.repeat(cand_entries, reps)
    occ_chain = chain_of_layer[ranges(chain_of_layer_offsets[entry_layer[cand_entries]], reps)]
    twin = _has_lower_twin(trie, occ_chain, entry_pre[occ_entry])
    k_chain, k_entry = occ_chain[twin], occ_entry[twin]
    a_chain, a_hit = _walk_up(trie, k_chain, entry_pre[k_entry], ex_keys, n_paths)
    found = a_chain >= 0
    k_chain, k_entry, a_chain = k_chain[found], k_entry[found], a_chain[found]
    a_entry = ex_entries[a_hit[found]]
    live = kind[a_entry] != WHITEOUT
    pair_victim_chain = [a_chain[live]]
    pair_victim_entry = [a_entry[live]]
    pair_killer = [k_chain[live]]
    pair_key = [np.full(int(live.sum()), -1, dtype=np.int64)]  # exact: no below key

    # ---- below kills: a key at q kills lower entries strictly below q
    below_kind = (kind != DIR) & (paths.end[arrays.entry_path] > entry_pre + 1)
    b_entries = np.flatnonzero(below_kind)
    reps = np.diff(chain_of_layer_offsets)[entry_layer[b_entries]]
    bq_entry = np.repeat(b_entries, reps)
    bq_chain = chain_of_layer[ranges(chain_of_layer_offsets[entry_layer[b_entries]], reps)]
    # walk every strict ancestor; gather its layer's entries in the key's preorder range
    vis_entries = np.flatnonzero(visible_kind)
    vis_keys = combine(entry_layer[vis_entries], entry_pre[vis_entries], n_paths)
    vis_order = stable_order(vis_keys)
    vis_keys, vis_entries = vis_keys[vis_order], vis_entries[vis_order]
    cursor = trie.parent[bq_chain]
    query = np.arange(bq_entry.size, dtype=np.int64)
    while query.size:
        keep = cursor >= 0
        query, cursor = query[keep], cursor[keep]
        if not query.size:
            break
        key_entry = bq_entry[query]
        lo_key = combine(trie.layer[cursor], entry_pre[key_entry] + 1, n_paths)
        hi_key = combine(trie.layer[cursor], paths.end[arrays.entry_path[key_entry]], n_paths)
        lo = np.searchsorted(vis_keys, lo_key)
        hi = np.searchsorted(vis_keys, hi_key)
        n_hit = hi - lo
        if n_hit.sum():
            victims = vis_entries[ranges(lo, n_hit)]
            pair_victim_chain.append(np.repeat(cursor, n_hit))
            pair_victim_entry.append(victims)
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

    # ---- hidden bytes charged to the killer node, accumulated down the trie
    def charged(values: I64) -> I64:
        unique_pair = minimal & first_occurrence(combine(victim, killer, trie.size + 1))
        delta = segment_sum(values[v_entry] * unique_pair, killer, trie.size)
        return trie.accumulate(delta)

    hidden_tar = charged(arrays.entry_tar_bytes)
    hidden_comp = charged(arrays.entry_compressed_bytes)
    hidden_disk = charged(disk)
    hidden_file = charged(arrays.entry_file_bytes)

    top = trie.image_chain[arrays.image_offsets[1:] - 1]
    flattened_tar = per_image(layer_vis_tar) - hidden_tar[top] + TAR_END_BYTES
    flattened_comp = per_image(layer_vis_comp) - hidden_comp[top] + arrays.blob_overhead_bytes
    flattened_disk = per_image(layer_vis_disk) - hidden_disk[top]

    # ---- dive
    dive_min, dive_cum, dive_wasted = _dive(
        arrays, trie, paths, entry_layer, entry_pre, minimal, v_entry, killer, key_entry
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
    )


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
    group_start = np.empty(n, dtype=np.bool_)
    group_start[0] = True
    np.not_equal(v[1:], v[:-1], out=group_start[1:])
    same_killer = np.zeros(n, dtype=np.bool_)
    same_killer[1:] = ~group_start[1:] & (k[1:] == k[:-1])
    # running max of tout over earlier *distinct* killers of the same victim
    group = np.cumsum(group_start).astype(np.int64)
    big = np.int64(trie.size + 2)
    contrib = np.where(same_killer, group * big, group * big + tout)
    running = np.maximum.accumulate(contrib)
    prev = np.empty(n, dtype=np.int64)
    prev[0] = 0
    prev[1:] = running[:-1]
    prev_tout = np.where(group_start, 0, prev - group * big)
    # a duplicate row of the same killer shares the first row's verdict
    covered = prev_tout > tin
    first_of_killer = ~same_killer
    verdict_idx = np.maximum.accumulate(np.where(first_of_killer, np.arange(n), 0))
    result = ~covered[verdict_idx]
    out = np.empty(n, dtype=np.bool_)
    out[order] = result
    return out


def _dive(
    arrays: PopulationArrays,
    trie: ChainTrie,
    paths: _Paths,
    entry_layer: I64,
    entry_pre: I64,
    minimal: np.ndarray,
    v_entry: I64,
    killer: I64,
    key_entry: I64,
) -> tuple[I64, I64, I64]:
    """dive's min, cumulative and wasted sums per chain node (accumulated down the trie)."""
    kind = arrays.entry_kind
    n_c = trie.size
    n_paths = paths.n
    leaf = _leaf_mask(arrays, paths)
    size = np.where(leaf & (kind != WHITEOUT), arrays.entry_file_bytes, 0).astype(np.int64)
    layer_leaf_bytes = segment_sum(size, entry_layer, arrays.n_layers)

    # whiteout leaves: the file bytes of what they delete below their path at that node
    below_row = minimal & (key_entry >= 0)
    wo = below_row & (kind[np.maximum(key_entry, 0)] == WHITEOUT) & leaf[np.maximum(key_entry, 0)]
    wo_keys = combine(killer[wo], key_entry[wo], arrays.n_entries + 1)
    wo_bytes = arrays.entry_file_bytes[v_entry[wo]]
    # dive counts 0 for a whiteout whose path the lower view shows as a non-directory, even
    # if (in a stack no real tar makes) entries below it are visible too
    over_nondir = minimal & (key_entry < 0) & (kind[v_entry] != DIR)
    nondir_keys = combine(killer[over_nondir], entry_pre[v_entry[over_nondir]], n_paths)
    _, nondir_keys = group_ids(nondir_keys)

    # leaf occurrences whose path another leaf names lower on the branch
    leaf_entries = np.flatnonzero(leaf)
    mult = np.bincount(trie.layer, minlength=arrays.n_layers).astype(np.int64)
    path_occ = segment_sum(
        mult[entry_layer[leaf_entries]], arrays.entry_path[leaf_entries], arrays.n_paths
    )
    cand = leaf_entries[path_occ[arrays.entry_path[leaf_entries]] >= 2]
    cl_offsets, cl = _chains_by_layer(trie, arrays.n_layers)
    reps = np.diff(cl_offsets)[entry_layer[cand]]
    occ_entry = np.repeat(cand, reps)
    occ_chain = cl[ranges(cl_offsets[entry_layer[cand]], reps)]
    twin = _has_lower_twin(trie, occ_chain, entry_pre[occ_entry])

    # every whiteout-leaf occurrence (for its size) and every twinned leaf occurrence
    wo_leaf = np.flatnonzero(leaf & (kind == WHITEOUT))
    reps_w = np.diff(cl_offsets)[entry_layer[wo_leaf]]
    w_entry = np.repeat(wo_leaf, reps_w)
    w_chain = cl[ranges(cl_offsets[entry_layer[wo_leaf]], reps_w)]

    # sizes of whiteout occurrences
    def whiteout_size(chain: I64, entry: I64) -> I64:
        out = np.zeros(chain.size, dtype=np.int64)
        if chain.size == 0 or wo_keys.size == 0:
            return out
        ids, uniq = group_ids(wo_keys)
        sums = segment_sum(wo_bytes, ids, uniq.size)
        hit = lookup(uniq, combine(chain, entry, arrays.n_entries + 1))
        ok = hit >= 0
        out[ok] = sums[hit[ok]]
        out[lookup(nondir_keys, combine(chain, entry_pre[entry], n_paths)) >= 0] = 0
        return out

    delta_cum = segment_sum(layer_leaf_bytes[trie.layer], np.arange(n_c), n_c)
    w_size = whiteout_size(w_chain, w_entry)
    delta_cum += segment_sum(w_size, w_chain, n_c)
    delta_min = delta_cum.copy()
    delta_wasted = np.zeros(n_c, dtype=np.int64)

    # linked lists of same-path leaves along branches
    t_chain, t_entry = occ_chain[twin], occ_entry[twin]
    if t_chain.size:
        leaf_keys = combine(entry_layer[leaf_entries], entry_pre[leaf_entries], n_paths)
        lorder = stable_order(leaf_keys)
        leaf_keys_sorted, leaf_sorted = leaf_keys[lorder], leaf_entries[lorder]
        # all occurrences involved: twinned ones and their ancestors, resolved level by level
        nodes_chain = [t_chain]
        nodes_entry = [t_entry]
        frontier_chain, frontier_entry = t_chain, t_entry
        prev_links: list[tuple[I64, I64]] = []
        while frontier_chain.size:
            a_chain, a_hit = _walk_up(
                trie, frontier_chain, entry_pre[frontier_entry], leaf_keys_sorted, n_paths
            )
            ok = a_chain >= 0
            a_entry = np.where(ok, leaf_sorted[np.maximum(a_hit, 0)], -1)
            prev_links.append((a_chain, a_entry))
            frontier_chain, frontier_entry = a_chain[ok], a_entry[ok]
            nodes_chain.append(frontier_chain)
            nodes_entry.append(frontier_entry)
        all_chain = np.concatenate(nodes_chain)
        all_entry = np.concatenate(nodes_entry)
        all_keys = combine(all_chain, all_entry, arrays.n_entries + 1)
        _, uniq = group_ids(all_keys)
        u_chain = uniq // (arrays.n_entries + 1)
        u_entry = uniq % (arrays.n_entries + 1)
        n_u = uniq.size
        # prev pointer per unique occurrence
        prev = np.full(n_u, -1, dtype=np.int64)
        level_chain = nodes_chain[0]
        level_entry = nodes_entry[0]
        for a_chain, a_entry in prev_links:
            src = lookup(uniq, combine(level_chain, level_entry, arrays.n_entries + 1))
            ok = a_chain >= 0
            dst = lookup(uniq, combine(a_chain[ok], a_entry[ok], arrays.n_entries + 1))
            prev[src[ok]] = dst
            level_chain, level_entry = a_chain[ok], a_entry[ok]
        u_size = np.where(
            kind[u_entry] == WHITEOUT,
            whiteout_size(u_chain, u_entry),
            arrays.entry_file_bytes[u_entry],
        ).astype(np.int64)
        # resolve count/min/first along prev pointers in order of depth
        count = np.ones(n_u, dtype=np.int64)
        low = u_size.copy()
        first = u_size.copy()
        by_depth = stable_order(trie.depth[u_chain])
        depth_sorted = trie.depth[u_chain][by_depth]
        for d in np.unique(depth_sorted).tolist() if depth_sorted.size else []:
            rows = by_depth[depth_sorted == d]
            has = prev[rows] >= 0
            r, p = rows[has], prev[rows[has]]
            count[r] = count[p] + 1
            low[r] = np.minimum(low[p], u_size[r])
            first[r] = first[p]
        has_prev = prev >= 0
        r = np.flatnonzero(has_prev)
        p = prev[r]
        # corrections to the defaults (a lone leaf adds its size to min and nothing to waste)
        min_fix = (low[r] - low[p]) - u_size[r]
        waste = np.where(count[r] == 2, first[r] + u_size[r], u_size[r])
        delta_min += segment_sum(min_fix, u_chain[r], n_c)
        delta_wasted += segment_sum(waste, u_chain[r], n_c)
    return trie.accumulate(delta_min), trie.accumulate(delta_cum), trie.accumulate(delta_wasted)


# --------------------------------------------------------------------------- registry


def push_sequence(arrays: PopulationArrays, push_order: I64, images: ImageTable) -> PushTable:
    """Push images in order to an empty registry (DESIGN.md §7): per layer blob, skip if the
    repository has it, mount if another repository has it, else upload."""
    push_order = np.asarray(push_order, dtype=np.int64)
    n_push = push_order.size
    counts = np.diff(arrays.image_offsets)[push_order]
    row_offsets = csr_offsets(counts)
    row_push = csr_rows(row_offsets)
    rows = ranges(arrays.image_offsets[push_order], counts)
    blob = arrays.layer_blob[arrays.image_layers[rows]]
    repo = arrays.image_repository[push_order][row_push]
    n_blob = int(arrays.layer_blob.max()) + 1 if arrays.layer_blob.size else 1
    new_blob = first_occurrence(blob)
    new_in_repo = first_occurrence(combine(repo, blob, n_blob))
    outcome = np.where(new_blob, 0, np.where(new_in_repo, 2, 1)).astype(np.int64)
    compressed = arrays.layer_compressed_bytes[arrays.image_layers[rows]]
    uploaded = segment_sum(compressed * new_blob, row_push, n_push)
    up_layers = segment_sum(new_blob.astype(np.int64), row_push, n_push)
    mounted = segment_sum((outcome == 2).astype(np.int64), row_push, n_push)
    new_export = first_occurrence(images.flattened_key[push_order])
    return PushTable(
        image=push_order,
        uploaded_bytes=uploaded,
        uploaded_layers=up_layers,
        skipped_layers=counts - up_layers,
        mounted_layers=mounted,
        flattened_uploaded_bytes=images.flattened_compressed_bytes[push_order] * new_export,
        row_offsets=row_offsets,
        layer_outcome=outcome,
    )


def _distinct(ids: I64) -> I64:
    return ids[first_occurrence(ids)]


def _distinct_layers_of(arrays: PopulationArrays, image_ids: I64) -> I64:
    counts = np.diff(arrays.image_offsets)[image_ids]
    rows = ranges(arrays.image_offsets[image_ids], counts)
    return _distinct(arrays.image_layers[rows])


def _distinct_contents(arrays: PopulationArrays, layer_ids: I64) -> I64:
    counts = np.diff(arrays.layer_offsets)[layer_ids]
    content = arrays.entry_content[ranges(arrays.layer_offsets[layer_ids], counts)]
    return _distinct(content[content >= 0])


def registry_stored(arrays: PopulationArrays, image_ids: I64, images: ImageTable) -> StoredBytes:
    """Compressed bytes a registry holding these images stores under each strategy."""
    image_ids = _distinct(np.asarray(image_ids, dtype=np.int64))
    layers = _distinct_layers_of(arrays, image_ids)
    blobs_first = first_occurrence(arrays.layer_blob[layers])
    exports = first_occurrence(images.flattened_key[image_ids])
    contents = _distinct_contents(arrays, layers)
    return StoredBytes(
        logical=int(images.layered_compressed_bytes[image_ids].sum()),
        flattened=int(images.flattened_compressed_bytes[image_ids][exports].sum()),
        layer=int(arrays.layer_compressed_bytes[layers][blobs_first].sum()),
        file=int(arrays.content_compressed_bytes[contents].sum()),
    )


# --------------------------------------------------------------------------- nodes


def pull_sequences(
    arrays: PopulationArrays, node_offsets: I64, node_images: I64, images: ImageTable
) -> PullTable:
    """Pull images in order onto empty nodes (DESIGN.md §7): per layer, skip if the node has
    its ChainID; else download its blob (unless kept from before) and extract it."""
    keep = arrays.options.keep_compressed_blobs
    pull_node = csr_rows(node_offsets)
    n_pull = node_images.size
    counts = np.diff(arrays.image_offsets)[node_images]
    row_offsets = csr_offsets(counts)
    row_pull = csr_rows(row_offsets)
    rows = ranges(arrays.image_offsets[node_images], counts)
    row_node = pull_node[row_pull]
    chain = images.image_chain[rows]
    layer = arrays.image_layers[rows]
    blob = arrays.layer_blob[layer]
    n_chain = int(images.image_chain.max()) + 1 if images.image_chain.size else 1
    n_blob = int(arrays.layer_blob.max()) + 1 if arrays.layer_blob.size else 1
    new_chain = first_occurrence(combine(row_node, chain, n_chain))
    if keep:
        new_blob = first_occurrence(combine(row_node, blob, n_blob))
        download = new_chain & new_blob
    else:
        download = new_chain
    outcome = np.where(download, 0, np.where(new_chain, 2, 1)).astype(np.int64)
    disk = layer_disk_bytes(arrays)
    new_export = first_occurrence(combine(pull_node, images.flattened_key[node_images], n_chain))
    down_layers = segment_sum(download.astype(np.int64), row_pull, n_pull)
    return PullTable(
        node=pull_node,
        image=node_images,
        downloaded_bytes=segment_sum(
            arrays.layer_compressed_bytes[layer] * download, row_pull, n_pull
        ),
        extracted_disk_bytes=segment_sum(disk[layer] * new_chain, row_pull, n_pull),
        downloaded_layers=down_layers,
        skipped_layers=counts - down_layers,
        flattened_downloaded_bytes=images.flattened_compressed_bytes[node_images] * new_export,
        row_offsets=row_offsets,
        layer_outcome=outcome,
    )


def node_stored(
    arrays: PopulationArrays, node_offsets: I64, node_images: I64, images: ImageTable
) -> StoredTable:
    """Disk bytes each node stores under each strategy (see `metrics` for the definitions)."""
    keep = arrays.options.keep_compressed_blobs
    block = arrays.options.block_bytes
    n_nodes = node_offsets.size - 1
    pull_node = csr_rows(node_offsets)
    n_img = max(arrays.n_images, 1)
    distinct_pull = first_occurrence(combine(pull_node, node_images, n_img))
    nodes, imgs = pull_node[distinct_pull], node_images[distinct_pull]
    logical = images.layered_disk_bytes[imgs] + (
        images.layered_compressed_bytes[imgs] if keep else 0
    )
    n_chain = int(images.image_chain.max()) + 1 if images.image_chain.size else 1
    exp_first = first_occurrence(combine(nodes, images.flattened_key[imgs], n_chain))
    flat = images.flattened_disk_bytes[imgs] + (
        images.flattened_compressed_bytes[imgs] if keep else 0
    )

    counts = np.diff(arrays.image_offsets)[imgs]
    rows = ranges(arrays.image_offsets[imgs], counts)
    row_node = np.repeat(nodes, counts)
    chain = images.image_chain[rows]
    layer = arrays.image_layers[rows]
    chain_first = first_occurrence(combine(row_node, chain, n_chain))
    disk = layer_disk_bytes(arrays)
    layer_bytes = segment_sum(disk[layer] * chain_first, row_node, n_nodes)
    if keep:
        n_blob = int(arrays.layer_blob.max()) + 1 if arrays.layer_blob.size else 1
        blob_first = first_occurrence(combine(row_node, arrays.layer_blob[layer], n_blob))
        layer_bytes += segment_sum(
            arrays.layer_compressed_bytes[layer] * blob_first, row_node, n_nodes
        )
    # distinct (node, layer) -> their file contents -> distinct (node, content)
    n_l = max(arrays.n_layers, 1)
    nl_first = first_occurrence(combine(row_node, layer, n_l))
    nl_node, nl_layer = row_node[nl_first], layer[nl_first]
    e_counts = np.diff(arrays.layer_offsets)[nl_layer]
    e_rows = ranges(arrays.layer_offsets[nl_layer], e_counts)
    e_node = np.repeat(nl_node, e_counts)
    content = arrays.entry_content[e_rows]
    has = content >= 0
    e_node, content = e_node[has], content[has]
    n_content = max(arrays.content_file_bytes.size, 1)
    c_first = first_occurrence(combine(e_node, content, n_content))
    c_bytes = -(-arrays.content_file_bytes[content] // block) * block
    return StoredTable(
        logical=segment_sum(logical, nodes, n_nodes),
        flattened=segment_sum(flat * exp_first, nodes, n_nodes),
        layer=layer_bytes,
        file=segment_sum(c_bytes * c_first, e_node, n_nodes),
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
    disk = layer_disk_bytes(arrays)[layer]
    size = segment_sum(disk, row_of, n_rows)
    shared = segment_sum(disk * (refs[ids] > 1), row_of, n_rows)
    return DiskUsageTable(node=nodes, image=imgs, size_bytes=size, shared_bytes=shared)


# --------------------------------------------------------------------------- containers


class _Overlay:
    """Point lookups in an image's merged view (for containers' copy-ups and deletes)."""

    def __init__(self, arrays: PopulationArrays) -> None:
        self.arrays = arrays
        entry_layer = csr_rows(arrays.layer_offsets)
        n_paths = max(arrays.n_paths, 1)
        self.n_paths = n_paths
        keys = combine(entry_layer, arrays.entry_path, n_paths)
        opaque = arrays.entry_kind == OPAQUE
        # two tables: entries by (layer, path) without opaque markers, and opaque markers
        self.keys, self.entries = self._table(keys[~opaque], np.flatnonzero(~opaque))
        self.okeys, self.oentries = self._table(keys[opaque], np.flatnonzero(opaque))

    @staticmethod
    def _table(keys: I64, entries: I64) -> tuple[I64, I64]:
        order = stable_order(keys)
        return keys[order], entries[order]

    def _find(self, layer: int, path: int) -> int:
        i = int(np.searchsorted(self.keys, layer * self.n_paths + path))
        if i < self.keys.size and self.keys[i] == layer * self.n_paths + path:
            return int(self.entries[i])
        return -1

    def _opaque(self, layer: int, path: int) -> bool:
        i = int(np.searchsorted(self.okeys, layer * self.n_paths + path))
        return bool(i < self.okeys.size and self.okeys[i] == layer * self.n_paths + path)

    def visible(self, image: int, path: int) -> int:
        """The entry the image's merged view shows at `path`, or -1."""
        a = self.arrays
        layers = a.image_layers[a.image_offsets[image] : a.image_offsets[image + 1]].tolist()
        ancestors = []
        p = int(a.path_parent[path])
        while p >= 0:
            ancestors.append(p)
            p = int(a.path_parent[p])
        for layer in reversed(layers):
            hit = self._find(layer, path)
            if hit >= 0:
                return -1 if a.entry_kind[hit] == WHITEOUT else hit
            for anc in ancestors:
                if self._opaque(layer, anc):
                    return -1
                h = self._find(layer, anc)
                if h >= 0 and a.entry_kind[h] != DIR:
                    return -1
        return -1


def container_bytes(arrays: PopulationArrays) -> I64:
    """Writable-layer disk bytes of every container (see `metrics.ContainerUsage`)."""
    block = arrays.options.block_bytes
    n = len(arrays.container_names)
    written = segment_sum(
        -(-arrays.write_file_bytes // block) * block, csr_rows(arrays.write_offsets), n
    )
    if arrays.modify_path.size == 0 and arrays.delete_path.size == 0:
        return written
    overlay = _Overlay(arrays)
    names = arrays.path_names
    extra = np.zeros(n, dtype=np.int64)

    def label(p: int) -> str:
        return names[p] if names is not None else f"path #{p}"

    for k in range(n):
        image = int(arrays.container_image[k])
        image_name = arrays.image_names[image]
        m0, m1 = int(arrays.modify_offsets[k]), int(arrays.modify_offsets[k + 1])
        for p, changed in zip(
            arrays.modify_path[m0:m1].tolist(),
            arrays.modify_changed_bytes[m0:m1].tolist(),
            strict=True,
        ):
            hit = overlay.visible(image, p)
            if hit < 0 or arrays.entry_kind[hit] != FILE:
                raise ModelError(
                    f"container {arrays.container_names[k]!r} modifies {label(p)!r}, "
                    f"which is not a file of image {image_name!r}"
                )
            whole = -(-int(arrays.entry_file_bytes[hit]) // block) * block
            if arrays.options.driver is StorageDriver.OVERLAY2:
                extra[k] += whole
            else:
                change = block if changed < 0 else changed
                extra[k] += min(-(-change // block) * block, whole)
        d0, d1 = int(arrays.delete_offsets[k]), int(arrays.delete_offsets[k + 1])
        for p in arrays.delete_path[d0:d1].tolist():
            if overlay.visible(image, p) < 0:
                raise ModelError(
                    f"container {arrays.container_names[k]!r} deletes {label(p)!r}, "
                    f"which image {image_name!r} does not have"
                )
    return written + extra


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


def metrics_from_arrays(arrays: PopulationArrays) -> PopulationMetrics:
    """All figures as `metrics` objects (for populations small enough to list per layer)."""
    images = image_table(arrays)
    labels = arrays.image_layer_labels or tuple(f"layer{int(lid)}" for lid in arrays.image_layers)
    names = arrays.image_names

    def layer_labels(image: int) -> tuple[str, ...]:
        lo, hi = int(arrays.image_offsets[image]), int(arrays.image_offsets[image + 1])
        return tuple(labels[lo:hi])

    image_metrics = tuple(
        ImageMetrics(
            name=names[i],
            layers=layer_labels(i),
            layered_tar_bytes=int(images.layered_tar_bytes[i]),
            layered_compressed_bytes=int(images.layered_compressed_bytes[i]),
            layered_disk_bytes=int(images.layered_disk_bytes[i]),
            flattened_tar_bytes=int(images.flattened_tar_bytes[i]),
            flattened_compressed_bytes=int(images.flattened_compressed_bytes[i]),
            flattened_disk_bytes=int(images.flattened_disk_bytes[i]),
            shadowed_file_bytes=int(images.shadowed_file_bytes[i]),
            dive_min_bytes=int(images.dive_min_bytes[i]),
            dive_cumulative_bytes=int(images.dive_cumulative_bytes[i]),
            dive_wasted_bytes=int(images.dive_wasted_bytes[i]),
            dive_user_bytes=int(images.dive_user_bytes[i]),
        )
        for i in range(arrays.n_images)
    )

    pushes = push_sequence(arrays, arrays.push_order, images)
    push_records = []
    for s, image in enumerate(pushes.image.tolist()):
        lo, hi = int(pushes.row_offsets[s]), int(pushes.row_offsets[s + 1])
        outcome = pushes.layer_outcome[lo:hi].tolist()
        layer_names = layer_labels(image)
        push_records.append(
            PushRecord(
                image=names[image],
                uploaded_bytes=int(pushes.uploaded_bytes[s]),
                uploaded_layers=tuple(
                    n for n, o in zip(layer_names, outcome, strict=True) if o == 0
                ),
                skipped_layers=tuple(
                    n for n, o in zip(layer_names, outcome, strict=True) if o != 0
                ),
                mounted_layers=tuple(
                    n for n, o in zip(layer_names, outcome, strict=True) if o == 2
                ),
                flattened_uploaded_bytes=int(pushes.flattened_uploaded_bytes[s]),
            )
        )
    registry = registry_stored(arrays, arrays.push_order, images)

    pulls = pull_sequences(arrays, arrays.node_offsets, arrays.node_images, images)
    stored = node_stored(arrays, arrays.node_offsets, arrays.node_images, images)
    usage = disk_usage(arrays, arrays.node_offsets, arrays.node_images, images)
    writable = container_bytes(arrays)
    nodes = []
    for n, node_name in enumerate(arrays.node_names):
        pull_records = []
        for s in np.flatnonzero(pulls.node == n).tolist():
            image = int(pulls.image[s])
            lo, hi = int(pulls.row_offsets[s]), int(pulls.row_offsets[s + 1])
            outcome = pulls.layer_outcome[lo:hi].tolist()
            layer_names = layer_labels(image)
            pull_records.append(
                PullRecord(
                    image=names[image],
                    downloaded_bytes=int(pulls.downloaded_bytes[s]),
                    extracted_disk_bytes=int(pulls.extracted_disk_bytes[s]),
                    downloaded_layers=tuple(
                        x for x, o in zip(layer_names, outcome, strict=True) if o == 0
                    ),
                    skipped_layers=tuple(
                        x for x, o in zip(layer_names, outcome, strict=True) if o != 0
                    ),
                    flattened_downloaded_bytes=int(pulls.flattened_downloaded_bytes[s]),
                )
            )
        rows = np.flatnonzero(usage.node == n).tolist()
        disk_rows = tuple(
            ImageDiskUsage(
                image=names[int(usage.image[r])],
                size_bytes=int(usage.size_bytes[r]),
                shared_bytes=int(usage.shared_bytes[r]),
                unique_bytes=int(usage.size_bytes[r] - usage.shared_bytes[r]),
            )
            for r in rows
        )
        containers = tuple(
            ContainerUsage(
                name=arrays.container_names[k],
                image=names[int(arrays.container_image[k])],
                state="running" if arrays.container_running[k] else "stopped",
                writable_bytes=int(writable[k]),
            )
            for k in np.flatnonzero(arrays.container_node == n).tolist()
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
                images=disk_rows,
                containers=containers,
            )
        )
    return PopulationMetrics(
        images=image_metrics,
        registry_stored_bytes=registry,
        pushes=tuple(push_records),
        nodes=tuple(nodes),
    )
