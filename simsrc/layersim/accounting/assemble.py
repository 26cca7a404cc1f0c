"""The engine's whole evaluation, as `metrics` objects: every stage run on a population's arrays
and the tables turned into a `PopulationMetrics`, the result `reference` returns too (the tests
hold the two equal, field by field).

For populations small enough to list per layer (the objects name every layer of every
transfer); a simulation reads the stages' tables directly (`simulation.simulate`). The figures
themselves are computed in `images`, `transfers`, `storage` and `containers`, not here.
"""

from __future__ import annotations

import gc
from collections.abc import Iterator
from contextlib import contextmanager
from itertools import compress, starmap

import numpy as np

from layersim.accounting.arrays import I64, Bool, PopulationArrays, canonical, from_population
from layersim.accounting.containers import check_container_paths, container_bytes
from layersim.accounting.images import ImageTable, image_table
from layersim.accounting.metrics import (
    ContainerUsage,
    ImageDiskUsage,
    ImageMetrics,
    NodeMetrics,
    PopulationMetrics,
    PullRecord,
    PushRecord,
    StoredBytes,
)
from layersim.accounting.sortops import ranges
from layersim.accounting.storage import (
    DiskUsageTable,
    StoredTable,
    disk_usage,
    node_stored,
    registry_stored,
)
from layersim.accounting.transfers import (
    PullOutcome,
    PullTable,
    PushOutcome,
    PushTable,
    pull_sequences,
    push_sequence,
)
from layersim.model import Population


def evaluate(population: Population) -> PopulationMetrics:
    """Every figure of `metrics` for an object population, computed on arrays."""
    check_container_paths(population)
    arrays = from_population(population)
    return metrics_from_arrays(arrays)


class _LabelsPicked:
    """The layer labels of every transfer picked by flags over its layer rows (one flag array
    per pick: an outcome, or all outcomes but one), for all transfers at once: each pick's
    labels are taken from the rows with `itertools.compress` (a C loop over all rows) and cut
    per transfer, rather than split transfer by transfer in Python."""

    def __init__(
        self,
        arrays: PopulationArrays,
        labels: list[str],
        image: I64,
        offsets: I64,
        picks: tuple[Bool, ...],
    ) -> None:
        rows = ranges(arrays.image_offsets[image], np.diff(arrays.image_offsets)[image])
        row_labels = list(map(labels.__getitem__, rows.tolist()))
        self._cuts: list[tuple[list[str], list[int]]] = []
        for flags in picks:
            picked = list(compress(row_labels, flags.tolist()))
            before = np.zeros(flags.size + 1, dtype=np.int64)
            np.cumsum(flags, out=before[1:])
            self._cuts.append((picked, before[offsets].tolist()))

    def split(self, k: int) -> tuple[tuple[str, ...], ...]:
        """Transfer k's labels, one tuple per pick."""
        return tuple(tuple(picked[at[k] : at[k + 1]]) for picked, at in self._cuts)


def _rows_by(owner: I64, n: int) -> list[list[int]]:
    """Row indices grouped by owner id (rows in order within each group)."""
    groups: list[list[int]] = [[] for _ in range(n)]
    for row, who in enumerate(np.asarray(owner).tolist()):
        groups[who].append(row)
    return groups


def metrics_from_arrays(arrays: PopulationArrays) -> PopulationMetrics:
    """All figures as `metrics` objects (for populations small enough to list per layer)."""
    canon = canonical(arrays)
    images = image_table(canon)
    pushes = push_sequence(arrays, arrays.push_order, images)
    registry = registry_stored(arrays, arrays.push_order, images)
    pulls = pull_sequences(arrays, arrays.node_offsets, arrays.node_images, images)
    stored = node_stored(arrays, arrays.node_offsets, arrays.node_images, images)
    usage = disk_usage(arrays, arrays.node_offsets, arrays.node_images, images)
    writable = container_bytes(canon).tolist()
    with _gc_paused():
        return _metrics_objects(arrays, images, pushes, registry, pulls, stored, usage, writable)


@contextmanager
def _gc_paused() -> Iterator[None]:
    """The cyclic garbage collector paused while the result objects are built. They hold only
    strings, ints and tuples, so there are no cycles to find, but tens of thousands of new
    objects would set off full collections that walk the caller's whole heap (measured: more
    than the building itself in a process with a large heap, such as a test session)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if enabled:
            gc.enable()


def _metrics_objects(
    arrays: PopulationArrays,
    images: ImageTable,
    pushes: PushTable,
    registry: StoredBytes,
    pulls: PullTable,
    stored: StoredTable,
    usage: DiskUsageTable,
    writable: list[int],
) -> PopulationMetrics:
    """The engine's tables as `metrics` objects."""
    if arrays.image_layer_labels is not None:
        labels = list(arrays.image_layer_labels)
    else:
        by_layer = [f"layer{lid}" for lid in range(arrays.n_layers)]
        labels = list(map(by_layer.__getitem__, arrays.image_layers.tolist()))
    names = arrays.image_names
    bounds = arrays.image_offsets.tolist()
    per_image = [labels[bounds[i] : bounds[i + 1]] for i in range(arrays.n_images)]
    columns = {
        f: getattr(images, f).tolist()
        for f in (
            "layered_tar_bytes",
            "layered_compressed_bytes",
            "layered_disk_bytes",
            "flattened_tar_bytes",
            "flattened_compressed_bytes",
            "flattened_disk_bytes",
            "shadowed_file_bytes",
            "dive_min_bytes",
            "dive_cumulative_bytes",
            "dive_wasted_bytes",
            "dive_user_bytes",
        )
    }
    image_metrics = tuple(
        starmap(ImageMetrics, zip(names, map(tuple, per_image), *columns.values(), strict=True))
    )

    push_outcome = pushes.layer_outcome
    upload = push_outcome == int(PushOutcome.UPLOAD)
    mount = push_outcome == int(PushOutcome.MOUNT)
    push_labels = _LabelsPicked(
        arrays, labels, pushes.image, pushes.row_offsets, (upload, ~upload, mount)
    )
    uploaded = pushes.uploaded_bytes.tolist()
    flat_up = pushes.flattened_uploaded_bytes.tolist()
    push_records = []
    for s, image in enumerate(pushes.image.tolist()):
        up, skipped, mounted = push_labels.split(s)
        push_records.append(PushRecord(names[image], uploaded[s], up, skipped, mounted, flat_up[s]))

    n_nodes = arrays.n_nodes
    download = pulls.layer_outcome == int(PullOutcome.DOWNLOAD)
    pull_labels = _LabelsPicked(
        arrays, labels, pulls.image, pulls.row_offsets, (download, ~download)
    )
    pull_image = pulls.image.tolist()
    downloaded = pulls.downloaded_bytes.tolist()
    extracted = pulls.extracted_disk_bytes.tolist()
    flat_down = pulls.flattened_downloaded_bytes.tolist()
    usage_image, usage_size, usage_shared = (
        usage.image.tolist(),
        usage.size_bytes.tolist(),
        usage.shared_bytes.tolist(),
    )
    c_image, c_running = arrays.container_image.tolist(), arrays.container_running.tolist()
    pulls_of = _rows_by(pulls.node, n_nodes)
    usage_of = _rows_by(usage.node, n_nodes)
    containers_of = _rows_by(arrays.container_node, n_nodes)
    nodes = []
    for n, node_name in enumerate(arrays.node_names):
        pull_records = []
        for s in pulls_of[n]:
            image = pull_image[s]
            down, skipped = pull_labels.split(s)
            pull_records.append(
                PullRecord(names[image], downloaded[s], extracted[s], down, skipped, flat_down[s])
            )
        nodes.append(
            NodeMetrics(
                name=node_name,
                stored_bytes=StoredBytes(
                    logical=int(stored.logical[n]),
                    flattened=int(stored.flattened[n]),
                    layer=int(stored.layer[n]),
                    file=int(stored.file[n]),
                    chunk_cdc=None if stored.chunks is None else int(stored.chunks.cdc[n]),
                    chunk_fixed=None if stored.chunks is None else int(stored.chunks.fixed[n]),
                ),
                pulls=tuple(pull_records),
                images=tuple(
                    ImageDiskUsage(
                        names[usage_image[r]],
                        usage_size[r],
                        usage_shared[r],
                        usage_size[r] - usage_shared[r],
                    )
                    for r in usage_of[n]
                ),
                containers=tuple(
                    ContainerUsage(
                        arrays.container_names[k],
                        names[c_image[k]],
                        "running" if c_running[k] else "stopped",
                        writable[k],
                    )
                    for k in containers_of[n]
                ),
            )
        )
    return PopulationMetrics(
        images=image_metrics,
        registry_stored_bytes=registry,
        pushes=tuple(push_records),
        nodes=tuple(nodes),
    )
