"""Tests of `layersim.simulation.replay`: the epoch replay's figures equal the reference
implementation's on the populations each epoch stands for, runs are deterministic, the node
sample and `time.storage_every` shape the rows, and the cold-start share is that of each node's
first pull onto an empty node."""

from __future__ import annotations

import dataclasses
import json

import numpy as np
import pytest

from layersim.accounting import reference
from layersim.accounting.arrays import (
    PopulationArrays,
    canonical,
    csr_offsets,
    csr_rows,
    to_population,
)
from layersim.accounting.images import image_table
from layersim.simulation.pulltime import pull_seconds, startup_pull_share
from layersim.simulation.replay import cold_start_share, pull_timeline, storage_epochs
from layersim.simulation.state import state_arrays
from tests.simulation.runs import SMALL_FEW_FILES, run


def _no_containers(arrays: PopulationArrays) -> PopulationArrays:
    empty = np.zeros(0, np.int64)
    return dataclasses.replace(
        arrays,
        container_names=(),
        container_node=empty,
        container_image=empty,
        container_running=np.zeros(0, np.bool_),
        write_offsets=np.zeros(1, np.int64),
        write_file_bytes=empty,
        modify_offsets=np.zeros(1, np.int64),
        modify_path=empty,
        modify_changed_bytes=empty,
        delete_offsets=np.zeros(1, np.int64),
        delete_path=empty,
    )


# --------------------------------------------------------------------------- the small scenario


def test_small_scenario_runs():
    """The built-in `small` scenario runs end to end: one transfer and container row per
    epoch, stored bytes at every epoch, and the first rollout is epoch 0."""
    fleet, result = run()
    epochs = fleet.epochs
    assert [r.epoch for r in result.transfers] == list(range(epochs))
    assert [r.epoch for r in result.registry] == list(range(epochs))
    assert len(result.nodes) == len(result.containers) == epochs
    assert result.first_rollout == result.transfers[0]
    assert result.first_rollout.pulls > 0
    assert result.transfers[-1].cumulative_push_bytes == sum(
        r.push_uploaded_bytes for r in result.transfers
    )
    # layer sharing moves less than flattened exports, and stores less
    assert result.first_rollout.pull_downloaded_bytes < (
        result.first_rollout.pull_flattened_downloaded_bytes
    )
    assert result.registry[-1].layer_bytes < result.registry[-1].flattened_bytes


def test_final_state_equals_reference(small_run):
    """Registry, node (chunk strategies included) and container figures of the last epoch
    equal the reference's on the population the final state stands for (`state_arrays`)."""
    fleet, result = small_run
    final = state_arrays(fleet, fleet.epochs - 1)
    expected = reference.evaluate(to_population(final))
    registry = result.registry[-1]
    stored = expected.registry_stored_bytes
    assert (registry.logical_bytes, registry.flattened_bytes) == (stored.logical, stored.flattened)
    assert (registry.layer_bytes, registry.file_bytes) == (stored.layer, stored.file)
    assert registry.images == len(to_population(final).push_order)
    nodes = result.nodes[-1]
    assert not nodes.estimated
    for strategy in ("logical", "flattened", "layer", "file"):
        total = sum(getattr(n.stored_bytes, strategy) for n in expected.nodes)
        assert getattr(nodes, f"{strategy}_bytes") == total
    # the chunk strategies of the fleet's lineage, against the reference (the oracle)
    assert (registry.chunk_cdc_bytes, registry.chunk_fixed_bytes) == (
        stored.chunk_cdc,
        stored.chunk_fixed,
    )
    for strategy in ("chunk_cdc", "chunk_fixed"):
        total = sum(getattr(n.stored_bytes, strategy) for n in expected.nodes)
        assert getattr(nodes, f"{strategy}_bytes") == total
    layer = sorted(n.stored_bytes.layer for n in expected.nodes)
    assert nodes.layer_bytes_max == layer[-1]
    containers = result.containers[-1]
    usage = [c for n in expected.nodes for c in n.containers]
    assert containers.running == sum(c.state == "running" for c in usage)
    assert containers.stopped == sum(c.state == "stopped" for c in usage)
    assert containers.running_writable_bytes == sum(
        c.writable_bytes for c in usage if c.state == "running"
    )
    assert containers.stopped_writable_bytes == sum(
        c.writable_bytes for c in usage if c.state == "stopped"
    )


def test_final_state_with_containerd_options_equals_reference():
    """With containerd-like nodes (compressed blobs kept) and a block-level storage driver,
    the final node and container figures still equal the reference's."""
    fleet, result = run(
        *SMALL_FEW_FILES, "storage.keep_compressed_blobs=true", "storage.driver=block"
    )
    expected = reference.evaluate(to_population(state_arrays(fleet, fleet.epochs - 1)))
    nodes = result.nodes[-1]
    assert nodes.layer_bytes == sum(n.stored_bytes.layer for n in expected.nodes)
    assert nodes.logical_bytes == sum(n.stored_bytes.logical for n in expected.nodes)
    usage = [c for n in expected.nodes for c in n.containers]
    containers = result.containers[-1]
    assert containers.running_writable_bytes + containers.stopped_writable_bytes == sum(
        c.writable_bytes for c in usage
    )


@pytest.mark.parametrize("epoch", [0, 2, 5])
def test_epoch_transfers_equal_reference(small_run, epoch):
    """An epoch's pushes and pulls equal the reference's on a registry (nodes) holding what
    was kept at the end of the epoch before, then receiving that epoch's new images."""
    fleet, result = small_run
    a = fleet.arrays
    row = result.transfers[epoch]
    # registry: kept images first, then the new ones
    kept = np.flatnonzero((fleet.image_epoch < epoch) & (fleet.image_registry_gc_epoch >= epoch))
    new = np.flatnonzero(fleet.image_epoch == epoch)
    # nodes: what each held at the end of epoch-1, then the new versions of its apps
    built = fleet.image_epoch[a.node_images]
    keep = (built <= epoch) & (fleet.image_node_gc_epoch[a.node_images] >= epoch)
    node = csr_rows(a.node_offsets)
    arrays = dataclasses.replace(
        _no_containers(a),
        push_order=np.concatenate([kept, new]),
        node_offsets=csr_offsets(np.bincount(node[keep], minlength=a.n_nodes)),
        node_images=a.node_images[keep],
    )
    expected = reference.evaluate(to_population(arrays))
    pushes = expected.pushes[kept.size :]
    assert row.push_uploaded_bytes == sum(p.uploaded_bytes for p in pushes)
    assert row.push_flattened_uploaded_bytes == sum(p.flattened_uploaded_bytes for p in pushes)
    assert row.push_uploaded_layers == sum(len(p.uploaded_layers) for p in pushes)
    assert row.push_mounted_layers == sum(len(p.mounted_layers) for p in pushes)
    names = {a.image_names[i] for i in new.tolist()}
    pulls = [p for n in expected.nodes for p in n.pulls if p.image in names]
    assert row.pulls == len(pulls)
    assert row.pull_downloaded_bytes == sum(p.downloaded_bytes for p in pulls)
    assert row.pull_flattened_downloaded_bytes == sum(p.flattened_downloaded_bytes for p in pulls)
    assert row.pull_downloaded_layers == sum(len(p.downloaded_layers) for p in pulls)


def test_same_seed_same_json_other_seed_other_json():
    """The same config and seed give byte-identical JSON; another seed gives other figures."""
    one = json.dumps(run(*SMALL_FEW_FILES)[1].as_dict(), sort_keys=True)
    two = json.dumps(run(*SMALL_FEW_FILES)[1].as_dict(), sort_keys=True)
    three = json.dumps(run(*SMALL_FEW_FILES, "seed=7")[1].as_dict(), sort_keys=True)
    assert one == two
    assert one != three
    assert json.loads(one)["config"]["seed"] == 42


def test_sampled_nodes_are_estimates():
    """With `nodes.stats_sample` below the node count, node totals are flagged estimates with
    a confidence interval; percentiles come from the measured nodes."""
    _, result = run(*SMALL_FEW_FILES, "nodes.count=4", "nodes.stats_sample=2")
    row = result.nodes[-1]
    assert row.estimated and row.nodes_measured == 2


def test_storage_every_skips_epochs():
    """`time.storage_every` measures stored bytes every N epochs and at the last."""
    _, result = run(*SMALL_FEW_FILES, "time.storage_every=4")
    assert [r.epoch for r in result.registry] == [0, 4, 5]
    assert len(result.transfers) == 6


def test_storage_epochs():
    """The measured epochs are every `storage_every`-th from 0, plus the last."""
    assert storage_epochs(1, 4) == [0, 1, 2, 3]
    assert storage_epochs(4, 6) == [0, 4, 5]
    assert storage_epochs(3, 7) == [0, 3, 6]
    assert storage_epochs(10, 3) == [0, 2]


def test_cold_start_share_is_each_nodes_first_pull(small_run):
    """The cold-start share is the mean start-up share of each node's first pull at epoch 0,
    which, onto an empty node, downloads every layer of its image."""
    fleet, _ = small_run
    a = fleet.arrays
    images = image_table(canonical(a))
    transfer = fleet.config.transfer
    firsts = [
        int(a.node_images[a.node_offsets[n]])
        for n in range(a.n_nodes)
        if a.node_offsets[n + 1] > a.node_offsets[n]
        and fleet.image_epoch[a.node_images[a.node_offsets[n]]] == 0
    ]
    assert firsts
    layers = np.diff(a.image_offsets)[firsts]
    seconds = pull_seconds(layers, images.layered_compressed_bytes[firsts], transfer)
    expected = float(startup_pull_share(seconds, transfer).mean())
    assert cold_start_share(fleet, pull_timeline(fleet, images)) == pytest.approx(expected)


# --------------------------------------------------------------------------- lazy pulls


def test_lazy_rows_full_figures_are_the_transfer_rows(small_run):
    """Each epoch's warm full pull in the lazy row is the rollout the transfer row counts:
    the same bytes, blobs (one request each), per-node times and start-up share; lazy
    start-up and background bytes make up the full pull; a cold pull downloads every layer
    of its image, at least what the warm one does."""
    fleet, result = small_run
    a = fleet.arrays
    images = image_table(canonical(a))
    assert len(result.lazy) == len(result.transfers)
    for lazy, tr in zip(result.lazy, result.transfers, strict=True):
        assert lazy.epoch == tr.epoch and lazy.pulls == tr.pulls
        assert lazy.nodes_pulling == tr.nodes_pulling
        assert lazy.full_warm_bytes == tr.pull_downloaded_bytes
        assert lazy.full_warm_requests == tr.pull_downloaded_layers
        assert lazy.full_warm_seconds_p95 == tr.pull_seconds_p95
        assert lazy.full_warm_startup_share == pytest.approx(tr.startup_pull_share)
        assert (
            lazy.lazy_warm_startup_bytes + lazy.lazy_warm_background_bytes
            == tr.pull_downloaded_bytes
        )
        assert lazy.lazy_warm_moved_bytes == tr.pull_downloaded_bytes  # background on by default
        pulled = a.node_images[fleet.image_epoch[a.node_images] == tr.epoch]
        assert lazy.full_cold_bytes == int(images.layered_compressed_bytes[pulled].sum())
        assert lazy.full_cold_requests == int(np.diff(a.image_offsets)[pulled].sum())
        assert lazy.full_cold_bytes >= lazy.full_warm_bytes
        assert lazy.lazy_cold_startup_bytes >= lazy.lazy_warm_startup_bytes
        assert lazy.lazy_warm_startup_bytes <= lazy.full_warm_bytes
    totals = result.lazy_all_epochs
    assert totals.full_bytes == result.transfers[-1].cumulative_pull_bytes
    assert 0 < totals.lazy_startup_bytes_saving < 1


def test_lazy_without_background_moves_only_the_startup_bytes():
    """With `lazy.background = false` the rest is never fetched: lazy pulls move their
    start-up bytes only, in their start-up requests; with read_fraction 1 and chunks larger
    than any blob, a lazy pull is the full pull (bytes, requests, and times once extraction,
    which a lazy pull does not do before the start, costs nothing)."""
    _, never = run(*SMALL_FEW_FILES, "lazy.background=false")
    for row in never.lazy:
        assert row.lazy_warm_moved_bytes == row.lazy_warm_startup_bytes
        assert row.lazy_warm_requests == row.lazy_warm_startup_requests
    _, whole = run(
        *SMALL_FEW_FILES,
        "lazy.read_fraction=1.0",
        "lazy.chunk_bytes=1000000000000",
        "transfer.extract_mbyte_per_s=1e300",
    )
    for row in whole.lazy:
        assert row.lazy_warm_startup_bytes == row.full_warm_bytes
        assert row.lazy_cold_startup_bytes == row.full_cold_bytes
        assert row.lazy_warm_startup_requests == row.full_warm_requests
        assert row.lazy_warm_seconds_p95 == row.full_warm_seconds_p95
        assert row.lazy_cold_seconds_p95 == row.full_cold_seconds_p95


def test_lazy_startup_never_slower_without_latency():
    """With no request or blob latency, every epoch's lazy start-up (cold and warm, per node
    p50 and p95, summed node-seconds) is no slower than the full pull, and fetches no more."""
    _, result = run(*SMALL_FEW_FILES, "lazy.request_latency_ms=0", "transfer.blob_latency_ms=0")
    for row in result.lazy:
        for pull in ("cold", "warm"):
            for q in ("p50", "p95"):
                lazy = getattr(row, f"lazy_{pull}_seconds_{q}")
                assert lazy <= getattr(row, f"full_{pull}_seconds_{q}")
            assert getattr(row, f"lazy_{pull}_startup_bytes") <= getattr(row, f"full_{pull}_bytes")
        assert row.lazy_warm_node_seconds <= row.full_warm_node_seconds
    assert result.lazy_all_epochs.lazy_startup_seconds_saving > 0
