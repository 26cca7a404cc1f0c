"""Every image the fleet builds, in build order, with its stack of layers.

Base versions are one layer; a runtime version is the newest base version at its build epoch
plus its layers; an app build is its parent's image at the build's parent version plus its own
layers. Images are numbered by (epoch, kind, owner, version): base, runtime and app builds of
an epoch in that order. Layers are numbered by first appearance in that order. Each image
belongs to a repository (a base family, a runtime or an app), the unit of retention.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I8, I64, csr_offsets
from layersim.accounting.sortops import first_occurrence, ranges
from layersim.config import RUNTIME_BASE
from layersim.fleet.apps import Apps, Builds
from layersim.fleet.groups import local_index
from layersim.fleet.layers import Layers
from layersim.fleet.parents import Bases, Runtimes, released_by_epoch
from layersim.fleet.presets import ImageKind


@dataclass(frozen=True, eq=False)
class Images:
    """Every image (CSR `offsets` into `layers`, layer ids), its kind, owner, version, build
    epoch and repository; `of_build` the image of every app build; `layer_instance` the
    instance (layers.py) every layer id is."""

    offsets: I64
    layers: I64
    kind: I8
    owner: I64
    version: I64
    epoch: I64
    repository: I64
    of_build: I64
    layer_instance: I64

    @property
    def count(self) -> int:
        return int(self.kind.size)


def image_repository(kind: I8, owner: I64, n_bases: int, n_runtimes: int) -> I64:
    """The repository of each image: base families, then runtimes, then apps."""
    return np.where(
        kind == ImageKind.BASE,
        owner,
        np.where(kind == ImageKind.RUNTIME, n_bases + owner, n_bases + n_runtimes + owner),
    )


def build_images(
    bases: Bases, runtimes: Runtimes, apps: Apps, builds: Builds, layers: Layers, epochs: int
) -> Images:
    """All images with their layers; ids ordered by (epoch, kind, owner, version)."""
    fixed, parent_offsets, parent_stacks = _parent_images(bases, runtimes, layers, epochs)
    f_kind, f_owner, f_version, f_epoch, f_layers = fixed
    pv_offsets = np.asarray(parent_offsets, np.int64)
    pl_counts = np.array([len(x) for x in parent_stacks], np.int64)
    pl_offsets = csr_offsets(pl_counts)
    pl_values = np.array([x for xs in parent_stacks for x in xs], np.int64)

    # app images: parent layers then own layers
    parent_image = pv_offsets[apps.parent[builds.app]] + builds.parent_version
    n_parent = pl_counts[parent_image]
    n_own = np.diff(layers.own_offsets)
    app_offsets = csr_offsets(n_parent + n_own)
    app_layers = np.empty(int(app_offsets[-1]), np.int64)
    app_layers[np.repeat(app_offsets[:-1], n_parent) + local_index(n_parent)] = pl_values[
        ranges(pl_offsets[parent_image], n_parent)
    ]
    app_layers[np.repeat(app_offsets[:-1] + n_parent, n_own) + local_index(n_own)] = (
        layers.own_layers
    )

    # all images, ordered
    n_fixed = len(f_layers)
    kind = np.concatenate([np.asarray(f_kind, np.int64), np.full(builds.count, ImageKind.APP)])
    owner = np.concatenate([np.asarray(f_owner, np.int64), builds.app])
    version = np.concatenate([np.asarray(f_version, np.int64), builds.version])
    epoch = np.concatenate([np.asarray(f_epoch, np.int64), builds.epoch])
    order = np.lexsort((version, owner, kind, epoch))
    fixed_counts = np.array([len(x) for x in f_layers], np.int64)
    counts = np.concatenate([fixed_counts, n_parent + n_own])
    offsets = csr_offsets(counts)
    values = np.concatenate([np.array([x for xs in f_layers for x in xs], np.int64), app_layers])
    values = layers.rep[values]
    sorted_counts = counts[order]
    image_inst = values[ranges(offsets[:-1][order], sorted_counts)]
    rank = np.empty(order.size, np.int64)
    rank[order] = np.arange(order.size)

    # layer ids: instances in order of first appearance
    first = first_occurrence(image_inst)
    layer_inst = image_inst[first]
    layer_of_inst = np.full(layers.rep.size, -1, np.int64)
    layer_of_inst[layer_inst] = np.arange(layer_inst.size)
    image_kind = kind[order].astype(np.int8)
    return Images(
        offsets=csr_offsets(sorted_counts),
        layers=layer_of_inst[image_inst],
        kind=image_kind,
        owner=owner[order],
        version=version[order],
        epoch=epoch[order],
        repository=image_repository(
            image_kind, owner[order], len(bases.names), len(runtimes.names)
        ),
        of_build=rank[n_fixed:],
        layer_instance=layer_inst,
    )


_Fixed = tuple[list[int], list[int], list[int], list[int], list[list[int]]]


def _parent_images(
    bases: Bases, runtimes: Runtimes, layers: Layers, epochs: int
) -> tuple[_Fixed, list[int], list[list[int]]]:
    """The base and runtime images (kind, owner, version, epoch and instances of each, bases
    first), and the stacks an app can build on: CSR offsets by parent (runtimes then bases) of
    the instance lists of every parent version."""
    img_kind: list[int] = []
    img_owner: list[int] = []
    img_version: list[int] = []
    img_epoch: list[int] = []
    layer_lists: list[list[int]] = []
    base_released = [released_by_epoch(rel, epochs) for rel in bases.release_epochs]
    for f, rel in enumerate(bases.release_epochs):
        for v, epoch in enumerate(rel):
            img_kind.append(ImageKind.BASE)
            img_owner.append(f)
            img_version.append(v)
            img_epoch.append(epoch)
            layer_lists.append([int(layers.rep[layers.base[f][v]])])
    parent_offsets = [0]
    parent_stacks: list[list[int]] = []
    for r, rel in enumerate(runtimes.release_epochs):
        f = bases.names.index(RUNTIME_BASE[runtimes.names[r]])
        for u, epoch in enumerate(rel):
            bv = int(base_released[f][epoch]) - 1
            stack = [int(layers.base[f][bv])] + [int(x) for x in layers.runtime[r][u]]
            img_kind.append(ImageKind.RUNTIME)
            img_owner.append(r)
            img_version.append(u)
            img_epoch.append(epoch)
            layer_lists.append(stack)
            parent_stacks.append(stack)
        parent_offsets.append(len(parent_stacks))
    for f, rel in enumerate(bases.release_epochs):
        parent_stacks.extend([[int(layers.base[f][v])] for v in range(len(rel))])
        parent_offsets.append(len(parent_stacks))
    fixed = (img_kind, img_owner, img_version, img_epoch, layer_lists)
    return fixed, parent_offsets, parent_stacks
