"""Tests of `layersim.fleet.retention`: when retention drops images and containers, on
worked examples and on a generated fleet."""

from __future__ import annotations

import numpy as np

from layersim.accounting.arrays import csr_rows
from layersim.fleet.retention import container_remove_epochs, gc_epochs, node_gc_epochs
from tests.fleet.fleets import tiny_fleet


def test_gc_epochs_one_repository():
    """Versions 0-3 built at epochs 0, 2, 3, 5, keeping 2, horizon 8: version 0 goes when
    version 2 is pushed (end of epoch 3), version 1 when version 3 is (5), 2 and 3 stay (8)."""
    got = gc_epochs(np.zeros(4, np.int64), np.arange(4), np.array([0, 2, 3, 5]), 2, 8)
    assert got.tolist() == [3, 5, 8, 8]


def test_gc_epochs_repositories_apart_in_any_order():
    """Images of two repositories, interleaved and out of version order: each repository keeps
    its own last version (keep 1); a repository's versions count in version order, not in
    array order."""
    repository = np.array([1, 0, 1, 0, 1])
    version = np.array([2, 1, 0, 0, 1])
    epoch = np.array([4, 3, 0, 1, 2])
    assert gc_epochs(repository, version, epoch, 1, 6).tolist() == [6, 6, 2, 3, 4]


def test_gc_epochs_keep_more_than_versions():
    """Keeping more versions than a repository has drops nothing within the horizon."""
    assert gc_epochs(np.zeros(3, np.int64), np.arange(3), np.arange(3), 5, 4).tolist() == [4] * 3


def test_node_gc_epochs_only_for_images_on_nodes():
    """Images no node pulls (base and runtime images) are never dropped by a node; the others
    as `gc_epochs` says."""
    repository, version, epoch = np.zeros(3, np.int64), np.arange(3), np.array([0, 1, 2])
    on_nodes = np.array([True, False, True])
    assert node_gc_epochs(repository, version, epoch, on_nodes, 1, 5).tolist() == [1, 5, 5]


def test_container_remove_epochs_worked_example():
    """Horizon 6. A stopped container is removed when it stops (stop 2), or when its image is
    dropped if it lingers (stop 2, image dropped at 4 -> 4), never before it stops (stop 3,
    image dropped at 1 -> 3); a container running at the end is never removed (6)."""
    stop = np.array([2, 2, 3, 6])
    running = np.array([False, False, False, True])
    lingers = np.array([False, True, True, True])
    image_gc = np.array([4, 4, 1, 6])
    assert container_remove_epochs(stop, running, lingers, image_gc, 6).tolist() == [2, 4, 3, 6]


def test_retention_plan():
    """The registry never holds more than `registry.retention` versions of a repository and a
    node never more than `nodes.retention` versions of an app, at the end of any epoch."""
    fleet = tiny_fleet("registry.retention=2", "nodes.retention=1", "apps.rebuild_every=1")
    a = fleet.arrays
    for t in range(fleet.epochs):
        held = (fleet.image_epoch <= t) & (fleet.image_registry_gc_epoch > t)
        counts = np.bincount(a.image_repository[held])
        assert counts.max() <= 2
        on_node = a.node_images[
            (fleet.image_epoch[a.node_images] <= t) & (fleet.image_node_gc_epoch[a.node_images] > t)
        ]
        node = csr_rows(a.node_offsets)[
            (fleet.image_epoch[a.node_images] <= t) & (fleet.image_node_gc_epoch[a.node_images] > t)
        ]
        pairs = node * fleet.n_apps + fleet.image_owner[on_node]
        assert np.bincount(pairs).max() <= 1


def test_lingering_containers_go_with_their_image():
    """With every stopped container lingering, each stopped container of the fleet is removed
    exactly when its node drops its image (or when it stops, if later)."""
    fleet = tiny_fleet("nodes.linger_probability=1", "nodes.retention=1", "apps.rebuild_every=1")
    stopped = ~fleet.arrays.container_running
    image_gc = fleet.image_node_gc_epoch[fleet.arrays.container_image]
    expected = np.maximum(image_gc, fleet.container_stop_epoch)
    assert stopped.any()
    assert np.array_equal(fleet.container_remove_epoch[stopped], expected[stopped])
