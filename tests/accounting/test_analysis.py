"""Tests of `layersim.accounting.analysis`: each figure the reports show beside the metrics,
on worked examples with exact values."""

from __future__ import annotations

import pytest

from layersim.accounting.analysis import (
    EpochPulls,
    Files,
    compression_ratio,
    epoch_pulls,
    fleet_figures,
    layer_files,
    merged_files_of,
    share,
)
from layersim.accounting.metrics import (
    ContainerUsage,
    NodeMetrics,
    PullRecord,
    StoredBytes,
)
from layersim.readers.spec import parse_spec

# base: two files and a directory; top: deletes one of them, overwrites the other, adds one
SPEC = {
    "layers": {
        "base": {
            "files": [{"path": "etc/a", "size": 100}, {"path": "etc/b", "size": 20}],
        },
        "top": {
            "files": [{"path": "etc/b", "size": 7}, {"path": "app/main", "size": 3}],
            "deletes": ["etc/a"],
        },
    },
    "images": {"app:1": ["base", "top"]},
}


def test_share():
    """A share is part / whole, 0.0 of nothing."""
    assert share(1, 4) == 0.25
    assert share(3, 3) == 1.0
    assert share(0, 0) == 0.0
    assert share(5, 0) == 0.0


def test_compression_ratio():
    """tar bytes / compressed bytes; 1.0 for an empty blob."""
    assert compression_ratio(3000, 1000) == 3.0
    assert compression_ratio(1024, 1024) == 1.0
    assert compression_ratio(1024, 0) == 1.0


def test_layer_files_count_regular_files_only():
    """A layer's files are its regular files, hidden or not; a whiteout or a directory entry
    is not a file."""
    (image,) = parse_spec(SPEC).images
    base, top = image.layers
    assert layer_files(base) == Files(files=2, file_bytes=120)
    assert layer_files(top) == Files(files=2, file_bytes=10)


def test_merged_files_are_what_a_container_sees():
    """The merged view keeps the top layer's `etc/b`, drops the deleted `etc/a` and adds
    `app/main`: 2 files, 7 + 3 bytes."""
    (image,) = parse_spec(SPEC).images
    assert merged_files_of(image) == Files(files=2, file_bytes=10)


def _node(
    name: str, stored: int, pulled: tuple[int, int], writable: tuple[int, ...]
) -> NodeMetrics:
    return NodeMetrics(
        name=name,
        stored_bytes=StoredBytes(
            logical=stored + 3, flattened=stored + 2, layer=stored + 1, file=stored
        ),
        pulls=(PullRecord("i", pulled[0], 0, (), (), pulled[1]),),
        images=(),
        containers=tuple(
            ContainerUsage(f"c{k}", "i", "running" if k % 2 else "stopped", w)
            for k, w in enumerate(writable)
        ),
    )


def test_fleet_figures_sum_the_nodes():
    """The fleet's figures are the sums over nodes of stored bytes (per strategy), container
    bytes (every state) and pulled bytes (layered and flattened)."""
    nodes = (_node("a", 100, (5, 9), (1, 2)), _node("b", 1000, (50, 90), (4,)))
    fleet = fleet_figures(nodes)
    assert fleet.stored_bytes == StoredBytes(logical=1106, flattened=1104, layer=1102, file=1100)
    assert fleet.container_bytes == 7
    assert (fleet.pulled_bytes, fleet.pulled_flattened_bytes) == (55, 99)


def test_fleet_figures_sum_chunk_strategies_only_where_every_node_has_them():
    """The chunk strategies are summed like the others when every node computes them, and
    stay None (not computed) when some node does not."""
    with_chunks = NodeMetrics("c", StoredBytes(1, 1, 1, 1, chunk_cdc=7, chunk_fixed=9), (), (), ())
    both = fleet_figures((with_chunks, with_chunks))
    assert (both.stored_bytes.chunk_cdc, both.stored_bytes.chunk_fixed) == (14, 18)
    mixed = fleet_figures((with_chunks, _node("a", 100, (5, 9), (1,))))
    assert (mixed.stored_bytes.chunk_cdc, mixed.stored_bytes.chunk_fixed) == (None, None)


def test_fleet_figures_of_no_nodes():
    """No nodes: every sum is 0, the chunk strategies' too."""
    fleet = fleet_figures(())
    assert fleet.stored_bytes == StoredBytes(0, 0, 0, 0, chunk_cdc=0, chunk_fixed=0)
    assert (fleet.container_bytes, fleet.pulled_bytes, fleet.pulled_flattened_bytes) == (0, 0, 0)


def test_epoch_pulls_worked_example():
    """Epochs without pulls are left out; the worst p95 and maximum are the highest of the
    epochs that pulled; the start-up share is weighted by pulls: (0.5 x 1 + 0.2 x 4) / 5."""
    pulls = epoch_pulls(
        pulls=[1, 0, 4],
        seconds_p95=[2.0, 99.0, 3.0],
        seconds_max=[5.0, 99.0, 4.0],
        startup_shares=[0.5, 0.9, 0.2],
    )
    assert pulls == EpochPulls(
        epochs=2,
        pulls=5,
        worst_seconds_p95=3.0,
        worst_seconds_max=5.0,
        startup_pull_share=pytest.approx((0.5 * 1 + 0.2 * 4) / 5),
    )


def test_epoch_pulls_without_pulls():
    """No epoch pulled (or no epoch at all): no pull time and no share."""
    assert epoch_pulls([0, 0], [1.0, 2.0], [1.0, 2.0], [0.1, 0.2]) == EpochPulls(
        0, 0, None, None, None
    )
    assert epoch_pulls([], [], [], []) == EpochPulls(0, 0, None, None, None)
