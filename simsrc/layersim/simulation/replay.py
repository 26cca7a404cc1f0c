"""The time simulation: replay a generated fleet epoch by epoch (docs/design.md §7, §8).

At each epoch `t`, in this order:
1. the images built at `t` (base patch releases, runtime rebuilds, app builds; `Fleet`) are
   pushed to the registry, which holds what it kept at the end of `t-1`;
2. each node running an app that was rebuilt pulls the new version (the rollout), holding what it
   kept at the end of `t-1`;
3. garbage collection, as the fleet's retention plan says (`fleet.retention`: the registry keeps
   the last `registry.retention` versions of each repository, a node the last `nodes.retention`
   versions of each app; with them go the stopped containers of the removed versions);
4. the state at the end of `t` is measured: stored bytes of the registry and of every node
   (every `time.storage_every` epochs and at the last), containers.

`simulate(fleet)` runs it as stages, each a function returning a frozen value: the engine's
timelines over the whole horizon (pushes, pulls, stored bytes), then the rows of every epoch
read off them, then the end-of-run statistics. Every storage and transfer figure comes from
the accounting engine (`accounting.transfers`, `storage`, `images`; equal to `reference`); the pull-time model is `pulltime`, the
node sample `sampling`, the end-of-run statistics `statistics`, the result types `results`.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting import transfers
from layersim.accounting.arrays import I64, canonical, csr_rows
from layersim.accounting.containers import container_bytes
from layersim.accounting.held import SumHeld, sum_here
from layersim.accounting.images import ImageTable, WalkParts, image_table
from layersim.accounting.metrics import CHUNK_STRATEGIES, STRATEGIES
from layersim.accounting.storage import StoredTimeline, stored_timeline
from layersim.accounting.transfers import PullTable, PushTable
from layersim.config import LazyConfig, TransferConfig
from layersim.fleet import Fleet
from layersim.fleet.presets import ImageKind
from layersim.model import EntryKind
from layersim.progress import Progress
from layersim.simulation.lazy import LazyFetches, pull_fetches, startup_seconds
from layersim.simulation.pulltime import mean_share, pull_seconds, startup_pull_share
from layersim.simulation.results import (
    ContainerEpoch,
    FleetSummary,
    LazyEpoch,
    NodeEpoch,
    RegistryEpoch,
    SimulationResult,
    TransferEpoch,
    TransferTotals,
)
from layersim.simulation.sampling import measured_nodes, nearest_rank, sampled_total
from layersim.simulation.state import held_by_registry
from layersim.simulation.statistics import (
    FinalState,
    anchor_rows,
    fleet_anchors,
    repositories,
    sharing,
    waste,
)

# --------------------------------------------------------------------------- the timelines


@dataclass(frozen=True, eq=False)
class Pushes:
    """Every push of the horizon (image `i` at its build epoch, kept to its registry gc), in
    push order, with the epoch of each."""

    table: PushTable
    epoch: I64


@dataclass(frozen=True, eq=False)
class Pulls:
    """Every rollout pull of the horizon (per node, in pull order; kept to the node's gc), with
    the epoch of each."""

    table: PullTable
    epoch: I64


@dataclass(frozen=True, eq=False)
class StoredTimelines:
    """Stored bytes at the end of every epoch, after garbage collection: the registry's, and
    each measured node's (`sampling.measured_nodes`), with how many images each holds."""

    registry: StoredTimeline
    registry_images: I64  # per epoch
    nodes: StoredTimeline
    node_images: I64  # per epoch, summed over the measured nodes


def push_timeline(fleet: Fleet, images: ImageTable) -> Pushes:
    """Every push of the horizon, one pass over every arrival (`transfers.push_timeline`)."""
    a = fleet.arrays
    push_order = np.asarray(a.push_order, dtype=np.int64)
    table = transfers.push_timeline(
        a,
        push_order,
        images,
        start=fleet.image_epoch[push_order],
        until=fleet.image_registry_gc_epoch[push_order],
    )
    return Pushes(table, fleet.image_epoch[push_order])


def pull_timeline(fleet: Fleet, images: ImageTable) -> Pulls:
    """Every rollout pull of the horizon, onto nodes that keep images to their node gc."""
    a = fleet.arrays
    pull_epoch = fleet.image_epoch[a.node_images]
    table = transfers.pull_timeline(
        a,
        a.node_offsets,
        a.node_images,
        images,
        start=pull_epoch,
        until=fleet.image_node_gc_epoch[a.node_images],
    )
    return Pulls(table, pull_epoch)


def _held_counts(start: I64, end: I64, epochs: int) -> I64:
    """How many rows are held at the end of each epoch (row: held at start..end-1)."""
    delta = np.bincount(np.minimum(start, epochs), minlength=epochs + 1) - np.bincount(
        np.minimum(end, epochs), minlength=epochs + 1
    )
    return np.cumsum(delta)[:epochs]


def stored_timelines(
    fleet: Fleet, images: ImageTable, sample: I64, sum_held: SumHeld = sum_here
) -> StoredTimelines:
    """What the registry and the `sample` nodes hold at the end of every epoch: one pass each
    over every arrival (a store holds an image from the epoch it arrives to the garbage
    collection that drops it), not one recomputation of every store per epoch. The sums over
    keys are `sum_held`'s (`accounting.held`: here, or in key partitions elsewhere)."""
    a = fleet.arrays
    T = fleet.epochs
    registry = stored_timeline(
        a,
        images,
        np.zeros(a.n_images, dtype=np.int64),
        np.arange(a.n_images, dtype=np.int64),
        fleet.image_epoch,
        fleet.image_registry_gc_epoch,
        1,
        T,
        registry=True,
        sum_held=sum_held,
    )
    pull_images = a.node_images
    pull_node = csr_rows(a.node_offsets)
    position = np.full(a.n_nodes, -1, dtype=np.int64)
    position[sample] = np.arange(sample.size)
    measured = position[pull_node] >= 0
    node_start = fleet.image_epoch[pull_images][measured]
    node_end = fleet.image_node_gc_epoch[pull_images[measured]]
    nodes = stored_timeline(
        a,
        images,
        position[pull_node[measured]],
        pull_images[measured],
        node_start,
        node_end,
        sample.size,
        T,
        registry=False,
        sum_held=sum_held,
    )
    return StoredTimelines(
        registry=registry,
        registry_images=_held_counts(fleet.image_epoch, fleet.image_registry_gc_epoch, T),
        nodes=nodes,
        node_images=_held_counts(node_start, node_end, T),
    )


# --------------------------------------------------------------------------- per epoch


def _sorted(values: np.ndarray) -> bool:
    return bool(values.size < 2 or np.all(values[1:] >= values[:-1]))


def _transfer_epoch(
    t: int,
    kinds: np.ndarray,
    pushes: PushTable,
    p: slice | I64,
    pulls: PullTable,
    fresh: I64,
    transfer: TransferConfig,
    before: TransferEpoch | None,
) -> TransferEpoch:
    """Epoch `t`'s row: the pushes `p` of the images built at `t` (of kinds `kinds`), the
    rollout pulls `fresh`, and the running totals over the epochs up to `t` (`before`: the
    row of `t - 1`)."""
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

    pushed = int(pushes.uploaded_bytes[p].sum())
    pushed_flat = int(pushes.flattened_uploaded_bytes[p].sum())
    pulled = int(pulls.downloaded_bytes[fresh].sum())
    pulled_flat = int(flat_dl.sum())
    return TransferEpoch(
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
        startup_pull_share=mean_share(startup_pull_share(image_seconds, transfer)),
        flattened_startup_pull_share=mean_share(startup_pull_share(flat_image_seconds, transfer)),
        cumulative_push_bytes=pushed + (before.cumulative_push_bytes if before else 0),
        cumulative_push_flattened_bytes=pushed_flat
        + (before.cumulative_push_flattened_bytes if before else 0),
        cumulative_pull_bytes=pulled + (before.cumulative_pull_bytes if before else 0),
        cumulative_pull_flattened_bytes=pulled_flat
        + (before.cumulative_pull_flattened_bytes if before else 0),
    )


def transfer_rows(fleet: Fleet, pushes: Pushes, pulls: Pulls) -> tuple[TransferEpoch, ...]:
    """One row per epoch: what its pushes and rollout pulls moved, and the running totals."""
    T = fleet.epochs
    epoch_bounds = np.searchsorted(fleet.image_epoch, np.arange(T + 1))
    pushed_at = np.searchsorted(pushes.epoch, np.arange(T + 1)) if _sorted(pushes.epoch) else None
    rows: list[TransferEpoch] = []
    for t in range(T):
        lo, hi = int(epoch_bounds[t]), int(epoch_bounds[t + 1])
        p = (
            slice(int(pushed_at[t]), int(pushed_at[t + 1]))
            if pushed_at is not None
            else np.flatnonzero(pushes.epoch == t)
        )
        fresh = np.flatnonzero(pulls.epoch == t)
        row = _transfer_epoch(
            t,
            fleet.image_kind[lo:hi],
            pushes.table,
            p,
            pulls.table,
            fresh,
            fleet.config.transfer,
            rows[-1] if rows else None,
        )
        rows.append(row)
    return tuple(rows)


def _cold_firsts(fleet: Fleet, pulls: Pulls) -> I64:
    """The cold pulls: each node's first pull, at epoch 0, onto an empty node."""
    a = fleet.arrays
    firsts = a.node_offsets[:-1][np.diff(a.node_offsets) > 0]
    return firsts[pulls.epoch[firsts] == 0]


def cold_start_share(fleet: Fleet, pulls: Pulls) -> float:
    """Mean share of start-up spent pulling over the cold pulls: nodes start empty, so each
    node's first pull, at epoch 0, is a pull onto an empty node."""
    transfer = fleet.config.transfer
    firsts = _cold_firsts(fleet, pulls)
    cold = pull_seconds(
        pulls.table.downloaded_layers[firsts], pulls.table.downloaded_bytes[firsts], transfer
    )
    return mean_share(startup_pull_share(cold, transfer))


# --------------------------------------------------------------------------- lazy pulls


@dataclass(frozen=True, eq=False)
class PullCosts:
    """Per pull, what a full and a lazy pull of it fetch: bytes (compressed) and requests of
    the full pull, and the lazy fetches (`lazy.LazyFetches`)."""

    full_bytes: I64
    full_requests: I64
    lazy: LazyFetches


def warm_costs(fleet: Fleet, pulls: Pulls) -> PullCosts:
    """Every rollout pull as it happens: onto its node holding what it kept (warm)."""
    table = pulls.table
    return PullCosts(
        table.downloaded_bytes,
        table.downloaded_layers,
        pull_fetches(fleet.arrays, table, fleet.config.lazy),
    )


def cold_costs(fleet: Fleet, images: ImageTable, pulls: Pulls) -> PullCosts:
    """Every rollout pull onto an empty node (cold): each image pulled once onto a node of
    its own (`transfers.pull_timeline`), read off per pull by its image."""
    a = fleet.arrays
    each = np.arange(a.n_images, dtype=np.int64)
    alone = transfers.pull_timeline(a, np.arange(a.n_images + 1, dtype=np.int64), each, images)
    per_image = pull_fetches(a, alone, fleet.config.lazy)
    image = pulls.table.image
    return PullCosts(
        alone.downloaded_bytes[image],
        alone.downloaded_layers[image],
        LazyFetches(
            per_image.startup_bytes[image],
            per_image.startup_requests[image],
            per_image.background_bytes[image],
            per_image.background_requests[image],
        ),
    )


def _per_node(node_of: I64, n: int, values: I64) -> I64:
    return np.bincount(node_of, weights=values, minlength=n)


def _lazy_epoch(
    t: int,
    node: I64,
    warm: PullCosts,
    cold: PullCosts,
    fresh: I64,
    transfer: TransferConfig,
    lazy: LazyConfig,
) -> LazyEpoch:
    """Epoch `t`'s lazy row: its rollout pulls `fresh` (of nodes `node`), in full and lazily,
    warm and cold; times per pulling node (each node's pulls of the epoch together)."""
    node_ids, node_of = np.unique(node[fresh], return_inverse=True)
    n = node_ids.size

    def full_seconds(costs: PullCosts) -> np.ndarray:
        return pull_seconds(
            _per_node(node_of, n, costs.full_requests[fresh]),
            _per_node(node_of, n, costs.full_bytes[fresh]),
            transfer,
        )

    def lazy_seconds(costs: PullCosts) -> np.ndarray:
        return startup_seconds(
            _per_node(node_of, n, costs.lazy.startup_requests[fresh]),
            _per_node(node_of, n, costs.lazy.startup_bytes[fresh]),
            transfer,
            lazy,
        )

    def share(costs: PullCosts, lazily: bool) -> float:
        seconds = (
            startup_seconds(
                costs.lazy.startup_requests[fresh], costs.lazy.startup_bytes[fresh], transfer, lazy
            )
            if lazily
            else pull_seconds(costs.full_requests[fresh], costs.full_bytes[fresh], transfer)
        )
        return mean_share(startup_pull_share(seconds, transfer))

    full_cold, lazy_cold = full_seconds(cold), lazy_seconds(cold)
    full_warm, lazy_warm = full_seconds(warm), lazy_seconds(warm)
    return LazyEpoch(
        epoch=t,
        pulls=int(fresh.size),
        nodes_pulling=int(n),
        full_cold_bytes=int(cold.full_bytes[fresh].sum()),
        full_warm_bytes=int(warm.full_bytes[fresh].sum()),
        lazy_cold_startup_bytes=int(cold.lazy.startup_bytes[fresh].sum()),
        lazy_warm_startup_bytes=int(warm.lazy.startup_bytes[fresh].sum()),
        lazy_warm_background_bytes=int(warm.lazy.background_bytes[fresh].sum()),
        lazy_warm_moved_bytes=int(warm.lazy.moved_bytes(lazy)[fresh].sum()),
        lazy_cold_moved_bytes=int(cold.lazy.moved_bytes(lazy)[fresh].sum()),
        full_cold_requests=int(cold.full_requests[fresh].sum()),
        full_warm_requests=int(warm.full_requests[fresh].sum()),
        lazy_cold_startup_requests=int(cold.lazy.startup_requests[fresh].sum()),
        lazy_warm_startup_requests=int(warm.lazy.startup_requests[fresh].sum()),
        lazy_warm_requests=int(warm.lazy.requests(lazy)[fresh].sum()),
        lazy_cold_requests=int(cold.lazy.requests(lazy)[fresh].sum()),
        full_cold_seconds_p50=nearest_rank(full_cold, 0.5),
        full_cold_seconds_p95=nearest_rank(full_cold, 0.95),
        lazy_cold_seconds_p50=nearest_rank(lazy_cold, 0.5),
        lazy_cold_seconds_p95=nearest_rank(lazy_cold, 0.95),
        full_warm_seconds_p50=nearest_rank(full_warm, 0.5),
        full_warm_seconds_p95=nearest_rank(full_warm, 0.95),
        lazy_warm_seconds_p50=nearest_rank(lazy_warm, 0.5),
        lazy_warm_seconds_p95=nearest_rank(lazy_warm, 0.95),
        full_warm_node_seconds=float(full_warm.sum()),
        lazy_warm_node_seconds=float(lazy_warm.sum()),
        full_cold_startup_share=share(cold, lazily=False),
        lazy_cold_startup_share=share(cold, lazily=True),
        full_warm_startup_share=share(warm, lazily=False),
        lazy_warm_startup_share=share(warm, lazily=True),
    )


def lazy_rows(
    fleet: Fleet, images: ImageTable, pulls: Pulls
) -> tuple[tuple[LazyEpoch, ...], float]:
    """One lazy row per epoch (`LazyEpoch`), and the mean start-up share of the cold pulls
    (each node's first pull, onto an empty node; as `cold_start_share`) pulled lazily."""
    cfg = fleet.config
    warm, cold = warm_costs(fleet, pulls), cold_costs(fleet, images, pulls)
    rows = tuple(
        _lazy_epoch(
            t,
            pulls.table.node,
            warm,
            cold,
            np.flatnonzero(pulls.epoch == t),
            cfg.transfer,
            cfg.lazy,
        )
        for t in range(fleet.epochs)
    )
    firsts = _cold_firsts(fleet, pulls)
    seconds = startup_seconds(
        warm.lazy.startup_requests[firsts], warm.lazy.startup_bytes[firsts], cfg.transfer, cfg.lazy
    )
    return rows, mean_share(startup_pull_share(seconds, cfg.transfer))


def container_rows(fleet: Fleet, writable: I64) -> tuple[ContainerEpoch, ...]:
    """One row per epoch: the containers that exist at its end and their writable bytes."""
    rows = []
    for t in range(fleet.epochs):
        alive = (fleet.container_start_epoch <= t) & (fleet.container_remove_epoch > t)
        running = alive & (fleet.container_stop_epoch > t)
        stopped = alive & ~running
        rows.append(
            ContainerEpoch(
                epoch=t,
                running=int(running.sum()),
                stopped=int(stopped.sum()),
                running_writable_bytes=int(writable[running].sum()),
                stopped_writable_bytes=int(writable[stopped].sum()),
            )
        )
    return tuple(rows)


def storage_epochs(storage_every: int, epochs: int) -> list[int]:
    """The epochs whose stored bytes are measured: every `storage_every`-th and the last."""
    return sorted({t for t in range(epochs) if t % storage_every == 0} | {epochs - 1})


def _node_epoch(held: StoredTimeline, epoch: int, images: int, n_nodes: int) -> NodeEpoch:
    """The measured nodes at the end of `epoch` (totals estimated when they are a sample)."""
    columns = {s: getattr(held, s)[:, epoch] for s in STRATEGIES}
    measured = columns["layer"].size
    totals = {s: sampled_total(columns[s], n_nodes) for s in STRATEGIES}
    chunks: dict[str, int | None] = {}
    for s in CHUNK_STRATEGIES:
        timeline = getattr(held, s)
        total = None if timeline is None else sampled_total(timeline[:, epoch], n_nodes)
        chunks[f"{s}_bytes"] = None if total is None else total[0]
        chunks[f"{s}_ci95"] = None if total is None else total[1]
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
        **chunks,
    )


def _at(timeline: np.ndarray | None, epoch: int) -> int | None:
    """A registry timeline's bytes at the end of `epoch` (None: not measured)."""
    return None if timeline is None else int(timeline[0, epoch])


def storage_rows(
    stored: StoredTimelines, epochs: list[int], n_nodes: int
) -> tuple[tuple[RegistryEpoch, ...], tuple[NodeEpoch, ...]]:
    """The registry's and the nodes' rows at the end of each of `epochs`."""
    registry = tuple(
        RegistryEpoch(
            t,
            int(stored.registry_images[t]),
            *(int(getattr(stored.registry, s)[0, t]) for s in STRATEGIES),
            *(_at(getattr(stored.registry, s), t) for s in CHUNK_STRATEGIES),
        )
        for t in epochs
    )
    nodes = tuple(_node_epoch(stored.nodes, t, int(stored.node_images[t]), n_nodes) for t in epochs)
    return registry, nodes


# --------------------------------------------------------------------------- at the end


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


def fleet_summary(fleet: Fleet) -> FleetSummary:
    """The counts of what the fleet generated."""
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


# --------------------------------------------------------------------------- the run


def simulate(
    fleet: Fleet,
    progress: Progress | None = None,
    sum_held: SumHeld = sum_here,
    walk_parts: WalkParts | None = None,
) -> SimulationResult:
    """Replay `fleet` epoch by epoch and collect every table of `SimulationResult`.

    Pushes, pulls and stored bytes come from the engine's timelines: one pass each over
    every arrival of the whole horizon, then each epoch's rows are read off them. The stored
    bytes' sums over keys are `sum_held`'s (here by default; `accounting.held`), the overlay
    walk's parts `walk_parts`' (threads here by default; `images.image_table`): the same
    figures either way."""
    report = progress or (lambda stage, fraction: None)
    cfg = fleet.config
    a = fleet.arrays
    T = fleet.epochs
    report("simulate: images", 0.0)
    canon = canonical(a)
    images = image_table(canon, walk_parts)
    writable = container_bytes(canon)
    report("simulate: pushes", 0.2)
    pushes = push_timeline(fleet, images)
    report("simulate: pulls", 0.4)
    pulls = pull_timeline(fleet, images)
    report("simulate: storage", 0.6)
    sample = measured_nodes(a.n_nodes, cfg.nodes.stats_sample)
    stored = stored_timelines(fleet, images, sample, sum_held)
    report("simulate: epochs", 0.8)
    transfers = transfer_rows(fleet, pushes, pulls)
    lazy, lazy_cold_share = lazy_rows(fleet, images, pulls)
    containers = container_rows(fleet, writable)
    registry, nodes = storage_rows(stored, storage_epochs(cfg.time.storage_every, T), a.n_nodes)
    report("simulate: summaries", 1.0)
    final = held_by_registry(fleet, T - 1)
    state = FinalState(
        arrays=a,
        images=images,
        held=final,
        image_kind=fleet.image_kind,
        image_repository=repositories(fleet.image_kind, fleet.image_owner),
        image_version=fleet.image_version,
        nodes=nodes[-1],
        cold_start_pull_share=cold_start_share(fleet, pulls),
        lazy_cold_start_pull_share=lazy_cold_share,
        first_lazy=lazy[0],
    )
    return SimulationResult(
        config=cfg,
        fleet=fleet_summary(fleet),
        registry=registry,
        nodes=nodes,
        transfers=transfers,
        containers=containers,
        first_rollout=transfers[0],
        steady_state=_totals(transfers[1:], T),
        waste=waste(final, images),
        sharing=sharing(fleet, final),
        anchors=anchor_rows(state, fleet_anchors(fleet)),
        lazy=lazy,
    )
