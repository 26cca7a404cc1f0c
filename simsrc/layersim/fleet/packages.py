"""Packages: per ecosystem a universe of packages with Zipf popularity and release histories.

The ecosystems are `system` plus those of the configured runtimes (python, node, jvm); each
has `packages.count` packages (id `ecosystem * count + rank`, rank 0 the most popular), each a
small file tree below the ecosystem's prefix that releases a new version in an epoch with
probability `1 / packages.release_every`, and depends on `packages.dependencies_mean` others
(Poisson) of its ecosystem, drawn by Zipf popularity from the `packages.core` most popular
ones. Which app installs which package (and the closure of its dependencies) is apps.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I64, csr_offsets
from layersim.accounting.sortops import first_occurrence, stable_order
from layersim.config import PackagesConfig
from layersim.fleet.draws import F64, draw_ranks, zipf_cdf
from layersim.fleet.paths import PathTable
from layersim.fleet.presets import ECOSYSTEMS, RUNTIME_PRESETS
from layersim.fleet.trees import TreeBuilder
from layersim.model import EntryKind


@dataclass(frozen=True, eq=False)
class Packages:
    """The package universe: `ecosystems` (system first), the popularity `rank_cdf` of a
    package's rank, `version_at[package, epoch]` (the newest version at the end of that epoch),
    one prefix tree per ecosystem (its install directories), one tree per package, and each
    package's dependencies (CSR `dep_offsets` by package id into `dep_package`, package ids of
    the same ecosystem, none the package itself); per package its files and their bytes."""

    ecosystems: tuple[str, ...]
    count: int  # packages per ecosystem
    rank_cdf: F64
    version_at: I64
    prefix_tree: I64
    package_tree: I64
    dep_offsets: I64
    dep_package: I64
    package_files: I64
    package_file_bytes: I64


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
    dep_offsets, dep_package = _package_dependencies(config, n_eco, rng)
    return Packages(
        ecosystems=ecosystems,
        count=P,
        rank_cdf=zipf_cdf(P, config.zipf_exponent),
        version_at=version_at,
        prefix_tree=prefix_tree,
        package_tree=package_tree,
        dep_offsets=dep_offsets,
        dep_package=dep_package,
        package_files=n_files.astype(np.int64),
        package_file_bytes=np.bincount(
            np.repeat(np.arange(n_eco * P), n_files), weights=sizes, minlength=n_eco * P
        ).astype(np.int64),
    )


def _package_dependencies(
    config: PackagesConfig, n_eco: int, rng: np.random.Generator
) -> tuple[I64, I64]:
    """Each package's direct dependencies: Poisson(`dependencies_mean`) ranks drawn by Zipf
    popularity among the ecosystem's `core` most popular packages, each once, never the
    package itself (a drawn repeat or self is dropped). Returns (CSR offsets by package id,
    dependency package ids)."""
    P = config.count
    n = n_eco * P
    core = min(config.core, P)
    drawn = rng.poisson(config.dependencies_mean, n).astype(np.int64)
    owner = np.repeat(np.arange(n, dtype=np.int64), drawn)
    rank = draw_ranks(rng, zipf_cdf(core, config.zipf_exponent), owner.size)
    dep = owner // P * P + rank
    key = owner * P + rank
    keep = first_occurrence(key) & (dep != owner)
    owner, dep = owner[keep], dep[keep]
    order = stable_order(owner * P + dep % P)
    return csr_offsets(np.bincount(owner, minlength=n)), dep[order]
