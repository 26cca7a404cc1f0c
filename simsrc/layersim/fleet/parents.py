"""The parent images apps build on: base families and runtimes, with their release schedules.

- **Base families** (alpine-, debian-, ubuntu-like; sizes from ANCHORS "Real images", scaled by
  `bases.bytes_scale`, compressibility overridable by `bases.compression_ratio`): one layer
  per version. Version 0 at epoch 0, then a patch release every `bases.release_every` epochs
  (random phase per family). Each release rewrites `bases.rewrite_fraction` of the files (new
  contents, same paths and sizes) and is a new tar: a new DiffID, mostly the same file contents.
- **Runtimes** (python-, node-, jvm-like; layer sizes from the python:3.12 / node:24 rows): the
  newest base version at build time plus several layers, rebuilt every `runtimes.rebuild_every`
  epochs (own phase: not in lockstep with the base), each layer a new tar with a share of its
  files rewritten.

Each stage draws its families' schedules, then their file trees (sized to the presets), into
the path table and tree builder it is given. Images of these versions are images.py's.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I64
from layersim.config import BasesConfig, RuntimesConfig
from layersim.fleet.draws import classes_by_bytes, release_epochs
from layersim.fleet.paths import PathTable
from layersim.fleet.presets import (
    BASE_FILE_SIGMA,
    BASE_PRESETS,
    RUNTIME_FILE_SIGMA,
    RUNTIME_PRESETS,
    class_mix_for_ratio,
)
from layersim.fleet.trees import TreeBuilder
from layersim.model import EntryKind


@dataclass(frozen=True, eq=False)
class Bases:
    """Base families: per family its name, the epochs of its releases (version v released at
    `release_epochs[f][v]`) and its one tree (one version per release)."""

    names: tuple[str, ...]
    release_epochs: tuple[tuple[int, ...], ...]
    tree: I64


@dataclass(frozen=True, eq=False)
class Runtimes:
    """Runtimes: per runtime its name, release epochs and the trees of its layers (one
    version per release each)."""

    names: tuple[str, ...]
    release_epochs: tuple[tuple[int, ...], ...]
    trees: tuple[I64, ...]


def released_by_epoch(release_epochs: Sequence[int], epochs: int) -> I64:
    """Versions released by the end of each epoch (so the newest is this minus one)."""
    counts = np.zeros(epochs, dtype=np.int64)
    np.add.at(counts, np.asarray(release_epochs, dtype=np.int64), 1)
    return np.cumsum(counts)


def parent_names(runtimes: Runtimes, bases: Bases) -> tuple[str, ...]:
    """The parents an app may have, runtimes then bases: an app's parent indexes this."""
    return runtimes.names + bases.names


def parent_released(runtimes: Runtimes, bases: Bases, epochs: int) -> I64:
    """`released_by_epoch` of every parent (rows in `parent_names` order) by epoch."""
    return np.stack(
        [released_by_epoch(e, epochs) for e in runtimes.release_epochs]
        + [released_by_epoch(e, epochs) for e in bases.release_epochs]
    )


def build_bases(
    config: BasesConfig,
    epochs: int,
    rng: np.random.Generator,
    paths: PathTable,
    trees: TreeBuilder,
) -> Bases:
    """Draw the base families' release schedules, then each family's tree."""
    releases = tuple(release_epochs(rng, config.release_every, epochs) for _ in config.families)
    tree = np.zeros(len(config.families), dtype=np.int64)
    for f, name in enumerate(config.families):
        preset = BASE_PRESETS[name]
        n_files = max(1, round(preset.files * config.file_scale))
        tree[f] = int(trees.new(1, len(releases[f]), config.rewrite_fraction, True)[0])
        ratio = config.compression_ratio or preset.file_bytes / preset.compressed_bytes
        file_bytes = max(1, round(preset.file_bytes * config.bytes_scale))
        mix = class_mix_for_ratio(ratio)
        calibrated_tree(
            rng, paths, trees, int(tree[f]), preset.roots, n_files, file_bytes, mix, BASE_FILE_SIGMA
        )
    return Bases(tuple(config.families), releases, tree)


def build_runtimes(
    config: RuntimesConfig,
    epochs: int,
    rng: np.random.Generator,
    paths: PathTable,
    trees: TreeBuilder,
) -> Runtimes:
    """Draw the runtimes' rebuild schedules, then the trees of each runtime's layers."""
    releases = tuple(release_epochs(rng, config.rebuild_every, epochs) for _ in config.families)
    runtime_trees: list[I64] = []
    for r, name in enumerate(config.families):
        preset = RUNTIME_PRESETS[name]
        n_layers = len(preset.layer_compressed_bytes)
        layer_trees = trees.new(n_layers, len(releases[r]), config.rewrite_fraction, True)
        runtime_trees.append(layer_trees)
        mix = class_mix_for_ratio(config.compression_ratio or preset.ratio)
        for i in range(n_layers):
            n_files = max(1, round(preset.layer_files[i] * config.file_scale))
            file_bytes = max(
                1, round(preset.layer_compressed_bytes[i] * preset.ratio * config.bytes_scale)
            )
            root = [(f"{preset.root}{i}", 1.0)]
            tree = int(layer_trees[i])
            calibrated_tree(
                rng, paths, trees, tree, root, n_files, file_bytes, mix, RUNTIME_FILE_SIGMA
            )
    return Runtimes(tuple(config.families), releases, tuple(runtime_trees))


def calibrated_tree(
    rng: np.random.Generator,
    paths: PathTable,
    trees: TreeBuilder,
    tree: int,
    roots: Sequence[tuple[str, float]],
    n_files: int,
    file_bytes: int,
    mix: Sequence[float],
    sigma: float,
) -> None:
    """Fill `tree` with `n_files` files summing to `file_bytes`, spread over `roots` by weight,
    sizes log-normal with spread `sigma`, classes along the files so that bytes follow `mix`."""
    weights = np.array([w for _, w in roots], dtype=np.float64)
    per_root = np.floor(weights / weights.sum() * n_files).astype(np.int64)
    per_root[np.argmax(weights)] += n_files - int(per_root.sum())
    dirs: list[int] = []
    root_ids = []
    for root, _ in roots:
        chain = paths.chain(root)
        dirs.extend(d for d in chain if d not in dirs)
        root_ids.append(chain[-1])
    raw = np.exp(sigma * rng.standard_normal(n_files))
    sizes = np.floor(raw * (file_bytes / raw.sum())).astype(np.int64)
    classes = classes_by_bytes(sizes, mix)
    dir_ids, _, file_ids, _ = paths.subtree(np.asarray(root_ids, np.int64), per_root, classes)
    trees.dirs(tree, dirs)
    trees.entries(np.int64(tree), dir_ids, EntryKind.DIR)
    trees.entries(np.int64(tree), file_ids, EntryKind.FILE, sizes, classes)
