"""Figures the reports show beside the metrics, each defined once: what a layer's and an image's
regular files amount to, the fleet's sums over its nodes, a share of a whole, a layer's
compression ratio, and the pulls of a range of epochs summed up.

`layersim.report` formats these and computes none. Not here: the stored, pushed and pulled
bytes of every strategy, the savings and the dedup ratios (`metrics`, the one definition of
each), nor how any figure is written (`layersim.report.tables`).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from layersim.accounting.metrics import ALL_STRATEGIES, NodeMetrics, StoredBytes
from layersim.model import Entry, EntryKind, Image, Layer, Population
from layersim.model.chunks import Chunk
from layersim.model.overlay import merged_files


def share(part: int | float, whole: int | float) -> float:
    """A part of a whole as a fraction: `part / whole` (0.0 if the whole is 0)."""
    return part / whole if whole else 0.0


def compression_ratio(tar_bytes: int, compressed_bytes: int) -> float:
    """How many times a blob's tar is larger than the blob: `tar_bytes / compressed_bytes`
    (1.0 if the blob is empty)."""
    return tar_bytes / compressed_bytes if compressed_bytes else 1.0


# --------------------------------------------------------------------------- files


@dataclass(frozen=True, slots=True)
class Files:
    """Regular files: how many, and their file bytes (as tar headers declare them)."""

    files: int
    file_bytes: int


def files_of(entries: Iterable[Entry]) -> Files:
    """The regular files among `entries`: how many, and their file bytes."""
    regular = [e for e in entries if e.kind is EntryKind.FILE]
    return Files(files=len(regular), file_bytes=sum(e.file_bytes for e in regular))


def layer_files(layer: Layer) -> Files:
    """The regular files a layer carries (hidden or not by the layers above it)."""
    return files_of(layer.entries)


def merged_files_of(image: Image) -> Files:
    """The regular files of an image's merged view (`overlay.merged_files`): what a container
    of the image sees."""
    files, _ = merged_files(image.layers)
    return files_of(files.values())


# --------------------------------------------------------------------------- chunks


@dataclass(frozen=True, slots=True)
class ChunkCounts:
    """One chunker's chunks over a set of regular files: `chunks` (every chunk of every file,
    repeats counted), `distinct_chunks` (by chunk digest) and `distinct_bytes` (file bytes of
    the distinct chunks)."""

    chunks: int
    distinct_chunks: int
    distinct_bytes: int


def _counts(chunk_lists: list[tuple[Chunk, ...]]) -> ChunkCounts:
    distinct: dict[str, int] = {}
    total = 0
    for chunks in chunk_lists:
        total += len(chunks)
        for chunk in chunks:
            distinct.setdefault(chunk.digest, chunk.file_bytes)
    return ChunkCounts(total, len(distinct), sum(distinct.values()))


def registry_chunk_counts(population: Population) -> tuple[ChunkCounts, ChunkCounts]:
    """The content-defined and the fixed-size `ChunkCounts` over every regular file of every
    distinct layer (by blob digest) the registry holds: each layer blob once, its shadowed
    files included."""
    blobs: dict[str, Layer] = {}
    by_name = population.image_by_name
    for name in population.push_order or ():
        for layer in by_name[name].layers:
            blobs.setdefault(layer.blob_digest, layer)
    per_file = [
        population.content_chunks(e)
        for layer in blobs.values()
        for e in layer.entries
        if e.kind is EntryKind.FILE and e.content is not None
    ]
    return _counts([c.cdc for c in per_file]), _counts([c.fixed for c in per_file])


# --------------------------------------------------------------------------- the fleet


@dataclass(frozen=True, slots=True)
class FleetFigures:
    """The nodes together (each node stores its own copy, so these are sums over nodes):
    `stored_bytes` per strategy and `container_bytes` (disk bytes); `pulled_bytes` layer by
    layer and `pulled_flattened_bytes` as flattened exports (compressed bytes)."""

    stored_bytes: StoredBytes
    container_bytes: int
    pulled_bytes: int
    pulled_flattened_bytes: int


def fleet_figures(nodes: Sequence[NodeMetrics]) -> FleetFigures:
    """The sums over `nodes` (`FleetFigures`)."""
    # a strategy some node does not compute (None) is not computed for the fleet either
    columns = {s: [getattr(n.stored_bytes, s) for n in nodes] for s in ALL_STRATEGIES}
    stored = {s: None if None in v else sum(v) for s, v in columns.items()}
    return FleetFigures(
        stored_bytes=StoredBytes(**stored),
        container_bytes=sum(n.container_bytes() for n in nodes),
        pulled_bytes=sum(n.pulled_bytes for n in nodes),
        pulled_flattened_bytes=sum(n.pulled_flattened_bytes for n in nodes),
    )


# --------------------------------------------------------------------------- epochs of pulls


@dataclass(frozen=True, slots=True)
class EpochPulls:
    """The pulls of a range of epochs summed up, for one kind of image (layered or flattened).

    - `epochs`: the epochs in which some node pulled; `pulls`: image pulls, all epochs;
    - `worst_seconds_p95`, `worst_seconds_max`: the highest per-epoch p95 and maximum of the
      seconds a pulling node spends pulling (None if no epoch pulled);
    - `startup_pull_share`: the share of container start-up spent pulling, the epochs' shares
      weighted by their pulls (a fraction; None if no epoch pulled).
    """

    epochs: int
    pulls: int
    worst_seconds_p95: float | None
    worst_seconds_max: float | None
    startup_pull_share: float | None


def epoch_pulls(
    pulls: Sequence[int],
    seconds_p95: Sequence[float],
    seconds_max: Sequence[float],
    startup_shares: Sequence[float],
) -> EpochPulls:
    """`EpochPulls` of epochs given as parallel sequences, one item per epoch: its pulls, the
    p95 and maximum seconds of its pulling nodes, and its start-up share."""
    pulled = [k for k, n in enumerate(pulls) if n > 0]
    total = sum(pulls[k] for k in pulled)
    if not pulled:
        return EpochPulls(0, total, None, None, None)
    return EpochPulls(
        epochs=len(pulled),
        pulls=total,
        worst_seconds_p95=max(seconds_p95[k] for k in pulled),
        worst_seconds_max=max(seconds_max[k] for k in pulled),
        startup_pull_share=sum(startup_shares[k] * pulls[k] for k in pulled) / total,
    )
