"""The engine's compiled loops (numba): the passes that numpy could only do as many whole-array
sweeps, each its own trip through memory, done here in one pass each.

Plain loops over plain integer arrays, no objects: every function takes and returns numpy
arrays, and `engine` is the only caller. Compiled on first use and cached on disk
(`cache=True`), so a process pays the compile once per installation, not once per run.

What they compute is defined in `metrics` and `overlay`; the engine's tests hold the results
equal to the reference implementation's.
"""

from __future__ import annotations

import numpy as np
from numba import njit

# entry kinds, as `model.EntryKind` numbers them (numba needs them as plain constants)
FILE, DIR, SYMLINK, HARDLINK, WHITEOUT, OPAQUE = 0, 1, 2, 3, 4, 5

# figures `overlay_walk` keeps per chain node, as columns of its result
VIS_TAR, VIS_COMPRESSED, VIS_DISK, VIS_FILE, ALL_FILE, DIVE_MIN, DIVE_CUMULATIVE, DIVE_WASTED = (
    range(8)
)
N_FIGURES = 8


@njit(cache=True, nogil=True)
def _disk_bytes(kind, file_bytes, block_bytes, block_shift):  # type: ignore[no-untyped-def]
    """`model.Entry.disk_bytes`: a regular file's bytes rounded up to whole blocks, a block per
    directory, nothing else (file bytes of other kinds are 0). A shift where the block is a
    power of two (`block_shift` >= 0): integer division costs tens of cycles."""
    if kind == DIR:
        return block_bytes
    if block_shift >= 0:
        return ((file_bytes + block_bytes - 1) >> block_shift) << block_shift
    return (file_bytes + block_bytes - 1) // block_bytes * block_bytes


def block_shift(block_bytes: int) -> int:
    """log2 of a power-of-two block size, else -1 (the kernels then divide)."""
    return block_bytes.bit_length() - 1 if block_bytes & (block_bytes - 1) == 0 else -1


@njit(cache=True, nogil=True)
def layer_sums(layer_offsets, kind, file_bytes, block_bytes, block_shift):  # type: ignore[no-untyped-def]
    """Per layer: (file bytes, extracted disk bytes) of its entries, in one pass."""
    n_layers = layer_offsets.size - 1
    file_sum = np.zeros(n_layers, dtype=np.int64)
    disk_sum = np.zeros(n_layers, dtype=np.int64)
    for layer in range(n_layers):
        f = 0
        d = 0
        for e in range(layer_offsets[layer], layer_offsets[layer + 1]):
            f += file_bytes[e]
            d += _disk_bytes(kind[e], file_bytes[e], block_bytes, block_shift)
        file_sum[layer] = f
        disk_sum[layer] = d
    return file_sum, disk_sum


@njit(cache=True, nogil=True)
def _first_at_least(path, lo, hi, value):  # type: ignore[no-untyped-def]
    """First index in lo..hi whose path is >= value (`path[lo:hi]` ascending)."""
    while lo < hi:
        mid = (lo + hi) >> 1
        if path[mid] < value:
            lo = mid + 1
        else:
            hi = mid
    return lo


@njit(cache=True, nogil=True)
def overlay_walk(  # type: ignore[no-untyped-def]
    shown,
    chain_layer,
    chain_by_tin,
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
    """Every chain node's merged view, resolved by one walk of the chain trie in preorder:
    entering a node stacks its layer on the view of its parent (the overlay rules of
    `overlay.stack_layer`), leaving it undoes exactly what entering did. Returns, per chain
    node, the columns named above: the tar, compressed, disk and file bytes of its visible
    entries, the file bytes of all its entries (whiteouts and opaque markers excepted), and
    dive's min, cumulative and wasted sums.

    `shown` (n_paths, 2) is scratch, of an integer type that holds every entry id: per path,
    the entry the view shows and the one dive's view shows (in which opaque markers hide
    nothing, `overlay.stack_layer(opaque=False)`), -1 for none. With dive's count and
    minimum over the leaves that name each path, that is all the walk keeps per path: it is
    bound by memory traffic, so a few bytes per path, and the running figures in locals.
    Hiding everything below a path looks only at the entries the branch's layers have in
    that path's id range (a binary search per layer): the view shows nothing else.
    Cost: the occurrences (a chain node's entries), plus those ranges."""
    n_chain = chain_layer.size
    n_paths = shown.shape[0]
    out = np.zeros((n_chain, N_FIGURES), dtype=np.int64)
    shown[:] = -1
    named = np.zeros(n_paths, dtype=np.int32)  # dive: leaves that named the path on the branch
    named_min = np.empty(n_paths, dtype=np.int64)  # ... the smallest size (with one: the sum)
    # undo logs, (path, values before) per change, and where each stacked node's changes start
    view_log = np.empty((log_capacity, 3), dtype=shown.dtype)
    named_log = np.empty((log_capacity, 2), dtype=np.int64)
    named_log_count = np.empty(log_capacity, dtype=np.int32)
    stack = np.empty(max_depth + 1, dtype=np.int64)
    marks = np.empty((max_depth + 1, 2), dtype=np.int64)
    saved = np.empty((max_depth + 1, N_FIGURES), dtype=np.int64)
    stamp = np.full(layer_offsets.size - 1, -1, dtype=np.int64)  # layer seen in a query
    # the running figures of the current node's view
    vis_tar = vis_compressed = vis_disk = vis_file = all_file = 0
    dive_min = dive_cumulative = dive_wasted = 0
    n_view = 0
    n_named = 0
    depth = 0
    query = 0
    for position in range(n_chain):
        node = chain_by_tin[position]
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
                named[p] = named_log_count[n_named]
                named_min[p] = named_log[n_named, 1]
            vis_tar = saved[depth, VIS_TAR]
            vis_compressed = saved[depth, VIS_COMPRESSED]
            vis_disk = saved[depth, VIS_DISK]
            vis_file = saved[depth, VIS_FILE]
            all_file = saved[depth, ALL_FILE]
            dive_min = saved[depth, DIVE_MIN]
            dive_cumulative = saved[depth, DIVE_CUMULATIVE]
            dive_wasted = saved[depth, DIVE_WASTED]
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
        lo = layer_offsets[chain_layer[node]]
        hi = layer_offsets[chain_layer[node] + 1]

        # dive: each leaf of the layer names its path; a whiteout is sized on the view below
        for e in range(lo, hi):
            k = kind[e]
            p = path[e]
            if k == OPAQUE and e > lo and path[e - 1] == p:
                continue  # beside its DIR: one node, the DIR
            after = e + 1
            if k == DIR and after < hi and path[after] == p:
                after += 1  # step over the DIR's opaque marker
            if after < hi and path[after] < path_end[p]:
                continue  # has an entry of its layer below it: not a leaf
            size = file_bytes[e]
            if k == WHITEOUT:
                below_shown = shown[p, 1]
                size = 0
                if below_shown < 0 or kind[below_shown] == DIR:
                    query += 1
                    for level in range(depth - 1):
                        below = chain_layer[stack[level]]
                        if stamp[below] == query:
                            continue
                        stamp[below] = query
                        b_end = layer_offsets[below + 1]
                        j = _first_at_least(path, layer_offsets[below], b_end, p + 1)
                        while j < b_end and path[j] < path_end[p]:
                            if shown[path[j], 1] == j:
                                size += file_bytes[j]
                            j += 1
            count = named[p]
            named_log[n_named, 0] = p
            named_log[n_named, 1] = named_min[p]
            named_log_count[n_named] = count
            n_named += 1
            dive_cumulative += size
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
            for level in range(depth - 1):
                below = chain_layer[stack[level]]
                if stamp[below] == query:
                    continue
                stamp[below] = query
                b_end = layer_offsets[below + 1]
                j = _first_at_least(path, layer_offsets[below], b_end, p + 1)
                while j < b_end and path[j] < path_end[p]:
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
                            vis_disk -= _disk_bytes(
                                kind[j], file_bytes[j], block_bytes, block_shift
                            )
                            shown[q, 0] = -1
                        if hide_dive:
                            shown[q, 1] = -1
                    j += 1
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
        out[node, VIS_TAR] = vis_tar
        out[node, VIS_COMPRESSED] = vis_compressed
        out[node, VIS_DISK] = vis_disk
        out[node, VIS_FILE] = vis_file
        out[node, ALL_FILE] = all_file
        out[node, DIVE_MIN] = dive_min
        out[node, DIVE_CUMULATIVE] = dive_cumulative
        out[node, DIVE_WASTED] = dive_wasted
    return out


@njit(cache=True, nogil=True)
def held_file_bytes(  # type: ignore[no-untyped-def]
    order, bounds, row_layer, row_mask, file_offsets, file_content, unit, n_epochs
):
    """File-strategy bytes per holder and epoch: every distinct content a holder's layers hold
    costs `unit[content]` in each epoch that any of its rows holds it.

    Rows `order[bounds[h]:bounds[h + 1]]` are holder h's; row r holds layer `row_layer[r]` in
    the epochs whose bits are set in `row_mask[r]` (int64 bit patterns, bit t for epoch t).
    A layer's contents are `file_content[file_offsets[layer]:file_offsets[layer + 1]]`. One
    pass over the contents each holder names: the first time a holder names a content it is
    stamped with the holder (and, where its rows differ in epochs, listed), later times only
    OR their epochs in; contents held in the same epochs are then summed together (a holder
    has few distinct epoch sets)."""
    n_holders = bounds.size - 1
    n_content = unit.size
    out = np.zeros((n_holders, n_epochs), dtype=np.int64)
    stamp = np.full(n_content, -1, dtype=np.int32)
    bits = np.zeros(n_content, dtype=np.int64)
    distinct = np.empty(n_content, dtype=file_content.dtype)
    for h in range(n_holders):
        if bounds[h] == bounds[h + 1]:
            continue
        first_mask = row_mask[order[bounds[h]]]
        single = True
        for r in range(bounds[h] + 1, bounds[h + 1]):
            if row_mask[order[r]] != first_mask:
                single = False
                break
        if single:
            # every row held in the same epochs: a plain sum over the distinct contents
            total = 0
            for r in range(bounds[h], bounds[h + 1]):
                layer = row_layer[order[r]]
                for i in range(file_offsets[layer], file_offsets[layer + 1]):
                    c = file_content[i]
                    if stamp[c] != h:
                        stamp[c] = h
                        total += unit[c]
            for t in range(n_epochs):
                if (first_mask >> t) & 1:
                    out[h, t] = total
            continue
        m = 0
        for r in range(bounds[h], bounds[h + 1]):
            mask = row_mask[order[r]]
            layer = row_layer[order[r]]
            for i in range(file_offsets[layer], file_offsets[layer + 1]):
                c = file_content[i]
                if stamp[c] != h:
                    stamp[c] = h
                    bits[c] = mask
                    distinct[m] = c
                    m += 1
                else:
                    bits[c] |= mask
        masks = np.empty(m, dtype=np.int64)
        for i in range(m):
            masks[i] = bits[distinct[i]]
        by_mask = np.argsort(masks)
        i = 0
        while i < m:
            mask = masks[by_mask[i]]
            total = 0
            while i < m and masks[by_mask[i]] == mask:
                total += unit[distinct[by_mask[i]]]
                i += 1
            for t in range(n_epochs):
                if (mask >> t) & 1:
                    out[h, t] += total
    return out


@njit(cache=True, nogil=True)
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


@njit(cache=True, nogil=True)
def entries_sorted(layer_offsets, path, kind):  # type: ignore[no-untyped-def]
    """Whether each layer's entries are sorted by path id, and by kind within one path (a DIR
    before its opaque marker), strictly."""
    for layer in range(layer_offsets.size - 1):
        for e in range(layer_offsets[layer] + 1, layer_offsets[layer + 1]):
            if path[e] < path[e - 1] or (path[e] == path[e - 1] and kind[e] <= kind[e - 1]):
                return False
    return True


@njit(cache=True, nogil=True)
def file_contents_by_layer(layer_offsets, content, like):  # type: ignore[no-untyped-def]
    """CSR of the contents of each layer's regular files (entries with content >= 0), the
    contents in the integer type of `like`."""
    n_layers = layer_offsets.size - 1
    offsets = np.zeros(n_layers + 1, dtype=np.int64)
    n = 0
    for layer in range(n_layers):
        for e in range(layer_offsets[layer], layer_offsets[layer + 1]):
            if content[e] >= 0:
                n += 1
        offsets[layer + 1] = n
    out = np.empty(n, dtype=like.dtype)
    n = 0
    for e in range(content.size):
        if content[e] >= 0:
            out[n] = content[e]
            n += 1
    return offsets, out
