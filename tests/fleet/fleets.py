"""Shared fleets for the fleet tests: a `small`-scenario fleet small enough for the reference."""

from __future__ import annotations

import dataclasses

import numpy as np

from layersim.accounting.arrays import ChunkArrays
from layersim.config import load_config
from layersim.fleet import Fleet, generate
from layersim.fleet.presets import BINARY, TEXT
from layersim.fleet.trees import TreeBuilder, TreeTable
from layersim.model import EntryKind

# A fleet small enough for the pure-Python reference: the `small` scenario with few files.
TINY = [
    "time.epochs=6",
    "bases.file_scale=0.05",
    "bases.release_every=2",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "packages.release_every=3.0",
    "apps.count=8",
    "apps.code_files=5.0",
    "apps.packages_per_layer=3.0",
    "apps.waste_probability=0.5",
    "apps.reproducible_probability=0.5",
    "nodes.count=3",
]


def tiny_fleet(*overrides: str, seed: int = 42) -> Fleet:
    """The TINY fleet with `overrides` applied, generated with `seed`."""
    config = load_config(scenario="small", overrides=[*TINY, *overrides, f"seed={seed}"])
    return generate(config, np.random.default_rng(config.seed))


def arrays_equal(a, b) -> bool:
    """Whether two `PopulationArrays` hold the same arrays (dtype too) and values (the chunk
    tables' arrays too)."""
    for f in dataclasses.fields(a):
        x, y = getattr(a, f.name), getattr(b, f.name)
        if isinstance(x, ChunkArrays) or isinstance(y, ChunkArrays):
            if x is None or y is None or not arrays_equal(x, y):
                return False
        elif isinstance(x, np.ndarray):
            if x.dtype != y.dtype or not np.array_equal(x, y):
                return False
        elif f.name != "cache" and x != y:
            return False
    return True


def two_trees() -> TreeTable:
    """Tree 0 (two versions, forced change): a directory and two files, one of 1000 text
    bytes, one empty; tree 1 (one version): a whiteout. Paths renumbered by [0, 3, 2, 1]."""
    builder = TreeBuilder()
    assert builder.new(1, 2, 0.0, True).tolist() == [0]
    assert builder.new(1, 1, 0.0, False).tolist() == [1]
    builder.entries(
        np.array([0, 0]),
        np.array([2, 1]),
        EntryKind.FILE,
        np.array([1000, 0]),
        np.array([TEXT, BINARY], np.int8),
    )
    builder.dirs(0, [0])
    builder.entries(np.int64(1), np.array([3]), EntryKind.WHITEOUT)
    return builder.finish(np.array([0, 3, 2, 1]))
