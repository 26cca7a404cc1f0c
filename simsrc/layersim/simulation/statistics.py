"""Statistics of the registry a run ends with: layer sharing, waste, and the anchors (the
fleet's statistics beside the published figures of docs/anchors.md they are compared with).

Each anchor is declared once, as data (`Anchor`): the figure (naming its unit), the statistic
computing it, the population it is computed on (`Sample`: the images of the run the source's
population corresponds to, e.g. the latest tag of each repository for Zhao et al.), the
published figure, the bounds a produced value must fall within (`Bounds`; none when the row is
not comparable) and the reason (the source's population, or why there is no verdict), the
source, and for a whole-Docker-Hub figure the smallest registry it applies to
(`min_repositories`; below, n/a). Each statistic is defined once, on a set of images, and
computed by the engine on a store holding just those images
(`accounting.storage.registry_stored`, `node_stored`), so the same statistic serves the
latest-tag row and the all-tags row. `ANCHORS` holds the anchors
every fleet has; `family_anchors` and `base_versions_anchors` those that depend on the fleet's
families; a new row is one more `Anchor` in one of them. Not here: the per-epoch rows
(`replay`) or any byte count the engine defines (`accounting.metrics`).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I8, I64, PopulationArrays
from layersim.accounting.images import ImageTable
from layersim.accounting.sortops import combine, first_occurrence, ranges
from layersim.accounting.storage import chunk_stored, node_stored, registry_stored
from layersim.fleet import Fleet
from layersim.fleet.presets import BASE_PRESETS, ImageKind
from layersim.simulation.results import (
    AnchorRow,
    LazyEpoch,
    NodeEpoch,
    SharedLayer,
    SharingBucket,
    SharingSummary,
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
    """How many times `image_ids` reference each layer (an image naming a layer twice, e.g.
    the same empty layer at two steps, counts twice, as its logical bytes do)."""
    counts = np.diff(arrays.image_offsets)[image_ids]
    layers = arrays.image_layers[ranges(arrays.image_offsets[:-1][image_ids], counts)]
    return np.bincount(layers, minlength=arrays.n_layers).astype(np.int64)


def referencing_images(arrays: PopulationArrays, image_ids: I64) -> I64:
    """How many of `image_ids` reference each layer (an image counts once per layer)."""
    counts = np.diff(arrays.image_offsets)[image_ids]
    layers = arrays.image_layers[ranges(arrays.image_offsets[:-1][image_ids], counts)]
    image = np.repeat(np.arange(image_ids.size, dtype=np.int64), counts)
    once = first_occurrence(combine(image, layers, max(arrays.n_layers, 1)))
    return np.bincount(layers[once], minlength=arrays.n_layers).astype(np.int64)


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
    images in push order), each image's repository and version (`repositories`), the
    per-image figures, the nodes' last stored-bytes row, the first rollout's lazy row, and
    the start-up share of the cold pulls (each node's first pull, onto an empty node),
    pulled in full and lazily."""

    arrays: PopulationArrays
    images: ImageTable
    held: I64
    image_kind: I8
    image_repository: I64
    image_version: I64
    nodes: NodeEpoch
    cold_start_pull_share: float
    lazy_cold_start_pull_share: float
    first_lazy: LazyEpoch


def repositories(image_kind: I8, image_owner: I64) -> I64:
    """A repository id per image: one repository per base family, per runtime family and per
    app (`Fleet.image_kind`, `image_owner`); its tags are the repository's versions."""
    owners = int(image_owner.max()) + 1 if image_owner.size else 1
    return image_kind.astype(np.int64) * owners + image_owner


# ---------------------------------------------------------------- the populations measured
#
# A population is a set of images of the run, held by one store: the statistics below take
# the image ids and hand them to the engine (`accounting.storage.registry_stored` and
# `node_stored` evaluate a registry or a node holding exactly those images), so every
# statistic is defined once and computed on whichever population its source measured.


@dataclass(frozen=True)
class Sample:
    """A population an anchor is computed on: what it is (`name`, the `population` column)
    and which images it holds (`images`; None for the statistics read off the run's pull
    rows, whose population the name describes)."""

    name: str
    images: Callable[[FinalState], I64] | None = None


def all_tags(state: FinalState) -> I64:
    """Every image the registry holds at the end: every kept tag of every repository."""
    return state.held


def latest_tags(state: FinalState) -> I64:
    """The latest tag (highest version) the registry holds of each repository, in push
    order."""
    held = state.held
    repo, version = state.image_repository[held], state.image_version[held]
    order = np.lexsort((version, repo))
    last = np.ones(order.size, dtype=np.bool_)
    last[:-1] = repo[order][1:] != repo[order][:-1]
    return np.sort(held[order][last])


def base_and_runtime_latest_tags(state: FinalState) -> I64:
    """The latest tag of each base and runtime repository (the official images)."""
    latest = latest_tags(state)
    kind = state.image_kind[latest]
    return latest[(kind == ImageKind.BASE) | (kind == ImageKind.RUNTIME)]


# flx42/layer-dedup-test pulled every tag of 36 repositories onto one node (docs/anchors.md,
# "Docker Hub at scale"); the node below holds as many app repositories, or every app
# repository when the run has fewer.
FLX42_REPOSITORIES = 36


def one_node_every_tag(state: FinalState) -> I64:
    """One node holding every tag the registry keeps of `FLX42_REPOSITORIES` app
    repositories: those of the lowest app ids (app ids are assigned in generation order,
    independent of an app's size, parent or tag count), each tag with its parent's layers."""
    held = state.held
    apps = held[state.image_kind[held] == ImageKind.APP]
    chosen = np.unique(state.image_repository[apps])[:FLX42_REPOSITORIES]
    return apps[np.isin(state.image_repository[apps], chosen)]


def versions_of(images: I64) -> Callable[[FinalState], I64]:
    """A fixed set of images (the first versions of one base family)."""
    return lambda state: images


# ---------------------------------------------------------------- the statistics


def _distinct_layers(state: FinalState, images: I64) -> I64:
    return np.flatnonzero(layer_references(state.arrays, images) > 0)


def single_image_layer_share(state: FinalState, images: I64) -> float:
    """Share of the layers of `images` that exactly one of them references."""
    refs = referencing_images(state.arrays, images)
    return float((refs == 1).sum() / max(int((refs > 0).sum()), 1))


def distinct_content_share(state: FinalState, images: I64) -> float:
    """Distinct file contents per regular-file entry, over the distinct layers of `images`."""
    a = state.arrays
    layers = _distinct_layers(state, images)
    counts = np.diff(a.layer_offsets)[layers]
    content = a.entry_content[ranges(a.layer_offsets[:-1][layers], counts)]
    content = content[content >= 0]
    seen = np.zeros(a.content_file_bytes.size, dtype=np.bool_)
    seen[content] = True
    return float(seen.sum() / max(content.size, 1))


def compression_ratio(state: FinalState, images: I64) -> float:
    """Tar bytes over compressed bytes, summed over the distinct layers of `images`."""
    a = state.arrays
    layers = _distinct_layers(state, images)
    return float(
        a.layer_tar_bytes[layers].sum() / max(int(a.layer_compressed_bytes[layers].sum()), 1)
    )


def registry_file_dedup_ratio(state: FinalState, images: I64) -> float:
    """A registry holding `images`: layer-store bytes over file-level dedup bytes
    (compressed; `accounting.storage.registry_stored`)."""
    stored = registry_stored(state.arrays, images, state.images)
    return stored.layer / max(stored.file, 1)


def _one_node(state: FinalState, images: I64) -> tuple[int, int]:
    """Disk bytes of one node holding `images`: (layer store, file-level dedup)."""
    offsets = np.array([0, images.size], dtype=np.int64)
    stored = node_stored(state.arrays, offsets, images, state.images)
    return int(stored.layer[0]), int(stored.file[0])


def node_file_dedup_ratio(state: FinalState, images: I64) -> float:
    """One node holding `images`: overlay2 layer bytes over file-level dedup bytes (disk
    bytes; `accounting.storage.node_stored`)."""
    layer, file = _one_node(state, images)
    return layer / max(file, 1)


def versions_file_saving(state: FinalState, images: I64) -> float:
    """What file-level dedup saves over storing each distinct layer of `images` once, on
    disk (uncompressed, as EROFS compares tars with its deduplicated image): `1 - file /
    layer` of a node holding them."""
    layer, file = _one_node(state, images)
    return 1.0 - file / max(layer, 1)


def image_compressed_mb(state: FinalState, images: I64) -> float:
    """The compressed bytes of the layers of `images` (one image: what a cold pull of it
    downloads), in MB."""
    return float(state.images.layered_compressed_bytes[images].sum() / MB)


def image_tar_mb(state: FinalState, images: I64) -> float:
    """The tar bytes of the layers of `images` (about what one image takes on disk), in MB."""
    return float(state.images.layered_tar_bytes[images].sum() / MB)


def fleet_nodes_file_dedup_ratio(state: FinalState, images: I64 | None) -> float:
    """Every node at the end: layer-store bytes over file-level dedup bytes (disk, summed)."""
    return state.nodes.layer_bytes / max(state.nodes.file_bytes, 1)


def cold_start_pull_share(state: FinalState, images: I64 | None) -> float:
    """Mean share of start-up spent pulling, over the cold pulls (`pulltime`)."""
    return state.cold_start_pull_share


def lazy_cold_start_pull_share(state: FinalState, images: I64 | None) -> float:
    """Mean share of start-up spent fetching, over the cold pulls pulled lazily (`lazy`)."""
    return state.lazy_cold_start_pull_share


def lazy_cold_read_share(state: FinalState, images: I64 | None) -> float:
    """The first rollout pulled cold and lazily: bytes fetched before start over the bytes a
    full pull downloads (`lazy.read_fraction` rounded up to whole chunks; compressed bytes)."""
    row = state.first_lazy
    return row.lazy_cold_startup_bytes / max(row.full_cold_bytes, 1)


# ---------------------------------------------------------------- bounds and verdicts

# A published size or exact figure holds within +-5% (docs/anchors.md, "Populations").
EXACT_TOLERANCE = 0.05
WITHIN, OUTSIDE, NOT_APPLICABLE = "within", "outside", "n/a"


@dataclass(frozen=True)
class Bounds:
    """The produced values that agree with a published figure: `low <= produced <= high`."""

    low: float
    high: float

    def verdict(self, produced: float) -> str:
        return WITHIN if self.low <= produced <= self.high else OUTSIDE


def exactly(value: float) -> Bounds:
    """An exact published figure (a size, a ratio, a share): within +-5% of it."""
    return Bounds(value * (1 - EXACT_TOLERANCE), value * (1 + EXACT_TOLERANCE))


# ---------------------------------------------------------------- the anchor table


def repository_count(state: FinalState) -> int:
    """How many repositories the registry holds at the end (one latest tag each)."""
    return int(latest_tags(state).size)


# Zhao et al. and DupHunter measured Docker Hub as a whole (Zhao: the latest tags of about
# 350,000 repositories). Their figures depend on the registry's size: small files shared by
# many images are counted once over more images as the registry grows. Measured on the `hub`
# scenario's latest tags (seed 42, 81,006 repositories; random subsets of repositories, mean
# of 5 draws), distinct file contents per file entry: 27.0% of 300 repositories, 19.3% of
# 1,000, 8.6% of 10,000, 5.6% of 30,000, 3.9% of all; layer / file of the registry: 2.43,
# 2.52, 2.92, 3.14, 3.31; layers referenced by a single image: 0.89, 0.96, 0.996, 0.9987,
# 0.9995 (docs/anchors.md "Registries of Docker Hub's scale"). Such a row is compared only on
# a registry of the source's order of magnitude: at least a tenth of Zhao's repositories.
# (`scripts/anchor_scale.py` prints these figures.)
HUB_SCALE_REPOSITORIES = 35_000
HUB_SCALE_REASON = (
    f"compared only on a registry of Docker Hub's scale (at least {HUB_SCALE_REPOSITORIES:,} "
    "repositories, a tenth of Zhao's ~350,000): the figure depends on the registry's size"
)


@dataclass(frozen=True)
class Anchor:
    """One row of anchors.csv, declared once: the `figure` (naming its unit), the `statistic`
    computing it on the `population` (a `Sample`), the `published` figure and its `source`,
    the `bounds` a produced value must fall within (None: no verdict applies) and the
    `reason` (what the source's population is, or why there is no verdict). A row whose
    figure depends on the registry's size applies only to a registry of at least
    `min_repositories` repositories (0: any registry); below, its verdict is n/a."""

    figure: str
    statistic: Callable[[FinalState, I64 | None], float]
    population: Sample
    published: str
    bounds: Bounds | None
    reason: str
    source: str
    min_repositories: int = 0

    def _too_small(self, state: FinalState) -> int | None:
        """The registry's repository count when it is below `min_repositories`, else None."""
        if self.min_repositories == 0:
            return None
        count = repository_count(state)
        return count if count < self.min_repositories else None

    def row(self, state: FinalState) -> AnchorRow:
        """The statistic computed on its population, beside the published figure, with the
        verdict: `within` / `outside` the bounds, `n/a` without bounds, on a registry of
        fewer than `min_repositories` repositories (the produced value is still shown) or on
        an empty population (the produced cell is then empty)."""
        images = None if self.population.images is None else self.population.images(state)
        empty = images is not None and images.size == 0
        produced = None if empty else float(self.statistic(state, images))
        small = self._too_small(state)
        bounds = None if small is not None else self.bounds
        verdict = NOT_APPLICABLE if bounds is None or produced is None else bounds.verdict(produced)
        reason = self.reason
        if small is not None:
            noun = "repository" if small == 1 else "repositories"
            reason = f"not comparable: the registry holds {small:,} {noun}; {reason}"
        if empty:
            reason = f"{reason} (the population is empty in this run)"
        return AnchorRow(
            figure=self.figure,
            population=self.population.name,
            produced=produced,
            published=self.published,
            low=None if bounds is None else bounds.low,
            high=None if bounds is None else bounds.high,
            verdict=verdict,
            reason=reason,
            source=self.source,
        )


ZHAO = "Zhao et al., IEEE CLUSTER 2019"
DUPHUNTER = "DupHunter, USENIX ATC 2020"
REPO_INFO = "docker-library/repo-info"
SLACKER = "Harter et al., Slacker, FAST 2016"
FLX42 = "flx42/layer-dedup-test README"

ALL_TAGS = Sample("every tag the registry keeps at the end", all_tags)
LATEST_TAGS = Sample("the latest tag of each repository the registry keeps", latest_tags)
OFFICIAL = Sample(
    "the latest tag of each base and runtime repository", base_and_runtime_latest_tags
)
FLX42_NODE = Sample(
    f"one node holding every kept tag of {FLX42_REPOSITORIES} app repositories (the lowest app "
    "ids; all of them if fewer)",
    one_node_every_tag,
)
FLEET_NODES = Sample("every node at the end, summed (estimated from the sample if sampled)")
COLD_PULLS = Sample("cold pulls: each node's first pull, at epoch 0, onto an empty node")

ZHAO_POPULATION = "Zhao et al. measured the latest tag of each repository (about 350,000 images)"
NOT_THEIR_POPULATION = "not comparable: the source measured the latest tag of each repository"

# The anchors of every fleet, in report order. A row is added here (or, for rows that depend
# on the fleet's families, in `family_anchors` / `base_versions_anchors`), nowhere else.
ANCHORS: tuple[Anchor, ...] = (
    Anchor(
        "layers referenced by a single image (share)",
        single_image_layer_share,
        LATEST_TAGS,
        "most layers",
        Bounds(0.5, 1.0),
        f"{ZHAO_POPULATION}; 'most' read as more than half; {HUB_SCALE_REASON}",
        ZHAO,
        HUB_SCALE_REPOSITORIES,
    ),
    Anchor(
        "layers referenced by a single image (share)",
        single_image_layer_share,
        ALL_TAGS,
        "most layers",
        None,
        NOT_THEIR_POPULATION,
        ZHAO,
    ),
    Anchor(
        "distinct file contents per file entry of the distinct layers (share)",
        distinct_content_share,
        LATEST_TAGS,
        "about 3% (3.2%) of files unique",
        Bounds(0.02, 0.05),
        f"{ZHAO_POPULATION}; 'about 3%' read as 2% to 5%; {HUB_SCALE_REASON}",
        ZHAO,
        HUB_SCALE_REPOSITORIES,
    ),
    Anchor(
        "distinct file contents per file entry of the distinct layers (share)",
        distinct_content_share,
        ALL_TAGS,
        "about 3% (3.2%) of files unique",
        None,
        NOT_THEIR_POPULATION,
        ZHAO,
    ),
    Anchor(
        "registry: file-level dedup over layer-level storage (layer / file, compressed)",
        registry_file_dedup_ratio,
        LATEST_TAGS,
        "up to 6.9x",
        Bounds(2.0, 6.9),
        "DupHunter's maximum (its highest-reduction mode), compared on the latest tag of each "
        "repository as for Zhao; the lower bound 2.0 is Gear's 54% saved (2.2x, ICDCS 2021) "
        f"rounded down; {HUB_SCALE_REASON}",
        DUPHUNTER,
        HUB_SCALE_REPOSITORIES,
    ),
    Anchor(
        "registry: file-level dedup over layer-level storage (layer / file, compressed)",
        registry_file_dedup_ratio,
        ALL_TAGS,
        "up to 6.9x",
        None,
        NOT_THEIR_POPULATION,
        DUPHUNTER,
    ),
    Anchor(
        "compression ratio of the distinct layers (tar / compressed bytes)",
        compression_ratio,
        OFFICIAL,
        "about 2.2x to 2.7x",
        Bounds(2.2, 2.7),
        "the range is that of the official base and runtime images of docs/anchors.md",
        f"{REPO_INFO} rows of docs/anchors.md",
    ),
    Anchor(
        "compression ratio of the distinct layers (tar / compressed bytes)",
        compression_ratio,
        ALL_TAGS,
        "about 2.2x to 2.7x",
        None,
        "not comparable: the range holds for official base and runtime images only; no "
        "registry-wide figure is verified",
        f"{REPO_INFO} rows of docs/anchors.md",
    ),
    Anchor(
        "nodes: file-level dedup over overlay2 layers (layer / file, disk bytes)",
        node_file_dedup_ratio,
        FLX42_NODE,
        "2.7x (822 GB in overlay2 -> 301 GB)",
        exactly(2.7),
        "flx42 pulled every tag of 36 repositories onto one node",
        FLX42,
    ),
    Anchor(
        "nodes: file-level dedup over overlay2 layers (layer / file, disk bytes)",
        fleet_nodes_file_dedup_ratio,
        FLEET_NODES,
        "2.7x (822 GB in overlay2 -> 301 GB)",
        None,
        "not comparable: a node keeps the last `nodes.retention` versions of the apps it runs, "
        "not every tag of a set of repositories",
        FLX42,
    ),
    Anchor(
        "cold start: share of start-up spent pulling",
        cold_start_pull_share,
        COLD_PULLS,
        "76%",
        exactly(0.76),
        "Slacker measured cold starts of 57 HelloBench images",
        SLACKER,
    ),
    Anchor(
        "cold start, lazy pull: share of start-up spent fetching (mean over cold pulls)",
        lazy_cold_start_pull_share,
        COLD_PULLS,
        "76% with full pulls (cold starts of 57 HelloBench images)",
        None,
        "no published figure: what lazy pulling leaves of the 76% on the same cold pulls",
        SLACKER,
    ),
    Anchor(
        "first rollout, cold lazy pulls: bytes fetched before start / full pull bytes (share)",
        lazy_cold_read_share,
        Sample("every pull of epoch 0, onto an empty node"),
        "6.4% of pulled data read at start-up (57 HelloBench images)",
        None,
        "an input, not a check: `lazy.read_fraction` = 0.064 rounded up to whole chunks",
        SLACKER,
    ),
)

# Published sizes of the runtimes (published figure, its value in MB, source); others have none.
RUNTIME_PUBLISHED: dict[str, tuple[str, float, str]] = {
    "python": (
        "380.6 MB compressed, 1.02 GB on disk",
        380.6,
        "python:3.12-bookworm (docker-library/repo-info)",
    ),
    "node": ("439.4 MB compressed", 439.4, "node:24-trixie (docker-library/repo-info)"),
}
# EROFS compares this many versions of one base (10 ubuntu:jammy versions)
BASE_VERSIONS_COMPARED = 10
EROFS_FAMILY = "ubuntu"


def _first_image(fleet: Fleet, kind: ImageKind, owner: int) -> I64:
    match = (fleet.image_kind == kind) & (fleet.image_owner == owner) & (fleet.image_version == 0)
    return np.flatnonzero(match)[:1].astype(np.int64)


def family_anchors(fleet: Fleet) -> tuple[Anchor, ...]:
    """The size of the first version of each base (compressed and tar) and of each runtime
    (compressed), beside the published size of the image it stands for (+-5%)."""
    anchors = []
    for f, name in enumerate(fleet.base_families):
        image = Sample(
            f"{name}-like base, version 0", versions_of(_first_image(fleet, ImageKind.BASE, f))
        )
        preset = BASE_PRESETS[name]
        for figure, statistic, published_bytes, reason in (
            ("compressed MB", image_compressed_mb, preset.compressed_bytes, "the same image"),
            (
                "tar MB (on disk)",
                image_tar_mb,
                preset.file_bytes,
                "tar bytes include headers and padding, which repo-info's on-disk size does not",
            ),
        ):
            anchors.append(
                Anchor(
                    f"{name}-like base, version 0: {figure}",
                    statistic,
                    image,
                    f"{published_bytes / MB:g} MB",
                    exactly(published_bytes / MB),
                    reason,
                    REPO_INFO,
                )
            )
    for r, name in enumerate(fleet.runtime_families):
        image = Sample(
            f"{name}-like runtime, version 0 (base layer included)",
            versions_of(_first_image(fleet, ImageKind.RUNTIME, r)),
        )
        if name in RUNTIME_PUBLISHED:
            published, mb, source = RUNTIME_PUBLISHED[name]
            bounds, reason = exactly(mb), "the same image"
        else:
            published, bounds, source = "(no published figure)", None, "assumption"
            reason = "no published figure: the preset is an assumption"
        anchors.append(
            Anchor(
                f"{name}-like runtime, version 0: compressed MB",
                image_compressed_mb,
                image,
                published,
                bounds,
                reason,
                source,
            )
        )
    return tuple(anchors)


def base_versions_anchors(fleet: Fleet) -> tuple[Anchor, ...]:
    """File-level dedup across the first versions of one base (ubuntu if the fleet has it),
    beside EROFS's figure for 10 ubuntu:jammy versions; a verdict only on 10 ubuntu-like
    versions; no row if the base has one version."""
    family = EROFS_FAMILY if EROFS_FAMILY in fleet.base_families else fleet.base_families[0]
    f = fleet.base_families.index(family)
    of_family = (fleet.image_kind == ImageKind.BASE) & (fleet.image_owner == f)
    versions = np.flatnonzero(of_family)[:BASE_VERSIONS_COMPARED].astype(np.int64)
    if versions.size <= 1:
        return ()
    comparable = family == EROFS_FAMILY and versions.size == BASE_VERSIONS_COMPARED
    return (
        Anchor(
            "versions of one base: file-level saving over layers (share, disk bytes)",
            versions_file_saving,
            Sample(f"the first {versions.size} {family}-like base versions", versions_of(versions)),
            "86% (10 ubuntu:jammy versions, uncompressed)",
            exactly(0.86) if comparable else None,
            "EROFS compared 10 ubuntu:jammy versions"
            if comparable
            else f"not comparable: the run has {versions.size} {family}-like versions; EROFS "
            "compared 10 ubuntu:jammy versions",
            "EROFS documentation, dedupe comparison",
        ),
    )


# ---------------------------------------------------------------- chunk-level dedup

NYDUS = "Nydus docs, chunk-deduplication"
NYDUS_FASTCDC = "Nydus docs quoting FastCDC"
PUZZLEFS = "linux-erofs list, 2024-09-26 (PuzzleFS)"
EROFS = "EROFS documentation, dedupe comparison"
# Nydus builds 7 of 10 versions against a chunk dictionary of the other 3
DICTIONARY_VERSIONS = 3
# Nydus chunk dictionary: share of the 7 images' bytes saved, per family it has a row for
NYDUS_DICTIONARY_SAVED = {
    "ubuntu": (0.545, "308.59 -> 140.28 MB"),
    "alpine": (0.103, "27.55 -> 24.7 MB"),
}


def _chunk_bytes(
    state: FinalState, holder: I64, images: I64, n_holders: int, *, fixed: bool
) -> I64:
    """Compressed bytes of the distinct chunks of each registry-like holder (`chunk_stored`)."""
    stored = chunk_stored(state.arrays, holder, images, n_holders, registry=True)
    if stored is None:
        raise ValueError("the run's contents carry no chunks")
    return stored.fixed if fixed else stored.cdc


def chunk_dictionary_saving(state: FinalState, images: I64) -> float:
    """Nydus's chunk dictionary: the last versions of `images` each built against a dictionary
    of the chunks of the first `DICTIONARY_VERSIONS` (fixed-size chunks, Nydus's default): `1 -
    sum of (chunks of image i not in the dictionary) / sum of (chunks of image i)`, each image
    deduplicated within itself, compressed bytes (as Nydus blobs)."""
    dictionary, rest = images[:DICTIONARY_VERSIONS], images[DICTIONARY_VERSIONS:]
    n = rest.size
    # holders: 0 the dictionary; 1..n the dictionary plus image i; n+1..2n image i alone
    holder = np.concatenate(
        [
            np.zeros(dictionary.size, dtype=np.int64),
            np.repeat(np.arange(1, n + 1), dictionary.size),
            np.arange(1, n + 1),
            np.arange(n + 1, 2 * n + 1),
        ]
    )
    held = np.concatenate([dictionary, np.tile(dictionary, n), rest, rest])
    stored = _chunk_bytes(state, holder, held, 2 * n + 1, fixed=True)
    added = stored[1 : n + 1] - stored[0]
    alone = stored[n + 1 :]
    return 1.0 - float(added.sum()) / max(float(alone.sum()), 1.0)


def _tar_bytes(state: FinalState, images: I64) -> float:
    """The tar bytes of each distinct layer of `images` (the versions' tars, as EROFS sums them)."""
    return float(state.arrays.layer_tar_bytes[_distinct_layers(state, images)].sum())


def cdc_saving_over_tars(state: FinalState, images: I64) -> float:
    """`1 - chunk store / tars`: a node's content-defined chunk store holding `images` (disk
    bytes, each distinct chunk once) against their distinct layers' tar bytes."""
    offsets = np.array([0, images.size], dtype=np.int64)
    stored = node_stored(state.arrays, offsets, images, state.images).chunks
    if stored is None:
        raise ValueError("the run's contents carry no chunks")
    return 1.0 - float(stored.cdc[0]) / max(_tar_bytes(state, images), 1.0)


def cdc_compressed_saving_over_tars(state: FinalState, images: I64) -> float:
    """`1 - compressed chunks / tars`: the distinct content-defined chunks of `images`, each
    compressed on its own (as a registry stores them), against their layers' tar bytes."""
    zeros = np.zeros(images.size, dtype=np.int64)
    chunks = float(_chunk_bytes(state, zeros, images, 1, fixed=False)[0])
    return 1.0 - chunks / max(_tar_bytes(state, images), 1.0)


def layer_compressed_share_of_tars(state: FinalState, images: I64) -> float:
    """The distinct layers of `images`: compressed bytes over tar bytes (tar.gz over tar)."""
    layers = _distinct_layers(state, images)
    compressed = float(state.arrays.layer_compressed_bytes[layers].sum())
    return compressed / max(_tar_bytes(state, images), 1.0)


def _distinct_chunk_file_bytes(state: FinalState, images: I64) -> tuple[int, int, int]:
    """File bytes of the regular files of the distinct layers of `images` (each layer once,
    shadowed files included), and of their distinct content-defined and fixed-size chunks."""
    a = state.arrays
    layers = _distinct_layers(state, images)
    counts = np.diff(a.layer_offsets)[layers]
    content = a.entry_content[ranges(a.layer_offsets[layers], counts)]
    content = content[content >= 0]
    total = int(a.content_file_bytes[content].sum())
    distinct = np.unique(content)
    out = []
    for table in (a.cdc_chunks, a.fixed_chunks):
        if table is None:
            raise ValueError("the run's contents carry no chunks")
        per = np.diff(table.content_offsets)[distinct]
        chunks = np.unique(table.content_chunks[ranges(table.content_offsets[distinct], per)])
        out.append(int(table.chunk_file_bytes[chunks].sum()))
    return total, out[0], out[1]


def cdc_extra_redundancy(state: FinalState, images: I64) -> float:
    """How much more redundancy content-defined chunks find than fixed-size ones in `images`:
    `(total - cdc) / (total - fixed) - 1` in file bytes (redundancy = the file bytes of the
    distinct layers less those of their distinct chunks), at the run's chunk sizes."""
    total, cdc, fixed = _distinct_chunk_file_bytes(state, images)
    return (total - cdc) / max(total - fixed, 1) - 1.0


def _base_versions(fleet: Fleet, family: str) -> I64:
    """The first `BASE_VERSIONS_COMPARED` versions of base `family` (none if absent)."""
    if family not in fleet.base_families:
        return np.zeros(0, dtype=np.int64)
    f = fleet.base_families.index(family)
    of_family = (fleet.image_kind == ImageKind.BASE) & (fleet.image_owner == f)
    return np.flatnonzero(of_family)[:BASE_VERSIONS_COMPARED].astype(np.int64)


def _comparable(versions: I64, family: str, what: str) -> tuple[bool, str]:
    """Whether `versions` are 10 versions of `family` (the sources compared 10), and why not."""
    if versions.size == BASE_VERSIONS_COMPARED:
        return True, f"the source compared 10 {what} versions"
    return False, (
        f"not comparable: the run has {versions.size} {family}-like base versions; the source "
        f"compared 10 {what} versions"
    )


def chunk_anchors(fleet: Fleet) -> tuple[Anchor, ...]:
    """Chunk-level dedup across the versions of a base (`fleet.lineage`), beside Nydus's chunk
    dictionary, PuzzleFS's and EROFS's figures for 10 ubuntu:jammy versions, and FastCDC's
    extra redundancy over fixed-size chunks; a verdict only on 10 versions of the family."""
    anchors = []
    for family, (saved, sizes) in NYDUS_DICTIONARY_SAVED.items():
        versions = _base_versions(fleet, family)
        if versions.size <= DICTIONARY_VERSIONS:
            continue  # no such family, or no version beyond the dictionary
        ok, reason = _comparable(versions, family, f"{family} image")
        anchors.append(
            Anchor(
                f"chunk dictionary from the first {DICTIONARY_VERSIONS} versions: share of the "
                "others saved (fixed-size chunks, compressed bytes)",
                chunk_dictionary_saving,
                Sample(
                    f"the first {versions.size} {family}-like base versions", versions_of(versions)
                ),
                f"{saved:.1%} ({sizes}, Nydus-format sizes, which exceed OCI)",
                exactly(saved) if ok else None,
                reason,
                NYDUS,
            )
        )
    family = EROFS_FAMILY if EROFS_FAMILY in fleet.base_families else fleet.base_families[0]
    versions = _base_versions(fleet, family)
    if versions.size <= 1:
        return tuple(anchors)
    ok, reason = _comparable(versions, family, "ubuntu:jammy")
    if family != EROFS_FAMILY:
        ok, reason = False, f"not comparable: the run has no ubuntu-like base; {reason}"
    sample = Sample(f"the first {versions.size} {family}-like base versions", versions_of(versions))
    per_version = (
        ("versions of one base: layers' compressed bytes over their tars (share)",
         layer_compressed_share_of_tars, "36.9% (282.5 MiB tar.gz of 766.1 MiB tars)",
         282.5 / 766.1, EROFS),
        ("versions of one base: content-defined chunk store saving over the tars (disk bytes)",
         cdc_saving_over_tars, "83% (PuzzleFS, FastCDC: 130 MB of 766 MB uncompressed)",
         1 - 130 / 766.1, PUZZLEFS),
        ("versions of one base: content-defined chunk store saving over the tars (disk bytes)",
         cdc_saving_over_tars, "85.7% (EROFS -Ededupe: 109.5 MiB of 766.1 MiB)",
         1 - 109.5 / 766.1, EROFS),
        ("versions of one base: compressed content-defined chunks' saving over the tars",
         cdc_compressed_saving_over_tars, "93% (PuzzleFS, zstd: 53 MB of 766 MB)",
         1 - 53 / 766.1, PUZZLEFS),
    )  # fmt: skip
    for figure, statistic, published, value, source in per_version:
        anchors.append(
            Anchor(
                figure, statistic, sample, published, exactly(value) if ok else None, reason, source
            )
        )
    anchors.append(
        Anchor(
            "content-defined over fixed-size chunks: extra redundancy found (share, file bytes)",
            cdc_extra_redundancy,
            sample,
            "about 10-20% more",
            Bounds(0.10, 0.20) if ok else None,
            "the source does not name its data set or chunk sizes; the run compares its own "
            "chunk sizes on 10 versions of a base"
            if ok
            else reason,
            NYDUS_FASTCDC,
        )
    )
    return tuple(anchors)


def fleet_anchors(fleet: Fleet) -> tuple[Anchor, ...]:
    """Every anchor of `fleet`, in report order: `ANCHORS`, its families, its base versions,
    then the chunk-level ones (`chunk_anchors`)."""
    return (
        *ANCHORS,
        *family_anchors(fleet),
        *base_versions_anchors(fleet),
        *chunk_anchors(fleet),
    )


def anchor_rows(state: FinalState, anchors: tuple[Anchor, ...]) -> tuple[AnchorRow, ...]:
    """Each anchor's statistic on its population beside its published figure, with a verdict."""
    return tuple(anchor.row(state) for anchor in anchors)
