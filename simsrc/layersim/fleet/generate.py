"""The discrete fleet model (docs/design.md §8): generate every image a fleet builds over time.

`generate(config, rng)` returns a `Fleet`: the `PopulationArrays` of every image ever built in
the simulated horizon (base releases, runtime rebuilds, app builds), every node's pulls and
every container, plus the time plan `simulate` replays (when each image is built, when the
registry and the nodes drop it, when each container starts, stops and is removed).

It runs the stages in order, each a function of what it needs returning a frozen result; the
model is described where it is drawn:

1. parents.py: base families and runtimes (release schedules, calibrated file trees);
2. packages.py: the package universe of each ecosystem;
3. apps.py: apps (parent, lag, cadence, flags), their builds, dependency slots, replicas;
4. code.py: the apps' code trees and the add-then-delete archive;
5. paths.py / trees.py: the path table and the tree table, frozen;
6. layers.py: the layers each build makes (reproducible builds reuse them);
7. images.py: every image's stack, images and layers numbered in build order;
8. retention.py: when the registry and the nodes drop each image;
9. contents.py / lineage.py / entries.py: file contents, their chunks (from a child generator
   spawned from the run's, so that no other draw moves), and every layer's entries;
10. placement.py: replicas on nodes, pulls, containers and their writable layers, then
    retention.py again: when each container is removed;
11. catalog.py: names, labels and the `Fleet`.

Everything is vectorized over layers and entries (numpy, no Python object per entry; loops only
over families, epochs and chunks). One `numpy.random.Generator` is passed in; the stages draw in
the order above (stages 5, 7, 8 and 11 draw nothing), so the same config and seed give
identical arrays.
"""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from layersim.accounting.arrays import ChunkArrays
from layersim.config import ExperimentConfig
from layersim.fleet.apps import draw_apps, draw_dependencies, draw_replicas, plan_builds
from layersim.fleet.catalog import Fleet, image_names, layer_labels, population_arrays
from layersim.fleet.code import build_app_trees
from layersim.fleet.contents import Contents, draw_contents
from layersim.fleet.entries import layer_entries
from layersim.fleet.images import build_images
from layersim.fleet.layers import build_layers
from layersim.fleet.lineage import EditModel, lineage_chunks
from layersim.fleet.packages import build_packages
from layersim.fleet.parents import build_bases, build_runtimes, parent_names, parent_released
from layersim.fleet.paths import PathTable
from layersim.fleet.placement import place
from layersim.fleet.presets import ImageKind
from layersim.fleet.retention import container_remove_epochs, gc_epochs, node_gc_epochs
from layersim.fleet.trees import TreeBuilder, TreeTable
from layersim.model.chunks import ChunkSizes
from layersim.progress import Progress


def _silent(stage: str, fraction: float) -> None:
    """A progress callback that reports nothing."""


def chunk_sizes(config: ExperimentConfig) -> ChunkSizes:
    """The chunkers' sizes of `config.chunks` (checked by the config already)."""
    c = config.chunks
    return ChunkSizes(c.cdc_min_bytes, c.cdc_avg_bytes, c.cdc_max_bytes, c.fixed_bytes)


def content_chunks(
    config: ExperimentConfig, trees: TreeTable, contents: Contents, rng: np.random.Generator
) -> tuple[ChunkArrays, ChunkArrays]:
    """The contents' chunks by lineage (`lineage.py`), drawn from a child of `rng` spawned
    here: the lineage draws nothing from `rng` itself, so every other draw of the fleet (and
    every figure that does not involve chunks) is the same as without it."""
    (child,) = rng.spawn(1)
    model = EditModel(config.chunks.edit_fraction, config.chunks.insert_probability)
    return lineage_chunks(contents, trees.versions, chunk_sizes(config), model, child)


def generate(
    config: ExperimentConfig,
    rng: np.random.Generator,
    progress: Progress | None = None,
) -> Fleet:
    """Generate the fleet of `config` with `rng` (the run's only source of randomness)."""
    report = progress or _silent
    epochs = config.time.epochs
    report("generate: plan", 0.0)
    # the tree-drawing stages append to these two, in this order (path and tree ids follow it)
    path_table, tree_builder = PathTable(), TreeBuilder()
    bases = build_bases(config.bases, epochs, rng, path_table, tree_builder)
    runtimes = build_runtimes(config.runtimes, epochs, rng, path_table, tree_builder)
    packages = build_packages(
        config.packages, runtimes.names, epochs, rng, path_table, tree_builder
    )
    parents = parent_names(runtimes, bases)
    apps = draw_apps(config.apps, len(parents), epochs, rng)
    builds = plan_builds(apps, parent_released(runtimes, bases, epochs))
    deps = draw_dependencies(config.apps, apps, builds, packages, runtimes.names, rng)
    replicas = draw_replicas(config.apps, rng)
    app_trees = build_app_trees(config.apps, apps, deps, packages, rng, path_table, tree_builder)
    report("generate: layers", 0.2)
    paths = path_table.finish(want_names=True)
    trees = tree_builder.finish(paths.new_id)
    code_layers = config.apps.code_layers
    layers = build_layers(
        bases, runtimes, packages, apps, builds, deps, app_trees, trees, code_layers, rng
    )
    images = build_images(bases, runtimes, apps, builds, layers, epochs)
    registry_gc = gc_epochs(
        images.repository, images.version, images.epoch, config.registry.retention, epochs
    )
    node_gc = node_gc_epochs(
        images.repository,
        images.version,
        images.epoch,
        images.kind == ImageKind.APP,
        config.nodes.retention,
        epochs,
    )
    report("generate: contents", 0.3)
    segments = layers.segments(images.layer_instance)
    contents = draw_contents(trees, segments.tree, segments.version, rng, app_trees.shared)
    chunks = content_chunks(config, trees, contents, rng)
    report("generate: contents", 0.5)
    entries = layer_entries(trees, contents, segments, report)
    report("generate: nodes", 0.9)
    placement = place(config.nodes, apps, builds, replicas, app_trees, paths, images, epochs, rng)
    container_remove = container_remove_epochs(
        placement.container_stop_epoch,
        placement.container_running,
        placement.container_lingers,
        node_gc[placement.container_image],
        epochs,
    )
    arrays = population_arrays(
        config,
        paths,
        contents,
        entries,
        images,
        placement,
        image_names(images, bases, runtimes),
        layer_labels(layers, images, bases, runtimes, packages, app_trees, code_layers),
    )
    arrays = replace(arrays, cdc_chunks=chunks[0], fixed_chunks=chunks[1])
    report("generate: done", 1.0)
    instance = images.layer_instance
    return Fleet(
        config=config,
        arrays=arrays,
        epochs=epochs,
        base_families=bases.names,
        runtime_families=runtimes.names,
        parent_names=parents,
        image_kind=images.kind,
        image_owner=images.owner,
        image_version=images.version,
        image_epoch=images.epoch,
        image_registry_gc_epoch=registry_gc,
        image_node_gc_epoch=node_gc,
        layer_kind=layers.kind[instance].astype(np.int8),
        layer_owner=layers.owner[instance],
        layer_version=layers.version[instance],
        content_class=contents.content_class,
        app_parent=apps.parent,
        app_lag=apps.lag,
        app_reproducible=apps.reproducible,
        app_waste=apps.waste,
        app_replicas=replicas,
        container_start_epoch=placement.container_start_epoch,
        container_stop_epoch=placement.container_stop_epoch,
        container_remove_epoch=container_remove,
    )
