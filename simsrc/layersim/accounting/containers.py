"""Containers' writable layers (`metrics.ContainerUsage`): what each container adds on its node,
and the lookup it rests on, the entry an image shows at a path.

A container writes new files, modifies files of its image (copied up whole by overlay2, only
the changed blocks by a block driver) and deletes files (whiteouts, free). A modify or delete
of a path the image does not show is an error, as in the reference. What the images and nodes
hold is `images`' and `storage`'s.
"""

from __future__ import annotations

import numpy as np

from layersim.accounting import kernels
from layersim.accounting.arrays import I64, CanonicalArrays, csr_rows
from layersim.accounting.sortops import segment_sum
from layersim.accounting.storage import whole_blocks
from layersim.errors import ModelError
from layersim.model import EntryKind, Population, StorageDriver


def shown_entries(canon: CanonicalArrays, image_ids: I64, path_ids: I64) -> I64:
    """For each (image, path) query, the entry the image's merged view shows there, or -1
    (`kernels.search_shown_entries`: each image's layers from the top, a binary search per
    layer for the path and its ancestors)."""
    arrays = canon.arrays
    return kernels.search_shown_entries(
        arrays.image_offsets,
        arrays.image_layers,
        arrays.layer_offsets,
        arrays.entry_path,
        arrays.entry_kind,
        arrays.path_parent,
        np.asarray(image_ids, dtype=np.int64),
        np.asarray(path_ids, dtype=np.int64),
    )


def container_bytes(canon: CanonicalArrays) -> I64:
    """Writable-layer disk bytes of every container (see `metrics.ContainerUsage`)."""
    arrays = canon.arrays
    block = arrays.options.block_bytes
    n = len(arrays.container_names)
    written = segment_sum(
        whole_blocks(arrays.write_file_bytes, block), csr_rows(arrays.write_offsets), n
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
        shown = shown_entries(canon, arrays.container_image[d_owner], arrays.delete_path)
        bad = np.flatnonzero(shown < 0)
        if bad.size:
            fail(int(d_owner[bad[0]]), int(arrays.delete_path[bad[0]]), "deletes")
    m_owner = csr_rows(arrays.modify_offsets)
    if m_owner.size == 0:
        return written
    lower = shown_entries(canon, arrays.container_image[m_owner], arrays.modify_path)
    bad = np.flatnonzero(
        (lower < 0) | (arrays.entry_kind[np.maximum(lower, 0)] != int(EntryKind.FILE))
    )
    if bad.size:
        fail(int(m_owner[bad[0]]), int(arrays.modify_path[bad[0]]), "modifies")
    whole = whole_blocks(arrays.entry_file_bytes[lower], block)
    if arrays.options.driver is StorageDriver.OVERLAY2:
        copied = whole
    else:
        changed = np.where(arrays.modify_changed_bytes < 0, block, arrays.modify_changed_bytes)
        copied = np.minimum(whole_blocks(changed, block), whole)
    return written + segment_sum(copied, m_owner, n)


def check_container_paths(population: Population) -> None:
    """Raise `ModelError` if a container writes, modifies or deletes one path twice (checked on
    the objects: the arrays do not keep the paths of writes)."""
    for node in population.nodes:
        for c in node.containers:
            seen: set[str] = set()
            for path in [w.path for w in c.writes] + [m.path for m in c.modifies] + list(c.deletes):
                if path in seen:
                    raise ModelError(f"container {c.name!r} touches {path!r} twice")
                seen.add(path)
