"""The fleet's path universe: every path any generated layer holds, numbered once.

`PathTable` is the builder the tree-drawing stages append to, in order (bases, runtimes,
packages, app code): directories a human would recognise get explicit names (`usr/lib`,
`app/src`), the directories and files below them are `d<id>` / `f<id>.<ext>`. `finish` freezes
it into `Paths`: ids renumbered in preorder (the engine's canonical order), with names when
the fleet is small enough. What each path holds in which layer is the trees' business
(trees.py), not this module's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np

from layersim.accounting.arrays import I8, I64, csr_offsets
from layersim.accounting.sortops import forest_preorder, stable_order
from layersim.fleet.groups import local_index
from layersim.fleet.presets import ARCHIVE, BINARY, TEXT
from layersim.model.sizes import USTAR_NAME_BYTES

# Longest path whose tar names (`path/` for a directory, `dir/.wh.name` for a whiteout) still
# fit a USTAR header, so that every header is 512 bytes (sizes.tar_header_bytes).
MAX_PATH_CHARS = USTAR_NAME_BYTES - len(".wh.")
# Path names, layer labels and content classes are stored up to this many items; above it the
# arrays carry None and `arrays.path_strings` makes synthetic names.
NAMED_LIMIT = 200_000
FILES_PER_DIR = 16
DIRS_PER_GROUP = 16


@dataclass(frozen=True, eq=False)
class Paths:
    """The finished path table: `parent` per path in preorder ids, the full names (None above
    `NAMED_LIMIT` paths) and `new_id`, the preorder id of every id the builder handed out."""

    parent: I64
    names: tuple[str, ...] | None
    new_id: I64

    def renumber(self, builder_ids: I64) -> I64:
        """The final ids of paths known by the ids `PathTable` returned."""
        return self.new_id[builder_ids]


class PathTable:
    """The path builder: ids allocated parents first, in the order the stages ask for them."""

    _EXT: ClassVar[dict[int, str]] = {TEXT: "txt", BINARY: "so", ARCHIVE: "gz"}

    def __init__(self) -> None:
        self.parents: list[I64] = []
        self.kinds: list[I8] = []  # -1: directory, else the file's class (names only)
        self.n = 0
        self.names: dict[int, str] = {}
        self._memo: dict[tuple[int, str], int] = {}

    def add(self, parents: I64, kinds: I8, names: Sequence[str] | None = None) -> I64:
        """New paths below `parents` (-1: a root); `kinds` -1 for directories, else the file's
        class. Returns their ids."""
        ids = np.arange(self.n, self.n + parents.size, dtype=np.int64)
        self.parents.append(np.asarray(parents, dtype=np.int64))
        self.kinds.append(np.asarray(kinds, dtype=np.int8))
        if names is not None:
            self.names.update(zip(ids.tolist(), names, strict=True))
        self.n += parents.size
        return ids

    def chain(self, path: str) -> list[int]:
        """Ids of every directory of `path` ('usr/lib' -> [usr, usr/lib]), created once."""
        ids: list[int] = []
        parent = -1
        for part in path.split("/"):
            key = (parent, part)
            found = self._memo.get(key)
            if found is None:
                found = int(self.add(np.array([parent]), np.array([-1]), [part])[0])
                self._memo[key] = found
            ids.append(found)
            parent = found
        return ids

    def file(self, directory: int, name: str, file_class: int) -> int:
        """The id of the file `name` in `directory`, created once."""
        key = (directory, name)
        found = self._memo.get(key)
        if found is None:
            found = int(self.add(np.array([directory]), np.array([file_class]), [name])[0])
            self._memo[key] = found
        return found

    def subtree(self, roots: I64, n_files: I64, file_class: I8) -> tuple[I64, I64, I64, I64]:
        """Directories and files below each root: files 16 to a directory, directories 16 to a
        group directory when there are more than 16. Returns (dir ids, dir part, file ids,
        file leaf index): dirs per part in order groups then leaves; files in part order."""
        n_files = np.asarray(n_files, dtype=np.int64)
        n_leaves = -(-n_files // FILES_PER_DIR)
        n_groups = np.where(n_leaves > DIRS_PER_GROUP, -(-n_leaves // DIRS_PER_GROUP), 0)
        parts = np.arange(roots.size, dtype=np.int64)
        group_part = np.repeat(parts, n_groups)
        group_ids = self.add(roots[group_part], np.full(group_part.size, -1, np.int8))
        group_start = csr_offsets(n_groups)[:-1] + (group_ids[0] if group_ids.size else 0)
        leaf_part = np.repeat(parts, n_leaves)
        leaf_local = local_index(n_leaves)
        leaf_parent = np.where(
            n_groups[leaf_part] > 0,
            group_start[leaf_part] + leaf_local // DIRS_PER_GROUP,
            roots[leaf_part],
        )
        leaf_ids = self.add(leaf_parent, np.full(leaf_part.size, -1, np.int8))
        leaf_start = csr_offsets(n_leaves)[:-1] + (leaf_ids[0] if leaf_ids.size else 0)
        file_part = np.repeat(parts, n_files)
        file_leaf = leaf_start[file_part] + local_index(n_files) // FILES_PER_DIR
        file_ids = self.add(file_leaf, file_class)
        dir_ids = np.concatenate([group_ids, leaf_ids])
        dir_part = np.concatenate([group_part, leaf_part])
        order = stable_order(dir_part)
        return dir_ids[order], dir_part[order], file_ids, file_leaf

    def finish(self, want_names: bool) -> Paths:
        """Renumber the paths in preorder (each subtree a contiguous id range, siblings in
        creation order: the canonical order the engine wants), with names if wanted and there
        are at most `NAMED_LIMIT` paths. Asserts that every tar name fits a 512-byte header."""
        parent = np.concatenate(self.parents) if self.parents else np.zeros(0, np.int64)
        kinds = np.concatenate(self.kinds) if self.kinds else np.zeros(0, np.int8)
        tin, _, _ = forest_preorder(parent)
        new_parent = np.full(self.n, -1, dtype=np.int64)
        has = parent >= 0
        new_parent[tin[has]] = tin[parent[has]]
        if want_names and self.n <= NAMED_LIMIT:
            return Paths(new_parent, self._names(parent, kinds, tin), tin)
        _check_synthetic_lengths(new_parent)
        return Paths(new_parent, None, tin)

    def _names(self, parent: I64, kinds: I8, tin: I64) -> tuple[str, ...]:
        """Full names in preorder ids (parents are created before their children)."""
        ext, explicit = self._EXT, self.names
        own = [
            explicit.get(p) or (f"d{p}" if k < 0 else f"f{p}.{ext[k]}")
            for p, k in enumerate(kinds.tolist())
        ]
        names = own[:]
        for p, par in enumerate(parent.tolist()):
            if par >= 0:
                names[p] = f"{names[par]}/{own[p]}"
        longest = max(map(len, names), default=0)
        assert longest <= MAX_PATH_CHARS, f"a generated path has {longest} characters"
        by_new_id = np.argsort(tin).tolist()
        return tuple([names[old] for old in by_new_id])


def _check_synthetic_lengths(parent: I64) -> None:
    """Assert that the synthetic names `p<id>/p<id>/...` (arrays.path_strings) of a table with
    these (preorder) parents fit a 512-byte tar header."""
    n = parent.size
    digits = np.floor(np.log10(np.maximum(np.arange(n), 1))).astype(np.int64) + 2
    length = digits.copy()
    cursor = parent.copy()
    alive = cursor >= 0
    while alive.any():
        length[alive] += digits[cursor[alive]] + 1
        cursor[alive] = parent[cursor[alive]]
        alive = cursor >= 0
    longest = int(length.max()) if n else 0
    assert longest <= MAX_PATH_CHARS, f"a synthetic path has {longest} characters"
