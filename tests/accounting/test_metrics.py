"""The figures defined in `accounting.metrics`: the saving, dedup-ratio and dive-efficiency
formulas with their edge cases, and the derived properties of the result types."""

from __future__ import annotations

import pytest

from layersim.accounting.metrics import (
    STRATEGIES,
    ContainerUsage,
    ImageMetrics,
    NodeMetrics,
    PullRecord,
    StoredBytes,
    dedup_ratio,
    dive_efficiency,
    saving,
)


@pytest.mark.parametrize(
    ("strategy_bytes", "baseline_bytes", "expected"),
    [
        (25, 100, 0.75),
        (100, 100, 0.0),
        (0, 100, 1.0),
        (150, 100, -0.5),  # a strategy larger than its baseline saves less than nothing
        (0, 0, 0.0),  # an empty baseline: nothing to save
        (10, 0, 0.0),
    ],
)
def test_saving(strategy_bytes: int, baseline_bytes: int, expected: float) -> None:
    """`1 - bytes(S) / bytes(B)`, 0.0 when the baseline is empty."""
    assert saving(strategy_bytes, baseline_bytes) == expected


@pytest.mark.parametrize(
    ("logical_bytes", "strategy_bytes", "expected"),
    [
        (100, 25, 4.0),
        (100, 100, 1.0),
        (30, 40, 0.75),
        (100, 0, 1.0),  # nothing stored: no dedup to speak of
        (0, 0, 1.0),
    ],
)
def test_dedup_ratio(logical_bytes: int, strategy_bytes: int, expected: float) -> None:
    """`logical / bytes(S)`, 1.0 when the strategy stores nothing."""
    assert dedup_ratio(logical_bytes, strategy_bytes) == expected


def test_saving_and_dedup_ratio_agree() -> None:
    """For the same store, saving = 1 - 1 / dedup ratio (logical as the baseline)."""
    for logical, stored in [(100, 25), (4096, 1024), (7, 7)]:
        assert saving(stored, logical) == pytest.approx(1 - 1 / dedup_ratio(logical, stored))


def test_dive_efficiency() -> None:
    """`sum(min) / sum(cumulative)`; 1.0 for an image with nothing in it; the property of
    `ImageMetrics` is the same formula on its fields."""
    assert dive_efficiency(30, 40) == 0.75
    assert dive_efficiency(0, 0) == 1.0
    image = ImageMetrics("x:1", ("a", "b"), 0, 0, 0, 0, 0, 0, 0, 300, 400, 200, 0)
    assert image.dive_efficiency == 0.75


def test_stored_bytes_as_dict_in_strategy_order() -> None:
    """`as_dict` keys are the strategies, in `STRATEGIES` order."""
    stored = StoredBytes(logical=4, flattened=3, layer=2, file=1)
    assert list(stored.as_dict().items()) == [
        ("logical", 4),
        ("flattened", 3),
        ("layer", 2),
        ("file", 1),
    ]
    assert tuple(stored.as_dict()) == STRATEGIES


def test_node_metrics_sums() -> None:
    """A node's pulled bytes sum its pulls; its container bytes sum every container, or those
    in one state."""
    node = NodeMetrics(
        name="n",
        stored_bytes=StoredBytes(0, 0, 0, 0),
        pulls=(PullRecord("a", 10, 20, (), (), 5), PullRecord("b", 1, 2, (), (), 7)),
        images=(),
        containers=(
            ContainerUsage("c1", "a", "running", 4096),
            ContainerUsage("c2", "b", "stopped", 8192),
        ),
    )
    assert node.pulled_bytes == 11
    assert node.pulled_flattened_bytes == 12
    assert node.container_bytes() == 12288
    assert node.container_bytes("running") == 4096
    assert node.container_bytes("stopped") == 8192
