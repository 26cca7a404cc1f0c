"""The pull-time model: how long a node takes to pull what it downloads, and what share of a
container's start-up that is (docs/design.md §7; docs/run.md, `[transfer]` settings).

An estimate from counts and bytes, not a network simulation: no contention between nodes, no
registry-side limits. `replay` applies it to every rollout; Slacker's 76% of start-up spent
pulling is what the defaults are calibrated to (tests/simulation/test_pulltime.py).
"""

from __future__ import annotations

import numpy as np

from layersim.config import TransferConfig


def pull_seconds(
    blobs: np.ndarray, downloaded_bytes: np.ndarray, transfer: TransferConfig
) -> np.ndarray:
    """Estimated pull time in seconds: blobs are fetched `parallel_downloads` at a time, each
    wave paying the per-blob latency, and the bytes share the node's link:
    `ceil(blobs / parallel_downloads) * blob_latency + bytes * 8 / bandwidth`."""
    waves = -(-np.asarray(blobs, dtype=np.int64) // transfer.parallel_downloads)
    return waves * (transfer.blob_latency_ms / 1000.0) + np.asarray(
        downloaded_bytes, dtype=np.float64
    ) * 8 / (transfer.bandwidth_mbit * 1e6)


def startup_pull_share(seconds: np.ndarray, transfer: TransferConfig) -> np.ndarray:
    """Share of a container's start-up spent pulling its image: `pull / (pull + start)`."""
    total = seconds + transfer.container_start_seconds
    return np.divide(seconds, total, out=np.zeros_like(seconds), where=total > 0)


def mean_share(shares: np.ndarray) -> float:
    """The mean of `shares` (0 for none): the start-up share reported for a set of pulls."""
    return float(shares.mean()) if shares.size else 0.0
