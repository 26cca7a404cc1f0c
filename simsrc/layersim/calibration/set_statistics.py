"""The statistics of an image set that a calibration is judged by (`ImageSetStatistics`).

    set_statistics(images) -> ImageSetStatistics   over the set's apps (`roles.leaf_indices`)
    mean_statistics([...]) -> ImageSetStatistics   their mean (e.g. over several seeds)

The same function measures the analyzed images and the apps of a generated fleet, so the two
compare statistic by statistic (`check`). Which statistics exist and how each is counted is this
module's; how far apart they may be is `check`'s.
"""

from __future__ import annotations

import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from layersim.accounting.metrics import dedup_ratio
from layersim.calibration.roles import (
    churn,
    distinct_layers,
    leaf_indices,
    regular_files,
    stack_files,
    version_pairs,
)
from layersim.errors import ModelError
from layersim.model import Image


@dataclass(frozen=True)
class ImageSetStatistics:
    """The statistics of a set of images over its *apps* (leaf images, `roles`) and their
    distinct layers (by DiffID).

    - `layers_per_image`: mean layers per app;
    - `compressed_bytes_per_layer`: mean compressed bytes of a distinct layer;
    - `compression_ratio`: their tar bytes over their compressed bytes;
    - `files_per_layer`: mean regular files of a distinct layer;
    - `layer_dedup_ratio`: the apps' layers' compressed bytes summed app by app (`logical`)
      over the compressed bytes of their distinct layers (`layer`): what a registry holding
      the apps saves by storing each layer once, as `metrics.dedup_ratio`;
    - `version_churn`: over successive versions of each repository (in the order given), the
      share of the regular files at paths both versions' merged views have whose contents
      differ (None without two versions of a repository).

    `STATISTICS` names the compared ones, in the order reports show them.
    """

    images: int
    layers: int
    layers_per_image: float
    compressed_bytes_per_layer: float
    compression_ratio: float
    files_per_layer: float
    layer_dedup_ratio: float
    version_pairs: int
    version_churn: float | None

    STATISTICS = (
        "layers_per_image",
        "compressed_bytes_per_layer",
        "compression_ratio",
        "files_per_layer",
        "layer_dedup_ratio",
        "version_churn",
    )


def _version_churn(
    images: Sequence[Image],
    pairs: Sequence[tuple[int, int]],
    views: Mapping[int, Mapping[str, str]],
) -> tuple[int, int]:
    """(changed, common) files over the version pairs (image indices), each image's merged
    view computed once (or taken from `views`) and dropped once no later pair needs it."""
    changed = common = 0
    cache: dict[int, Mapping[str, str]] = {}
    for a, b in pairs:
        for i in (a, b):
            if i not in cache:
                cache[i] = views[i] if i in views else stack_files(images[i].layers)[0]
        c, n = churn(cache[a], cache[b])
        changed, common = changed + c, common + n
        cache.pop(a, None)
    return changed, common


def set_statistics(
    images: Sequence[Image], views: Mapping[int, Mapping[str, str]] | None = None
) -> ImageSetStatistics:
    """The `ImageSetStatistics` of `images` (see there). `views`: merged-view files of some
    images by index (`roles.stack_files`), already computed."""
    if not images:
        raise ModelError("no images to measure")
    leaves = leaf_indices(images)
    layers = distinct_layers(layer for i in leaves for layer in images[i].layers)
    tar = sum(layer.tar_bytes for layer in layers)
    compressed = sum(layer.compressed_bytes for layer in layers)
    logical = sum(layer.compressed_bytes for i in leaves for layer in images[i].layers)
    pairs = [
        (leaves[a], leaves[b]) for a, b in version_pairs([images[i].repository for i in leaves])
    ]
    changed, common = _version_churn(images, pairs, views or {})
    return ImageSetStatistics(
        images=len(leaves),
        layers=len(layers),
        layers_per_image=sum(len(images[i].layers) for i in leaves) / len(leaves),
        compressed_bytes_per_layer=compressed / len(layers),
        compression_ratio=tar / compressed if compressed else 1.0,
        files_per_layer=sum(len(regular_files(layer)) for layer in layers) / len(layers),
        layer_dedup_ratio=dedup_ratio(logical, compressed),
        version_pairs=len(pairs),
        version_churn=changed / common if common else None,
    )


def mean_statistics(measured: Sequence[ImageSetStatistics]) -> ImageSetStatistics:
    """The mean of each statistic over several measurements (e.g. of several seeds); counts
    rounded, churn over those that have one."""
    churns = [s.version_churn for s in measured if s.version_churn is not None]
    return ImageSetStatistics(
        images=round(statistics.fmean(s.images for s in measured)),
        layers=round(statistics.fmean(s.layers for s in measured)),
        layers_per_image=statistics.fmean(s.layers_per_image for s in measured),
        compressed_bytes_per_layer=statistics.fmean(s.compressed_bytes_per_layer for s in measured),
        compression_ratio=statistics.fmean(s.compression_ratio for s in measured),
        files_per_layer=statistics.fmean(s.files_per_layer for s in measured),
        layer_dedup_ratio=statistics.fmean(s.layer_dedup_ratio for s in measured),
        version_pairs=round(statistics.fmean(s.version_pairs for s in measured)),
        version_churn=statistics.fmean(churns) if churns else None,
    )
