"""Tests of `layersim.fleet.packages`: the ecosystems and the packages' release histories."""

from __future__ import annotations

import numpy as np

from layersim.config import load_config
from layersim.fleet.packages import build_packages, ecosystems_of
from layersim.fleet.paths import PathTable
from layersim.fleet.trees import TreeBuilder


def test_ecosystems_system_first_each_once():
    """`system` comes first, then the runtimes' ecosystems in runtime order."""
    assert ecosystems_of(("python", "node", "jvm")) == ("system", "python", "node", "jvm")
    assert ecosystems_of(("jvm", "python")) == ("system", "jvm", "python")
    assert ecosystems_of(()) == ("system",)


def test_packages_release_versions_over_time():
    """Every package starts at version 0 in epoch 0 and gains at most one version an epoch;
    one tree per package (with as many versions as it released) and one prefix tree per
    ecosystem."""
    config = load_config(scenario="small", overrides=["packages.count=30", "time.epochs=8"])
    trees = TreeBuilder()
    packages = build_packages(
        config.packages, ("python",), 8, np.random.default_rng(3), PathTable(), trees
    )
    assert packages.ecosystems == ("system", "python")
    assert packages.version_at.shape == (60, 8)
    assert np.all(packages.version_at[:, 0] == 0)
    assert set(np.unique(np.diff(packages.version_at, axis=1)).tolist()) <= {0, 1}
    assert packages.prefix_tree.tolist() == [0, 1]
    assert packages.package_tree.tolist() == list(range(2, 62))
    versions = np.concatenate(trees.versions)[packages.package_tree]
    assert np.array_equal(versions, packages.version_at[:, -1] + 1)
    assert packages.rank_cdf.size == 30 and packages.rank_cdf[-1] == 1.0
