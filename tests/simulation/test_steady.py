"""Tests of `layersim.simulation.steady`: the steady state (second half of the horizon), the
node figures at the final epoch and as the steady-state mean, and the saw-tooth detection on
hand-made rows with exact expected values."""

from __future__ import annotations

import dataclasses

import pytest

from layersim.config import load_config
from layersim.simulation.results import NodeEpoch
from layersim.simulation.steady import (
    node_figures,
    saw_tooth,
    steady_state_start,
    two_epoch_cadences,
)


def _node(epoch: int, flattened: int, layer: int, file: int) -> NodeEpoch:
    fields = {f.name: 0 for f in dataclasses.fields(NodeEpoch)}
    values = {"epoch": epoch, "flattened_bytes": flattened, "layer_bytes": layer}
    return NodeEpoch(**{**fields, **values, "file_bytes": file})


def test_steady_state_is_the_second_half():
    """12 epochs: from epoch 6; 13: from 6; 1: from 0."""
    assert [steady_state_start(n) for n in (12, 13, 1)] == [6, 6, 0]


def test_saw_tooth_found_with_its_highs_and_lows():
    """0.7, 0.6, 0.72, 0.62, 0.7, 0.6: every step reverses, mean step 0.104: highs (0.7,
    0.72, 0.7) average 0.70667, lows (0.6, 0.62, 0.6) 0.60667, the final epoch is a low."""
    tooth = saw_tooth(range(6), [0.7, 0.6, 0.72, 0.62, 0.7, 0.6], ("runtimes.rebuild_every",))
    assert tooth is not None
    assert tooth.high_mean == pytest.approx((0.7 + 0.72 + 0.7) / 3)
    assert tooth.low_mean == pytest.approx((0.6 + 0.62 + 0.6) / 3)
    assert tooth.final_is_low
    assert tooth.cadences == ("runtimes.rebuild_every",)
    high_last = saw_tooth(range(5), [0.7, 0.6, 0.7, 0.6, 0.7], ())
    assert high_last is not None and not high_last.final_is_low
    assert (high_last.high_mean, high_last.low_mean) == (pytest.approx(0.7), pytest.approx(0.6))


def test_no_saw_tooth_when_flat_monotone_short_or_gapped():
    """No saw-tooth: steps under 1 point, a trend, fewer than 4 consecutive epochs, or epochs
    measured every 4 (only the last run of consecutive epochs counts)."""
    assert saw_tooth(range(6), [0.70, 0.695, 0.70, 0.695, 0.70, 0.695], ()) is None
    assert saw_tooth(range(6), [0.9, 0.8, 0.7, 0.6, 0.5, 0.4], ()) is None
    assert saw_tooth(range(3), [0.7, 0.6, 0.7], ()) is None
    assert saw_tooth([0, 4, 8, 11], [0.7, 0.6, 0.7, 0.6], ()) is None


def test_node_figures_final_and_steady_mean():
    """Four epochs, steady state from epoch 2: the layer saving 1 - layer / flattened is 0.5,
    0.6, 0.8, 0.6 (final 0.6, steady mean 0.7); file vs layer 1 - 25/50, 1 - 20/40, 1 - 10/20,
    1 - 30/40: final 0.25, steady mean 0.375; too few epochs for a saw-tooth."""
    rows = (
        _node(0, 100, 50, 25),
        _node(1, 100, 40, 20),
        _node(2, 100, 20, 10),
        _node(3, 100, 40, 30),
    )
    layer, file = node_figures(rows, 4, load_config(scenario="small"))
    assert (layer.final_epoch, layer.steady_first_epoch, layer.steady_epochs) == (3, 2, 2)
    assert layer.final == pytest.approx(0.6) and layer.steady_mean == pytest.approx(0.7)
    assert file.final == pytest.approx(0.25) and file.steady_mean == pytest.approx(0.375)
    assert layer.saw_tooth is None and file.saw_tooth is None


def test_two_epoch_cadences_of_the_scenarios():
    """company rebuilds its runtimes every 2 epochs (bases every 4); the hub releases both
    every 2; apps' and packages' random intervals never count."""
    assert two_epoch_cadences(load_config(scenario="company")) == ("runtimes.rebuild_every",)
    assert two_epoch_cadences(load_config(scenario="hub")) == (
        "bases.release_every",
        "runtimes.rebuild_every",
    )


def test_node_figures_of_a_run(small_run):
    """On the shared small run (6 epochs) the final figure is its last nodes row's saving
    and the steady state starts at epoch 3."""
    fleet, result = small_run
    layer, _ = node_figures(result.nodes, len(result.transfers), fleet.config)
    last = result.nodes[-1]
    assert layer.final == pytest.approx(1 - last.layer_bytes / last.flattened_bytes)
    assert layer.steady_first_epoch == 3
