"""File contents: which version of which tree file is a new content, and the content ids.

Version 0 of every file is a content of its own; a later version keeps the content of the
version before unless the tree's change draw (or the one forced file per version) rewrites it.
Files copied from a shared template (`SharedFiles`: app boilerplate, never edited) have the
content of the template's first copy, in whichever tree, in every version. Only the contents
some layer uses get an id, numbered in (tree, file, version) order. This module decides content
identity; where entries and layers hold those contents is entries.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I8, I64, csr_offsets, csr_rows
from layersim.accounting.sortops import ranges
from layersim.fleet.code import SharedFiles
from layersim.fleet.groups import forward_fill_position, local_index
from layersim.fleet.trees import CLASS_RATIO_PERMILLE, TreeTable


@dataclass(frozen=True, eq=False)
class Contents:
    """Contents of every (tree, file, version), laid out tree by tree, file-major:
    position `tfv_offsets[t] + j * versions[t] + v`; `content` is the compacted content id
    (-1 where no layer uses that version)."""

    tfv_offsets: I64
    content: I64
    birth: I64  # per position: where its content was born (used or not; `fleet.lineage`)
    content_file_bytes: I64
    content_compressed_bytes: I64
    content_class: I8


def draw_contents(
    trees: TreeTable,
    used_tree: I64,
    used_version: I64,
    rng: np.random.Generator,
    shared: SharedFiles | None = None,
) -> Contents:
    """Draw which file versions are new contents and number the ones the (tree, version)
    pairs `used_tree`, `used_version` (the layers' segments) use; `shared` files take their
    template's content."""
    tfv_offsets, birth = birth_positions(trees, rng)
    if shared is not None:
        birth = share_templates(trees, tfv_offsets, birth, shared)
    return compact_contents(trees, tfv_offsets, birth, used_tree, used_version)


def share_templates(trees: TreeTable, tfv_offsets: I64, birth: I64, shared: SharedFiles) -> I64:
    """Births with every version of every shared file moved to the version-0 position of the
    first file (in position order) with the same template key: boilerplate is never edited, so
    every version of it shares the template's content (a change drawn there changes nothing).
    Draws nothing."""
    V = trees.versions[shared.tree]
    pos = tfv_offsets[:-1][shared.tree] + shared.file * V
    first = np.full(int(shared.key.max(initial=-1)) + 1, birth.size, dtype=np.int64)
    np.minimum.at(first, shared.key, pos)
    out = birth.copy()
    out[ranges(pos, V)] = np.repeat(first[shared.key], V)
    return out


def birth_positions(trees: TreeTable, rng: np.random.Generator) -> tuple[I64, I64]:
    """Where each (tree, file, version)'s content was born: version 0 always, later versions
    with the tree's change probability (and, for `force_change` trees, at least one file per
    version). Returns (tfv_offsets, birth position per position)."""
    F, V = trees.n_files, trees.versions
    sizes = F * V
    tfv_offsets = csr_offsets(sizes)
    total = int(tfv_offsets[-1])
    tree = csr_rows(tfv_offsets)
    local = np.arange(total, dtype=np.int64) - tfv_offsets[:-1][tree]
    version = local % V[tree]
    changed = version == 0
    changed |= rng.random(total) < trees.change_fraction[tree]
    forced = np.flatnonzero(trees.force_change & (V > 1) & (F > 0))
    if forced.size:
        n_forced = V[forced] - 1
        f_tree = np.repeat(forced, n_forced)
        f_version = local_index(n_forced) + 1
        f_file = (rng.random(f_tree.size) * F[f_tree]).astype(np.int64)
        changed[tfv_offsets[f_tree] + f_file * V[f_tree] + f_version] = True
    return tfv_offsets, forward_fill_position(changed)


def compact_contents(
    trees: TreeTable, tfv_offsets: I64, birth: I64, used_tree: I64, used_version: I64
) -> Contents:
    """Content ids for the contents some layer uses, numbered in birth-position order."""
    total = birth.size
    tv_offsets = csr_offsets(trees.versions)
    used_tv = np.zeros(int(tv_offsets[-1]), dtype=np.bool_)
    used_tv[tv_offsets[used_tree] + used_version] = True
    tree = csr_rows(tfv_offsets)
    local = np.arange(total, dtype=np.int64) - tfv_offsets[:-1][tree]
    V = trees.versions[tree]
    used_pos = used_tv[tv_offsets[:-1][tree] + local % V]
    born = np.zeros(total, dtype=np.bool_)
    born[birth[used_pos]] = True
    rank = np.cumsum(born) - 1
    content = np.where(used_pos, rank[birth], -1)
    births = np.flatnonzero(born)
    b_tree = tree[births]
    b_file = (births - tfv_offsets[:-1][b_tree]) // trees.versions[b_tree]
    files_of_tree = trees.entry_offsets  # file j of tree t: the j-th FILE entry
    file_entries = np.flatnonzero(trees.file_index >= 0)
    file_start = np.searchsorted(file_entries, files_of_tree[:-1])
    entry = file_entries[file_start[b_tree] + b_file]
    fb = trees.file_bytes[entry]
    cls = trees.file_class[entry]
    ratio = CLASS_RATIO_PERMILLE[cls]
    return Contents(
        tfv_offsets=tfv_offsets,
        content=content,
        birth=birth,
        content_file_bytes=fb,
        content_compressed_bytes=np.where(fb > 0, -(-fb * 1000 // ratio), 0),
        content_class=cls,
    )
