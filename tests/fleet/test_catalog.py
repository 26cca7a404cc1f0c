"""Tests of `layersim.fleet.catalog`: names of apps, nodes, images and layers."""

from __future__ import annotations

import dataclasses

import numpy as np

from layersim.fleet.catalog import app_name, node_name
from layersim.fleet.presets import ImageKind, LayerKind


def test_app_and_node_names_exact():
    """Ids zero-padded to five digits, apps in the `apps/` namespace."""
    assert app_name(7) == "apps/app00007"
    assert node_name(12) == "node00012"


def test_image_names_follow_kind_owner_version(tiny):
    """Base and runtime images are `family:v<version>`, app images `apps/app<id>:b<build>`."""
    names = tiny.arrays.image_names
    for i, name in enumerate(names):
        kind, owner, version = (
            int(tiny.image_kind[i]),
            int(tiny.image_owner[i]),
            int(tiny.image_version[i]),
        )
        if kind == ImageKind.BASE:
            assert name == f"{tiny.base_families[owner]}:v{version}"
        elif kind == ImageKind.RUNTIME:
            assert name == f"{tiny.runtime_families[owner]}:v{version}"
        else:
            assert name == f"{app_name(owner)}:b{version}"


def test_layer_description_with_and_without_labels(tiny):
    """With labels stored a layer is described by its label (a code layer's is
    `apps/app<id>:b<build>/code`); without, by kind, owner and version."""
    code = int(np.flatnonzero(tiny.layer_kind == LayerKind.CODE)[0])
    base = int(np.flatnonzero(tiny.layer_kind == LayerKind.BASE)[0])
    owner, version = int(tiny.layer_owner[code]), int(tiny.layer_version[code])
    assert tiny.layer_description(code) == f"{app_name(owner)}:b{version}/code"
    unlabelled = dataclasses.replace(
        tiny, arrays=dataclasses.replace(tiny.arrays, layer_labels=None)
    )
    assert unlabelled.layer_description(code) == f"{app_name(owner)}:b{version}/code"
    family = tiny.base_families[int(tiny.layer_owner[base])]
    assert unlabelled.layer_description(base) == f"{family}:v{int(tiny.layer_version[base])}"
    assert tiny.layer_description(base) == unlabelled.layer_description(base)
