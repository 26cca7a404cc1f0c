"""The lazy-pull model (eStargz, Nydus, Slacker; DESIGN.md §7): what a node fetches before a
container can start when it pulls lazily, beside the full pull of `pulltime`.

A full pull downloads every layer blob the node lacks before the container starts. A lazy pull
starts the container after fetching only what it reads at start-up: of each layer blob the node
lacks (the blobs a full pull would download, `PullOutcome.DOWNLOAD`), the share
`lazy.read_fraction` of its compressed bytes, rounded up to whole requests of
`lazy.chunk_bytes` (the last request of a blob shorter). The rest of the blob, also in
requests of `chunk_bytes`, follows in the background (`lazy.background`) or never. Blobs the
node already holds cost nothing either way: warm lazy pulls fetch only what the node lacks,
exactly as warm full pulls do.

Per blob of `B` compressed bytes, with read fraction `f` and chunk `C`:

- start-up requests `r = ceil(ceil(f * B) / C)`, start-up bytes `s = min(r * C, B)`;
- background bytes `B - s`, background requests `ceil((B - s) / C)`.

So start-up + background bytes is `B`: everything, eventually fetched, is what a full pull
downloads. The start-up time uses `pulltime`'s wave model with the lazy request latency:
`ceil(requests / parallel_downloads) * request_latency + bytes * 8 / bandwidth`.

Assumption (where the sources are silent): a container reads the same share of every layer
blob; Slacker's 6.4% is a share of the whole image's bytes, measured over HelloBench's cold
starts. Not here: which blobs a node lacks (`accounting.transfers`) or the per-epoch rows
(`replay`).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I64, PopulationArrays, expand_images
from layersim.accounting.sortops import segment_sum
from layersim.accounting.transfers import PullOutcome, PullTable
from layersim.config import LazyConfig, TransferConfig
from layersim.simulation.pulltime import wave_seconds


@dataclass(frozen=True, eq=False)
class LazyFetches:
    """Per pull (or per blob): what a lazy pull fetches before the container starts and what
    remains. Bytes are compressed bytes, requests are registry requests (counts)."""

    startup_bytes: I64
    startup_requests: I64
    background_bytes: I64
    background_requests: I64

    def moved_bytes(self, lazy: LazyConfig) -> I64:
        """Bytes a lazy pull moves in all: start-up bytes, plus the background bytes when
        `lazy.background` fetches the rest (compressed bytes)."""
        return self.startup_bytes + self.background_bytes * lazy.background

    def requests(self, lazy: LazyConfig) -> I64:
        """Registry requests of a lazy pull in all: start-up requests, plus the background
        ones when `lazy.background` fetches the rest (count)."""
        return self.startup_requests + self.background_requests * lazy.background


def _ceil_div(a: I64, b: int) -> I64:
    return -(-a // b)


def blob_fetches(blob_bytes: I64, lazy: LazyConfig) -> LazyFetches:
    """Per blob of `blob_bytes` compressed bytes (0: a blob not fetched), the lazy fetches:
    start-up requests `ceil(ceil(f * B) / C)`, start-up bytes `min(requests * C, B)`, the rest
    in requests of `C` (module docstring)."""
    blob_bytes = np.asarray(blob_bytes, dtype=np.int64)
    chunk = lazy.chunk_bytes
    read = np.minimum(np.ceil(lazy.read_fraction * blob_bytes).astype(np.int64), blob_bytes)
    startup_requests = _ceil_div(read, chunk)
    startup_bytes = np.minimum(startup_requests * chunk, blob_bytes)
    rest = blob_bytes - startup_bytes
    return LazyFetches(startup_bytes, startup_requests, rest, _ceil_div(rest, chunk))


def pull_fetches(arrays: PopulationArrays, pulls: PullTable, lazy: LazyConfig) -> LazyFetches:
    """Per pull of `pulls`: the lazy fetches of the blobs that pull downloads in full (its
    `PullOutcome.DOWNLOAD` rows), summed per pull."""
    n_pull = pulls.image.size
    _, row_pull, rows = expand_images(arrays, pulls.image)
    download = pulls.layer_outcome == int(PullOutcome.DOWNLOAD)
    blob_bytes = arrays.layer_compressed_bytes[arrays.image_layers[rows]] * download
    per_blob = blob_fetches(blob_bytes, lazy)
    return LazyFetches(
        *(
            segment_sum(getattr(per_blob, name), row_pull, n_pull)
            for name in (
                "startup_bytes",
                "startup_requests",
                "background_bytes",
                "background_requests",
            )
        )
    )


def startup_seconds(
    requests: np.ndarray, startup_bytes: np.ndarray, transfer: TransferConfig, lazy: LazyConfig
) -> np.ndarray:
    """Estimated lazy start-up fetch time in seconds: `pulltime.wave_seconds` with the lazy
    request latency, `ceil(requests / parallel_downloads) * request_latency + bytes * 8 /
    bandwidth`."""
    return wave_seconds(requests, startup_bytes, transfer, lazy.request_latency_ms)
