"""The generated fleet as a value: the `Fleet` result, its arrays, and what things are called.

`Fleet` is what `generate` returns and what `simulate` and the reports read: the population
arrays of every image ever built plus the time plan. This module also names things (images
`debian:v3`, `apps/app00007:b2`, layers `python:v1/layer2`, `apps/app00007:b2/deps-python`)
and assembles the stage results into `PopulationArrays`. It draws nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I8, I64, Bool, PopulationArrays
from layersim.config import ExperimentConfig
from layersim.fleet.code import AppTrees
from layersim.fleet.contents import Contents
from layersim.fleet.entries import LayerEntries
from layersim.fleet.images import Images
from layersim.fleet.layers import Layers
from layersim.fleet.packages import Packages
from layersim.fleet.parents import Bases, Runtimes
from layersim.fleet.paths import NAMED_LIMIT, Paths
from layersim.fleet.placement import Placement
from layersim.fleet.presets import CLASS_NAMES, ImageKind, LayerKind
from layersim.model import StorageDriver, StorageOptions
from layersim.model.sizes import CompressionModel


@dataclass(frozen=True, eq=False)
class Fleet:
    """Every image a fleet builds over `epochs`, as arrays, and the time plan.

    `arrays` holds all images (id order = build order: by epoch, then bases, runtimes, apps),
    `push_order` = every image in build order, each node's `node_images` = every image it ever
    pulled in pull order, and every container that ever ran. The per-image `*_gc_epoch` say at
    the end of which epoch the registry (resp. a node) drops the image (`epochs`: never within
    the horizon); `simulate` derives every epoch's state from them.
    """

    config: ExperimentConfig
    arrays: PopulationArrays
    epochs: int
    base_families: tuple[str, ...]
    runtime_families: tuple[str, ...]
    parent_names: tuple[str, ...]  # runtimes then bases: `app_parent` indexes this
    # per image
    image_kind: I8
    image_owner: I64  # base family index, runtime family index, or app id
    image_version: I64  # version within its repository (0 = first)
    image_epoch: I64
    image_registry_gc_epoch: I64
    image_node_gc_epoch: I64
    # per layer
    layer_kind: I8
    layer_owner: I64
    layer_version: I64
    # per content
    content_class: I8
    # per app
    app_parent: I64
    app_lag: I64
    app_reproducible: Bool
    app_waste: Bool
    app_replicas: I64  # 0: not deployed
    # per container (parallel to arrays.container_*)
    container_start_epoch: I64
    container_stop_epoch: I64  # epochs: still running at the end
    container_remove_epoch: I64  # epochs: never removed within the horizon

    @property
    def n_apps(self) -> int:
        return int(self.app_parent.size)

    def layer_description(self, layer: int) -> str:
        """A readable name for a layer (its label if stored, else kind, owner and version)."""
        if self.arrays.layer_labels is not None:
            return self.arrays.layer_labels[layer]
        kind = LayerKind(int(self.layer_kind[layer]))
        owner, version = int(self.layer_owner[layer]), int(self.layer_version[layer])
        if kind is LayerKind.BASE:
            return f"{self.base_families[owner]}:v{version}"
        if kind is LayerKind.RUNTIME:
            return f"{self.runtime_families[owner]}:v{version} layer"
        return f"{app_name(owner)}:b{version}/{kind.name.lower()}"


def app_name(app: int) -> str:
    """The repository name of an app."""
    return f"apps/app{app:05d}"


def node_name(node: int) -> str:
    """The name of a node."""
    return f"node{node:05d}"


def image_names(images: Images, bases: Bases, runtimes: Runtimes) -> tuple[str, ...]:
    """`family:v<version>` for base and runtime images, `apps/app<id>:b<build>` for apps."""
    names = []
    for kind, owner, version in zip(
        images.kind.tolist(), images.owner.tolist(), images.version.tolist(), strict=True
    ):
        if kind == ImageKind.BASE:
            names.append(f"{bases.names[owner]}:v{version}")
        elif kind == ImageKind.RUNTIME:
            names.append(f"{runtimes.names[owner]}:v{version}")
        else:
            names.append(f"{app_name(owner)}:b{version}")
    return tuple(names)


def layer_labels(
    layers: Layers,
    images: Images,
    bases: Bases,
    runtimes: Runtimes,
    packages: Packages,
    app_trees: AppTrees,
    code_layers: int,
) -> tuple[str, ...] | None:
    """A label per layer id (None above `NAMED_LIMIT` layers): the image that made it and,
    for a layer of several, which one (`layer2`, `deps-python`, `fetch`, `code`/`code2`)."""
    if images.layer_instance.size > NAMED_LIMIT:
        return None
    tree_label: dict[int, str] = {}
    for trees in runtimes.trees:
        for i, tree in enumerate(trees.tolist()):
            tree_label[tree] = f"layer{i}"
    for e, tree in enumerate(packages.prefix_tree.tolist()):
        tree_label[tree] = f"deps-{packages.ecosystems[e]}"
    if code_layers > 1:  # code1, code2, ...; a single code layer keeps the label `code`
        for i, tree in enumerate(app_trees.code_tree.tolist()):
            tree_label[tree] = f"code{i % code_layers + 1}"
    inst = images.layer_instance
    first_tree = layers.seg_tree[layers.seg_offsets[:-1][inst]].tolist()
    labels = []
    for kind, owner, version, tree in zip(
        layers.kind[inst].tolist(),
        layers.owner[inst].tolist(),
        layers.version[inst].tolist(),
        first_tree,
        strict=True,
    ):
        if kind == LayerKind.BASE:
            labels.append(f"{bases.names[owner]}:v{version}")
        elif kind == LayerKind.RUNTIME:
            labels.append(f"{runtimes.names[owner]}:v{version}/{tree_label[tree]}")
        elif kind == LayerKind.DEPS:
            labels.append(f"{app_name(owner)}:b{version}/{tree_label[tree]}")
        elif kind == LayerKind.WASTE:
            labels.append(f"{app_name(owner)}:b{version}/fetch")
        else:
            labels.append(f"{app_name(owner)}:b{version}/{tree_label.get(tree, 'code')}")
    return tuple(labels)


def population_arrays(
    config: ExperimentConfig,
    paths: Paths,
    contents: Contents,
    entries: LayerEntries,
    images: Images,
    placement: Placement,
    names: tuple[str, ...],
    labels: tuple[str, ...] | None,
) -> PopulationArrays:
    """The stage results as one `PopulationArrays`: one blob per layer, images pushed in build
    order; content classes stored up to `NAMED_LIMIT` contents."""
    n_layers = images.layer_instance.size
    overhead = CompressionModel().blob_overhead_bytes()
    classes = contents.content_class
    return PopulationArrays(
        path_parent=paths.parent,
        content_file_bytes=contents.content_file_bytes,
        content_compressed_bytes=contents.content_compressed_bytes,
        layer_offsets=entries.layer_offsets,
        entry_path=entries.entry_path,
        entry_kind=entries.entry_kind,
        entry_content=entries.entry_content,
        entry_file_bytes=entries.entry_file_bytes,
        entry_tar_bytes=entries.entry_tar_bytes,
        entry_compressed_bytes=entries.entry_compressed_bytes,
        layer_blob=np.arange(n_layers, dtype=np.int64),
        layer_tar_bytes=entries.layer_tar_bytes,
        layer_compressed_bytes=entries.layer_compressed_bytes,
        image_offsets=images.offsets,
        image_layers=images.layers,
        image_repository=images.repository,
        image_names=names,
        push_order=np.arange(images.count, dtype=np.int64),
        node_names=tuple(node_name(n) for n in range(config.nodes.count)),
        node_offsets=placement.node_offsets,
        node_images=placement.node_images,
        container_names=placement.container_names,
        container_node=placement.container_node,
        container_image=placement.container_image,
        container_running=placement.container_running,
        write_offsets=placement.write_offsets,
        write_file_bytes=placement.write_file_bytes,
        modify_offsets=placement.modify_offsets,
        modify_path=placement.modify_path,
        modify_changed_bytes=placement.modify_changed_bytes,
        delete_offsets=placement.delete_offsets,
        delete_path=np.zeros(0, np.int64),
        options=StorageOptions(
            block_bytes=config.storage.block_bytes,
            driver=StorageDriver(config.storage.driver),
            keep_compressed_blobs=config.storage.keep_compressed_blobs,
        ),
        blob_overhead_bytes=overhead,
        path_names=paths.names,
        layer_labels=labels,
        content_classes=tuple(CLASS_NAMES[c] for c in classes.tolist())
        if classes.size <= NAMED_LIMIT
        else None,
    )
