"""Tests of `layersim.simulation.results`: `SimulationResult.headline()` reads the last
stored-bytes rows, the first rollout and the running totals of a hand-made result, its
savings are `1 - S / B`, and `as_dict` holds every table."""

from __future__ import annotations

import dataclasses

import pytest

from layersim.accounting.metrics import StoredBytes
from layersim.config import ExperimentConfig
from layersim.simulation.results import (
    FlattenedAndLayer,
    FleetSummary,
    LazyEpoch,
    NodeEpoch,
    RegistryEpoch,
    SharingSummary,
    SimulationResult,
    TransferEpoch,
    TransferTotals,
    WasteSummary,
    lazy_totals,
)


def _row(cls, **values):
    """A result row of `cls` with every field 0 but `values`."""
    fields = {f.name: 0 for f in dataclasses.fields(cls)}
    return cls(**{**fields, **values})


def _result(transfers: tuple[TransferEpoch, ...]) -> SimulationResult:
    """A result of three nodes: registry and node rows at epochs 0 and the last."""
    registry = (
        _row(RegistryEpoch, epoch=0, logical_bytes=1, flattened_bytes=1, layer_bytes=1),
        _row(
            RegistryEpoch,
            epoch=len(transfers) - 1,
            logical_bytes=2000,
            flattened_bytes=1000,
            layer_bytes=300,
            file_bytes=150,
            chunk_cdc_bytes=120,
            chunk_fixed_bytes=135,
        ),
    )
    nodes = (
        _row(NodeEpoch, epoch=0, layer_bytes=1, flattened_bytes=1),
        _row(
            NodeEpoch,
            epoch=len(transfers) - 1,
            estimated=True,
            logical_bytes=4000,
            flattened_bytes=800,
            layer_bytes=200,
            file_bytes=50,
            flattened_bytes_max=500,
            layer_bytes_max=90,
            chunk_cdc_bytes=40,
            chunk_fixed_bytes=45,
        ),
    )
    return SimulationResult(
        config=ExperimentConfig(),
        fleet=_row(FleetSummary, nodes=3),
        registry=registry,
        nodes=nodes,
        transfers=transfers,
        containers=(),
        first_rollout=transfers[0],
        steady_state=_row(TransferTotals),
        waste=_row(WasteSummary),
        sharing=SharingSummary(0, 0, (), (), 0.0),
        anchors=(),
    )


TRANSFERS = (
    _row(
        TransferEpoch,
        epoch=0,
        pulls=3,
        pull_downloaded_bytes=40,
        pull_flattened_downloaded_bytes=100,
        pull_seconds_p95=2.0,
        flattened_pull_seconds_p95=5.0,
    ),
    _row(TransferEpoch, epoch=1, pulls=2, pull_seconds_p95=1.5, flattened_pull_seconds_p95=4.0),
    _row(TransferEpoch, epoch=2, pulls=0, pull_seconds_p95=9.0, flattened_pull_seconds_p95=9.0),
    _row(
        TransferEpoch,
        epoch=3,
        pulls=1,
        pull_seconds_p95=0.5,
        flattened_pull_seconds_p95=6.0,
        cumulative_push_bytes=70,
        cumulative_push_flattened_bytes=350,
        cumulative_pull_bytes=60,
        cumulative_pull_flattened_bytes=240,
    ),
)


def test_headline_reads_the_last_rows_and_the_totals():
    """Stores come from the last rows, transfers from the first rollout and the last row's
    running totals, the counts from the fleet and the number of transfer rows."""
    h = _result(TRANSFERS).headline()
    assert (h.epochs, h.nodes, h.nodes_estimated) == (4, 3, True)
    assert h.registry_stored == StoredBytes(2000, 1000, 300, 150, 120, 135)
    assert h.nodes_stored == StoredBytes(4000, 800, 200, 50, 40, 45)
    assert h.fullest_node_stored == FlattenedAndLayer(500, 90)
    assert h.first_rollout_pulled == FlattenedAndLayer(100, 40)
    assert h.pulled == FlattenedAndLayer(240, 60)
    assert h.pushed == FlattenedAndLayer(350, 70)
    assert h.first_rollout_pull_seconds_p95 == FlattenedAndLayer(5.0, 2.0)


def test_headline_later_pull_time_is_the_worst_epoch_that_pulls():
    """The later p95 pull time is the worst over the epochs after the first, each strategy on
    its own, skipping epochs without pulls (epoch 2's 9 s); None if no later epoch pulls."""
    h = _result(TRANSFERS).headline()
    assert h.later_pull_seconds_p95 == FlattenedAndLayer(6.0, 1.5)
    assert _result(TRANSFERS[:1]).headline().later_pull_seconds_p95 is None
    quiet = (TRANSFERS[0], TRANSFERS[2])
    assert _result(quiet).headline().later_pull_seconds_p95 is None


def test_headline_savings():
    """Each saving is `1 - S / B` of the headline's own figures: registry 300 vs 1000 and 150
    vs 300, nodes 200 vs 800 and 50 vs 200, pulls 60 vs 240."""
    h = _result(TRANSFERS).headline()
    assert h.registry_layer_saving_vs_flattened == pytest.approx(0.7)
    assert h.registry_file_saving_vs_layer == pytest.approx(0.5)
    assert h.nodes_layer_saving_vs_flattened == pytest.approx(0.75)
    assert h.nodes_file_saving_vs_layer == pytest.approx(0.75)
    assert h.pull_layer_saving_vs_flattened == pytest.approx(0.75)


def test_headline_chunk_savings():
    """The chunk savings are against file-level dedup: registry 120 and 135 vs 150, nodes 40
    and 45 vs 50; None where the rows carry no chunk figures."""
    h = _result(TRANSFERS).headline()
    assert h.registry_chunk_cdc_saving_vs_file == pytest.approx(0.2)
    assert h.registry_chunk_fixed_saving_vs_file == pytest.approx(0.1)
    assert h.nodes_chunk_cdc_saving_vs_file == pytest.approx(0.2)
    assert h.nodes_chunk_fixed_saving_vs_file == pytest.approx(0.1)
    result = _result(TRANSFERS)
    last = dataclasses.replace(result.registry[-1], chunk_cdc_bytes=None)
    bare = dataclasses.replace(result, registry=(result.registry[0], last))
    assert bare.headline().registry_chunk_cdc_saving_vs_file is None


def test_headline_is_frozen():
    """The headline is a value: its figures cannot be reassigned."""
    h = _result(TRANSFERS).headline()
    with pytest.raises(dataclasses.FrozenInstanceError):
        h.epochs = 5  # type: ignore[misc]


def test_as_dict_holds_every_table():
    """`as_dict` has the config and every field of the result, rows as lists of dicts."""
    doc = _result(TRANSFERS).as_dict()
    assert list(doc) == [
        "config",
        "fleet",
        "registry",
        "nodes",
        "transfers",
        "containers",
        "first_rollout",
        "steady_state",
        "waste",
        "sharing",
        "anchors",
        "lazy",
    ]
    assert doc["registry"][-1]["layer_bytes"] == 300
    assert doc["first_rollout"] == dataclasses.asdict(TRANSFERS[0])


def test_lazy_totals_sum_the_warm_rows_and_define_the_savings():
    """Two epochs: full 1000 + 3000 bytes, lazy start-up 100 + 200 (saving 1 - 300 / 4000),
    lazy moved 400 + 3000 (1 - 3400 / 4000), node-seconds 2 + 6 full and 0.5 + 1.5 lazy
    (1 - 2 / 8); no pulls at all: every saving 0."""
    rows = (
        _row(
            LazyEpoch,
            pulls=2,
            full_warm_bytes=1000,
            lazy_warm_startup_bytes=100,
            lazy_warm_moved_bytes=400,
            full_warm_node_seconds=2.0,
            lazy_warm_node_seconds=0.5,
        ),
        _row(
            LazyEpoch,
            pulls=3,
            full_warm_bytes=3000,
            lazy_warm_startup_bytes=200,
            lazy_warm_moved_bytes=3000,
            full_warm_node_seconds=6.0,
            lazy_warm_node_seconds=1.5,
        ),
    )
    totals = lazy_totals(rows)
    assert (totals.pulls, totals.full_bytes, totals.lazy_startup_bytes) == (5, 4000, 300)
    assert totals.lazy_startup_bytes_saving == pytest.approx(1 - 300 / 4000)
    assert totals.lazy_moved_bytes_saving == pytest.approx(1 - 3400 / 4000)
    assert totals.lazy_startup_seconds_saving == pytest.approx(0.75)
    none = lazy_totals(())
    assert none.lazy_startup_bytes_saving == none.lazy_startup_seconds_saving == 0.0
