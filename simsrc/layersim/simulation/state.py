"""What the registry and the nodes hold at the end of an epoch, read off a fleet's time plan.

A fleet says when each image is built and at the end of which epoch the registry (a node) drops
it (`Fleet.image_*_gc_epoch`). This module turns that into the images a store holds at one
epoch, and into a whole `PopulationArrays` for the state at an epoch (`state_arrays`): the
population the reference implementation evaluates to check `replay`'s figures. Not here: the
garbage-collection policy itself (`fleet.retention` decides the gc epochs) or any byte count (`accounting`).
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from layersim.accounting.arrays import I64, PopulationArrays, csr_offsets, csr_rows
from layersim.accounting.sortops import ranges
from layersim.fleet import Fleet


def held_by_registry(fleet: Fleet, epoch: int) -> I64:
    """Images the registry holds at the end of `epoch` (id order = push order)."""
    return np.flatnonzero(
        (fleet.image_epoch <= epoch) & (fleet.image_registry_gc_epoch > epoch)
    ).astype(np.int64)


def _node_mask(fleet: Fleet, epoch: int) -> np.ndarray:
    """Mask over `arrays.node_images`: the pulls whose image the node holds at the end of
    `epoch`."""
    images = fleet.arrays.node_images
    return (fleet.image_epoch[images] <= epoch) & (fleet.image_node_gc_epoch[images] > epoch)


def _select_nodes(arrays: PopulationArrays, mask: np.ndarray, nodes: I64) -> tuple[I64, I64]:
    """CSR (offsets, images) of `nodes` keeping the masked pulls, in pull order."""
    pull_node = csr_rows(arrays.node_offsets)
    wanted = np.zeros(arrays.n_nodes, dtype=np.bool_)
    wanted[nodes] = True
    keep = mask & wanted[pull_node]
    position = np.full(arrays.n_nodes, -1, dtype=np.int64)
    position[nodes] = np.arange(nodes.size)
    counts = np.bincount(position[pull_node[keep]], minlength=nodes.size)
    return csr_offsets(counts), arrays.node_images[keep]


def state_arrays(fleet: Fleet, epoch: int) -> PopulationArrays:
    """The population as it stands at the end of `epoch`: the registry's images as the push
    order, each node's held images, and the containers that exist (running or stopped)."""
    a = fleet.arrays
    offsets, images = _select_nodes(a, _node_mask(fleet, epoch), np.arange(a.n_nodes))
    alive = (fleet.container_start_epoch <= epoch) & (fleet.container_remove_epoch > epoch)
    running = alive & (fleet.container_stop_epoch > epoch)
    keep = np.flatnonzero(alive)

    def rows(off: I64, values: I64) -> tuple[I64, I64]:
        counts = np.diff(off)[keep]
        return csr_offsets(counts), values[ranges(off[:-1][keep], counts)]

    w_off, w_bytes = rows(a.write_offsets, a.write_file_bytes)
    m_off, m_path = rows(a.modify_offsets, a.modify_path)
    _, m_changed = rows(a.modify_offsets, a.modify_changed_bytes)
    d_off, d_path = rows(a.delete_offsets, a.delete_path)
    return replace(
        a,
        push_order=held_by_registry(fleet, epoch),
        node_offsets=offsets,
        node_images=images,
        container_names=tuple(a.container_names[k] for k in keep.tolist()),
        container_node=a.container_node[keep],
        container_image=a.container_image[keep],
        container_running=running[keep],
        write_offsets=w_off,
        write_file_bytes=w_bytes,
        modify_offsets=m_off,
        modify_path=m_path,
        modify_changed_bytes=m_changed,
        delete_offsets=d_off,
        delete_path=d_path,
    )
