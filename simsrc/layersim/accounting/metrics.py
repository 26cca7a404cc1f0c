"""Every figure layersim reports, defined once: the result types and the formulas.

The reference implementation (`reference`) and the numpy engine (`assemble.evaluate`) both
return a `PopulationMetrics`; the tests hold them equal field by field. Each field's docstring
or comment names its unit (file, tar, compressed or disk bytes; docs/design.md §4) and its
definition.

Strategies (docs/design.md §5), for a population of images in one store:
- `logical`: the sum over images of their own size, as if nothing were shared.
- `flattened`: one blob per image (export/import); identical exports are one blob. An export is
  identified by the image's top ChainID: the same stack exports to the same tar.
- `layer`: each layer once: by blob digest in a registry, by ChainID on a node.
- `file`: each distinct file content once (content bytes only: the metadata a file-level store
  keeps per path is not counted, as in the published file-level dedup figures).
- `chunk_cdc`, `chunk_fixed`: each distinct chunk once, the chunks of every distinct file
  content the store holds, cut per file (`model.chunks`): content-defined (FastCDC 2020) or
  fixed-size. A registry counts each distinct chunk's compressed bytes (compressed on its own,
  as Nydus stores chunks: `Chunk.compressed_bytes`); a node's chunk store keeps each distinct
  chunk uncompressed in a file of its own, so a chunk costs its file bytes rounded up to the
  filesystem block (`chunk_disk_bytes`). Content metadata and chunk indexes are not counted,
  as for `file`.
"""

from __future__ import annotations

from dataclasses import dataclass, field

STRATEGIES = ("logical", "flattened", "layer", "file")
# Computed for populations evaluated whole (`evaluate`, `analyze`), not per epoch (`run`)
CHUNK_STRATEGIES = ("chunk_cdc", "chunk_fixed")
ALL_STRATEGIES = STRATEGIES + CHUNK_STRATEGIES


def saving(strategy_bytes: int, baseline_bytes: int) -> float:
    """Saving of a strategy against a baseline: `1 - bytes(S) / bytes(B)` (0.0 if B is 0)."""
    return 1.0 - strategy_bytes / baseline_bytes if baseline_bytes else 0.0


def dedup_ratio(logical_bytes: int, strategy_bytes: int) -> float:
    """Dedup ratio of a strategy: `logical / bytes(S)` (1.0 if S is 0)."""
    return logical_bytes / strategy_bytes if strategy_bytes else 1.0


def dive_efficiency(sum_min_bytes: int, sum_cumulative_bytes: int) -> float:
    """dive's image efficiency score: `sum(min) / sum(cumulative)` over paths, 1.0 when empty."""
    return sum_min_bytes / sum_cumulative_bytes if sum_cumulative_bytes else 1.0


def chunk_disk_bytes(chunk_file_bytes: int, block_bytes: int) -> int:
    """Disk bytes of one chunk in a node's chunk store: a file of its own, uncompressed, so its
    file bytes rounded up to the filesystem block (`sizes.pad_to_block`)."""
    return -(-chunk_file_bytes // block_bytes) * block_bytes


@dataclass(frozen=True, slots=True)
class StoredBytes:
    """Bytes one store holds under each strategy (the unit depends on the store: compressed
    bytes for a registry, disk bytes for a node). The chunk strategies are None where they
    are not computed (the per-epoch timelines of `run`)."""

    logical: int
    flattened: int
    layer: int
    file: int
    chunk_cdc: int | None = None
    chunk_fixed: int | None = None

    def as_dict(self) -> dict[str, int]:
        """The strategies computed, by name, in `ALL_STRATEGIES` order."""
        values = {s: getattr(self, s) for s in ALL_STRATEGIES}
        return {s: v for s, v in values.items() if v is not None}


@dataclass(frozen=True, slots=True)
class ImageMetrics:
    """Per-image figures (docs/design.md §4, §6).

    - `layered_tar_bytes`: sum of the layers' tar bytes (what `docker save` carries uncompressed).
    - `layered_compressed_bytes`: sum of the layers' compressed blob bytes (a cold pull).
    - `layered_disk_bytes`: sum of the layers' extracted disk bytes.
    - `flattened_*`: the same for the export of the merged filesystem (one tar of the entries
      the overlay shows: topmost wins, whiteouts applied and dropped, 1024 end bytes).
    - `shadowed_file_bytes`: file bytes in lower layers of paths that a higher layer deletes,
      overwrites or hides under an opaque directory: what flattening drops.
    - `dive_min_bytes`, `dive_cumulative_bytes`, `dive_wasted_bytes` (file bytes as tar headers
      declare them): dive's per-path minimum and cumulative sizes summed, and the cumulative sizes
      of the paths two or more layers name; `dive_efficiency` = min / cumulative.
    - `dive_user_bytes`: file bytes of every layer but the first (dive's "user" size, the
      denominator of its wasted-user percentage).
    """

    name: str
    layers: tuple[str, ...]
    layered_tar_bytes: int
    layered_compressed_bytes: int
    layered_disk_bytes: int
    flattened_tar_bytes: int
    flattened_compressed_bytes: int
    flattened_disk_bytes: int
    shadowed_file_bytes: int
    dive_min_bytes: int
    dive_cumulative_bytes: int
    dive_wasted_bytes: int
    dive_user_bytes: int

    @property
    def dive_efficiency(self) -> float:
        return dive_efficiency(self.dive_min_bytes, self.dive_cumulative_bytes)


@dataclass(frozen=True, slots=True)
class PushRecord:
    """One image pushed to the registry (docs/design.md §7; distribution clients' order: HEAD the blob,
    skip if present in this repository, else mount it from another repository, else upload).

    `uploaded_bytes`: compressed bytes of the uploaded layer blobs (config and manifest, a few
    KB, are not counted). `skipped_layers` lists every layer that moved no bytes, the
    `mounted_layers` among them. Layers are named by their labels (spec names or DiffIDs).
    `flattened_uploaded_bytes`: what pushing the flattened export would upload.
    """

    image: str
    uploaded_bytes: int
    uploaded_layers: tuple[str, ...]
    skipped_layers: tuple[str, ...]
    mounted_layers: tuple[str, ...]
    flattened_uploaded_bytes: int


@dataclass(frozen=True, slots=True)
class PullRecord:
    """One image pulled to a node: a layer is skipped if the node has its ChainID (or, keeping
    compressed blobs, its blob), else downloaded (compressed bytes) and extracted (disk bytes).
    `flattened_downloaded_bytes`: the flattened blob, unless the node already has that export."""

    image: str
    downloaded_bytes: int
    extracted_disk_bytes: int
    downloaded_layers: tuple[str, ...]
    skipped_layers: tuple[str, ...]
    flattened_downloaded_bytes: int


@dataclass(frozen=True, slots=True)
class ImageDiskUsage:
    """`docker system df -v` for one image on a node: `size` = disk bytes of its distinct
    layers (by ChainID); `shared` = those also referenced by another image on the node;
    `unique` = size - shared."""

    image: str
    size_bytes: int
    shared_bytes: int
    unique_bytes: int


@dataclass(frozen=True, slots=True)
class ContainerUsage:
    """A container's writable layer in disk bytes: new files block-rounded; a modified lower
    file copied up whole (overlay2) or only its changed blocks (block driver); deletions are
    whiteouts and cost nothing."""

    name: str
    image: str
    state: str
    writable_bytes: int


@dataclass(frozen=True, slots=True)
class NodeMetrics:
    name: str
    stored_bytes: StoredBytes  # disk bytes
    pulls: tuple[PullRecord, ...]
    images: tuple[ImageDiskUsage, ...]
    containers: tuple[ContainerUsage, ...]

    @property
    def pulled_bytes(self) -> int:
        return sum(p.downloaded_bytes for p in self.pulls)

    @property
    def pulled_flattened_bytes(self) -> int:
        return sum(p.flattened_downloaded_bytes for p in self.pulls)

    def container_bytes(self, state: str | None = None) -> int:
        return sum(c.writable_bytes for c in self.containers if state in (None, c.state))


@dataclass(frozen=True, slots=True)
class PopulationMetrics:
    images: tuple[ImageMetrics, ...]
    registry_stored_bytes: StoredBytes  # compressed bytes
    pushes: tuple[PushRecord, ...]
    nodes: tuple[NodeMetrics, ...] = field(default=())
