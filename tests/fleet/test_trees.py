"""Tests of `layersim.fleet.trees`: the builder's table, exact on a two-tree example."""

from __future__ import annotations

from layersim.fleet.trees import HEADER_COMPRESSED_BYTES
from layersim.model import EntryKind, make_entry
from layersim.model.sizes import TAR_BLOCK_BYTES
from tests.fleet.fleets import two_trees


def test_finish_sorts_each_tree_by_final_path():
    """Entries are grouped by tree and sorted by their renumbered path; files are indexed
    within their tree in that order."""
    table = two_trees()
    assert table.n_trees == 2
    assert table.entry_offsets.tolist() == [0, 3, 4]
    assert table.path.tolist() == [0, 2, 3, 1]
    kinds = [EntryKind.DIR, EntryKind.FILE, EntryKind.FILE, EntryKind.WHITEOUT]
    assert table.kind.tolist() == [int(k) for k in kinds]
    assert table.file_bytes.tolist() == [0, 1000, 0, 0]
    assert table.file_index.tolist() == [-1, 0, 1, -1]
    assert table.n_files.tolist() == [2, 0]
    assert table.versions.tolist() == [2, 1]
    assert table.change_fraction.tolist() == [0.0, 0.0]
    assert table.force_change.tolist() == [True, False]


def test_finish_sizes_follow_make_entry():
    """Each entry's compressed bytes and each tree's tar and compressed sums are those of
    `make_entry`: 512-byte headers (52 compressed bytes each), data padded to 512."""
    table = two_trees()
    text = make_entry(
        "a/b", EntryKind.FILE, 1000, content="sha256:" + "0" * 64, content_class="text"
    )
    assert HEADER_COMPRESSED_BYTES == 52
    assert table.compressed_bytes.tolist() == [52, text.compressed_bytes, 52, 52]
    assert table.tar_sum.tolist() == [TAR_BLOCK_BYTES + text.tar_bytes + TAR_BLOCK_BYTES, 512]
    assert table.tar_sum.tolist() == [2560, 512]
    assert table.compressed_sum.tolist() == [52 + 302 + 52, 52]
