"""Tests of `layersim.simulation.simulate`: the epoch loop's figures equal the reference implementation's on
the populations each epoch stands for, runs are deterministic, and the figures defined in the
module (pull time, percentiles, sample estimates, sharing) hold their definitions."""

from __future__ import annotations

import dataclasses
import json
import math

import numpy as np
import pytest

from layersim.accounting import reference
from layersim.accounting.arrays import PopulationArrays, csr_offsets, csr_rows, to_population
from layersim.config import TransferConfig, load_config
from layersim.fleet import Fleet, generate
from layersim.simulation.simulate import (
    SimulationResult,
    measured_nodes,
    nearest_rank,
    pull_seconds,
    sampled_total,
    simulate,
    startup_pull_share,
    state_arrays,
)

# The `small` scenario with few files per layer, so that the reference runs in seconds.
SMALL_FEW_FILES = [
    "time.epochs=6",
    "bases.file_scale=0.05",
    "bases.release_every=2",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "apps.count=8",
    "apps.code_files=5.0",
    "apps.packages_per_layer=3.0",
    "apps.waste_probability=0.5",
    "apps.rebuild_every=1.5",
    "registry.retention=2",
    "nodes.count=3",
]


def run(*overrides: str, scenario: str = "small") -> tuple[Fleet, SimulationResult]:
    config = load_config(scenario=scenario, overrides=list(overrides))
    fleet = generate(config, np.random.default_rng(config.seed))
    return fleet, simulate(fleet)


@pytest.fixture(scope="module")
def small_run() -> tuple[Fleet, SimulationResult]:
    return run(*SMALL_FEW_FILES)


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
    """Registry, node and container figures of the last epoch equal the reference's on the
    population the final state stands for (`state_arrays`)."""
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


def test_sharing_saves_logical_minus_layer(small_run):
    """The sharing histogram's saved bytes are exactly the registry's logical - layer bytes,
    and its buckets cover every layer the registry holds."""
    _, result = small_run
    registry = result.registry[-1]
    assert result.sharing.saved_bytes == registry.logical_bytes - registry.layer_bytes
    assert sum(b.layers for b in result.sharing.buckets) == result.sharing.layers
    assert sum(b.compressed_bytes for b in result.sharing.buckets) == registry.layer_bytes
    saved = [x.saved_bytes for x in result.sharing.top_layers]
    assert saved == sorted(saved, reverse=True)


def test_waste_summary(small_run):
    """Wasteful apps' images show shadowed bytes in the final registry."""
    fleet, result = small_run
    assert result.waste.images == result.registry[-1].images
    if fleet.app_waste.any():
        assert result.waste.shadowed_file_bytes > 0
        assert result.waste.dive_wasted_bytes >= result.waste.shadowed_file_bytes


def test_anchor_rows_are_reported(small_run):
    """The hub-style statistics are reported beside their published figures."""
    _, result = small_run
    figures = {row.figure: row for row in result.anchors}
    assert any(f.startswith("layers referenced by a single image") for f in figures)
    assert any(f.startswith("distinct file contents per file entry") for f in figures)
    assert any(f.startswith("compression ratio") for f in figures)
    assert any("alpine-like base" in f for f in figures)
    for row in result.anchors:
        assert row.published and row.source
        assert math.isfinite(row.produced)


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


# --------------------------------------------------------------------------- definitions


def test_nearest_rank():
    """Nearest-rank percentiles: the smallest value with at least q of the values at or below."""
    values = np.array([5, 1, 4, 2, 3])
    assert nearest_rank(values, 0.5) == 3
    assert nearest_rank(values, 0.95) == 5
    assert nearest_rank(values, 1.0) == 5
    assert nearest_rank(np.array([7]), 0.5) == 7
    assert nearest_rank(np.zeros(0), 0.5) == 0


def test_pull_time_model_is_calibrated_to_slacker():
    """With the defaults a cold pull of python:3.12-bookworm (7 blobs, 380.6 MB) takes
    ceil(7/3) * 50 ms + 380.6e6 * 8 / 1e9 s, 76% of start-up as Slacker measured."""
    transfer = TransferConfig()
    seconds = pull_seconds(np.array([7]), np.array([380_600_000]), transfer)
    assert seconds[0] == pytest.approx(3 * 0.05 + 3.0448)
    share = startup_pull_share(seconds, transfer)[0]
    assert share == pytest.approx(0.76, abs=0.005)
    assert startup_pull_share(np.array([0.0]), transfer)[0] == 0.0


def test_sampled_total():
    """A full sample is exact; a partial one scales the mean and gives a 95% interval."""
    assert sampled_total(np.array([1, 2, 3]), 3) == (6, 0)
    estimate, half = sampled_total(np.array([10, 20]), 4)
    assert estimate == 60
    assert half == round(1.96 * np.std([10, 20], ddof=1) / math.sqrt(2) * math.sqrt(0.5) * 4)


def test_measured_nodes_are_evenly_spaced():
    """A node sample is evenly spaced over the node ids; 0 means every node."""
    assert measured_nodes(10, 0).tolist() == list(range(10))
    assert measured_nodes(10, 5).tolist() == [0, 2, 4, 6, 8]
    assert measured_nodes(3, 5).tolist() == [0, 1, 2]
