"""The entries of every layer, and each layer's tar and compressed bytes.

A layer's entries are its segments' tree entries laid end to end, each file entry pointing at
the content of its (tree, file, version). Sizes follow `model.make_entry` (paths are short,
so every tar header is 512 bytes). This is the one pass over population-scale entry arrays;
it is chunked to bound memory. Which contents exist is contents.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I8, I64, csr_offsets, csr_rows
from layersim.accounting.sortops import ranges
from layersim.fleet.contents import Contents
from layersim.fleet.layers import Segments
from layersim.fleet.trees import TreeTable
from layersim.model.sizes import TAR_BLOCK_BYTES, TAR_END_BYTES, CompressionModel
from layersim.progress import Progress

# Tree entries gathered per step of the entry pass (bounds its temporary arrays).
CHUNK_ENTRIES = 4_000_000


@dataclass(frozen=True, eq=False)
class LayerEntries:
    """Every layer's entries (CSR `layer_offsets`) and its tar and compressed bytes."""

    layer_offsets: I64
    entry_path: I64
    entry_kind: I8
    entry_content: I64
    entry_file_bytes: I64
    entry_tar_bytes: I64
    entry_compressed_bytes: I64
    layer_tar_bytes: I64
    layer_compressed_bytes: I64


def layer_entries(
    trees: TreeTable, contents: Contents, segments: Segments, progress: Progress
) -> LayerEntries:
    """The entries of the layers made of `segments`, layer by layer, each layer's entries in
    segment order (each segment's tree entries in path order)."""
    L, seg_layer, seg_tree = segments.n_layers, segments.layer, segments.tree
    n_entries_seg = np.diff(trees.entry_offsets)[seg_tree]
    entry_counts = np.bincount(seg_layer, weights=n_entries_seg, minlength=L).astype(np.int64)
    layer_offsets = csr_offsets(entry_counts)
    layer_tar = np.bincount(seg_layer, weights=trees.tar_sum[seg_tree], minlength=L)
    layer_comp = np.bincount(seg_layer, weights=trees.compressed_sum[seg_tree], minlength=L)
    E = int(layer_offsets[-1])
    path = np.empty(E, np.int64)
    kind = np.empty(E, np.int8)
    content = np.empty(E, np.int64)
    file_bytes = np.empty(E, np.int64)
    compressed = np.empty(E, np.int64)
    packed, path_bits = _packed_tree_entries(trees)
    path_mask = (1 << path_bits) - 1
    seg_base = contents.tfv_offsets[:-1][seg_tree] + segments.version - 1
    sentinel = contents.content.size
    content_ext = np.append(contents.content, -1)
    seg_end = np.cumsum(n_entries_seg)
    start_seg, done = 0, 0
    n_seg = seg_tree.size
    while start_seg < n_seg:
        stop_seg = int(np.searchsorted(seg_end, done + CHUNK_ENTRIES, side="right"))
        stop_seg = max(stop_seg, start_seg + 1)
        s = slice(start_seg, stop_seg)
        counts = n_entries_seg[s]
        te = ranges(trees.entry_offsets[:-1][seg_tree[s]], counts)
        lo, hi = done, done + te.size
        word = packed[te]
        path[lo:hi] = word & path_mask
        kind[lo:hi] = (word >> path_bits) & 7
        word >>= path_bits + 3
        file_pos = word > 0
        word += np.repeat(seg_base[s], counts)
        word[~file_pos] = sentinel
        content[lo:hi] = content_ext[word]
        del word
        file_bytes[lo:hi] = trees.file_bytes[te]
        compressed[lo:hi] = trees.compressed_bytes[te]
        done = hi
        start_seg = stop_seg
        progress("generate: entries", done / max(E, 1))
    # tar bytes: a 512-byte header and the data padded to 512 (make_entry, short names)
    tar = np.empty(E, np.int64)
    np.add(file_bytes, TAR_BLOCK_BYTES - 1, out=tar)
    np.right_shift(tar, 9, out=tar)
    np.left_shift(tar, 9, out=tar)
    tar += TAR_BLOCK_BYTES
    return LayerEntries(
        layer_offsets=layer_offsets,
        entry_path=path,
        entry_kind=kind,
        entry_content=content,
        entry_file_bytes=file_bytes,
        entry_tar_bytes=tar,
        entry_compressed_bytes=compressed,
        layer_tar_bytes=np.rint(layer_tar).astype(np.int64) + TAR_END_BYTES,
        layer_compressed_bytes=np.rint(layer_comp).astype(np.int64)
        + CompressionModel().blob_overhead_bytes(),
    )


def _packed_tree_entries(trees: TreeTable) -> tuple[I64, int]:
    """Path, kind and `step` of every tree entry packed into one word, and the path's bits.

    The position of (tree, file, version) is tfv_offsets[tree] + version + file_index *
    V[tree]; `step` = file_index * V[tree] + 1 (0 for entries that are not files). One word per
    tree entry makes one gather per entry instead of three (gathers, not arithmetic, bound the
    entry pass)."""
    tree_of_entry = csr_rows(trees.entry_offsets)
    step = np.where(trees.file_index >= 0, trees.file_index * trees.versions[tree_of_entry] + 1, 0)
    del tree_of_entry
    path_bits = max(int(trees.path.max(initial=0)).bit_length(), 1)
    step_bits = max(int(step.max(initial=0)).bit_length(), 1)
    assert path_bits + 3 + step_bits <= 63, "population too large to pack"
    packed = (step << (path_bits + 3)) | (trees.kind.astype(np.int64) << path_bits) | trees.path
    return packed, path_bits
