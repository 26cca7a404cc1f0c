"""Arrays out of the engine's canonical order, with the same population: the input of the tests
of `arrays.canonical` and of the stages that take its result."""

from __future__ import annotations

import dataclasses

import numpy as np

from layersim.accounting.arrays import PopulationArrays, csr_rows


def shuffled(arrays: PopulationArrays, seed: int) -> PopulationArrays:
    """The same population with path ids permuted at random and each layer's entries in a
    random order (ids renumbered consistently everywhere they appear)."""
    rng = np.random.default_rng(seed)
    n = arrays.n_paths
    new_id = rng.permutation(n).astype(np.int64)
    parent = np.full(n, -1, dtype=np.int64)
    has = arrays.path_parent >= 0
    parent[new_id[has]] = new_id[arrays.path_parent[has]]
    names = None
    if arrays.path_names is not None:
        by_new = [""] * n
        for old, new in enumerate(new_id.tolist()):
            by_new[new] = arrays.path_names[old]
        names = tuple(by_new)
    # entries: a random order within each layer
    order = np.lexsort((rng.random(arrays.n_entries), csr_rows(arrays.layer_offsets)))
    return dataclasses.replace(
        arrays,
        path_parent=parent,
        path_names=names,
        entry_path=new_id[arrays.entry_path][order],
        entry_kind=arrays.entry_kind[order],
        entry_content=arrays.entry_content[order],
        entry_file_bytes=arrays.entry_file_bytes[order],
        entry_tar_bytes=arrays.entry_tar_bytes[order],
        entry_compressed_bytes=arrays.entry_compressed_bytes[order],
        modify_path=new_id[arrays.modify_path],
        delete_path=new_id[arrays.delete_path],
    )
