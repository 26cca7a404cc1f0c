"""The time simulation: replay a generated fleet epoch by epoch (DESIGN.md §7, §8).

At each epoch `t`, in this order:
1. the images built at `t` (base patch releases, runtime rebuilds, app builds; `Fleet`) are
   pushed to the registry, which holds what it kept at the end of `t-1`;
2. each node running an app that was rebuilt pulls the new version (the rollout), holding what it
   kept at the end of `t-1`;
3. garbage collection: the registry keeps the last `registry.retention` versions of each
   repository, a node the last `nodes.retention` versions of each app (with them go the stopped
   containers of the removed versions);
4. the state at the end of `t` is measured: stored bytes of the registry and of every node
   (every `time.storage_every` epochs and at the last), containers.

Every storage and transfer figure comes from `accounting` (defined once there, equal to
`reference`): a registry or node that already holds images is modelled by pushing (pulling)
those images first and ignoring their records. This module only adds what is defined here:
the pull-time model (`pull_seconds`, `startup_pull_share`), percentiles (`nearest_rank`), the
sharing histogram (`sharing`), the statistics compared with ANCHORS.md (`anchor_rows`), and the
node sample estimate (`sampled_total`).
"""

from __future__ import annotations

import math
from dataclasses import asdict, dataclass, replace
from typing import Any

import numpy as np

from layersim.accounting.arrays import I64, PopulationArrays, canonical, csr_offsets, csr_rows
from layersim.accounting.containers import container_bytes
from layersim.accounting.images import ImageTable, image_table
from layersim.accounting.metrics import STRATEGIES
from layersim.accounting.sortops import ranges
from layersim.accounting.storage import StoredTimeline, registry_stored, stored_timeline
from layersim.accounting.transfers import pull_timeline, push_timeline
from layersim.config import ExperimentConfig, TransferConfig, config_to_dict
from layersim.fleet.generate import BASE_PRESETS, Fleet, ImageKind
from layersim.model import EntryKind
from layersim.progress import Progress

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


# --------------------------------------------------------------------------- result rows


@dataclass(frozen=True, slots=True)
class RegistryEpoch:
    """The registry at the end of an epoch, in compressed bytes per strategy (metrics.py)."""

    epoch: int
    images: int
    logical_bytes: int
    flattened_bytes: int
    layer_bytes: int
    file_bytes: int


@dataclass(frozen=True, slots=True)
class NodeEpoch:
    """The nodes at the end of an epoch, in disk bytes per strategy, summed over nodes.

    With `nodes.stats_sample` set, only `nodes_measured` evenly spaced nodes are measured: the
    totals are then estimates (`estimated`), mean x nodes, with `*_ci95` the half-width of a
    95% confidence interval (0 when exact). Percentiles are over the measured nodes."""

    epoch: int
    nodes_measured: int
    estimated: bool
    images: int  # images held, summed over the measured nodes
    logical_bytes: int
    flattened_bytes: int
    layer_bytes: int
    file_bytes: int
    logical_ci95: int
    flattened_ci95: int
    layer_ci95: int
    file_ci95: int
    layer_bytes_p50: int
    layer_bytes_p95: int
    layer_bytes_max: int
    flattened_bytes_p50: int
    flattened_bytes_p95: int
    flattened_bytes_max: int


@dataclass(frozen=True, slots=True)
class TransferEpoch:
    """What moved in an epoch: pushes of the new images, pulls of the rollouts.

    Bytes are compressed bytes. Pull seconds are per pulling node (`pull_seconds`); the start-up
    share is the mean over image pulls of `startup_pull_share`. `flattened_*`: the same had
    every image been a flattened export (one blob)."""

    epoch: int
    base_releases: int
    runtime_releases: int
    app_builds: int
    push_uploaded_bytes: int
    push_flattened_uploaded_bytes: int
    push_uploaded_layers: int
    push_skipped_layers: int
    push_mounted_layers: int
    pulls: int
    nodes_pulling: int
    pull_downloaded_bytes: int
    pull_flattened_downloaded_bytes: int
    pull_downloaded_layers: int
    pull_extracted_disk_bytes: int
    pull_seconds_p50: float
    pull_seconds_p95: float
    pull_seconds_max: float
    flattened_pull_seconds_p50: float
    flattened_pull_seconds_p95: float
    flattened_pull_seconds_max: float
    startup_pull_share: float
    flattened_startup_pull_share: float
    cumulative_push_bytes: int
    cumulative_push_flattened_bytes: int
    cumulative_pull_bytes: int
    cumulative_pull_flattened_bytes: int


@dataclass(frozen=True, slots=True)
class ContainerEpoch:
    """Containers at the end of an epoch and their writable layers (disk bytes)."""

    epoch: int
    running: int
    stopped: int
    running_writable_bytes: int
    stopped_writable_bytes: int


@dataclass(frozen=True, slots=True)
class TransferTotals:
    """Transfers summed over a range of epochs (compressed bytes)."""

    first_epoch: int
    last_epoch: int
    push_uploaded_bytes: int
    push_flattened_uploaded_bytes: int
    pull_downloaded_bytes: int
    pull_flattened_downloaded_bytes: int
    pulls: int


@dataclass(frozen=True, slots=True)
class WasteSummary:
    """Waste inside the images the registry holds at the end (DESIGN.md §6; file bytes).

    `shadowed_file_bytes` is what flattening drops; in this model only the add-then-delete
    archive is shadowed, so it is also what combining those steps into one would save."""

    images: int
    images_with_shadowed_bytes: int
    shadowed_file_bytes: int
    dive_wasted_bytes: int
    dive_cumulative_bytes: int


@dataclass(frozen=True, slots=True)
class SharingBucket:
    label: str
    layers: int
    compressed_bytes: int
    saved_bytes: int


@dataclass(frozen=True, slots=True)
class SharedLayer:
    layer: int
    description: str
    images: int
    compressed_bytes: int
    saved_bytes: int


@dataclass(frozen=True, slots=True)
class SharingSummary:
    """How many images of the final registry reference each layer (`sharing`)."""

    layers: int
    saved_bytes: int
    buckets: tuple[SharingBucket, ...]
    top_layers: tuple[SharedLayer, ...]
    top_share: float  # share of saved_bytes carried by the top layers


@dataclass(frozen=True, slots=True)
class AnchorRow:
    """A statistic of the simulated fleet beside the published figure it is compared with."""

    figure: str
    produced: float
    published: str
    source: str


@dataclass(frozen=True, slots=True)
class FleetSummary:
    images: int
    base_images: int
    runtime_images: int
    app_images: int
    layers: int
    entries: int
    file_entries: int
    contents: int
    paths: int
    apps: int
    deployed_apps: int
    nodes: int
    containers: int


@dataclass(frozen=True)
class SimulationResult:
    """Everything one run produces; `as_dict` is what summary.json holds."""

    config: ExperimentConfig
    fleet: FleetSummary
    registry: tuple[RegistryEpoch, ...]
    nodes: tuple[NodeEpoch, ...]
    transfers: tuple[TransferEpoch, ...]
    containers: tuple[ContainerEpoch, ...]
    first_rollout: TransferEpoch
    steady_state: TransferTotals
    waste: WasteSummary
    sharing: SharingSummary
    anchors: tuple[AnchorRow, ...]

    def as_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"config": config_to_dict(self.config)}
        for name in (
            "fleet",
            "registry",
            "nodes",
            "transfers",
            "containers",
            "first_rollout",
            "steady_state",
            "waste",
            "sharing",
            "anchors",
        ):
            value = getattr(self, name)
            out[name] = [asdict(v) for v in value] if isinstance(value, tuple) else asdict(value)
        return out


# --------------------------------------------------------------------------- defined here


def nearest_rank(values: np.ndarray, q: float) -> float:
    """The nearest-rank percentile: the smallest value with at least `q` of the values at or
    below it (0 for no values)."""
    if values.size == 0:
        return 0
    ordered = np.sort(values)
    return ordered[max(0, math.ceil(q * ordered.size) - 1)].item()


def pull_seconds(blobs: np.ndarray, downloaded_bytes: np.ndarray, transfer: TransferConfig):
    """Estimated pull time in seconds: blobs are fetched `parallel_downloads` at a time, each
    wave paying the per-blob latency, and the bytes share the node's link:
    `ceil(blobs / parallel_downloads) * blob_latency + bytes * 8 / bandwidth`."""
    waves = -(-np.asarray(blobs, dtype=np.int64) // transfer.parallel_downloads)
    return waves * (transfer.blob_latency_ms / 1000.0) + np.asarray(
        downloaded_bytes, dtype=np.float64
    ) * 8 / (transfer.bandwidth_mbit * 1e6)


def startup_pull_share(seconds: np.ndarray, transfer: TransferConfig) -> np.ndarray:
    """Share of a container's start-up spent pulling its image: `pull / (pull + start)`."""
    total = seconds + transfer.container_start_seconds
    return np.divide(seconds, total, out=np.zeros_like(seconds), where=total > 0)


def sampled_total(values: np.ndarray, population: int) -> tuple[int, int]:
    """Total over `population` nodes estimated from a simple random-like sample of them:
    (mean x population, half-width of the 95% interval with the finite-population correction).
    Exact (error 0) when the sample is the population."""
    n = values.size
    if n == 0:
        return 0, 0
    if n >= population:
        return int(values.sum()), 0
    mean = float(values.mean())
    sd = float(values.std(ddof=1)) if n > 1 else 0.0
    half = 1.96 * sd / math.sqrt(n) * math.sqrt(1 - n / population) * population
    return round(mean * population), round(half)


def measured_nodes(n_nodes: int, sample: int) -> I64:
    """Nodes whose stored bytes are measured: all, or `sample` evenly spaced ones."""
    if sample <= 0 or sample >= n_nodes:
        return np.arange(n_nodes, dtype=np.int64)
    return np.arange(sample, dtype=np.int64) * n_nodes // sample


def _held_by_registry(fleet: Fleet, epoch: int) -> I64:
    """Images the registry holds at the end of `epoch` (id order = push order)."""
    return np.flatnonzero(
        (fleet.image_epoch <= epoch) & (fleet.image_registry_gc_epoch > epoch)
    ).astype(np.int64)


def _node_mask(fleet: Fleet, epoch: int, *, before: bool = False) -> np.ndarray:
    """Mask over `arrays.node_images`: held at the end of `epoch` (or, `before`, held at the
    end of `epoch - 1` plus pulled at `epoch`: the sequence a rollout at `epoch` sees)."""
    images = fleet.arrays.node_images
    built = fleet.image_epoch[images]
    gc = fleet.image_node_gc_epoch[images]
    return (built <= epoch) & (gc >= epoch if before else gc > epoch)


def _select_nodes(arrays: PopulationArrays, mask: np.ndarray, nodes: I64) -> tuple[I64, I64]:
    """CSR (offsets, images) of `nodes` keeping the masked pulls, in pull order."""
    pull_node = csr_rows(arrays.node_offsets)
    wanted = np.zeros(arrays.n_nodes, dtype=np.bool_)
    wanted[nodes] = True
    keep = mask & wanted[pull_node]
    position = np.full(arrays.n_nodes, -1, dtype=np.int64)
    position[nodes] = np.arange(nodes.size)
    counts = np.bincount(position[pull_node[keep]], minlength=nodes.size)
    return csr_offsets(counts), arrays.node_images[keep]


# --------------------------------------------------------------------------- final-epoch state


def state_arrays(fleet: Fleet, epoch: int) -> PopulationArrays:
    """The population as it stands at the end of `epoch`: the registry's images as the push
    order, each node's held images, and the containers that exist (running or stopped)."""
    a = fleet.arrays
    offsets, images = _select_nodes(a, _node_mask(fleet, epoch), np.arange(a.n_nodes))
    alive = (fleet.container_start_epoch <= epoch) & (fleet.container_remove_epoch > epoch)
    running = alive & (fleet.container_stop_epoch > epoch)
    keep = np.flatnonzero(alive)

    def rows(off: I64, values: I64) -> tuple[I64, I64]:
        counts = np.diff(off)[keep]
        return csr_offsets(counts), values[ranges(off[:-1][keep], counts)]

    w_off, w_bytes = rows(a.write_offsets, a.write_file_bytes)
    m_off, m_path = rows(a.modify_offsets, a.modify_path)
    _, m_changed = rows(a.modify_offsets, a.modify_changed_bytes)
    d_off, d_path = rows(a.delete_offsets, a.delete_path)
    return replace(
        a,
        push_order=_held_by_registry(fleet, epoch),
        node_offsets=offsets,
        node_images=images,
        container_names=tuple(a.container_names[k] for k in keep.tolist()),
        container_node=a.container_node[keep],
        container_image=a.container_image[keep],
        container_running=running[keep],
        write_offsets=w_off,
        write_file_bytes=w_bytes,
        modify_offsets=m_off,
        modify_path=m_path,
        modify_changed_bytes=m_changed,
        delete_offsets=d_off,
        delete_path=d_path,
    )


# --------------------------------------------------------------------------- the run


def simulate(fleet: Fleet, progress: Progress | None = None) -> SimulationResult:
    """Replay `fleet` epoch by epoch and collect every table of `SimulationResult`.

    Pushes, pulls and stored bytes come from the engine's timelines: one pass each over
    every arrival of the whole horizon (a store holds an image from the epoch it arrives to the
    garbage collection that drops it), not one recomputation of every store per epoch."""
    report = progress or (lambda stage, fraction: None)
    cfg = fleet.config
    a = fleet.arrays
    T = fleet.epochs
    transfer = cfg.transfer
    report("simulate: images", 0.0)
    canon = canonical(a)
    images = image_table(canon)
    writable = container_bytes(canon)
    epoch_bounds = np.searchsorted(fleet.image_epoch, np.arange(T + 1))
    sample = measured_nodes(a.n_nodes, cfg.nodes.stats_sample)
    storage_epochs = sorted({t for t in range(T) if t % cfg.time.storage_every == 0} | {T - 1})

    # 1. every push of the horizon: image i at its build epoch, kept to its registry gc
    report("simulate: pushes", 0.2)
    push_order = np.asarray(a.push_order, dtype=np.int64)
    pushes = push_timeline(
        a,
        push_order,
        images,
        start=fleet.image_epoch[push_order],
        until=fleet.image_registry_gc_epoch[push_order],
    )
    push_epoch = fleet.image_epoch[push_order]

    # 2. every rollout pull of the horizon, onto nodes that keep images to their node gc
    report("simulate: pulls", 0.4)
    pull_images = a.node_images
    pull_epoch = fleet.image_epoch[pull_images]
    pulls = pull_timeline(
        a,
        a.node_offsets,
        pull_images,
        images,
        start=pull_epoch,
        until=fleet.image_node_gc_epoch[pull_images],
    )

    # 3-4. stored bytes at the end of every epoch, after garbage collection
    report("simulate: storage", 0.6)
    everything = np.arange(a.n_images, dtype=np.int64)
    registry_held = stored_timeline(
        a,
        images,
        np.zeros(a.n_images, dtype=np.int64),
        everything,
        fleet.image_epoch,
        fleet.image_registry_gc_epoch,
        1,
        T,
        registry=True,
    )
    registry_count = _held_counts(fleet.image_epoch, fleet.image_registry_gc_epoch, T)
    pull_node = csr_rows(a.node_offsets)
    position = np.full(a.n_nodes, -1, dtype=np.int64)
    position[sample] = np.arange(sample.size)
    measured = position[pull_node] >= 0
    node_start = pull_epoch[measured]
    node_end = fleet.image_node_gc_epoch[pull_images[measured]]
    nodes_held = stored_timeline(
        a,
        images,
        position[pull_node[measured]],
        pull_images[measured],
        node_start,
        node_end,
        sample.size,
        T,
        registry=False,
    )
    node_count = _held_counts(node_start, node_end, T)

    report("simulate: epochs", 0.8)
    registry_rows: list[RegistryEpoch] = []
    node_rows: list[NodeEpoch] = []
    transfer_rows: list[TransferEpoch] = []
    container_rows: list[ContainerEpoch] = []
    cumulative = np.zeros(4, dtype=np.int64)
    cold_share = 0.0
    pushed_at = np.searchsorted(push_epoch, np.arange(T + 1)) if _sorted(push_epoch) else None
    for t in range(T):
        lo, hi = int(epoch_bounds[t]), int(epoch_bounds[t + 1])
        kinds = fleet.image_kind[lo:hi]
        p = (
            slice(int(pushed_at[t]), int(pushed_at[t + 1]))
            if pushed_at is not None
            else np.flatnonzero(push_epoch == t)
        )
        fresh = np.flatnonzero(pull_epoch == t)
        node_ids, node_of = np.unique(pulls.node[fresh], return_inverse=True)
        n_pulling = node_ids.size
        blobs = np.bincount(node_of, weights=pulls.downloaded_layers[fresh], minlength=n_pulling)
        dl = np.bincount(node_of, weights=pulls.downloaded_bytes[fresh], minlength=n_pulling)
        flat_dl = pulls.flattened_downloaded_bytes[fresh]
        flat_blobs = np.bincount(node_of, weights=flat_dl > 0, minlength=n_pulling)
        flat_bytes = np.bincount(node_of, weights=flat_dl, minlength=n_pulling)
        node_seconds = pull_seconds(blobs, dl, transfer)
        flat_seconds = pull_seconds(flat_blobs, flat_bytes, transfer)
        image_seconds = pull_seconds(
            pulls.downloaded_layers[fresh], pulls.downloaded_bytes[fresh], transfer
        )
        flat_image_seconds = pull_seconds((flat_dl > 0).astype(np.int64), flat_dl, transfer)
        if t == 0:  # nodes start empty: each node's first pull is a cold pull
            firsts = a.node_offsets[:-1][np.diff(a.node_offsets) > 0]
            firsts = firsts[pull_epoch[firsts] == 0]
            cold = pull_seconds(
                pulls.downloaded_layers[firsts], pulls.downloaded_bytes[firsts], transfer
            )
            cold_share = _mean(startup_pull_share(cold, transfer))

        pushed = int(pushes.uploaded_bytes[p].sum())
        pushed_flat = int(pushes.flattened_uploaded_bytes[p].sum())
        pulled = int(pulls.downloaded_bytes[fresh].sum())
        pulled_flat = int(flat_dl.sum())
        cumulative += (pushed, pushed_flat, pulled, pulled_flat)
        transfer_rows.append(
            TransferEpoch(
                epoch=t,
                base_releases=int((kinds == ImageKind.BASE).sum()),
                runtime_releases=int((kinds == ImageKind.RUNTIME).sum()),
                app_builds=int((kinds == ImageKind.APP).sum()),
                push_uploaded_bytes=pushed,
                push_flattened_uploaded_bytes=pushed_flat,
                push_uploaded_layers=int(pushes.uploaded_layers[p].sum()),
                push_skipped_layers=int(pushes.skipped_layers[p].sum()),
                push_mounted_layers=int(pushes.mounted_layers[p].sum()),
                pulls=int(fresh.size),
                nodes_pulling=int(n_pulling),
                pull_downloaded_bytes=pulled,
                pull_flattened_downloaded_bytes=pulled_flat,
                pull_downloaded_layers=int(pulls.downloaded_layers[fresh].sum()),
                pull_extracted_disk_bytes=int(pulls.extracted_disk_bytes[fresh].sum()),
                pull_seconds_p50=nearest_rank(node_seconds, 0.5),
                pull_seconds_p95=nearest_rank(node_seconds, 0.95),
                pull_seconds_max=nearest_rank(node_seconds, 1.0),
                flattened_pull_seconds_p50=nearest_rank(flat_seconds, 0.5),
                flattened_pull_seconds_p95=nearest_rank(flat_seconds, 0.95),
                flattened_pull_seconds_max=nearest_rank(flat_seconds, 1.0),
                startup_pull_share=_mean(startup_pull_share(image_seconds, transfer)),
                flattened_startup_pull_share=_mean(
                    startup_pull_share(flat_image_seconds, transfer)
                ),
                cumulative_push_bytes=int(cumulative[0]),
                cumulative_push_flattened_bytes=int(cumulative[1]),
                cumulative_pull_bytes=int(cumulative[2]),
                cumulative_pull_flattened_bytes=int(cumulative[3]),
            )
        )
        alive = (fleet.container_start_epoch <= t) & (fleet.container_remove_epoch > t)
        running = alive & (fleet.container_stop_epoch > t)
        stopped = alive & ~running
        container_rows.append(
            ContainerEpoch(
                epoch=t,
                running=int(running.sum()),
                stopped=int(stopped.sum()),
                running_writable_bytes=int(writable[running].sum()),
                stopped_writable_bytes=int(writable[stopped].sum()),
            )
        )

    for t in storage_epochs:
        registry_rows.append(
            RegistryEpoch(
                t,
                int(registry_count[t]),
                *(int(getattr(registry_held, s)[0, t]) for s in STRATEGIES),
            )
        )
        node_rows.append(_node_epoch(nodes_held, t, int(node_count[t]), a.n_nodes))

    report("simulate: summaries", 1.0)
    final = _held_by_registry(fleet, T - 1)
    rows = tuple(transfer_rows)
    return SimulationResult(
        config=cfg,
        fleet=_fleet_summary(fleet),
        registry=tuple(registry_rows),
        nodes=tuple(node_rows),
        transfers=rows,
        containers=tuple(container_rows),
        first_rollout=rows[0],
        steady_state=_totals(rows[1:], T),
        waste=_waste(final, images),
        sharing=sharing(fleet, final),
        anchors=anchor_rows(
            fleet, final, images, registry_rows[-1], node_rows[-1], rows[0], cold_share
        ),
    )


def _sorted(values: np.ndarray) -> bool:
    return bool(values.size < 2 or np.all(values[1:] >= values[:-1]))


def _held_counts(start: I64, end: I64, epochs: int) -> I64:
    """How many rows are held at the end of each epoch (row: held at start..end-1)."""
    delta = np.bincount(np.minimum(start, epochs), minlength=epochs + 1) - np.bincount(
        np.minimum(end, epochs), minlength=epochs + 1
    )
    return np.cumsum(delta)[:epochs]


def _mean(values: np.ndarray) -> float:
    return float(values.mean()) if values.size else 0.0


def _node_epoch(held: StoredTimeline, epoch: int, images: int, n_nodes: int) -> NodeEpoch:
    """The measured nodes at the end of `epoch` (totals estimated when they are a sample)."""
    columns = {s: getattr(held, s)[:, epoch] for s in STRATEGIES}
    measured = columns["layer"].size
    totals = {s: sampled_total(columns[s], n_nodes) for s in STRATEGIES}
    return NodeEpoch(
        epoch=epoch,
        nodes_measured=int(measured),
        estimated=bool(measured < n_nodes),
        images=images,
        logical_bytes=totals["logical"][0],
        flattened_bytes=totals["flattened"][0],
        layer_bytes=totals["layer"][0],
        file_bytes=totals["file"][0],
        logical_ci95=totals["logical"][1],
        flattened_ci95=totals["flattened"][1],
        layer_ci95=totals["layer"][1],
        file_ci95=totals["file"][1],
        layer_bytes_p50=int(nearest_rank(columns["layer"], 0.5)),
        layer_bytes_p95=int(nearest_rank(columns["layer"], 0.95)),
        layer_bytes_max=int(nearest_rank(columns["layer"], 1.0)),
        flattened_bytes_p50=int(nearest_rank(columns["flattened"], 0.5)),
        flattened_bytes_p95=int(nearest_rank(columns["flattened"], 0.95)),
        flattened_bytes_max=int(nearest_rank(columns["flattened"], 1.0)),
    )


def _totals(rows: tuple[TransferEpoch, ...], epochs: int) -> TransferTotals:
    return TransferTotals(
        first_epoch=rows[0].epoch if rows else epochs,
        last_epoch=rows[-1].epoch if rows else epochs - 1,
        push_uploaded_bytes=sum(r.push_uploaded_bytes for r in rows),
        push_flattened_uploaded_bytes=sum(r.push_flattened_uploaded_bytes for r in rows),
        pull_downloaded_bytes=sum(r.pull_downloaded_bytes for r in rows),
        pull_flattened_downloaded_bytes=sum(r.pull_flattened_downloaded_bytes for r in rows),
        pulls=sum(r.pulls for r in rows),
    )


def _waste(held: I64, images: ImageTable) -> WasteSummary:
    shadowed = images.shadowed_file_bytes[held]
    return WasteSummary(
        images=int(held.size),
        images_with_shadowed_bytes=int((shadowed > 0).sum()),
        shadowed_file_bytes=int(shadowed.sum()),
        dive_wasted_bytes=int(images.dive_wasted_bytes[held].sum()),
        dive_cumulative_bytes=int(images.dive_cumulative_bytes[held].sum()),
    )


def _fleet_summary(fleet: Fleet) -> FleetSummary:
    a = fleet.arrays
    return FleetSummary(
        images=a.n_images,
        base_images=int((fleet.image_kind == ImageKind.BASE).sum()),
        runtime_images=int((fleet.image_kind == ImageKind.RUNTIME).sum()),
        app_images=int((fleet.image_kind == ImageKind.APP).sum()),
        layers=a.n_layers,
        entries=a.n_entries,
        file_entries=int((a.entry_kind == EntryKind.FILE).sum()),
        contents=int(a.content_file_bytes.size),
        paths=a.n_paths,
        apps=fleet.n_apps,
        deployed_apps=int((fleet.app_replicas > 0).sum()),
        nodes=a.n_nodes,
        containers=len(a.container_names),
    )


# --------------------------------------------------------------------------- sharing, anchors


def layer_references(arrays: PopulationArrays, image_ids: I64) -> I64:
    """How many of `image_ids` reference each layer (an image names a layer at most once)."""
    counts = np.diff(arrays.image_offsets)[image_ids]
    layers = arrays.image_layers[ranges(arrays.image_offsets[:-1][image_ids], counts)]
    return np.bincount(layers, minlength=arrays.n_layers).astype(np.int64)


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


# Published figures (ANCHORS.md) the `anchor_rows` are compared with.
_RUNTIME_PUBLISHED = {
    "python": (
        "380.6 MB compressed, 1.02 GB on disk",
        "python:3.12-bookworm (docker-library/repo-info)",
    ),
    "node": ("439.4 MB compressed", "node:24-trixie (docker-library/repo-info)"),
}


def anchor_rows(
    fleet: Fleet,
    held: I64,
    images: ImageTable,
    registry: RegistryEpoch,
    nodes: NodeEpoch,
    first_rollout: TransferEpoch,
    cold_share: float,
) -> tuple[AnchorRow, ...]:
    """The fleet's statistics beside the published figures of ANCHORS.md (final registry,
    final nodes, first rollout), so a reader sees how close the model comes."""
    a = fleet.arrays
    refs = layer_references(a, held)
    present = refs > 0
    rows = [
        AnchorRow(
            "layers referenced by a single image (share)",
            float((refs == 1).sum() / max(int(present.sum()), 1)),
            "most layers",
            "Zhao et al., IEEE CLUSTER 2019",
        )
    ]
    # file entries of the distinct layers, and their distinct contents
    layers = np.flatnonzero(present)
    counts = np.diff(a.layer_offsets)[layers]
    content = a.entry_content[ranges(a.layer_offsets[:-1][layers], counts)]
    content = content[content >= 0]
    seen = np.zeros(a.content_file_bytes.size, dtype=np.bool_)
    seen[content] = True
    rows.append(
        AnchorRow(
            "distinct file contents per file entry of the distinct layers (share)",
            float(seen.sum() / max(content.size, 1)),
            "about 3% (3.2%) of files unique",
            "Zhao et al., IEEE CLUSTER 2019",
        )
    )
    rows.append(
        AnchorRow(
            "compression ratio of the distinct layers (tar / compressed bytes)",
            float(
                a.layer_tar_bytes[layers].sum()
                / max(int(a.layer_compressed_bytes[layers].sum()), 1)
            ),
            "about 2.2x to 2.7x",
            "docker-library/repo-info rows of ANCHORS.md",
        )
    )
    rows.append(
        AnchorRow(
            "registry: file-level dedup over layer-level storage (layer / file, compressed)",
            registry.layer_bytes / max(registry.file_bytes, 1),
            "up to 6.9x",
            "DupHunter, USENIX ATC 2020",
        )
    )
    rows.append(
        AnchorRow(
            "nodes: file-level dedup over overlay2 layers (layer / file, disk bytes)",
            nodes.layer_bytes / max(nodes.file_bytes, 1),
            "2.7x (822 GB in overlay2 -> 301 GB)",
            "flx42/layer-dedup-test README",
        )
    )
    rows.append(
        AnchorRow(
            "cold start (first pull on an empty node): share of start-up spent pulling",
            cold_share,
            "76%",
            "Harter et al., Slacker, FAST 2016",
        )
    )
    rows.append(
        AnchorRow(
            "first rollout: share of start-up spent pulling (mean over all its pulls)",
            first_rollout.startup_pull_share,
            "76% (cold starts)",
            "Harter et al., Slacker, FAST 2016",
        )
    )
    # sizes of the first version of each base and runtime
    mb = 1e6
    for f, name in enumerate(fleet.base_families):
        image = _first_image(fleet, ImageKind.BASE, f)
        preset = BASE_PRESETS[name]
        rows.append(
            AnchorRow(
                f"{name}-like base, version 0: compressed MB",
                float(images.layered_compressed_bytes[image] / mb),
                f"{preset.compressed_bytes / mb:g} MB",
                "docker-library/repo-info",
            )
        )
        rows.append(
            AnchorRow(
                f"{name}-like base, version 0: tar MB (on disk)",
                float(images.layered_tar_bytes[image] / mb),
                f"{preset.file_bytes / mb:g} MB",
                "docker-library/repo-info",
            )
        )
    for r, name in enumerate(fleet.runtime_families):
        image = _first_image(fleet, ImageKind.RUNTIME, r)
        published, source = _RUNTIME_PUBLISHED.get(name, ("(no published figure)", "assumption"))
        rows.append(
            AnchorRow(
                f"{name}-like runtime, version 0: compressed MB",
                float(images.layered_compressed_bytes[image] / mb),
                published,
                source,
            )
        )
    # file dedup across versions of one base (EROFS: 10 ubuntu:jammy versions)
    family = "ubuntu" if "ubuntu" in fleet.base_families else fleet.base_families[0]
    f = fleet.base_families.index(family)
    versions = np.flatnonzero((fleet.image_kind == ImageKind.BASE) & (fleet.image_owner == f))[:10]
    if versions.size > 1:
        stored = registry_stored(a, versions, images)
        rows.append(
            AnchorRow(
                f"{versions.size} {family}-like versions: file-level saving over layers "
                "(compressed bytes)",
                1.0 - stored.file / max(stored.logical, 1),
                "86% (10 ubuntu:jammy versions, uncompressed)",
                "EROFS documentation, dedupe comparison",
            )
        )
    return tuple(rows)


def _first_image(fleet: Fleet, kind: ImageKind, owner: int) -> int:
    match = (fleet.image_kind == kind) & (fleet.image_owner == owner) & (fleet.image_version == 0)
    return int(np.flatnonzero(match)[0])
