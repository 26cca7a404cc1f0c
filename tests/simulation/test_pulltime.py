"""Tests of `layersim.simulation.pulltime`: the pull-time model's formula, its calibration to
Slacker, and the start-up share."""

from __future__ import annotations

import numpy as np
import pytest

from layersim.accounting.arrays import canonical
from layersim.accounting.images import image_table
from layersim.config import TransferConfig, load_config
from layersim.fleet import generate
from layersim.simulation.pulltime import mean_share, pull_seconds, startup_pull_share
from layersim.simulation.replay import cold_start_share, pull_timeline


def test_pull_time_model_on_python():
    """With the defaults a cold pull of python:3.12-bookworm (7 blobs, 380.6 MB) takes
    ceil(7/3) * 50 ms + 380.6e6 * 8 / 1e9 s to download and 380.6e6 / 60e6 s to decompress
    and extract; with 0.8 s of start, 92% of start-up."""
    transfer = TransferConfig()
    seconds = pull_seconds(np.array([7]), np.array([380_600_000]), transfer)
    assert seconds[0] == pytest.approx(3 * 0.05 + 3.0448 + 380.6 / 60)
    share = startup_pull_share(seconds, transfer)[0]
    assert share == pytest.approx(seconds[0] / (seconds[0] + 0.8))
    assert startup_pull_share(np.array([0.0]), transfer)[0] == 0.0


def test_start_seconds_fitted_to_slacker_on_the_default_cold_pulls():
    """The default `container_start_seconds` is the fit: the cold pulls of the default
    scenario (each node's first pull, seed 42) spend 76% of start-up pulling on average
    (Slacker's mean over cold starts), within half a point."""
    config = load_config()
    fleet = generate(config, np.random.default_rng(config.seed))
    pulls = pull_timeline(fleet, image_table(canonical(fleet.arrays)))
    assert cold_start_share(fleet, pulls) == pytest.approx(0.76, abs=0.005)


def test_pull_seconds_counts_waves_of_parallel_downloads():
    """Blobs go `parallel_downloads` at a time: 0 blobs cost no latency, 1 to 3 one wave, 4
    two waves; bytes add their time on the link."""
    transfer = TransferConfig()
    latency = transfer.blob_latency_ms / 1000
    seconds = pull_seconds(np.array([0, 1, 3, 4]), np.zeros(4), transfer)
    assert seconds.tolist() == pytest.approx([0, latency, latency, 2 * latency])


def test_pull_seconds_adds_extraction_per_compressed_byte():
    """Extraction adds `bytes / extract_mbyte_per_s`: doubling the throughput halves that
    term and leaves the download (latency and link) as it was."""
    slow = TransferConfig(extract_mbyte_per_s=50.0)
    fast = TransferConfig(extract_mbyte_per_s=100.0)
    link = TransferConfig(extract_mbyte_per_s=1e12)
    n, size = np.array([1]), np.array([100_000_000])
    download = pull_seconds(n, size, link)[0]
    assert download == pytest.approx(0.05 + 0.8)
    assert pull_seconds(n, size, slow)[0] == pytest.approx(download + 2.0)
    assert pull_seconds(n, size, fast)[0] == pytest.approx(download + 1.0)


def test_mean_share():
    """The mean of the shares, 0 for no pulls."""
    assert mean_share(np.array([0.25, 0.75])) == 0.5
    assert mean_share(np.zeros(0)) == 0.0
