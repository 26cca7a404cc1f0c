"""The engine on a generated hub-shaped population of a few million entries
(`workloads.ENGINE_WORKLOAD`): overlay resolution, storage accounting, transfers, containers,
the whole evaluation, and its floor (one `numpy.sort` over every entry's key) in the same run."""

from __future__ import annotations

from dataclasses import replace

import numpy as np

from bench import workloads
from layersim.accounting.arrays import PopulationArrays, canonical
from layersim.accounting.containers import container_bytes
from layersim.accounting.images import image_table, scan_layers
from layersim.accounting.storage import disk_usage, node_stored, registry_stored
from layersim.accounting.transfers import pull_sequences, push_sequence


def test_image_table(timed, engine_population: PopulationArrays) -> None:
    """Overlay resolution (the arrays checked and ordered, every layer scanned, the trie walked):
    every per-image figure; layered sums and invariants hold."""
    images = timed(
        lambda: image_table(canonical(engine_population)),
        workloads.population_info(engine_population),
    )
    workloads.check_image_table(engine_population, images)


def test_storage_accounting(timed, engine_population, engine_images) -> None:
    """Registry and node storage under every strategy, each round scanning the layers for the
    file contents they hold (`images.scan_layers`, which `image_table` runs for the storage
    accounting in an evaluation); file <= layer <= logical."""
    a = engine_population

    def account():
        images = replace(engine_images, layers=scan_layers(a))
        return (
            registry_stored(a, a.push_order, images),
            node_stored(a, a.node_offsets, a.node_images, images),
            disk_usage(a, a.node_offsets, a.node_images, images),
        )

    registry, stored, usage = timed(account, workloads.population_info(a))
    assert registry.file <= registry.layer <= registry.logical
    assert registry.layer == workloads.pushed_blob_bytes(a)[1]  # every pushed blob, once
    assert np.all(stored.file <= stored.layer) and np.all(stored.layer <= stored.logical)
    assert np.all(usage.shared_bytes <= usage.size_bytes)


def test_transfers(timed, engine_population, engine_images) -> None:
    """Pushes to the registry and rollouts (pulls in rollout order) to every node."""
    a = engine_population

    def transfer():
        return (
            push_sequence(a, a.push_order, engine_images),
            pull_sequences(a, a.node_offsets, a.node_images, engine_images),
        )

    pushes, pulls = timed(transfer, workloads.population_info(a))
    blobs, blob_bytes = workloads.pushed_blob_bytes(a)
    assert int(pushes.uploaded_bytes.sum()) == blob_bytes  # each pushed blob uploaded once
    assert int(pushes.uploaded_layers.sum()) == blobs
    assert pulls.image.size == a.node_images.size
    assert np.all(pulls.downloaded_layers + pulls.skipped_layers == np.diff(pulls.row_offsets))


def test_container_bytes(timed, engine_population) -> None:
    """Writable layers of every container (writes, copy-ups, deletes), on arrays an evaluation
    has checked and ordered already (`canonical`, outside the timing)."""
    a = engine_population
    canon = canonical(a)
    writable = timed(lambda: container_bytes(canon), workloads.population_info(a), fast=True)
    block = a.options.block_bytes
    written = np.bincount(
        np.repeat(np.arange(len(a.container_names)), np.diff(a.write_offsets)),
        -(-a.write_file_bytes // block) * block,
        len(a.container_names),
    ).astype(np.int64)
    assert np.all(writable >= written)


def test_engine_evaluate(timed, engine_population) -> None:
    """The whole evaluation of the population (the engine side of the floor ratio)."""
    tables = timed(
        lambda: workloads.evaluate_tables(engine_population),
        workloads.population_info(engine_population),
    )
    workloads.check_tables(engine_population, tables)


def test_floor_sort(timed, engine_population) -> None:
    """The floor: one `numpy.sort` of every entry's (path, content) key as int64."""
    keys = workloads.floor_keys(engine_population)
    ordered = timed(
        lambda: workloads.floor_sort(keys), workloads.population_info(engine_population), fast=True
    )
    assert ordered.size == engine_population.n_entries
    assert np.all(ordered[1:] >= ordered[:-1])
