"""Versioned file trees: the unit of content every generated layer is made of.

A tree is a fixed list of entries (directories, files, whiteouts) below paths of the path
table; a version gives each file a content, and version v rewrites a share of the files of
v-1 (contents.py draws which). A base layer is one tree, a dependency layer a prefix tree plus
one tree per package, a code layer the app's code tree (and the whiteout tree).

`TreeBuilder` is the accumulator the tree-drawing stages append to in order; `finish` freezes
it into a `TreeTable` with paths in their final ids and each tree's entries sorted by path.
Which tree versions end up in which layer is layers.py's business.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I8, I64, Bool, csr_offsets
from layersim.accounting.sortops import stable_order
from layersim.fleet.draws import F64
from layersim.fleet.presets import BINARY, CLASS_NAMES
from layersim.model import EntryKind
from layersim.model.sizes import (
    DEFAULT_CLASS_RATIOS_PERMILLE,
    DEFAULT_METADATA_RATIO_PERMILLE,
    TAR_BLOCK_BYTES,
)

# The compression ratio (per mille) of each content class, by class code.
CLASS_RATIO_PERMILLE = np.array(
    [DEFAULT_CLASS_RATIOS_PERMILLE[c] for c in CLASS_NAMES], dtype=np.int64
)
# Compressed bytes of one 512-byte tar header (CompressionModel.entry_bytes with no data).
HEADER_COMPRESSED_BYTES = -(-TAR_BLOCK_BYTES * 1000 // DEFAULT_METADATA_RATIO_PERMILLE)


@dataclass(frozen=True, eq=False)
class TreeTable:
    """Every tree's entries (CSR by tree, sorted by path id within a tree) and per tree its
    file count, versions, sums of tar and compressed bytes, and how its versions change."""

    entry_offsets: I64  # CSR by tree
    path: I64
    kind: I8
    file_bytes: I64
    file_class: I8
    file_index: I64  # index among the tree's files, -1 for other entries
    compressed_bytes: I64
    n_files: I64  # per tree
    versions: I64  # per tree
    tar_sum: I64  # per tree: sum of the entries' tar bytes
    compressed_sum: I64
    change_fraction: F64  # per tree: probability that a version rewrites a file
    force_change: Bool  # per tree: every version after the first rewrites at least one file

    @property
    def n_trees(self) -> int:
        return int(self.versions.size)


class TreeBuilder:
    """The tree accumulator: `new` allocates tree ids, `entries` / `dirs` add their entries."""

    def __init__(self) -> None:
        self.pieces: list[tuple[I64, I64, I8, I64, I8]] = []
        self.versions: list[I64] = []
        self.change: list[F64] = []
        self.force: list[Bool] = []
        self.n = 0

    def new(self, count: int, versions: I64 | int, change: float, force: bool) -> I64:
        """`count` new trees with `versions` versions each, each version rewriting a file with
        probability `change` (`force`: at least one file per version). Returns their ids."""
        ids = np.arange(self.n, self.n + count, dtype=np.int64)
        self.versions.append(np.broadcast_to(np.asarray(versions, np.int64), (count,)).copy())
        self.change.append(np.full(count, change, dtype=np.float64))
        self.force.append(np.full(count, force, dtype=np.bool_))
        self.n += count
        return ids

    def entries(
        self,
        tree: I64,
        path: I64,
        kind: int | I8,
        file_bytes: I64 | int = 0,
        file_class: I8 | int = BINARY,
    ) -> None:
        """Entries of `kind` at `path` in `tree` (scalars broadcast over the paths)."""
        n = np.asarray(path).size
        self.pieces.append(
            (
                np.broadcast_to(np.asarray(tree, np.int64), (n,)),
                np.asarray(path, np.int64),
                np.broadcast_to(np.asarray(kind, np.int8), (n,)),
                np.broadcast_to(np.asarray(file_bytes, np.int64), (n,)),
                np.broadcast_to(np.asarray(file_class, np.int8), (n,)),
            )
        )

    def dirs(self, tree: int, dir_ids: Sequence[int]) -> None:
        """Directory entries for `dir_ids` in `tree`."""
        self.entries(np.int64(tree), np.asarray(dir_ids, np.int64), EntryKind.DIR)

    def finish(self, new_path_id: I64) -> TreeTable:
        """The table, with paths renumbered (`new_path_id`, from `PathTable.finish`) and each
        tree's entries sorted by path id."""
        tree, path, kind, fb, cls = (np.concatenate(x) for x in zip(*self.pieces, strict=True))
        path = new_path_id[path]
        order = stable_order(tree * max(new_path_id.size, 1) + path)
        tree, path, kind, fb, cls = tree[order], path[order], kind[order], fb[order], cls[order]
        counts = np.bincount(tree, minlength=self.n).astype(np.int64)
        offsets = csr_offsets(counts)
        is_file = kind == EntryKind.FILE
        file_rank = np.cumsum(is_file) - 1
        files_before = np.concatenate([[0], np.cumsum(is_file)])[offsets[:-1]]
        file_index = np.where(is_file, file_rank - np.repeat(files_before, counts), -1)
        n_files = np.bincount(tree, weights=is_file, minlength=self.n).astype(np.int64)
        fb = np.where(is_file, fb, 0)
        tar = TAR_BLOCK_BYTES + -(-fb // TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES
        ratio = CLASS_RATIO_PERMILLE[cls]
        comp = HEADER_COMPRESSED_BYTES + np.where(fb > 0, -(-fb * 1000 // ratio), 0)
        tar_sum = np.bincount(tree, weights=tar, minlength=self.n)
        comp_sum = np.bincount(tree, weights=comp, minlength=self.n)
        return TreeTable(
            entry_offsets=offsets,
            path=path,
            kind=kind.astype(np.int8),
            file_bytes=fb.astype(np.int64),
            file_class=cls.astype(np.int8),
            file_index=file_index.astype(np.int64),
            compressed_bytes=comp.astype(np.int64),
            n_files=n_files,
            versions=np.concatenate(self.versions),
            tar_sum=np.rint(tar_sum).astype(np.int64),
            compressed_sum=np.rint(comp_sum).astype(np.int64),
            change_fraction=np.concatenate(self.change),
            force_change=np.concatenate(self.force),
        )
