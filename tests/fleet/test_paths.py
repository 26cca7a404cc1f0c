"""Tests of `layersim.fleet.paths`: the path builder allocates once, lays files out 16 to a
directory, and `finish` renumbers in preorder with the right names."""

from __future__ import annotations

import numpy as np
import pytest

from layersim.fleet.paths import DIRS_PER_GROUP, FILES_PER_DIR, MAX_PATH_CHARS, PathTable
from layersim.fleet.presets import TEXT
from layersim.model.sizes import USTAR_NAME_BYTES


def _texts(n: int) -> np.ndarray:
    return np.full(n, TEXT, np.int8)


def test_chain_and_file_are_created_once():
    """`chain` shares its directories between paths and returns the same ids when asked again;
    `file` too."""
    table = PathTable()
    assert table.chain("usr/lib") == [0, 1]
    assert table.chain("etc") == [2]
    assert table.chain("usr/bin") == [0, 3]
    assert table.chain("usr/lib") == [0, 1]
    assert table.file(2, "hosts", TEXT) == 4
    assert table.file(2, "hosts", TEXT) == 4
    assert table.n == 5


def test_subtree_sixteen_files_to_a_directory():
    """20 files below one root: two leaf directories, the first holding 16 files."""
    table = PathTable()
    root = table.chain("usr/lib")[-1]
    dirs, dir_part, files, file_leaf = table.subtree(np.array([root]), np.array([20]), _texts(20))
    assert dirs.tolist() == [2, 3]
    assert dir_part.tolist() == [0, 0]
    assert files.tolist() == list(range(4, 24))
    assert file_leaf.tolist() == [2] * FILES_PER_DIR + [3] * 4


def test_subtree_groups_directories_above_sixteen_leaves():
    """300 files need 19 leaves: more than 16, so two group directories hold them (16 and 3),
    groups listed before leaves."""
    table = PathTable()
    root = table.chain("x")[-1]
    dirs, dir_part, files, _ = table.subtree(np.array([root]), np.array([300]), _texts(300))
    assert dirs.size == 2 + 19 and files.size == 300
    assert dir_part.tolist() == [0] * 21
    parents = np.concatenate(table.parents)
    assert parents[dirs[:2]].tolist() == [root, root]
    assert np.bincount(parents[dirs[2:]]).tolist()[1:] == [DIRS_PER_GROUP, 3]


def test_finish_renumbers_in_preorder_with_names():
    """Each subtree gets a contiguous id range, siblings in creation order (`usr/bin` after
    `usr/lib`'s subtree, `etc` after `usr`'s); names are full paths with `d<id>` directories
    and `f<id>.<ext>` files (builder ids); synthetic tables carry no names."""
    table = PathTable()
    lib = table.chain("usr/lib")[-1]
    etc = table.chain("etc")[-1]
    table.chain("usr/bin")
    table.file(etc, "hosts", TEXT)
    table.subtree(np.array([lib]), np.array([2]), _texts(2))
    paths = table.finish(want_names=True)
    assert paths.names == (
        "usr",
        "usr/lib",
        "usr/lib/d5",
        "usr/lib/d5/f6.txt",
        "usr/lib/d5/f7.txt",
        "usr/bin",
        "etc",
        "etc/hosts",
    )
    assert paths.parent.tolist() == [-1, 0, 1, 2, 2, 0, -1, 6]
    assert paths.new_id.tolist() == [0, 1, 6, 5, 7, 2, 3, 4]
    assert paths.renumber(np.array([2, 4])).tolist() == [6, 7]
    synthetic = table.finish(want_names=False)
    assert synthetic.names is None
    assert np.array_equal(synthetic.parent, paths.parent)


def test_finish_rejects_a_path_too_long_for_a_tar_header():
    """A path longer than `MAX_PATH_CHARS` (the USTAR name field less `.wh.`) fails `finish`."""
    assert MAX_PATH_CHARS == USTAR_NAME_BYTES - 4
    table = PathTable()
    table.chain("a" * (MAX_PATH_CHARS + 1))
    with pytest.raises(AssertionError, match="characters"):
        table.finish(want_names=True)
