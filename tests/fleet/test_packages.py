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


def test_package_dependencies_come_from_the_core():
    """Each package's dependencies are packages of its own ecosystem among the `core` most
    popular (ranks below 5), each once, never the package itself; the CSR covers every
    package, and about `dependencies_mean` are drawn (fewer kept: repeats and self drop)."""
    config = load_config(
        scenario="small",
        overrides=["packages.count=200", "packages.core=5", "packages.dependencies_mean=3.0"],
    )
    packages = build_packages(
        config.packages, ("python",), 4, np.random.default_rng(5), PathTable(), TreeBuilder()
    )
    P = 200
    offsets, dep = packages.dep_offsets, packages.dep_package
    assert offsets.size == 2 * P + 1 and offsets[-1] == dep.size
    owner = np.repeat(np.arange(2 * P), np.diff(offsets))
    assert np.all(dep // P == owner // P)
    assert np.all(dep % P < 5)
    assert np.all(dep != owner)
    assert np.unique(owner * P + dep % P).size == dep.size
    assert 1.5 * 2 * P < dep.size < 3.0 * 2 * P


def test_no_dependencies_when_the_mean_is_zero():
    """`packages.dependencies_mean = 0`: no package depends on another."""
    config = load_config(scenario="small", overrides=["packages.dependencies_mean=0"])
    packages = build_packages(
        config.packages, ("python",), 4, np.random.default_rng(5), PathTable(), TreeBuilder()
    )
    assert packages.dep_package.size == 0 and not packages.dep_offsets.any()


def test_package_files_and_bytes_match_the_trees():
    """`package_files` and `package_file_bytes` are each package tree's file count and file
    bytes."""
    config = load_config(scenario="small", overrides=["packages.count=30"])
    builder = TreeBuilder()
    paths = PathTable()
    packages = build_packages(
        config.packages, ("python",), 4, np.random.default_rng(2), paths, builder
    )
    trees = builder.finish(paths.finish(want_names=False).new_id)
    t = packages.package_tree
    assert np.array_equal(packages.package_files, trees.n_files[t])
    tree_of_entry = np.repeat(np.arange(trees.n_trees), np.diff(trees.entry_offsets))
    per_tree = np.bincount(tree_of_entry, weights=trees.file_bytes, minlength=trees.n_trees)
    assert np.array_equal(packages.package_file_bytes, per_tree[t].astype(np.int64))
