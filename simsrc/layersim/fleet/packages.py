"""Packages: per ecosystem a universe of packages with Zipf popularity and release histories.

The ecosystems are `system` plus those of the configured runtimes (python, node, jvm); each
has `packages.count` packages (id `ecosystem * count + rank`, rank 0 the most popular), each a
small file tree below the ecosystem's prefix that releases a new version in an epoch with
probability `1 / packages.release_every`. Which app installs which package is apps.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I64
from layersim.config import PackagesConfig
from layersim.fleet.draws import F64, zipf_cdf
from layersim.fleet.paths import PathTable
from layersim.fleet.presets import ECOSYSTEMS, RUNTIME_PRESETS
from layersim.fleet.trees import TreeBuilder
from layersim.model import EntryKind


@dataclass(frozen=True, eq=False)
class Packages:
    """The package universe: `ecosystems` (system first), the popularity `rank_cdf` of a
    package's rank, `version_at[package, epoch]` (the newest version at the end of that epoch),
    one prefix tree per ecosystem (its install directories) and one tree per package."""

    ecosystems: tuple[str, ...]
    count: int  # packages per ecosystem
    rank_cdf: F64
    version_at: I64
    prefix_tree: I64
    package_tree: I64


def ecosystems_of(runtime_names: tuple[str, ...]) -> tuple[str, ...]:
    """`system`, then the ecosystems of these runtimes, each once, in runtime order."""
    ecos = ["system"] + [
        RUNTIME_PRESETS[r].ecosystem
        for r in runtime_names
        if RUNTIME_PRESETS[r].ecosystem != "system"
    ]
    return tuple(dict.fromkeys(ecos))


def build_packages(
    config: PackagesConfig,
    runtime_names: tuple[str, ...],
    epochs: int,
    rng: np.random.Generator,
    paths: PathTable,
    trees: TreeBuilder,
) -> Packages:
    """Draw every package's releases, then its files (count, sizes, classes) into trees."""
    ecosystems = ecosystems_of(runtime_names)
    P = config.count
    n_eco = len(ecosystems)
    # releases: version_at[package, epoch]; package ids are eco * P + rank
    released = rng.random((n_eco * P, epochs)) < 1.0 / config.release_every
    released[:, 0] = False
    version_at = np.cumsum(released, axis=1, dtype=np.int64)
    versions = version_at[:, -1] + 1
    prefix_tree = trees.new(n_eco, 1, 0.0, False)
    package_tree = trees.new(n_eco * P, versions, config.rewrite_fraction, False)
    roots: list[I64] = []
    for e, eco in enumerate(ecosystems):
        chain = paths.chain(ECOSYSTEMS[eco].prefix)
        trees.dirs(int(prefix_tree[e]), chain)
        names = [f"{eco[0]}pkg{k}" for k in range(P)]
        roots.append(paths.add(np.full(P, chain[-1]), np.full(P, -1, np.int8), names))
    root = np.concatenate(roots)
    presets = [ECOSYSTEMS[e] for e in ecosystems]
    factor = np.repeat([p.files_factor for p in presets], P)
    mean = np.maximum(config.files_mean * factor, 1.0)
    n_files = 1 + rng.poisson(mean - 1.0)
    eco_of_file = np.repeat(np.repeat(np.arange(n_eco), P), n_files)
    n_total = int(n_files.sum())
    medians = np.array([p.file_bytes_median for p in presets]) * config.file_bytes_scale
    sigmas = np.array([p.file_bytes_sigma for p in presets])
    sizes = np.floor(
        medians[eco_of_file] * np.exp(sigmas[eco_of_file] * rng.standard_normal(n_total))
    ).astype(np.int64)
    u = rng.random(n_total)
    cdfs = np.array([np.cumsum(p.class_mix) / sum(p.class_mix) for p in presets])
    classes = np.minimum((u[:, None] >= cdfs[eco_of_file]).sum(axis=1), 2).astype(np.int8)
    dir_ids, dir_part, file_ids, _ = paths.subtree(root, n_files, classes)
    trees.entries(package_tree, root, EntryKind.DIR)
    trees.entries(package_tree[dir_part], dir_ids, EntryKind.DIR)
    file_tree = np.repeat(package_tree, n_files)
    trees.entries(file_tree, file_ids, EntryKind.FILE, sizes, classes)
    return Packages(
        ecosystems=ecosystems,
        count=P,
        rank_cdf=zipf_cdf(P, config.zipf_exponent),
        version_at=version_at,
        prefix_tree=prefix_tree,
        package_tree=package_tree,
    )
