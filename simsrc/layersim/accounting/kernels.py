"""The engine's compiled loops (numba): the passes that numpy could only do as many whole-array
sweeps, each its own trip through memory, done here in one pass each.

Plain loops over plain integer arrays, no objects: every function takes and returns numpy
arrays; the engine's modules (`images`, `transfers`, `storage`, `containers`), `arrays` and
`scratch` are the only callers. Compiled on first use and cached on disk
(`cache=True`): the first run after installing pays the compile (about ten seconds on a small
machine), later runs load it. `error_model="numpy"`: numpy's rules for arithmetic errors, not
Python's checks (less code to compile; nothing here divides).

What they compute is defined in `metrics` and `overlay`; the engine's tests hold the results
equal to the reference implementation's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

from layersim.model import EntryKind

# Scratch: the large arrays a kernel reads and writes at random are passed in, uninitialised;
# the caller decides what memory backs them (`scratch.scratch`: huge pages for large ones).

# entry kinds, the codes of `model.EntryKind` as plain ints: numba compiles module-level ints
# into the loops as constants. The loops rely on EntryKind's order too: `kind >= WHITEOUT` is a
# whiteout or an opaque marker, and a DIR sorts before its opaque marker (tests pin all three).
FILE = int(EntryKind.FILE)
DIR = int(EntryKind.DIR)
SYMLINK = int(EntryKind.SYMLINK)
HARDLINK = int(EntryKind.HARDLINK)
WHITEOUT = int(EntryKind.WHITEOUT)
OPAQUE = int(EntryKind.OPAQUE)

# figures `overlay_walk` keeps per chain node, as columns of its result
VIS_TAR, VIS_COMPRESSED, VIS_DISK, VIS_FILE, ALL_FILE, DIVE_MIN, DIVE_CUMULATIVE, DIVE_WASTED = (
    range(8)
)
N_FIGURES = 8


@njit(cache=True, nogil=True, error_model="numpy")
def _disk_bytes(kind, file_bytes, block_bytes, block_shift):  # type: ignore[no-untyped-def]
    """`model.Entry.disk_bytes`: a regular file's bytes rounded up to whole blocks, a block per
    directory, nothing else (file bytes of other kinds are 0). Blocks are powers of two
    (`model.StorageOptions`): a shift, where integer division costs tens of cycles."""
    if kind == DIR:
        return block_bytes
    return ((file_bytes + block_bytes - 1) >> block_shift) << block_shift


def block_shift(block_bytes: int) -> int:
    """log2 of a block size (a power of two, as `model.StorageOptions` requires)."""
    if block_bytes <= 0 or block_bytes & (block_bytes - 1):
        raise ValueError(f"block size must be a power of two, got {block_bytes}")
    return block_bytes.bit_length() - 1


@njit(cache=True, nogil=True, error_model="numpy")
def scan_layers(layer_offsets, kind, content, file_bytes, block_bytes, block_shift, contents):  # type: ignore[no-untyped-def]
    """One pass over every layer's entries: per layer its file bytes and extracted disk bytes,
    and the CSR of the contents of its regular files (entries with content >= 0): `offsets`,
    and the contents written to the start of `contents` (as long as the entries; scratch, see
    above). Returns (file bytes, disk bytes, offsets)."""
    n_layers = layer_offsets.size - 1
    file_sum = np.zeros(n_layers, dtype=np.int64)
    disk_sum = np.zeros(n_layers, dtype=np.int64)
    offsets = np.zeros(n_layers + 1, dtype=np.int64)
    n = 0
    for layer in range(n_layers):
        f = 0
        d = 0
        for e in range(layer_offsets[layer], layer_offsets[layer + 1]):
            f += file_bytes[e]
            d += _disk_bytes(kind[e], file_bytes[e], block_bytes, block_shift)
            if content[e] >= 0:
                contents[n] = content[e]
                n += 1
        file_sum[layer] = f
        disk_sum[layer] = d
        offsets[layer + 1] = n
    return file_sum, disk_sum, offsets


@njit(cache=True, nogil=True, error_model="numpy")
def check_entries(layer_offsets, path, kind, content, file_bytes):  # type: ignore[no-untyped-def]
    """(problem, sorted): problem 1 if an entry has a content but is not a regular file or the
    other way round, 2 if an entry has negative file bytes, else 0; sorted whether each
    layer's entries are sorted by path id, and by kind within one path (a DIR before its
    opaque marker), strictly."""
    in_order = True
    for layer in range(layer_offsets.size - 1):
        for e in range(layer_offsets[layer], layer_offsets[layer + 1]):
            if (content[e] >= 0) != (kind[e] == FILE):
                return 1, False
            if file_bytes[e] < 0:
                return 2, False
            if e > layer_offsets[layer] and (
                path[e] < path[e - 1] or (path[e] == path[e - 1] and kind[e] <= kind[e - 1])
            ):
                in_order = False
    return 0, in_order


@njit(cache=True, nogil=True, error_model="numpy")
def _first_at_least(path, lo, hi, value):  # type: ignore[no-untyped-def]
    """First index in lo..hi whose path is >= value (`path[lo:hi]` ascending)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if path[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True, error_model="numpy")
def _entries_below(  # type: ignore[no-untyped-def]
    p, stack, depth, chain_layer, layer_offsets, path, path_end, stamp, query, out
):
    """The entries that the layers of the chain nodes `stack[:depth]` have strictly below path p
    (a binary search per layer; a layer twice on the branch is read once, `stamp` marking the
    layers seen by `query`), written to `out`; returns how many. Everything a view below can
    show under p is among them."""
    n = 0
    for level in range(depth):
        below = chain_layer[stack[level]]
        if stamp[below] == query:
            continue
        stamp[below] = query
        end = layer_offsets[below + 1]
        j = _first_at_least(path, layer_offsets[below], end, p + 1)
        while j < end and path[j] < path_end[p]:
            out[n] = j
            n += 1
            j += 1
    return n


@njit(cache=True, nogil=True, error_model="numpy")
def overlay_walk(  # type: ignore[no-untyped-def]
    out,
    shown,
    named,
    named_min,
    prefix,
    walk,
    chain_layer,
    tin,
    tout,
    max_depth,
    log_capacity,
    layer_offsets,
    path,
    kind,
    file_bytes,
    tar_bytes,
    compressed_bytes,
    path_end,
    block_bytes,
    block_shift,
):
    """Chain nodes' merged views, resolved by a walk of the chain trie in preorder: entering a
    node stacks its layer on the view of its parent (the overlay rules of
    `overlay.stack_layer`), leaving it undoes exactly what entering did. Fills `out[node]`
    for every node of `walk` (a run of nodes in preorder) with the columns named above: the
    tar, compressed, disk and file bytes of its visible entries, the file bytes of all its
    entries (whiteouts and opaque markers excepted), and dive's min, cumulative and wasted
    sums. `prefix` are the ancestors of `walk`'s first node, root first: stacked first, not
    written (a run that starts inside a tree, as each worker's part of a split walk does).

    Scratch (see above), one slot per path id: `shown` (n_paths, 2), of an integer type
    that holds every entry id: the entry the view shows and the one dive's view shows (in which
    opaque markers hide nothing, `overlay.stack_layer(opaque=False)`), -1 for none; `named`
    (int32) and `named_min` (int64): dive's count of the leaves on the branch that name the
    path, and the smallest of their sizes. That is all the walk keeps per path: it is bound by
    memory traffic, so a few bytes per path, and the running figures in locals.
    Hiding everything below a path looks only at the entries the branch's layers have in
    that path's id range (a binary search per layer): the view shows nothing else.
    Cost: the occurrences (a chain node's entries), plus those ranges."""
    n_prefix = prefix.size
    shown[:] = -1
    named[:] = 0
    # undo logs, (path, values before) per change, and where each stacked node's changes start
    view_log = np.empty((log_capacity, 3), dtype=shown.dtype)
    named_log = np.empty((log_capacity, 3), dtype=np.int64)
    stack = np.empty(max_depth + 1, dtype=np.int64)
    marks = np.empty((max_depth + 1, 2), dtype=np.int64)
    saved = np.empty((max_depth + 1, N_FIGURES), dtype=np.int64)
    stamp = np.full(layer_offsets.size - 1, -1, dtype=np.int64)  # layer seen in a query
    below_entries = np.empty(log_capacity, dtype=np.int64)  # a query's answer
    plain = np.full(layer_offsets.size - 1, -1, dtype=np.int8)  # see below; -1: not yet known
    # the running figures of the current node's view
    vis_tar = vis_compressed = vis_disk = vis_file = all_file = 0
    dive_min = dive_cumulative = dive_wasted = 0
    n_view = 0
    n_named = 0
    depth = 0
    query = 0
    for position in range(n_prefix + walk.size):
        node = prefix[position] if position < n_prefix else walk[position - n_prefix]
        # leave the nodes whose subtree ends here, newest first
        while depth > 0 and tout[stack[depth - 1]] <= tin[node]:
            depth -= 1
            while n_view > marks[depth, 0]:
                n_view -= 1
                p = view_log[n_view, 0]
                shown[p, 0] = view_log[n_view, 1]
                shown[p, 1] = view_log[n_view, 2]
            while n_named > marks[depth, 1]:
                n_named -= 1
                p = named_log[n_named, 0]
                named[p] = named_log[n_named, 1]
                named_min[p] = named_log[n_named, 2]
            vis_tar = saved[depth, VIS_TAR]
            vis_compressed = saved[depth, VIS_COMPRESSED]
            vis_disk = saved[depth, VIS_DISK]
            vis_file = saved[depth, VIS_FILE]
            all_file = saved[depth, ALL_FILE]
            dive_min = saved[depth, DIVE_MIN]
            dive_cumulative = saved[depth, DIVE_CUMULATIVE]
            dive_wasted = saved[depth, DIVE_WASTED]
        layer = chain_layer[node]
        lo = layer_offsets[layer]
        hi = layer_offsets[layer + 1]
        if tout[node] == tin[node] + 1:
            if plain[layer] < 0:
                plain[layer] = 1
                for e in range(lo, hi):
                    if kind[e] >= WHITEOUT or (kind[e] != DIR and path_end[path[e]] > path[e] + 1):
                        plain[layer] = 0
                        break
            if plain[layer] == 1:
                # a leaf of the trie whose layer hides nothing below its entries (no whiteout,
                # no opaque marker, no non-directory over a directory): its figures are the
                # view's with each entry put in place of the one shown at its path, read off
                # without changing the views, so nothing to log or undo (about half the
                # occurrences of the benchmark population)
                t_tar, t_compressed, t_disk, t_file = vis_tar, vis_compressed, vis_disk, vis_file
                t_min, t_cumulative, t_wasted = dive_min, dive_cumulative, dive_wasted
                t_all = all_file
                for e in range(lo, hi):
                    k = kind[e]
                    p = path[e]
                    f = file_bytes[e]
                    if e + 1 >= hi or path[e + 1] >= path_end[p]:  # a leaf (as below)
                        t_cumulative += f
                        count = named[p]
                        if count == 0:
                            t_min += f
                        else:
                            t_wasted += f + (named_min[p] if count == 1 else 0)
                            if f < named_min[p]:
                                t_min += f - named_min[p]
                    h = shown[p, 0]
                    if h >= 0:
                        t_tar -= tar_bytes[h]
                        t_compressed -= compressed_bytes[h]
                        t_file -= file_bytes[h]
                        t_disk -= _disk_bytes(kind[h], file_bytes[h], block_bytes, block_shift)
                    t_tar += tar_bytes[e]
                    t_compressed += compressed_bytes[e]
                    t_file += f
                    t_all += f
                    t_disk += _disk_bytes(k, f, block_bytes, block_shift)
                out[node, VIS_TAR] = t_tar
                out[node, VIS_COMPRESSED] = t_compressed
                out[node, VIS_DISK] = t_disk
                out[node, VIS_FILE] = t_file
                out[node, ALL_FILE] = t_all
                out[node, DIVE_MIN] = t_min
                out[node, DIVE_CUMULATIVE] = t_cumulative
                out[node, DIVE_WASTED] = t_wasted
                continue
        stack[depth] = node
        marks[depth, 0] = n_view
        marks[depth, 1] = n_named
        saved[depth, VIS_TAR] = vis_tar
        saved[depth, VIS_COMPRESSED] = vis_compressed
        saved[depth, VIS_DISK] = vis_disk
        saved[depth, VIS_FILE] = vis_file
        saved[depth, ALL_FILE] = all_file
        saved[depth, DIVE_MIN] = dive_min
        saved[depth, DIVE_CUMULATIVE] = dive_cumulative
        saved[depth, DIVE_WASTED] = dive_wasted
        depth += 1

        # dive: each leaf of the layer (no entry of the layer below its path; an opaque marker
        # beside its DIR is no node of its own) names its path; a whiteout is sized on dive's
        # view below, before the layer changes it
        for e in range(lo, hi):
            k = kind[e]
            p = path[e]
            if k == OPAQUE and e > lo and path[e - 1] == p:
                continue  # beside its DIR: one node, the DIR
            after = e + 1
            if k == DIR and after < hi and path[after] == p:
                after += 1  # step over the DIR's opaque marker
            if after < hi and path[after] < path_end[p]:
                continue  # not a leaf
            size = file_bytes[e]
            if k == WHITEOUT:
                below_shown = shown[p, 1]
                size = 0
                if below_shown < 0 or kind[below_shown] == DIR:
                    query += 1
                    n_below = _entries_below(
                        p, stack, depth - 1, chain_layer, layer_offsets, path, path_end,
                        stamp, query, below_entries,
                    )  # fmt: skip
                    for i in range(n_below):
                        j = below_entries[i]
                        if shown[path[j], 1] == j:
                            size += file_bytes[j]
            dive_cumulative += size
            count = named[p]
            named_log[n_named, 0] = p
            named_log[n_named, 1] = count
            named_log[n_named, 2] = named_min[p]
            n_named += 1
            if count == 0:
                named_min[p] = size
                dive_min += size
            else:
                # with one leaf so far, its size is both the minimum and the sum
                dive_wasted += size + (named_min[p] if count == 1 else 0)
                if size < named_min[p]:
                    dive_min += size - named_min[p]
                    named_min[p] = size
            named[p] = count + 1

        # the views: first what the layer's entries hide below them, then the entries
        for e in range(lo, hi):
            k = kind[e]
            if k == DIR:
                continue
            p = path[e]
            if k == WHITEOUT and (shown[p, 0] >= 0 or shown[p, 1] >= 0):
                view_log[n_view, 0] = p
                view_log[n_view, 1] = shown[p, 0]
                view_log[n_view, 2] = shown[p, 1]
                n_view += 1
                h = shown[p, 0]
                if h >= 0:
                    vis_tar -= tar_bytes[h]
                    vis_compressed -= compressed_bytes[h]
                    vis_file -= file_bytes[h]
                    vis_disk -= _disk_bytes(kind[h], file_bytes[h], block_bytes, block_shift)
                shown[p, 0] = -1
                shown[p, 1] = -1
            if path_end[p] == p + 1:
                continue  # no path lies below p
            query += 1
            n_below = _entries_below(
                p, stack, depth - 1, chain_layer, layer_offsets, path, path_end,
                stamp, query, below_entries,
            )  # fmt: skip
            for i in range(n_below):
                j = below_entries[i]
                q = path[j]
                hide = shown[q, 0] == j
                hide_dive = k != OPAQUE and shown[q, 1] == j
                if hide or hide_dive:
                    view_log[n_view, 0] = q
                    view_log[n_view, 1] = shown[q, 0]
                    view_log[n_view, 2] = shown[q, 1]
                    n_view += 1
                    if hide:
                        vis_tar -= tar_bytes[j]
                        vis_compressed -= compressed_bytes[j]
                        vis_file -= file_bytes[j]
                        vis_disk -= _disk_bytes(kind[j], file_bytes[j], block_bytes, block_shift)
                        shown[q, 0] = -1
                    if hide_dive:
                        shown[q, 1] = -1
        for e in range(lo, hi):
            k = kind[e]
            if k >= WHITEOUT:  # whiteouts and opaque markers are never shown
                continue
            p = path[e]
            h = shown[p, 0]
            view_log[n_view, 0] = p
            view_log[n_view, 1] = h
            view_log[n_view, 2] = shown[p, 1]
            n_view += 1
            if h >= 0:
                vis_tar -= tar_bytes[h]
                vis_compressed -= compressed_bytes[h]
                vis_file -= file_bytes[h]
                vis_disk -= _disk_bytes(kind[h], file_bytes[h], block_bytes, block_shift)
            shown[p, 0] = e
            shown[p, 1] = e
            vis_tar += tar_bytes[e]
            vis_compressed += compressed_bytes[e]
            vis_file += file_bytes[e]
            vis_disk += _disk_bytes(k, file_bytes[e], block_bytes, block_shift)
            all_file += file_bytes[e]
        if position < n_prefix:
            continue
        out[node, VIS_TAR] = vis_tar
        out[node, VIS_COMPRESSED] = vis_compressed
        out[node, VIS_DISK] = vis_disk
        out[node, VIS_FILE] = vis_file
        out[node, ALL_FILE] = all_file
        out[node, DIVE_MIN] = dive_min
        out[node, DIVE_CUMULATIVE] = dive_cumulative
        out[node, DIVE_WASTED] = dive_wasted


_NOT_TOP_BIT = (1 << 63) - 1  # masks off what an arithmetic shift right brings into bit 63
_DEBRUIJN = 0x03F79D71B4CB0A89
_DEBRUIJN_INDEX = np.array(
    [
        0, 1, 48, 2, 57, 49, 28, 3, 61, 58, 50, 42, 38, 29, 17, 4,
        62, 55, 59, 36, 53, 51, 43, 22, 45, 39, 33, 30, 24, 18, 12, 5,
        63, 47, 56, 27, 60, 41, 37, 16, 54, 35, 52, 21, 44, 32, 23, 11,
        46, 26, 40, 15, 34, 20, 31, 10, 25, 14, 19, 9, 13, 8, 7, 6,
    ],
    dtype=np.int64,
)  # fmt: skip


@njit(cache=True, nogil=True, error_model="numpy")
def _lowest_bit(x):  # type: ignore[no-untyped-def]
    """Index of the lowest set bit of x (x != 0), by de Bruijn multiplication: the isolated bit
    times the de Bruijn constant puts a unique 6-bit pattern in the top bits."""
    return _DEBRUIJN_INDEX[((x & -x) * _DEBRUIJN >> 58) & 63]


@njit(cache=True, nogil=True, error_model="numpy")
def held_bytes(  # type: ignore[no-untyped-def]
    order,
    bounds,
    row_group,
    row_mask,
    group_offsets,
    group_items,
    unit,
    n_epochs,
    group_stamp,
    group_bits,
    groups,
    item_stamp,
    item_bits,
    items,
):
    """Bytes per holder and epoch when every distinct item a holder holds costs `unit[item]`
    in each epoch that any of its rows holds it.

    Rows `order[bounds[h]:bounds[h + 1]]` are holder h's; row r holds group `row_group[r]`
    in the epochs whose bits are set in `row_mask[r]` (int64 bit patterns, bit t for epoch
    t), and a group holds the items `group_items[group_offsets[g]:group_offsets[g + 1]]`
    (an image its layers' blobs, a layer its files' contents...). Per holder, its distinct
    groups first (their epochs OR-ed together), so that a group held by many rows is read
    once; then the items of those groups, the same way; items held in the same epochs are
    summed together (a holder has few distinct epoch sets). Each level finds its distinct
    members by stamping them with the holder: no sort, no reset between holders. Scratch (see
    above), one slot per group and one per item: `group_stamp`, `item_stamp` (int32),
    `group_bits`, `groups`, `item_bits`, `items` (int64)."""
    n_holders = bounds.size - 1
    out = np.zeros((n_holders, n_epochs), dtype=np.int64)
    group_stamp[:] = -1
    item_stamp[:] = -1
    for h in range(n_holders):
        m = 0
        n_held = 0
        single = True
        first_mask = row_mask[order[bounds[h]]] if bounds[h] < bounds[h + 1] else 0
        for r in range(bounds[h], bounds[h + 1]):
            g = row_group[order[r]]
            mask = row_mask[order[r]]
            if mask != first_mask:
                single = False
            if group_stamp[g] != h:
                group_stamp[g] = h
                group_bits[g] = mask
                groups[n_held] = g
                n_held += 1
            else:
                group_bits[g] |= mask
        if single:
            # every row held in the same epochs: a plain sum over the distinct items
            total = 0
            for k in range(n_held):
                g = groups[k]
                for i in range(group_offsets[g], group_offsets[g + 1]):
                    c = group_items[i]
                    if item_stamp[c] != h:
                        item_stamp[c] = h
                        total += unit[c]
            for t in range(n_epochs):
                if (first_mask >> t) & 1:
                    out[h, t] = total
            continue
        # per epoch, by differences: each distinct item adds its unit where a run of held
        # epochs starts and takes it off after the run ends
        delta = np.zeros(65, dtype=np.int64)  # any of 64 bits may start or end a run
        for k in range(n_held):
            g = groups[k]
            mask = group_bits[g]
            for i in range(group_offsets[g], group_offsets[g + 1]):
                c = group_items[i]
                if item_stamp[c] != h:
                    item_stamp[c] = h
                    item_bits[c] = mask
                    items[m] = c
                    m += 1
                else:
                    item_bits[c] |= mask
        for k in range(m):
            c = items[k]
            bits = item_bits[c]
            runs_start = bits & ~(bits << 1)
            runs_end = bits & ~((bits >> 1) & _NOT_TOP_BIT)  # the last epoch of each run
            while runs_start != 0:
                delta[_lowest_bit(runs_start)] += unit[c]
                runs_start &= runs_start - 1
            while runs_end != 0:
                delta[_lowest_bit(runs_end) + 1] -= unit[c]
                runs_end &= runs_end - 1
        running = 0
        for t in range(n_epochs):
            running += delta[t]
            out[h, t] = running
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def held_chunk_bytes(  # type: ignore[no-untyped-def]
    order,
    bounds,
    row_group,
    row_mask,
    group_offsets,
    group_items,
    item_offsets,
    item_chunks,
    unit,
    n_epochs,
    group_stamp,
    group_bits,
    groups,
    item_stamp,
    item_bits,
    items,
    chunk_stamp,
    chunk_bits,
    chunks,
):
    """`held_bytes` one level deeper: a group (a layer) holds items (its contents), an item
    holds chunks `item_chunks[item_offsets[i]:item_offsets[i + 1]]`, and every distinct chunk
    a holder holds costs `unit[chunk]` in each epoch any of its rows holds it. Per holder its
    distinct groups, then their distinct items, then those items' distinct chunks, each level
    stamped with the holder and its epochs OR-ed together: a content held through many layers
    is cut into chunks once per holder, never once per layer. Scratch, one slot per group, item
    and chunk: `*_stamp` (int32), `*_bits` and the lists (int64)."""
    n_holders = bounds.size - 1
    out = np.zeros((n_holders, n_epochs), dtype=np.int64)
    group_stamp[:] = -1
    item_stamp[:] = -1
    chunk_stamp[:] = -1
    for h in range(n_holders):
        n_groups = 0
        for r in range(bounds[h], bounds[h + 1]):
            g = row_group[order[r]]
            mask = row_mask[order[r]]
            if group_stamp[g] != h:
                group_stamp[g] = h
                group_bits[g] = mask
                groups[n_groups] = g
                n_groups += 1
            else:
                group_bits[g] |= mask
        n_items = 0
        for k in range(n_groups):
            g = groups[k]
            mask = group_bits[g]
            for i in range(group_offsets[g], group_offsets[g + 1]):
                c = group_items[i]
                if item_stamp[c] != h:
                    item_stamp[c] = h
                    item_bits[c] = mask
                    items[n_items] = c
                    n_items += 1
                else:
                    item_bits[c] |= mask
        n_chunks = 0
        for k in range(n_items):
            c = items[k]
            mask = item_bits[c]
            for i in range(item_offsets[c], item_offsets[c + 1]):
                x = item_chunks[i]
                if chunk_stamp[x] != h:
                    chunk_stamp[x] = h
                    chunk_bits[x] = mask
                    chunks[n_chunks] = x
                    n_chunks += 1
                else:
                    chunk_bits[x] |= mask
        # per epoch, by differences, as `held_bytes`
        delta = np.zeros(65, dtype=np.int64)
        for k in range(n_chunks):
            x = chunks[k]
            bits = chunk_bits[x]
            runs_start = bits & ~(bits << 1)
            runs_end = bits & ~((bits >> 1) & _NOT_TOP_BIT)
            while runs_start != 0:
                delta[_lowest_bit(runs_start)] += unit[x]
                runs_start &= runs_start - 1
            while runs_end != 0:
                delta[_lowest_bit(runs_end) + 1] -= unit[x]
                runs_end &= runs_end - 1
        running = 0
        for t in range(n_epochs):
            running += delta[t]
            out[h, t] = running
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def preorder_subtree_end(parent):  # type: ignore[no-untyped-def]
    """(end, ok): `ok` iff path ids are a preorder of the forest `parent` gives (-1: a root),
    i.e. every parent before its children and every subtree a contiguous id range; then
    `end[i]` is the exclusive end of i's subtree.

    One pass from the last id back gives each id the end of the ids below it; one pass
    forward checks, with the stack of open subtrees, that each id's parent is the innermost
    subtree still open there (the order a depth-first walk would number them in)."""
    n = parent.size
    end = np.empty(n, dtype=np.int64)
    for i in range(n):
        if parent[i] >= i:
            return end, False
        end[i] = i + 1
    for i in range(n - 1, -1, -1):
        p = parent[i]
        if p >= 0 and end[i] > end[p]:
            end[p] = end[i]
    stack = np.empty(n, dtype=np.int64)
    depth = 0
    for i in range(n):
        while depth > 0 and end[stack[depth - 1]] <= i:
            depth -= 1
        if parent[i] != (stack[depth - 1] if depth > 0 else -1):
            return end, False
        stack[depth] = i
        depth += 1
    return end, True


@njit(cache=True, nogil=True, error_model="numpy")
def _entry_at(path, kind, lo, hi, p, opaque):  # type: ignore[no-untyped-def]
    """Index of the layer entry (entries lo..hi, sorted by path) at path p that is (`opaque`)
    or is not an opaque marker, else -1."""
    j = _first_at_least(path, lo, hi, p)
    while j < hi and path[j] == p:
        if (kind[j] == OPAQUE) == opaque:
            return j
        j += 1
    return -1


@njit(cache=True, nogil=True, error_model="numpy")
def search_shown_entries(  # type: ignore[no-untyped-def]
    image_offsets, image_layers, layer_offsets, path, kind, path_parent, image_ids, path_ids
):
    """For each (image, path) query, the entry the image's merged view shows there, or -1
    (the loop of `containers.shown_entries`).

    The image's layers from the top: the first with an entry at the path decides (a whiteout:
    absent), unless a layer hides the path first by an opaque marker, a whiteout or a
    non-directory at one of its ancestors."""
    out = np.full(image_ids.size, -1, dtype=np.int64)
    for q in range(image_ids.size):
        image = image_ids[q]
        p = path_ids[q]
        for row in range(image_offsets[image + 1] - 1, image_offsets[image] - 1, -1):
            layer = image_layers[row]
            lo = layer_offsets[layer]
            hi = layer_offsets[layer + 1]
            if lo == hi:
                continue
            at = _entry_at(path, kind, lo, hi, p, False)
            if at >= 0:
                if kind[at] != WHITEOUT:
                    out[q] = at
                break
            hidden = False
            a = path_parent[p]
            while a >= 0 and not hidden:
                above = _entry_at(path, kind, lo, hi, a, False)
                hidden = (above >= 0 and kind[above] != DIR) or _entry_at(
                    path, kind, lo, hi, a, True
                ) >= 0
                a = path_parent[a]
            if hidden:
                break
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def covered(order, bounds, key, start, until, stamp, best):  # type: ignore[no-untyped-def]
    """Per row: does an earlier row of the same store, with the same key, hold it until at
    least this row's start (`until >= start`)? Rows `order[bounds[s]:bounds[s + 1]]` are
    store s's, in arrival order. Per store, each key's latest `until` so far, in slots
    stamped with the store (scratch, see above: `stamp` int32, `best` int64, one per key)."""
    out = np.zeros(key.size, dtype=np.bool_)
    stamp[:] = -1
    for s in range(bounds.size - 1):
        for i in range(bounds[s], bounds[s + 1]):
            r = order[i]
            k = key[r]
            if stamp[k] != s:
                stamp[k] = s
                best[k] = until[r]
            else:
                out[r] = best[k] >= start[r]
                if until[r] > best[k]:
                    best[k] = until[r]
    return out


@njit(cache=True, nogil=True, error_model="numpy")
def allocate(n, like):  # type: ignore[no-untyped-def]
    """An uninitialised array of n elements of `like`'s type, from numba's allocator (the C
    heap: memory freed by an earlier evaluation is used again without faulting pages in)."""
    return np.empty(n, dtype=like.dtype)
