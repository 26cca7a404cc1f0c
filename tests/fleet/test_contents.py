"""Tests of `layersim.fleet.contents`: which file versions are new contents, and their ids."""

from __future__ import annotations

import numpy as np

from layersim.fleet.code import SharedFiles
from layersim.fleet.contents import (
    birth_positions,
    compact_contents,
    draw_contents,
    share_templates,
)
from layersim.fleet.presets import TEXT
from layersim.fleet.trees import TreeBuilder
from layersim.model import EntryKind
from tests.fleet.fleets import two_trees


def test_birth_positions_force_one_change_per_version():
    """Tree 0 has two files and two versions and never changes a file by chance, but forces
    one per version: with seed 0 the second file is rewritten in version 1 (positions are
    file-major: file 0 v0, v1, file 1 v0, v1); with seed 1 the first one is."""
    offsets, birth = birth_positions(two_trees(), np.random.default_rng(0))
    assert offsets.tolist() == [0, 4, 4]
    assert birth.tolist() == [0, 0, 2, 3]
    _, birth = birth_positions(two_trees(), np.random.default_rng(1))
    assert birth.tolist() == [0, 1, 2, 2]


def test_compact_contents_numbers_only_used_contents():
    """With only version 1 of tree 0 used (seed 0), its two files' contents get ids 0 and 1
    in birth order: file 0 kept its version-0 content, file 1 has a new one; positions no
    layer uses get -1."""
    trees = two_trees()
    offsets, birth = birth_positions(trees, np.random.default_rng(0))
    contents = compact_contents(trees, offsets, birth, np.array([0]), np.array([1]))
    assert contents.content.tolist() == [-1, 0, -1, 1]
    assert contents.content_file_bytes.tolist() == [1000, 0]
    assert contents.content_compressed_bytes.tolist() == [250, 0]
    assert contents.content_class.tolist() == [0, 1]


def test_draw_contents_both_versions():
    """Both versions used (seed 0): file 0 has one content for both versions, file 1 two."""
    contents = draw_contents(
        two_trees(), np.array([0, 0]), np.array([0, 1]), np.random.default_rng(0)
    )
    assert contents.content.tolist() == [0, 0, 1, 2]
    assert contents.content_file_bytes.tolist() == [1000, 0, 0]


def test_share_templates_by_hand():
    """Two trees of one file each (two versions, no change drawn): tree 0's file and tree 1's
    file copy template 7, so every version of both has the content born at tree 0's version
    0 (position 0); without sharing, tree 1's file has its own (position 2). Used at version
    1 only, both trees' file is the one content of id 0."""
    builder = TreeBuilder()
    builder.new(2, 2, 0.0, False)
    builder.entries(np.array([0, 1]), np.array([0, 1]), EntryKind.FILE, 100, TEXT)
    trees = builder.finish(np.array([0, 1]))
    offsets, birth = birth_positions(trees, np.random.default_rng(0))
    assert birth.tolist() == [0, 0, 2, 2]
    shared = SharedFiles(tree=np.array([0, 1]), file=np.array([0, 0]), key=np.array([7, 7]))
    assert share_templates(trees, offsets, birth, shared).tolist() == [0, 0, 0, 0]
    one = SharedFiles(tree=np.array([1]), file=np.array([0]), key=np.array([0]))
    assert share_templates(trees, offsets, birth, one).tolist() == [0, 0, 2, 2]
    contents = draw_contents(
        trees, np.array([0, 1]), np.array([1, 1]), np.random.default_rng(0), shared
    )
    assert contents.content.tolist() == [-1, 0, -1, 0]  # version 0 unused: no id
    assert contents.content_file_bytes.tolist() == [100]
