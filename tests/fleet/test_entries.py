"""Tests of `layersim.fleet.entries`: every entry's sizes follow `make_entry` and every layer
holds its files' directories."""

from __future__ import annotations

import numpy as np

from layersim.accounting.arrays import csr_rows, path_strings
from layersim.model import EntryKind, make_entry
from layersim.model.sizes import TAR_END_BYTES, CompressionModel


def test_entry_sizes_follow_make_entry(tiny):
    """Every entry's tar and compressed bytes are what `model.make_entry` computes for it, and
    layers add the end blocks and the gzip framing (sizes.py)."""
    a = tiny.arrays
    paths = path_strings(a)
    classes = a.content_classes
    for i in range(a.n_entries):
        kind = EntryKind(int(a.entry_kind[i]))
        cid = int(a.entry_content[i])
        entry = make_entry(
            paths[int(a.entry_path[i])],
            kind,
            int(a.entry_file_bytes[i]),
            content=f"sha256:{cid:064x}" if cid >= 0 else None,
            content_class=classes[cid] if cid >= 0 else None,
        )
        assert entry.tar_bytes == a.entry_tar_bytes[i]
        assert entry.compressed_bytes == a.entry_compressed_bytes[i]
        if cid >= 0:
            assert entry.content_compressed_bytes == a.content_compressed_bytes[cid]
            assert entry.file_bytes == a.content_file_bytes[cid]
    layer = csr_rows(a.layer_offsets)
    tar = np.bincount(layer, weights=a.entry_tar_bytes, minlength=a.n_layers)
    comp = np.bincount(layer, weights=a.entry_compressed_bytes, minlength=a.n_layers)
    assert np.array_equal(a.layer_tar_bytes, tar.astype(np.int64) + TAR_END_BYTES)
    overhead = CompressionModel().blob_overhead_bytes()
    assert np.array_equal(a.layer_compressed_bytes, comp.astype(np.int64) + overhead)


def test_layers_have_directories(tiny):
    """Like Docker layers, every layer holds directory entries for its files' directories."""
    a = tiny.arrays
    for lid in range(a.n_layers):
        lo, hi = a.layer_offsets[lid], a.layer_offsets[lid + 1]
        kinds = a.entry_kind[lo:hi]
        paths = set(a.entry_path[lo:hi].tolist())
        dirs = set(a.entry_path[lo:hi][kinds == EntryKind.DIR].tolist())
        assert dirs, f"layer {lid} has no directory"
        for p in paths:
            parent = int(a.path_parent[p])
            if parent >= 0:
                assert parent in dirs, f"layer {lid}: directory of path {p} missing"
