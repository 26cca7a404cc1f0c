"""Tests of `layersim.simulation.metrics`: the standard metrics read the run's headline, in
column order; they pickle (a sweep sends them to worker processes); a set of metrics is
measured in the order given."""

from __future__ import annotations

import pickle

from layersim.simulation.metrics import (
    CHUNK_COUNTS,
    CHUNK_SAVINGS,
    COUNTS,
    LAZY_SAVINGS,
    SAVINGS,
    STANDARD_METRICS,
    HeadlineFigure,
    Metric,
    measure,
)


def test_standard_metrics_are_the_savings_then_their_counts():
    """The standard set is the five savings, the two lazy-pull savings and the four chunk
    savings (aggregated over seeds) then the counts (not), each name once."""
    assert STANDARD_METRICS == SAVINGS + LAZY_SAVINGS + CHUNK_SAVINGS + COUNTS + CHUNK_COUNTS
    assert [m.name for m in CHUNK_SAVINGS] == [
        "registry_chunk_cdc_saving_vs_file",
        "registry_chunk_fixed_saving_vs_file",
        "nodes_chunk_cdc_saving_vs_file",
        "nodes_chunk_fixed_saving_vs_file",
    ]
    assert all(m.aggregated for m in CHUNK_SAVINGS)
    assert not any(m.aggregated for m in CHUNK_COUNTS)
    assert [m.name for m in LAZY_SAVINGS] == [
        "lazy_startup_bytes_saving",
        "lazy_startup_seconds_saving",
    ]
    assert all(m.aggregated for m in LAZY_SAVINGS)
    assert [m.name for m in SAVINGS] == [
        "registry_layer_saving_vs_flattened",
        "nodes_layer_saving_vs_flattened",
        "registry_file_saving_vs_layer",
        "nodes_file_saving_vs_layer",
        "pull_layer_saving_vs_flattened",
    ]
    assert all(m.aggregated for m in SAVINGS) and not any(m.aggregated for m in COUNTS)
    names = [m.name for m in STANDARD_METRICS]
    assert len(set(names)) == len(names)


def test_measure_reads_the_headline(small_run):
    """Every standard figure equals the headline's (or the fleet's) figure it names."""
    _, result = small_run
    h = result.headline()
    figures = measure(result)
    assert list(figures) == [m.name for m in STANDARD_METRICS]
    assert figures["registry_layer_saving_vs_flattened"] == h.registry_layer_saving_vs_flattened
    assert figures["nodes_file_saving_vs_layer"] == h.nodes_file_saving_vs_layer
    assert figures["pull_layer_saving_vs_flattened"] == h.pull_layer_saving_vs_flattened
    assert figures["images"] == result.fleet.images
    assert figures["file_entries"] == result.fleet.file_entries
    assert figures["registry_file_compressed_bytes"] == h.registry_stored.file
    assert figures["nodes_flattened_disk_bytes"] == h.nodes_stored.flattened
    assert figures["pull_layered_compressed_bytes"] == h.pulled.layer
    assert figures["pull_flattened_compressed_bytes"] == h.pulled.flattened
    lazy = result.lazy_all_epochs
    assert figures["lazy_startup_bytes_saving"] == lazy.lazy_startup_bytes_saving
    assert figures["lazy_startup_seconds_saving"] == lazy.lazy_startup_seconds_saving


def test_metrics_pickle(small_run):
    """The standard metrics survive pickling and measure the same figures after it."""
    _, result = small_run
    copied = pickle.loads(pickle.dumps(STANDARD_METRICS))
    assert measure(result, copied) == measure(result)


def test_measure_takes_any_metrics_in_order(small_run):
    """A caller's own metrics are measured in the order given, and only those."""
    _, result = small_run
    metrics = (
        Metric(
            "pushed_layer_bytes",
            "pushes of every epoch (compressed bytes)",
            HeadlineFigure("pushed.layer"),
        ),
        SAVINGS[0],
    )
    figures = measure(result, metrics)
    assert list(figures) == ["pushed_layer_bytes", "registry_layer_saving_vs_flattened"]
    assert figures["pushed_layer_bytes"] == result.transfers[-1].cumulative_push_bytes
