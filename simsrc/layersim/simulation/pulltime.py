"""The pull-time model: how long a node takes to pull what it downloads, and what share of a
container's start-up that is (docs/design.md §7; docs/run.md, `[transfer]` settings).

An estimate from counts and bytes, not a network simulation: no contention between nodes, no
registry-side limits. A full pull downloads, then decompresses and extracts (a throughput per
compressed byte); a lazy pull's start-up fetches (`lazy`) extract nothing before the start. `replay` applies it to every rollout; Slacker's 76% of start-up spent
pulling is what the defaults are calibrated to (tests/simulation/test_pulltime.py).
"""

from __future__ import annotations

import numpy as np

from layersim.config import TransferConfig


def wave_seconds(
    requests: np.ndarray, fetched_bytes: np.ndarray, transfer: TransferConfig, latency_ms: float
) -> np.ndarray:
    """Estimated fetch time in seconds: requests are made `parallel_downloads` at a time, each
    wave paying `latency_ms`, and the bytes share the node's link:
    `ceil(requests / parallel_downloads) * latency + bytes * 8 / bandwidth`."""
    waves = -(-np.asarray(requests, dtype=np.int64) // transfer.parallel_downloads)
    return waves * (latency_ms / 1000.0) + np.asarray(fetched_bytes, dtype=np.float64) * 8 / (
        transfer.bandwidth_mbit * 1e6
    )


def pull_seconds(
    blobs: np.ndarray, downloaded_bytes: np.ndarray, transfer: TransferConfig
) -> np.ndarray:
    """Estimated full pull time in seconds: `wave_seconds` with one request per blob and the
    per-blob latency, then decompressing and extracting what was downloaded, not overlapped
    with the download: `ceil(blobs / parallel_downloads) * blob_latency + bytes * 8 /
    bandwidth + bytes / extract_throughput` (`transfer.extract_mbyte_per_s`, compressed MB/s)."""
    download = wave_seconds(blobs, downloaded_bytes, transfer, transfer.blob_latency_ms)
    extract = np.asarray(downloaded_bytes, dtype=np.float64) / (transfer.extract_mbyte_per_s * 1e6)
    return download + extract


def startup_pull_share(seconds: np.ndarray, transfer: TransferConfig) -> np.ndarray:
    """Share of a container's start-up spent pulling its image: `pull / (pull + start)`."""
    total = seconds + transfer.container_start_seconds
    return np.divide(seconds, total, out=np.zeros_like(seconds), where=total > 0)


def mean_share(shares: np.ndarray) -> float:
    """The mean of `shares` (0 for none): the start-up share reported for a set of pulls."""
    return float(shares.mean()) if shares.size else 0.0
