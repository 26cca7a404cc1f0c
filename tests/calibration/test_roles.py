"""Tests of `layersim.calibration.roles`: which images are apps, how an app is cut into base,
runtime, dependency, waste and code layers, version pairs, churn, and content classes."""

from __future__ import annotations

from pathlib import Path

import pytest

from layersim.calibration.roles import (
    churn,
    churn_sum,
    content_class_of,
    cut_apps,
    distinct_layers,
    leaf_indices,
    role_files,
    stored_uncompressed,
    version_pairs,
)
from layersim.readers import read_images
from tests.calibration.image_sets import APPS, FETCH_BYTES, build_runtime_set


def test_leaves_and_cut_of_the_hand_made_set(fitted) -> None:
    """base:1 is the apps' parent; every app sits on it alone (its dependency layer is its
    own), with dependency layer 1 and two code layers; gamma's archive layer (position 2) is
    waste, shadowed for all its 60,000 file bytes by the whiteout in its first code layer."""
    images, _ = fitted
    leaves = leaf_indices(images)
    assert [images[i].name for i in leaves] == [f"{app}:{v}" for app in APPS for v in (1, 2, 3)]
    apps = cut_apps(images, leaves)
    cuts = {a.image.name: (a.parent_length, a.deps, a.waste, a.code) for a in apps}
    for app in ("alpha", "beta"):
        for v in (1, 2, 3):
            assert cuts[f"{app}:{v}"] == (1, (1,), (), (2, 3))
    for v in (1, 2, 3):
        assert cuts[f"gamma:{v}"] == (1, (1,), (2,), (3, 4))
    gamma = apps[-1]
    assert gamma.shadowed[2] == FETCH_BYTES
    assert not gamma.on_runtime and gamma.runtime == []
    assert gamma.base.diff_id == images[0].layers[0].diff_id
    assert "tmp/f.tar.gz" not in gamma.visible and "app/one/s0.py" in gamma.visible


def test_apps_on_a_runtime_are_cut_above_it(tmp_path: Path) -> None:
    """An app whose lower layers are a parent image's (the runtime image rt:1: base + three
    layers) has those four as its parent part, the layer above as its dependency layer and the
    last as its code layer (two own layers: one of each); an app on the base alone has a
    parent part of one layer."""
    images = read_images(build_runtime_set(tmp_path))
    leaves = leaf_indices(images)
    assert images[0].name == "rt:1" and 0 not in leaves
    apps = cut_apps(images, leaves)
    cuts = {a.image.name: (a.parent_length, a.deps, a.code, a.on_runtime) for a in apps}
    for app in ("alpha", "beta", "delta"):
        assert cuts[f"{app}:1"] == (4, (4,), (5,), True)
    assert cuts["gamma:2"] == (1, (1,), (2,), False)
    alpha = apps[0]
    assert alpha.parent_chain == images[0].chain_ids[-1]
    assert [x.diff_id for x in alpha.runtime] == [x.diff_id for x in images[0].layers[1:]]


def test_version_pairs_follow_each_repository_in_order() -> None:
    """Successive positions of the same repository pair up, repositories in order of first
    appearance."""
    assert version_pairs(["a", "b", "a", "c", "b", "a"]) == [(0, 2), (2, 5), (1, 4)]
    assert version_pairs(["a"]) == []


def test_churn_counts_changed_files_at_common_paths() -> None:
    """Only paths both versions have count; of those, the ones with other contents changed."""
    before = {"a": "1", "b": "2", "c": "3"}
    after = {"a": "1", "b": "9", "d": "4"}
    assert churn(before, after) == (1, 2)
    assert churn_sum([(before, after), (after, after)]) == (1, 5)


def test_role_files_distinct_layers_and_storage(fitted) -> None:
    """A role's files are its layers' regular files, a later layer's winning; distinct layers
    are by DiffID in first-seen order; OCI layouts store gzip blobs (not the plain tar)."""
    images, _ = fitted
    alpha = images[1]  # alpha:1: base, deps, code one, code two
    files = role_files(alpha.layers[2:])
    assert sorted(files) == [f"app/{b}/s{i}.py" for b in ("one", "two") for i in range(6)]
    layers = distinct_layers([*alpha.layers, *images[2].layers])
    assert [x.diff_id for x in layers[:4]] == [x.diff_id for x in alpha.layers]
    assert len(layers) == 6  # alpha:2 shares base and deps, has two code layers of its own
    assert not any(stored_uncompressed(x) for x in layers)


@pytest.mark.parametrize(
    ("path", "expected"),
    [
        ("usr/lib/python3/x.py", "text"),
        ("app/lib/dep.jar", "archive"),
        ("usr/bin/busybox", "binary"),
        ("etc/passwd", "text"),
        ("usr/share/doc/pkg/copyright", "text"),
        ("srv/Photo.JPG", "archive"),
    ],
)
def test_content_classes_by_name(path: str, expected: str) -> None:
    """A path's class by suffix (case-insensitive), documentation and /etc as text."""
    assert content_class_of(path) == expected
