"""Tests of `layersim.fleet.placement`: where replicas go under each policy, and the
containers' names."""

from __future__ import annotations

import numpy as np
import pytest

from layersim.config import load_config
from layersim.fleet import Fleet
from layersim.fleet.apps import Apps, Builds
from layersim.fleet.placement import container_names, place_replicas
from tests.fleet.fleets import tiny_fleet


def _four_apps() -> tuple[Apps, Builds]:
    """Apps 0-3 on parents 2, 0, 2, 1 (app 2 on a newer version), one build each."""
    zeros, ones = np.zeros(4, np.int64), np.ones(4, np.int64)
    apps = Apps(np.array([2, 0, 2, 1]), zeros, ones, ones, ones, zeros > 0, zeros > 0)
    builds = Builds(np.arange(4), zeros, zeros, np.arange(5), np.array([0, 0, 1, 0]))
    return apps, builds


@pytest.mark.parametrize(
    ("placement", "app", "node"),
    [
        # round robin in app order: 0 0 1 3 3 -> nodes 0 1 0 1 0, listed by (node, app)
        ("spread", [0, 1, 3, 0, 3], [0, 0, 0, 1, 1]),
        # by parent then version: apps 1 (parent 0), 3 (1), 0 (2); three replicas a node
        ("binpack", [1, 3, 3, 0, 0], [0, 0, 0, 1, 1]),
    ],
)
def test_place_replicas_worked_example(placement, app, node):
    """Two nodes; apps 0-3 with 2, 1, 0 and 2 replicas (app 2 not deployed)."""
    config = load_config(
        scenario="small", overrides=["nodes.count=2", f"nodes.placement={placement}"]
    )
    apps, builds = _four_apps()
    replicas = place_replicas(config.nodes, apps, builds, np.array([2, 1, 0, 2]))
    assert replicas.app.tolist() == app
    assert replicas.node.tolist() == node


def test_container_names_exact():
    """`node<n>/app<a>-r<replica>-b<build>`, ids zero-padded to five digits."""
    names = container_names(np.array([0, 2]), np.array([1, 7]), np.array([0, 1]), np.array([3, 0]))
    assert names == ("node00000/app00001-r0-b3", "node00002/app00007-r1-b0")


def test_placement_policies():
    """`spread` balances replicas (loads differ by at most one); `binpack` groups apps by
    parent, so nodes see fewer distinct parent images."""
    spread = tiny_fleet("nodes.placement=spread", "apps.count=30", "nodes.count=5")
    packed = tiny_fleet("nodes.placement=binpack", "apps.count=30", "nodes.count=5")

    def first_containers(fleet: Fleet) -> np.ndarray:
        return fleet.container_start_epoch == 0

    load = np.bincount(spread.arrays.container_node[first_containers(spread)], minlength=5)
    assert load.max() - load.min() <= 1

    def parents_per_node(fleet: Fleet) -> float:
        a = fleet.arrays
        c = first_containers(fleet)
        parent = fleet.app_parent[fleet.image_owner[a.container_image[c]]]
        pairs = {(n, p) for n, p in zip(a.container_node[c].tolist(), parent.tolist(), strict=True)}
        return len(pairs) / a.n_nodes

    assert parents_per_node(packed) <= parents_per_node(spread)


def test_containers_follow_rollouts(tiny):
    """Every container runs its app's build from that build's epoch to the next build's (the
    last one to the end of the horizon), on a node that pulls its image."""
    a = tiny.arrays
    image = a.container_image
    assert np.array_equal(tiny.container_start_epoch, tiny.image_epoch[image])
    assert np.all(tiny.container_stop_epoch > tiny.container_start_epoch)
    assert np.array_equal(a.container_running, tiny.container_stop_epoch == tiny.epochs)
    for c in range(image.size):
        node = int(a.container_node[c])
        assert image[c] in a.node_images[a.node_offsets[node] : a.node_offsets[node + 1]]
