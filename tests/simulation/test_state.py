"""Tests of `layersim.simulation.state`: the images a store holds at an epoch follow the
fleet's build and gc epochs, and `state_arrays` keeps exactly the held pulls and the containers
that exist."""

from __future__ import annotations

import numpy as np
import pytest

from layersim.accounting.arrays import csr_rows
from layersim.simulation.state import held_by_registry, state_arrays


@pytest.mark.parametrize("epoch", [0, 3, 5])
def test_registry_holds_built_and_not_yet_collected(small_run, epoch):
    """The registry holds an image from its build epoch until the gc after its gc epoch, in
    id (push) order."""
    fleet, _ = small_run
    held = held_by_registry(fleet, epoch)
    expected = [
        i
        for i in range(fleet.arrays.n_images)
        if fleet.image_epoch[i] <= epoch < fleet.image_registry_gc_epoch[i]
    ]
    assert held.tolist() == expected


@pytest.mark.parametrize("epoch", [0, 3, 5])
def test_state_arrays_keep_held_pulls_and_existing_containers(small_run, epoch):
    """Each node keeps, in pull order, the pulls whose image it still holds at the end of
    `epoch`; the containers are those started and not yet removed, running if not stopped."""
    fleet, _ = small_run
    a = fleet.arrays
    state = state_arrays(fleet, epoch)
    assert state.push_order.tolist() == held_by_registry(fleet, epoch).tolist()
    node = csr_rows(a.node_offsets)
    for n in range(a.n_nodes):
        pulled = a.node_images[node == n]
        kept = [
            int(i) for i in pulled if fleet.image_epoch[i] <= epoch < fleet.image_node_gc_epoch[i]
        ]
        assert state.node_images[state.node_offsets[n] : state.node_offsets[n + 1]].tolist() == (
            kept
        )
    alive = (fleet.container_start_epoch <= epoch) & (fleet.container_remove_epoch > epoch)
    assert state.container_names == tuple(
        name for name, keep in zip(a.container_names, alive, strict=True) if keep
    )
    running = fleet.container_stop_epoch[alive] > epoch
    assert np.array_equal(state.container_running, running)
    assert np.array_equal(state.container_image, a.container_image[alive])
