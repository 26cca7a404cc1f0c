"""Statistics of the registry a run ends with: layer sharing, waste, and the anchors (the
fleet's statistics beside the published figures of docs/anchors.md they are compared with).

Each anchor is declared once, as data: an `Anchor` names the figure (with its unit), the
published figure and its source, and the function computing it from the run's `FinalState`.
`ANCHORS` holds the anchors every fleet has; `fleet_anchors(fleet)` adds those that depend on
the fleet's families (the first version of each base and runtime, and the file-level saving
across versions of one base). Not here: the per-epoch rows (`replay`) or any byte count the
engine defines (`accounting.metrics`): these statistics combine them.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from functools import partial

import numpy as np

from layersim.accounting.arrays import I64, PopulationArrays
from layersim.accounting.images import ImageTable
from layersim.accounting.sortops import ranges
from layersim.accounting.storage import registry_stored
from layersim.fleet import Fleet
from layersim.fleet.presets import BASE_PRESETS, ImageKind
from layersim.simulation.results import (
    AnchorRow,
    LazyEpoch,
    NodeEpoch,
    RegistryEpoch,
    SharedLayer,
    SharingBucket,
    SharingSummary,
    TransferEpoch,
    WasteSummary,
)

TOP_LAYERS = 10
# Sharing histogram buckets: (label, fewest images, most images) referencing a layer.
SHARING_BUCKETS: tuple[tuple[str, int, int], ...] = (
    ("1", 1, 1),
    ("2", 2, 2),
    ("3-5", 3, 5),
    ("6-10", 6, 10),
    ("11-100", 11, 100),
    (">100", 101, 2**62),
)
MB = 1e6  # the anchors' sizes are in decimal megabytes, as docker-library/repo-info gives them
# EROFS compares this many versions of one base (10 ubuntu:jammy versions)
BASE_VERSIONS_COMPARED = 10


def layer_references(arrays: PopulationArrays, image_ids: I64) -> I64:
    """How many of `image_ids` reference each layer (an image names a layer at most once)."""
    counts = np.diff(arrays.image_offsets)[image_ids]
    layers = arrays.image_layers[ranges(arrays.image_offsets[:-1][image_ids], counts)]
    return np.bincount(layers, minlength=arrays.n_layers).astype(np.int64)


# --------------------------------------------------------------------------- sharing, waste


def sharing(fleet: Fleet, held: I64) -> SharingSummary:
    """Sharing in a registry holding `held`: per layer (= blob here) the number of images that
    reference it; a layer referenced by `n` images saves `(n - 1) x` its compressed bytes
    against storing every image's layers (so the saved bytes sum to logical - layer)."""
    a = fleet.arrays
    refs = layer_references(a, held)
    present = refs > 0
    size = a.layer_compressed_bytes
    saved = np.where(present, (refs - 1) * size, 0)
    buckets = []
    for label, low, high in SHARING_BUCKETS:
        m = (refs >= low) & (refs <= high)
        buckets.append(SharingBucket(label, int(m.sum()), int(size[m].sum()), int(saved[m].sum())))
    # top layers by saved bytes; ties to the lower layer id
    order = np.lexsort((np.arange(saved.size), -saved))[:TOP_LAYERS]
    top = tuple(
        SharedLayer(
            layer=int(lid),
            description=fleet.layer_description(int(lid)),
            images=int(refs[lid]),
            compressed_bytes=int(size[lid]),
            saved_bytes=int(saved[lid]),
        )
        for lid in order.tolist()
        if saved[lid] > 0
    )
    total = int(saved.sum())
    return SharingSummary(
        layers=int(present.sum()),
        saved_bytes=total,
        buckets=tuple(buckets),
        top_layers=top,
        top_share=sum(x.saved_bytes for x in top) / total if total else 0.0,
    )


def waste(held: I64, images: ImageTable) -> WasteSummary:
    """Waste inside the images `held` (file bytes): shadowed bytes and dive's figures, summed."""
    shadowed = images.shadowed_file_bytes[held]
    return WasteSummary(
        images=int(held.size),
        images_with_shadowed_bytes=int((shadowed > 0).sum()),
        shadowed_file_bytes=int(shadowed.sum()),
        dive_wasted_bytes=int(images.dive_wasted_bytes[held].sum()),
        dive_cumulative_bytes=int(images.dive_cumulative_bytes[held].sum()),
    )


# --------------------------------------------------------------------------- anchors


@dataclass(frozen=True, eq=False)
class FinalState:
    """What the anchor statistics are computed from: the registry at the end (`held`, its
    images in push order, and `layer_references`, per layer how many of them reference it),
    the per-image figures, the last stored-bytes rows, the first rollout (and its lazy row), and
    the start-up share of the cold pulls (each node's first pull, onto an empty node), pulled in
    full and lazily."""

    arrays: PopulationArrays
    images: ImageTable
    held: I64
    layer_references: I64
    registry: RegistryEpoch
    nodes: NodeEpoch
    first_rollout: TransferEpoch
    cold_start_pull_share: float
    lazy_cold_start_pull_share: float
    first_lazy: LazyEpoch


@dataclass(frozen=True)
class Anchor:
    """A statistic of the simulated fleet (`figure`, which names its unit; `statistic`
    computes it) and the published figure it is compared with, with its source."""

    figure: str
    published: str
    source: str
    statistic: Callable[[FinalState], float]

    def row(self, state: FinalState) -> AnchorRow:
        """The statistic of `state` beside the published figure."""
        return AnchorRow(self.figure, self.statistic(state), self.published, self.source)


def single_image_layer_share(state: FinalState) -> float:
    """Share of the registry's layers that exactly one of its images references."""
    refs = state.layer_references
    return float((refs == 1).sum() / max(int((refs > 0).sum()), 1))


def distinct_content_share(state: FinalState) -> float:
    """Distinct file contents per regular-file entry, over the registry's distinct layers."""
    a = state.arrays
    layers = np.flatnonzero(state.layer_references > 0)
    counts = np.diff(a.layer_offsets)[layers]
    content = a.entry_content[ranges(a.layer_offsets[:-1][layers], counts)]
    content = content[content >= 0]
    seen = np.zeros(a.content_file_bytes.size, dtype=np.bool_)
    seen[content] = True
    return float(seen.sum() / max(content.size, 1))


def compression_ratio(state: FinalState) -> float:
    """Tar bytes over compressed bytes, summed over the registry's distinct layers."""
    a = state.arrays
    layers = np.flatnonzero(state.layer_references > 0)
    return float(
        a.layer_tar_bytes[layers].sum() / max(int(a.layer_compressed_bytes[layers].sum()), 1)
    )


def registry_file_dedup_ratio(state: FinalState) -> float:
    """The registry at the end: layer-store bytes over file-level dedup bytes (compressed)."""
    return state.registry.layer_bytes / max(state.registry.file_bytes, 1)


def nodes_file_dedup_ratio(state: FinalState) -> float:
    """The nodes at the end: layer-store bytes over file-level dedup bytes (disk, summed)."""
    return state.nodes.layer_bytes / max(state.nodes.file_bytes, 1)


def cold_start_pull_share(state: FinalState) -> float:
    """Mean share of start-up spent pulling, over the cold pulls (`pulltime`)."""
    return state.cold_start_pull_share


def first_rollout_pull_share(state: FinalState) -> float:
    """Mean share of start-up spent pulling, over every pull of the first rollout."""
    return state.first_rollout.startup_pull_share


def lazy_cold_start_pull_share(state: FinalState) -> float:
    """Mean share of start-up spent fetching, over the cold pulls pulled lazily (`lazy`)."""
    return state.lazy_cold_start_pull_share


def lazy_cold_read_share(state: FinalState) -> float:
    """The first rollout pulled cold and lazily: bytes fetched before start over the bytes a
    full pull downloads (`lazy.read_fraction` rounded up to whole chunks; compressed bytes)."""
    row = state.first_lazy
    return row.lazy_cold_startup_bytes / max(row.full_cold_bytes, 1)


def image_compressed_mb(state: FinalState, image: int) -> float:
    """The compressed bytes of `image`'s layers (what a cold pull downloads), in MB."""
    return float(state.images.layered_compressed_bytes[image] / MB)


def image_tar_mb(state: FinalState, image: int) -> float:
    """The tar bytes of `image`'s layers (about what it takes on disk), in MB."""
    return float(state.images.layered_tar_bytes[image] / MB)


def versions_file_saving(state: FinalState, versions: I64) -> float:
    """What file-level dedup saves over storing every layer of `versions` (a registry holding
    just them; compressed bytes): `1 - file / logical`."""
    stored = registry_stored(state.arrays, versions, state.images)
    return 1.0 - stored.file / max(stored.logical, 1)


ZHAO = "Zhao et al., IEEE CLUSTER 2019"
REPO_INFO = "docker-library/repo-info"
SLACKER = "Harter et al., Slacker, FAST 2016"

# The anchors of every fleet, in report order.
ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        "layers referenced by a single image (share)",
        "most layers",
        ZHAO,
        single_image_layer_share,
    ),
    Anchor(
        "distinct file contents per file entry of the distinct layers (share)",
        "about 3% (3.2%) of files unique",
        ZHAO,
        distinct_content_share,
    ),
    Anchor(
        "compression ratio of the distinct layers (tar / compressed bytes)",
        "about 2.2x to 2.7x",
        f"{REPO_INFO} rows of docs/anchors.md",
        compression_ratio,
    ),
    Anchor(
        "registry: file-level dedup over layer-level storage (layer / file, compressed)",
        "up to 6.9x",
        "DupHunter, USENIX ATC 2020",
        registry_file_dedup_ratio,
    ),
    Anchor(
        "nodes: file-level dedup over overlay2 layers (layer / file, disk bytes)",
        "2.7x (822 GB in overlay2 -> 301 GB)",
        "flx42/layer-dedup-test README",
        nodes_file_dedup_ratio,
    ),
    Anchor(
        "cold start (first pull on an empty node): share of start-up spent pulling",
        "76%",
        SLACKER,
        cold_start_pull_share,
    ),
    Anchor(
        "first rollout: share of start-up spent pulling (mean over all its pulls)",
        "76% (cold starts)",
        SLACKER,
        first_rollout_pull_share,
    ),
    Anchor(
        "cold start, lazy pull: share of start-up spent fetching (mean over cold pulls)",
        "76% with full pulls (cold starts of 57 HelloBench images)",
        SLACKER,
        lazy_cold_start_pull_share,
    ),
    Anchor(
        "first rollout, cold lazy pulls: bytes fetched before start / full pull bytes (share)",
        "6.4% of pulled data read at start-up (57 HelloBench images)",
        SLACKER,
        lazy_cold_read_share,
    ),
)

# Published sizes of the runtimes (published figure, source); others have none.
RUNTIME_PUBLISHED: dict[str, tuple[str, str]] = {
    "python": (
        "380.6 MB compressed, 1.02 GB on disk",
        "python:3.12-bookworm (docker-library/repo-info)",
    ),
    "node": ("439.4 MB compressed", "node:24-trixie (docker-library/repo-info)"),
}
NO_PUBLISHED_FIGURE = ("(no published figure)", "assumption")


def _first_image(fleet: Fleet, kind: ImageKind, owner: int) -> int:
    match = (fleet.image_kind == kind) & (fleet.image_owner == owner) & (fleet.image_version == 0)
    return int(np.flatnonzero(match)[0])


def family_anchors(fleet: Fleet) -> tuple[Anchor, ...]:
    """The size of the first version of each base (compressed and tar) and of each runtime
    (compressed), beside the published size of the image it stands for."""
    anchors = []
    for f, name in enumerate(fleet.base_families):
        image = _first_image(fleet, ImageKind.BASE, f)
        preset = BASE_PRESETS[name]
        anchors += [
            Anchor(
                f"{name}-like base, version 0: compressed MB",
                f"{preset.compressed_bytes / MB:g} MB",
                REPO_INFO,
                partial(image_compressed_mb, image=image),
            ),
            Anchor(
                f"{name}-like base, version 0: tar MB (on disk)",
                f"{preset.file_bytes / MB:g} MB",
                REPO_INFO,
                partial(image_tar_mb, image=image),
            ),
        ]
    for r, name in enumerate(fleet.runtime_families):
        image = _first_image(fleet, ImageKind.RUNTIME, r)
        published, source = RUNTIME_PUBLISHED.get(name, NO_PUBLISHED_FIGURE)
        anchors.append(
            Anchor(
                f"{name}-like runtime, version 0: compressed MB",
                published,
                source,
                partial(image_compressed_mb, image=image),
            )
        )
    return tuple(anchors)


def base_versions_anchors(fleet: Fleet) -> tuple[Anchor, ...]:
    """File-level dedup across the first versions of one base (ubuntu if the fleet has it),
    beside EROFS's figure for 10 ubuntu:jammy versions; none if the base has one version."""
    family = "ubuntu" if "ubuntu" in fleet.base_families else fleet.base_families[0]
    f = fleet.base_families.index(family)
    of_family = (fleet.image_kind == ImageKind.BASE) & (fleet.image_owner == f)
    versions = np.flatnonzero(of_family)[:BASE_VERSIONS_COMPARED]
    if versions.size <= 1:
        return ()
    return (
        Anchor(
            f"{versions.size} {family}-like versions: file-level saving over layers "
            "(compressed bytes)",
            "86% (10 ubuntu:jammy versions, uncompressed)",
            "EROFS documentation, dedupe comparison",
            partial(versions_file_saving, versions=versions),
        ),
    )


def fleet_anchors(fleet: Fleet) -> tuple[Anchor, ...]:
    """Every anchor of `fleet`, in report order: `ANCHORS`, its families, its base versions."""
    return (*ANCHORS, *family_anchors(fleet), *base_versions_anchors(fleet))


def anchor_rows(state: FinalState, anchors: tuple[Anchor, ...]) -> tuple[AnchorRow, ...]:
    """Each anchor's statistic of `state` beside its published figure, so a reader sees how
    close the model comes."""
    return tuple(anchor.row(state) for anchor in anchors)
