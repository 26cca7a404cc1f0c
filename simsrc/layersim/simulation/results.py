"""What a simulation produces: frozen values, one type per table, and `SimulationResult`.

Per epoch: `RegistryEpoch`, `NodeEpoch` (stored bytes), `TransferEpoch` (pushes and pulls),
`LazyEpoch` (the rollout pulled in full and lazily), `ContainerEpoch`. At the end:
`TransferTotals`, `LazyTotals`, `WasteSummary`, `SharingSummary`, `AnchorRow`,
`FleetSummary`. `SimulationResult` holds them all; `SimulationResult.headline()` is the one
definition of the run's headline figures (`Headline`), which the report's headline table,
summary.json and a sweep's metrics (`simulation.metrics`) all read.

Values only: `replay` and `statistics` compute them, `report` formats them. The field names are
what summary.json and the report's tables read: renaming one changes the outputs.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass
from typing import Any, Generic, TypeVar

from layersim.accounting.metrics import StoredBytes, saving
from layersim.config import ExperimentConfig, config_to_dict

# --------------------------------------------------------------------------- per epoch


@dataclass(frozen=True, slots=True)
class RegistryEpoch:
    """The registry at the end of an epoch, in compressed bytes per strategy (metrics.py)."""

    epoch: int
    images: int
    logical_bytes: int
    flattened_bytes: int
    layer_bytes: int
    file_bytes: int
    # the chunk strategies (None: the fleet's contents carry no chunks)
    chunk_cdc_bytes: int | None = None
    chunk_fixed_bytes: int | None = None


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
    # the chunk strategies (None: the fleet's contents carry no chunks)
    chunk_cdc_bytes: int | None = None
    chunk_fixed_bytes: int | None = None
    chunk_cdc_ci95: int | None = None
    chunk_fixed_ci95: int | None = None


@dataclass(frozen=True, slots=True)
class TransferEpoch:
    """What moved in an epoch: pushes of the new images, pulls of the rollouts.

    Bytes are compressed bytes. Pull seconds are per pulling node (`pulltime.pull_seconds`); the
    start-up share is the mean over image pulls of `pulltime.startup_pull_share`. `flattened_*`:
    the same had every image been a flattened export (one blob)."""

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
class LazyEpoch:
    """An epoch's rollout pulled in full and lazily (`simulation.lazy`), cold and warm.

    Warm: each node holds what it kept at the end of the epoch before, and fetches what it
    lacks (the rollout as `TransferEpoch` counts it). Cold: each pull onto an empty node (the
    image's every blob lacking). Bytes are compressed bytes summed over the epoch's pulls:
    `full_*_bytes` what a full pull downloads before the container starts,
    `lazy_*_startup_bytes` what a lazy pull fetches before it starts,
    `lazy_warm_background_bytes` the rest (`full - startup`: fetched in the background when
    `lazy.background`, else never), `lazy_*_moved_bytes` what lazy pulls move in all
    (start-up + background if fetched). Requests are registry requests summed over the pulls:
    one per blob for a full pull, one per chunk for a lazy one (`lazy_*_requests`: start-up
    and, if fetched, background requests). `*_seconds_p50/p95`: the time before a pulling
    node's containers can start, per node over the nodes pulling (nearest rank), full
    (`pulltime.pull_seconds`) or lazy (`lazy.startup_seconds`); `*_node_seconds` their sum
    over the pulling nodes (seconds). `*_startup_share`: mean over pulls of
    `pulltime.startup_pull_share` (fraction)."""

    epoch: int
    pulls: int
    nodes_pulling: int
    full_cold_bytes: int
    full_warm_bytes: int
    lazy_cold_startup_bytes: int
    lazy_warm_startup_bytes: int
    lazy_warm_background_bytes: int
    lazy_warm_moved_bytes: int
    lazy_cold_moved_bytes: int
    full_cold_requests: int
    full_warm_requests: int
    lazy_cold_startup_requests: int
    lazy_warm_startup_requests: int
    lazy_warm_requests: int
    lazy_cold_requests: int
    full_cold_seconds_p50: float
    full_cold_seconds_p95: float
    lazy_cold_seconds_p50: float
    lazy_cold_seconds_p95: float
    full_warm_seconds_p50: float
    full_warm_seconds_p95: float
    lazy_warm_seconds_p50: float
    lazy_warm_seconds_p95: float
    full_warm_node_seconds: float
    lazy_warm_node_seconds: float
    full_cold_startup_share: float
    lazy_cold_startup_share: float
    full_warm_startup_share: float
    lazy_warm_startup_share: float


# --------------------------------------------------------------------------- at the end


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
class LazyTotals:
    """The warm rollouts of every epoch pulled in full and lazily (`LazyEpoch`): compressed
    bytes, registry requests (counts) and node-seconds before containers start, summed; the
    worst per-node p95 start-up time of an epoch (seconds; 0 without pulls); the start-up
    shares, means over every pull (each epoch's mean weighted by its pulls)."""

    pulls: int
    full_bytes: int
    lazy_startup_bytes: int
    lazy_moved_bytes: int
    full_requests: int
    lazy_startup_requests: int
    lazy_requests: int
    full_node_seconds: float
    lazy_node_seconds: float
    full_worst_seconds_p95: float
    lazy_worst_seconds_p95: float
    full_startup_share: float
    lazy_startup_share: float

    @property
    def lazy_startup_bytes_saving(self) -> float:
        """Bytes fetched before containers start, lazy against full pulls:
        `1 - lazy_startup_bytes / full_bytes` (`metrics.saving`, a fraction)."""
        return saving(self.lazy_startup_bytes, self.full_bytes)

    @property
    def lazy_startup_seconds_saving(self) -> float:
        """Time nodes wait before containers start, lazy against full pulls, summed over
        every pulling node of every epoch: `1 - lazy_node_seconds / full_node_seconds`
        (a fraction)."""
        full = self.full_node_seconds
        return 1.0 - self.lazy_node_seconds / full if full else 0.0

    @property
    def lazy_moved_bytes_saving(self) -> float:
        """Bytes moved in all, lazy against full pulls: `1 - lazy_moved_bytes / full_bytes`
        (0 when `lazy.background` fetches everything; a fraction)."""
        return saving(self.lazy_moved_bytes, self.full_bytes)


def lazy_totals(rows: tuple[LazyEpoch, ...]) -> LazyTotals:
    """`LazyTotals` of `rows`: each warm figure summed over the rows."""
    return LazyTotals(
        pulls=sum(r.pulls for r in rows),
        full_bytes=sum(r.full_warm_bytes for r in rows),
        lazy_startup_bytes=sum(r.lazy_warm_startup_bytes for r in rows),
        lazy_moved_bytes=sum(r.lazy_warm_moved_bytes for r in rows),
        full_requests=sum(r.full_warm_requests for r in rows),
        lazy_startup_requests=sum(r.lazy_warm_startup_requests for r in rows),
        lazy_requests=sum(r.lazy_warm_requests for r in rows),
        full_node_seconds=sum(r.full_warm_node_seconds for r in rows),
        lazy_node_seconds=sum(r.lazy_warm_node_seconds for r in rows),
        full_worst_seconds_p95=max((r.full_warm_seconds_p95 for r in rows), default=0.0),
        lazy_worst_seconds_p95=max((r.lazy_warm_seconds_p95 for r in rows), default=0.0),
        full_startup_share=_pull_weighted(rows, "full_warm_startup_share"),
        lazy_startup_share=_pull_weighted(rows, "lazy_warm_startup_share"),
    )


def _pull_weighted(rows: tuple[LazyEpoch, ...], name: str) -> float:
    """The mean over every pull of a per-epoch mean `name`: `sum(pulls * mean) / sum(pulls)`
    (0 without pulls)."""
    pulls = sum(r.pulls for r in rows)
    return sum(r.pulls * getattr(r, name) for r in rows) / pulls if pulls else 0.0


@dataclass(frozen=True, slots=True)
class WasteSummary:
    """Waste inside the images the registry holds at the end (docs/design.md §6; file bytes).

    `shadowed_file_bytes` is what flattening drops; in this model only the add-then-delete
    archive is shadowed, so it is also what combining those steps into one would save."""

    images: int
    images_with_shadowed_bytes: int
    shadowed_file_bytes: int
    dive_wasted_bytes: int
    dive_cumulative_bytes: int


@dataclass(frozen=True, slots=True)
class SharingBucket:
    """The layers of the final registry referenced by a number of its images in the range
    `label` names, their compressed bytes and what sharing them saves (`statistics.sharing`)."""

    label: str
    layers: int
    compressed_bytes: int
    saved_bytes: int


@dataclass(frozen=True, slots=True)
class SharedLayer:
    """One of the layers whose sharing saves the most in the final registry."""

    layer: int
    description: str
    images: int
    compressed_bytes: int
    saved_bytes: int


@dataclass(frozen=True, slots=True)
class SharingSummary:
    """How many images of the final registry reference each layer (`statistics.sharing`)."""

    layers: int
    saved_bytes: int
    buckets: tuple[SharingBucket, ...]
    top_layers: tuple[SharedLayer, ...]
    top_share: float  # share of saved_bytes carried by the top layers


@dataclass(frozen=True, slots=True)
class AnchorRow:
    """A statistic of the simulated fleet, computed on `population`, beside the published
    figure it is compared with (`statistics.ANCHORS`): `verdict` is `within` when `low <=
    produced <= high`, `outside` otherwise, `n/a` when no bounds apply (`low`, `high` None;
    `reason` says why) or the population is empty (`produced` None). `reason` otherwise
    names the source's population."""

    figure: str
    population: str
    produced: float | None
    published: str
    low: float | None
    high: float | None
    verdict: str
    reason: str
    source: str


@dataclass(frozen=True, slots=True)
class FleetSummary:
    """How big the generated fleet is: counts of its images, layers, entries, apps, nodes."""

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


# --------------------------------------------------------------------------- the headline

T = TypeVar("T", int, float)


@dataclass(frozen=True, slots=True)
class FlattenedAndLayer(Generic[T]):
    """One figure twice: had every image been a flattened export, and with layer sharing."""

    flattened: T
    layer: T


@dataclass(frozen=True, slots=True)
class Headline:
    """The figures a run is summed up by: what layer sharing saves against flattened exports
    (and what file-level dedup would save on top) in storage at the end, in transfers over
    every epoch, and in pull time.

    Stores are at the end of the last epoch: the registry in compressed bytes, the nodes in disk
    bytes summed over every node (estimated from a sample when `nodes_estimated`). Transfers
    are compressed bytes. `fullest_node_stored` is the largest node under each strategy (not
    necessarily the same node). `later_pull_seconds_p95` is the worst p95 pull time per node
    over the epochs after the first that pull anything (None if none does). Each saving is
    `metrics.saving`, `1 - S / B`, a fraction."""

    epochs: int
    nodes: int
    nodes_estimated: bool
    registry_stored: StoredBytes
    nodes_stored: StoredBytes
    fullest_node_stored: FlattenedAndLayer[int]
    first_rollout_pulled: FlattenedAndLayer[int]
    pulled: FlattenedAndLayer[int]
    pushed: FlattenedAndLayer[int]
    first_rollout_pull_seconds_p95: FlattenedAndLayer[float]
    later_pull_seconds_p95: FlattenedAndLayer[float] | None

    @property
    def registry_layer_saving_vs_flattened(self) -> float:
        """The registry at the end: layer store against flattened exports."""
        return saving(self.registry_stored.layer, self.registry_stored.flattened)

    @property
    def nodes_layer_saving_vs_flattened(self) -> float:
        """The nodes at the end (sum): layer store against flattened exports."""
        return saving(self.nodes_stored.layer, self.nodes_stored.flattened)

    @property
    def registry_file_saving_vs_layer(self) -> float:
        """The registry at the end: file-level dedup against the layer store."""
        return saving(self.registry_stored.file, self.registry_stored.layer)

    @property
    def nodes_file_saving_vs_layer(self) -> float:
        """The nodes at the end (sum): file-level dedup against the layer store."""
        return saving(self.nodes_stored.file, self.nodes_stored.layer)

    @property
    def pull_layer_saving_vs_flattened(self) -> float:
        """The pulls of every epoch: layered images against flattened exports."""
        return saving(self.pulled.layer, self.pulled.flattened)

    @property
    def registry_chunk_cdc_saving_vs_file(self) -> float | None:
        """The registry at the end: content-defined chunks against file-level dedup (None:
        the contents carry no chunks)."""
        return _saving_or_none(self.registry_stored.chunk_cdc, self.registry_stored.file)

    @property
    def registry_chunk_fixed_saving_vs_file(self) -> float | None:
        """The registry at the end: fixed-size chunks against file-level dedup."""
        return _saving_or_none(self.registry_stored.chunk_fixed, self.registry_stored.file)

    @property
    def nodes_chunk_cdc_saving_vs_file(self) -> float | None:
        """The nodes at the end (sum): content-defined chunk stores against file-level dedup."""
        return _saving_or_none(self.nodes_stored.chunk_cdc, self.nodes_stored.file)

    @property
    def nodes_chunk_fixed_saving_vs_file(self) -> float | None:
        """The nodes at the end (sum): fixed-size chunk stores against file-level dedup."""
        return _saving_or_none(self.nodes_stored.chunk_fixed, self.nodes_stored.file)


def _saving_or_none(strategy_bytes: int | None, baseline_bytes: int) -> float | None:
    """`metrics.saving`, or None where the strategy is not measured (no chunks)."""
    return None if strategy_bytes is None else saving(strategy_bytes, baseline_bytes)


# --------------------------------------------------------------------------- the result


def _stored(row: RegistryEpoch | NodeEpoch) -> StoredBytes:
    return StoredBytes(
        row.logical_bytes,
        row.flattened_bytes,
        row.layer_bytes,
        row.file_bytes,
        row.chunk_cdc_bytes,
        row.chunk_fixed_bytes,
    )


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
    lazy: tuple[LazyEpoch, ...] = ()

    @property
    def lazy_all_epochs(self) -> LazyTotals:
        """The lazy rows of every epoch summed (`lazy_totals`)."""
        return lazy_totals(self.lazy)

    def headline(self) -> Headline:
        """The run's headline figures, read off the last stored-bytes rows, the first rollout
        and the last transfer row (its cumulative columns)."""
        registry, nodes = self.registry[-1], self.nodes[-1]
        first, last = self.first_rollout, self.transfers[-1]
        later = [r for r in self.transfers[1:] if r.pulls > 0]
        return Headline(
            epochs=len(self.transfers),
            nodes=self.fleet.nodes,
            nodes_estimated=nodes.estimated,
            registry_stored=_stored(registry),
            nodes_stored=_stored(nodes),
            fullest_node_stored=FlattenedAndLayer(nodes.flattened_bytes_max, nodes.layer_bytes_max),
            first_rollout_pulled=FlattenedAndLayer(
                first.pull_flattened_downloaded_bytes, first.pull_downloaded_bytes
            ),
            pulled=FlattenedAndLayer(
                last.cumulative_pull_flattened_bytes, last.cumulative_pull_bytes
            ),
            pushed=FlattenedAndLayer(
                last.cumulative_push_flattened_bytes, last.cumulative_push_bytes
            ),
            first_rollout_pull_seconds_p95=FlattenedAndLayer(
                first.flattened_pull_seconds_p95, first.pull_seconds_p95
            ),
            later_pull_seconds_p95=FlattenedAndLayer(
                max(r.flattened_pull_seconds_p95 for r in later),
                max(r.pull_seconds_p95 for r in later),
            )
            if later
            else None,
        )

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
            "lazy",
        ):
            value = getattr(self, name)
            out[name] = [asdict(v) for v in value] if isinstance(value, tuple) else asdict(value)
        return out
