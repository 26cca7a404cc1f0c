"""Pushes to a registry and pulls onto nodes, over time (docs/design.md §7): per transfer its bytes
and layers moved, per layer row its outcome (`PushOutcome`, `PullOutcome`).

A store changes over epochs: images arrive (push, pull) and leave (garbage collection). Each
arrival is a row with the epoch it arrives (`start`) and the last epoch at which it is still
there when the next arrivals come (`until`: an image removed by the garbage collection at the
end of epoch g is still present for arrivals during epoch g). An object (a blob, a ChainID,
an export) is present for a row iff an earlier row of the same store holds it with
`until >= start`. A single sequence into an empty store is the case start = until = 0.

What the stores hold (stored bytes) is `storage`'s; the per-image figures a transfer reads
(export keys and sizes, chain nodes, layer disk bytes) are `images`'.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import IntEnum

import numpy as np

from layersim.accounting import kernels
from layersim.accounting.arrays import I64, PopulationArrays, csr_rows, expand_images
from layersim.accounting.images import ImageTable
from layersim.accounting.scratch import scratch
from layersim.accounting.sortops import segment_sum, stable_order


class PushOutcome(IntEnum):
    """What a push does with one layer blob, in the order distribution clients try (HEAD the
    blob in this repository, else mount it from another, else upload it)."""

    UPLOAD = 0  # no repository of the registry holds the blob: its compressed bytes go up
    EXISTS = 1  # this repository holds it: skipped
    MOUNT = 2  # another repository holds it: mounted, no bytes moved (a skipped layer too)


class PullOutcome(IntEnum):
    """What a pull does with one layer."""

    DOWNLOAD = 0  # the node lacks the ChainID: its blob is downloaded and extracted
    SKIP = 1  # the node holds the ChainID: nothing to do
    KEPT = 2  # the node lacks the ChainID but keeps the blob: extracted, not downloaded


@dataclass(frozen=True, eq=False)
class PushTable:
    """Per push (in push order). `layer_outcome` per pushed layer row (a `PushOutcome` code);
    rows are CSR by push (`row_offsets`)."""

    image: I64
    uploaded_bytes: I64
    uploaded_layers: I64
    skipped_layers: I64
    mounted_layers: I64
    flattened_uploaded_bytes: I64
    row_offsets: I64
    layer_outcome: I64


@dataclass(frozen=True, eq=False)
class PullTable:
    """Per (node, pull) in node order then pull order. `layer_outcome` per pulled layer row (a
    `PullOutcome` code); rows are CSR by pull (`row_offsets`)."""

    node: I64
    image: I64
    downloaded_bytes: I64
    extracted_disk_bytes: I64
    downloaded_layers: I64
    skipped_layers: I64
    flattened_downloaded_bytes: I64
    row_offsets: I64
    layer_outcome: I64


def _covered(
    key: I64, start: I64, until: I64, store: I64 | None = None, bounds: I64 | None = None
) -> np.ndarray:
    """Per row (rows in arrival order): does an earlier row of the same store with the same key
    have `until >= start` of this row? `store` per row (None: one store), or `bounds` where the
    rows already come grouped by store, CSR (`kernels.covered`)."""
    n = key.size
    if store is not None:
        order = stable_order(store)
        bounds = np.searchsorted(store[order], np.arange(int(store.max(initial=-1)) + 2))
    else:
        order = np.arange(n, dtype=np.int64)
        if bounds is None:
            bounds = np.array([0, n], dtype=np.int64)
    n_keys = int(key.max(initial=-1)) + 1
    return kernels.covered(
        order,
        bounds,
        key,
        start,
        until,
        scratch(n_keys, np.int32),
        scratch(n_keys, np.int64),
    )


def _as_epochs(values: I64 | None, n: int) -> I64:
    return np.zeros(n, dtype=np.int64) if values is None else np.asarray(values, dtype=np.int64)


def push_timeline(
    arrays: PopulationArrays,
    push_order: I64,
    images: ImageTable,
    start: I64 | None = None,
    until: I64 | None = None,
) -> PushTable:
    """Pushes to one registry over time (docs/design.md §7): push `k` of image `push_order[k]` at
    epoch `start[k]`, its manifest kept until the registry's garbage collection after epoch
    `until[k]`. Per layer blob: skip if this repository holds it, mount if another repository
    does, else upload (compressed bytes). Default: one sequence into an empty registry."""
    push_order = np.asarray(push_order, dtype=np.int64)
    n_push = push_order.size
    start, until = _as_epochs(start, n_push), _as_epochs(until, n_push)
    offsets, row_push, rows = expand_images(arrays, push_order)
    layer = arrays.image_layers[rows]
    blob = arrays.layer_blob[layer]
    repo = arrays.image_repository[push_order][row_push]
    s, u = start[row_push], until[row_push]
    present = _covered(blob, s, u)
    in_repo = _covered(blob, s, u, store=repo)
    upload = ~present
    outcome = np.where(
        upload,
        int(PushOutcome.UPLOAD),
        np.where(in_repo, int(PushOutcome.EXISTS), int(PushOutcome.MOUNT)),
    ).astype(np.int64)
    up_layers = segment_sum(upload, row_push, n_push)
    export_present = _covered(images.flattened_key[push_order], start, until)
    return PushTable(
        image=push_order,
        uploaded_bytes=segment_sum(arrays.layer_compressed_bytes[layer] * upload, row_push, n_push),
        uploaded_layers=up_layers,
        skipped_layers=np.diff(offsets) - up_layers,
        mounted_layers=segment_sum(outcome == int(PushOutcome.MOUNT), row_push, n_push),
        flattened_uploaded_bytes=images.flattened_compressed_bytes[push_order] * ~export_present,
        row_offsets=offsets,
        layer_outcome=outcome,
    )


def push_sequence(arrays: PopulationArrays, push_order: I64, images: ImageTable) -> PushTable:
    """Push images in order to an empty registry: `push_timeline` within one epoch."""
    return push_timeline(arrays, push_order, images)


def pull_timeline(
    arrays: PopulationArrays,
    node_offsets: I64,
    node_images: I64,
    images: ImageTable,
    start: I64 | None = None,
    until: I64 | None = None,
) -> PullTable:
    """Pulls onto nodes over time (docs/design.md §7): per node (CSR `node_offsets`), pull `k` of
    image `node_images[k]` at epoch `start[k]`, the image kept until the node's garbage
    collection after epoch `until[k]`. Per layer: skip if the node holds its ChainID; else
    download its blob (unless the node keeps blobs and holds this one) and extract it."""
    keep = arrays.options.keep_compressed_blobs
    node_images = np.asarray(node_images, dtype=np.int64)
    n_pull = node_images.size
    start, until = _as_epochs(start, n_pull), _as_epochs(until, n_pull)
    pull_node = csr_rows(node_offsets)
    offsets, row_pull, rows = expand_images(arrays, node_images)
    row_bounds = offsets[node_offsets]  # rows come grouped by node
    s, u = start[row_pull], until[row_pull]
    chain = images.image_chain[rows]
    layer = arrays.image_layers[rows]
    new_chain = ~_covered(chain, s, u, bounds=row_bounds)
    download = new_chain
    if keep:
        download = new_chain & ~_covered(arrays.layer_blob[layer], s, u, bounds=row_bounds)
    outcome = np.where(
        download,
        int(PullOutcome.DOWNLOAD),
        np.where(new_chain, int(PullOutcome.KEPT), int(PullOutcome.SKIP)),
    ).astype(np.int64)
    export_present = _covered(
        images.flattened_key[node_images], start, until, bounds=np.asarray(node_offsets)
    )
    down_layers = segment_sum(download, row_pull, n_pull)
    return PullTable(
        node=pull_node,
        image=node_images,
        downloaded_bytes=segment_sum(
            arrays.layer_compressed_bytes[layer] * download, row_pull, n_pull
        ),
        extracted_disk_bytes=segment_sum(
            images.layers.disk_bytes[layer] * new_chain, row_pull, n_pull
        ),
        downloaded_layers=down_layers,
        skipped_layers=np.diff(offsets) - down_layers,
        flattened_downloaded_bytes=images.flattened_compressed_bytes[node_images] * ~export_present,
        row_offsets=offsets,
        layer_outcome=outcome,
    )


def pull_sequences(
    arrays: PopulationArrays, node_offsets: I64, node_images: I64, images: ImageTable
) -> PullTable:
    """Pull images in order onto empty nodes: `pull_timeline` within one epoch."""
    return pull_timeline(arrays, node_offsets, node_images, images)
