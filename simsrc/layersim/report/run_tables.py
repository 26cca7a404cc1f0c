"""The tables of `layersim run`: a `SimulationResult` as fifteen `report.tables.Table`s.

`run_tables(result)` returns them in report order; each `*_table` function declares its columns
once, each with the function that reads its cell from a row (a result record such as a
`TransferEpoch`, or one of the small row values below). Nothing here computes a figure: byte
counts are fields of the result, savings and ratios are `metrics.saving` and
`metrics.dedup_ratio`, shares and summed-up pulls are `accounting.analysis`'s. How a cell is
written is `report.tables`'; docs/run.md describes every column.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from operator import attrgetter

from layersim.accounting.analysis import EpochPulls, epoch_pulls, share
from layersim.accounting.metrics import dedup_ratio, saving
from layersim.report.tables import (
    COMPRESSED,
    COUNT,
    DISK,
    FILE,
    SECONDS,
    SEE_UNIT,
    Column,
    Table,
    percent,
)
from layersim.simulation import SimulationResult, TransferEpoch
from layersim.simulation.results import LazyEpoch, SharedLayer
from layersim.simulation.steady import node_figures


def _saving(strategy_bytes: int | None, baseline_bytes: int | None) -> float | None:
    """`metrics.saving`, or no figure when either side is not measured for the row."""
    if strategy_bytes is None or baseline_bytes is None:
        return None
    return saving(strategy_bytes, baseline_bytes)


def _dedup_ratio(logical_bytes: int | None, strategy_bytes: int | None) -> float | None:
    """`metrics.dedup_ratio`, or no figure when either side is not measured for the row."""
    if logical_bytes is None or strategy_bytes is None:
        return None
    return dedup_ratio(logical_bytes, strategy_bytes)


def _saving_column(strategy: str, baseline: str) -> Column:
    """`<strategy>_saving_vs_<baseline>` of a row with `<strategy>_bytes` fields."""
    return Column.fraction(
        f"{strategy}_saving_vs_{baseline}",
        lambda r: _saving(getattr(r, f"{strategy}_bytes"), getattr(r, f"{baseline}_bytes")),
    )


def _ratio_column(strategy: str) -> Column:
    """`<strategy>_dedup_ratio` (logical / strategy) of a row with `<strategy>_bytes` fields."""
    return Column.ratio(
        f"{strategy}_dedup_ratio",
        lambda r: _dedup_ratio(r.logical_bytes, getattr(r, f"{strategy}_bytes")),
    )


# The savings and dedup ratios of a store's row (any row with `logical_bytes`,
# `flattened_bytes`, `layer_bytes` and `file_bytes`): layer and file against flattened and
# against logical, file against layer.
SAVING_COLUMNS: tuple[Column, ...] = (
    _saving_column("layer", "flattened"),
    _saving_column("file", "flattened"),
    _saving_column("layer", "logical"),
    _saving_column("file", "logical"),
    _saving_column("file", "layer"),
    _ratio_column("layer"),
    _ratio_column("file"),
)
# The chunk strategies' savings and ratios, for rows that also have `chunk_cdc_bytes` and
# `chunk_fixed_bytes` (empty where a row does not measure them): against flattened, logical
# and file-level dedup.
CHUNK_SAVING_COLUMNS: tuple[Column, ...] = (
    *(
        _saving_column(chunk, baseline)
        for baseline in ("flattened", "logical", "file")
        for chunk in ("chunk_cdc", "chunk_fixed")
    ),
    _ratio_column("chunk_cdc"),
    _ratio_column("chunk_fixed"),
)


# --------------------------------------------------------------------------- the headline


@dataclass(frozen=True, slots=True)
class HeadlineRow:
    """A headline figure under each strategy, in `unit` (None: not a figure of that strategy):
    byte counts are integers, pull times seconds."""

    figure: str
    unit: str
    logical: int | None
    flattened: int | float | None
    layer: int | float | None
    file: int | None


def headline_table(result: SimulationResult) -> Table:
    h = result.headline()
    reg, nodes = h.registry_stored, h.nodes_stored
    estimated = " (estimated from a sample)" if h.nodes_estimated else ""
    on_nodes = f"nodes: stored at the end, sum over {h.nodes} nodes{estimated}"
    rows = [
        HeadlineRow(
            "registry: stored at the end",
            COMPRESSED,
            reg.logical,
            reg.flattened,
            reg.layer,
            reg.file,
        ),
        HeadlineRow(on_nodes, DISK, nodes.logical, nodes.flattened, nodes.layer, nodes.file),
        HeadlineRow(
            "nodes: the fullest node at the end",
            DISK,
            None,
            h.fullest_node_stored.flattened,
            h.fullest_node_stored.layer,
            None,
        ),
        HeadlineRow(
            "first rollout: pulled by the nodes",
            COMPRESSED,
            None,
            h.first_rollout_pulled.flattened,
            h.first_rollout_pulled.layer,
            None,
        ),
        HeadlineRow(
            f"all {h.epochs} epochs: pulled by the nodes",
            COMPRESSED,
            None,
            h.pulled.flattened,
            h.pulled.layer,
            None,
        ),
        HeadlineRow(
            f"all {h.epochs} epochs: pushed to the registry",
            COMPRESSED,
            None,
            h.pushed.flattened,
            h.pushed.layer,
            None,
        ),
        HeadlineRow(
            "first rollout: pull time per node, p95",
            SECONDS,
            None,
            h.first_rollout_pull_seconds_p95.flattened,
            h.first_rollout_pull_seconds_p95.layer,
            None,
        ),
    ]
    if h.later_pull_seconds_p95 is not None:
        rows.append(
            HeadlineRow(
                "later epochs: worst pull time per node, p95",
                SECONDS,
                None,
                h.later_pull_seconds_p95.flattened,
                h.later_pull_seconds_p95.layer,
                None,
            )
        )
    return Table(
        name="headline",
        title="Headline: layer sharing against flattened images",
        meaning=(
            "What layers save against flattened exports (and what file-level dedup would save on "
            "top): storage at the end of the run, transfers, and estimated pull time; `unit` "
            "says which bytes each row counts."
        ),
        columns=(
            Column.text("figure", lambda r: r.figure),
            Column.text("unit", lambda r: r.unit),
            Column("logical", "int", SEE_UNIT, lambda r: r.logical),
            Column("flattened", "int", SEE_UNIT, lambda r: r.flattened),
            Column("layer", "int", SEE_UNIT, lambda r: r.layer),
            Column("file", "int", SEE_UNIT, lambda r: r.file),
            Column.fraction("layer_saving_vs_flattened", lambda r: _saving(r.layer, r.flattened)),
            Column.fraction("file_saving_vs_flattened", lambda r: _saving(r.file, r.flattened)),
            Column.fraction("file_saving_vs_layer", lambda r: _saving(r.file, r.layer)),
        ),
        rows=tuple(rows),
    )


# --------------------------------------------------------------------------- storage


@dataclass(frozen=True, slots=True)
class StoreRow:
    """What one store (or one node percentile) holds under each strategy, in `unit` (None: not
    measured for this row)."""

    store: str
    unit: str
    estimated: bool
    images: int | None
    logical_bytes: int | None
    flattened_bytes: int | None
    layer_bytes: int | None
    file_bytes: int | None
    chunk_cdc_bytes: int | None = None
    chunk_fixed_bytes: int | None = None


def storage_table(result: SimulationResult) -> Table:
    reg, nodes = result.registry[-1], result.nodes[-1]
    rows = [
        StoreRow(
            "registry",
            COMPRESSED,
            False,
            reg.images,
            reg.logical_bytes,
            reg.flattened_bytes,
            reg.layer_bytes,
            reg.file_bytes,
            reg.chunk_cdc_bytes,
            reg.chunk_fixed_bytes,
        ),
        StoreRow(
            "nodes_total",
            DISK,
            nodes.estimated,
            nodes.images,
            nodes.logical_bytes,
            nodes.flattened_bytes,
            nodes.layer_bytes,
            nodes.file_bytes,
            nodes.chunk_cdc_bytes,
            nodes.chunk_fixed_bytes,
        ),
    ]
    for stat in ("p50", "p95", "max"):
        flattened = getattr(nodes, f"flattened_bytes_{stat}")
        layer = getattr(nodes, f"layer_bytes_{stat}")
        rows.append(StoreRow(f"node_{stat}", DISK, False, None, None, flattened, layer, None))
    return Table(
        name="storage",
        title=f"Storage by strategy at the end (epoch {reg.epoch})",
        meaning=(
            "Bytes stored under each strategy at the end of the run: the registry in compressed "
            "bytes, the nodes in disk bytes summed over nodes (`nodes_total`) and per node "
            "(`node_p50/p95/max`: the nodes' percentiles of flattened and of layer storage, "
            "taken separately); savings are `1 - S/B`, dedup ratios `logical/S`."
        ),
        columns=(
            Column.text("store", lambda r: r.store),
            Column.text("unit", lambda r: r.unit),
            Column.flag(
                "estimated", "true if the node figures are a sample estimate", lambda r: r.estimated
            ),
            Column.count("images", lambda r: r.images),
            Column("logical_bytes", "int", SEE_UNIT, lambda r: r.logical_bytes),
            Column("flattened_bytes", "int", SEE_UNIT, lambda r: r.flattened_bytes),
            Column("layer_bytes", "int", SEE_UNIT, lambda r: r.layer_bytes),
            Column("file_bytes", "int", SEE_UNIT, lambda r: r.file_bytes),
            *SAVING_COLUMNS,
            Column("chunk_cdc_bytes", "int", SEE_UNIT, lambda r: r.chunk_cdc_bytes),
            Column("chunk_fixed_bytes", "int", SEE_UNIT, lambda r: r.chunk_fixed_bytes),
            *CHUNK_SAVING_COLUMNS,
        ),
        rows=tuple(rows),
    )


def registry_by_epoch_table(result: SimulationResult) -> Table:
    return Table(
        name="registry_by_epoch",
        title="Registry storage by epoch",
        meaning=(
            "What the registry stores at the end of each measured epoch (after its cleanup), "
            "in compressed bytes, under each strategy."
        ),
        columns=(
            Column.count("epoch", lambda r: r.epoch),
            Column.count("images", lambda r: r.images),
            Column.bytes("logical_compressed_bytes", COMPRESSED, lambda r: r.logical_bytes),
            Column.bytes("flattened_compressed_bytes", COMPRESSED, lambda r: r.flattened_bytes),
            Column.bytes("layer_compressed_bytes", COMPRESSED, lambda r: r.layer_bytes),
            Column.bytes("file_compressed_bytes", COMPRESSED, lambda r: r.file_bytes),
            *SAVING_COLUMNS,
            Column.bytes("chunk_cdc_compressed_bytes", COMPRESSED, lambda r: r.chunk_cdc_bytes),
            Column.bytes("chunk_fixed_compressed_bytes", COMPRESSED, lambda r: r.chunk_fixed_bytes),
            *CHUNK_SAVING_COLUMNS,
        ),
        rows=result.registry,
    )


def nodes_by_epoch_table(result: SimulationResult) -> Table:
    return Table(
        name="nodes_by_epoch",
        title="Node storage by epoch",
        meaning=(
            "What the nodes store at the end of each measured epoch, in disk bytes: summed over "
            "nodes per strategy (estimates with a 95% half-width `*_ci95` when only a sample of "
            "nodes is measured, else exact with 0), and per-node percentiles."
        ),
        columns=(
            Column.count("epoch", lambda r: r.epoch),
            Column.count("nodes_measured", lambda r: r.nodes_measured),
            Column.flag(
                "estimated", "true if the totals are a sample estimate", lambda r: r.estimated
            ),
            Column.count("images", lambda r: r.images, unit="count (summed over measured nodes)"),
            Column.bytes("logical_disk_bytes", DISK, lambda r: r.logical_bytes),
            Column.bytes("flattened_disk_bytes", DISK, lambda r: r.flattened_bytes),
            Column.bytes("layer_disk_bytes", DISK, lambda r: r.layer_bytes),
            Column.bytes("file_disk_bytes", DISK, lambda r: r.file_bytes),
            Column.bytes("logical_ci95_disk_bytes", DISK, lambda r: r.logical_ci95),
            Column.bytes("flattened_ci95_disk_bytes", DISK, lambda r: r.flattened_ci95),
            Column.bytes("layer_ci95_disk_bytes", DISK, lambda r: r.layer_ci95),
            Column.bytes("file_ci95_disk_bytes", DISK, lambda r: r.file_ci95),
            Column.bytes("node_flattened_disk_bytes_p50", DISK, lambda r: r.flattened_bytes_p50),
            Column.bytes("node_flattened_disk_bytes_p95", DISK, lambda r: r.flattened_bytes_p95),
            Column.bytes("node_flattened_disk_bytes_max", DISK, lambda r: r.flattened_bytes_max),
            Column.bytes("node_layer_disk_bytes_p50", DISK, lambda r: r.layer_bytes_p50),
            Column.bytes("node_layer_disk_bytes_p95", DISK, lambda r: r.layer_bytes_p95),
            Column.bytes("node_layer_disk_bytes_max", DISK, lambda r: r.layer_bytes_max),
            *SAVING_COLUMNS,
            Column.bytes("chunk_cdc_disk_bytes", DISK, lambda r: r.chunk_cdc_bytes),
            Column.bytes("chunk_fixed_disk_bytes", DISK, lambda r: r.chunk_fixed_bytes),
            Column.bytes("chunk_cdc_ci95_disk_bytes", DISK, lambda r: r.chunk_cdc_ci95),
            Column.bytes("chunk_fixed_ci95_disk_bytes", DISK, lambda r: r.chunk_fixed_ci95),
            *CHUNK_SAVING_COLUMNS,
        ),
        rows=result.nodes,
    )


def node_figures_table(result: SimulationResult) -> Table:
    figures = node_figures(result.nodes, len(result.transfers), result.config)
    return Table(
        name="node_figures",
        title="Node figures: final epoch and steady state",
        meaning=(
            "The nodes' savings (disk bytes, all nodes) at the final measured epoch and as the "
            "mean over the steady-state epochs (the measured epochs of the second half of the "
            "horizon, after the stores have filled their retention windows); `saw_tooth` is "
            "true when the figure alternates between highs and lows from one epoch to the next "
            "over the steady state (a two-epoch cadence), with the mean of the highs and of the "
            "lows and whether the final epoch is a low."
        ),
        columns=(
            Column.text("figure", lambda f: f.figure),
            Column.count("final_epoch", lambda f: f.final_epoch, unit="epoch"),
            Column.fraction("final", lambda f: f.final),
            Column.count("steady_first_epoch", lambda f: f.steady_first_epoch, unit="epoch"),
            Column.count("steady_epochs", lambda f: f.steady_epochs, unit="measured epochs"),
            Column.fraction("steady_mean", lambda f: f.steady_mean),
            Column.flag("saw_tooth", "true if a period-2 saw-tooth", lambda f: bool(f.saw_tooth)),
            Column.fraction(
                "saw_tooth_high_mean", lambda f: f.saw_tooth.high_mean if f.saw_tooth else None
            ),
            Column.fraction(
                "saw_tooth_low_mean", lambda f: f.saw_tooth.low_mean if f.saw_tooth else None
            ),
            Column.text(
                "final_on",
                lambda f: (
                    ("a low" if f.saw_tooth.final_is_low else "a high") if f.saw_tooth else ""
                ),
            ),
            Column.text(
                "two_epoch_cadences",
                lambda f: " ".join(f.saw_tooth.cadences) if f.saw_tooth else "",
            ),
        ),
        rows=figures,
    )


# --------------------------------------------------------------------------- transfers


def pulls_of(epochs: Sequence[TransferEpoch], *, flattened: bool = False) -> EpochPulls:
    """The pulls of `epochs` summed up (`analysis.epoch_pulls`), with the pull times and
    start-up shares of layered images or, with `flattened`, of flattened ones."""
    prefix = "flattened_" if flattened else ""
    return epoch_pulls(
        [r.pulls for r in epochs],
        [getattr(r, f"{prefix}pull_seconds_p95") for r in epochs],
        [getattr(r, f"{prefix}pull_seconds_max") for r in epochs],
        [getattr(r, f"{prefix}startup_pull_share") for r in epochs],
    )


def later_pulls(result: SimulationResult, *, flattened: bool = False) -> EpochPulls:
    """`pulls_of` the epochs after the first rollout."""
    return pulls_of(result.transfers[1:], flattened=flattened)


def _over(flattened_bytes: int, layered_bytes: int) -> float | None:
    """How many times more flattened images move (`metrics.dedup_ratio` of the flattened bytes
    over the layered); no figure when nothing layered moved."""
    return dedup_ratio(flattened_bytes, layered_bytes) if layered_bytes else None


@dataclass(frozen=True, slots=True)
class TransferRow:
    """Compressed bytes moved in one direction over a range of epochs, layered and flattened."""

    scope: str
    first_epoch: int
    last_epoch: int
    direction: str
    pulls: int | None
    layered_bytes: int
    flattened_bytes: int


def transfer_table(result: SimulationResult) -> Table:
    first, steady, last = result.first_rollout, result.steady_state, result.transfers[-1]
    start = result.transfers[0].epoch
    rows = (
        TransferRow(
            "first_rollout",
            first.epoch,
            first.epoch,
            "push",
            None,
            first.push_uploaded_bytes,
            first.push_flattened_uploaded_bytes,
        ),
        TransferRow(
            "first_rollout",
            first.epoch,
            first.epoch,
            "pull",
            first.pulls,
            first.pull_downloaded_bytes,
            first.pull_flattened_downloaded_bytes,
        ),
        TransferRow(
            "later_epochs",
            steady.first_epoch,
            steady.last_epoch,
            "push",
            None,
            steady.push_uploaded_bytes,
            steady.push_flattened_uploaded_bytes,
        ),
        TransferRow(
            "later_epochs",
            steady.first_epoch,
            steady.last_epoch,
            "pull",
            steady.pulls,
            steady.pull_downloaded_bytes,
            steady.pull_flattened_downloaded_bytes,
        ),
        TransferRow(
            "all_epochs",
            start,
            last.epoch,
            "push",
            None,
            last.cumulative_push_bytes,
            last.cumulative_push_flattened_bytes,
        ),
        TransferRow(
            "all_epochs",
            start,
            last.epoch,
            "pull",
            pulls_of(result.transfers).pulls,
            last.cumulative_pull_bytes,
            last.cumulative_pull_flattened_bytes,
        ),
    )
    return Table(
        name="transfer",
        title="Transfer: layered vs flattened images",
        meaning=(
            "Compressed bytes pushed to the registry and pulled by the nodes: the first rollout "
            "(epoch 0, empty nodes), the epochs after it, and all epochs together; "
            "`flattened_over_layered` is how many times more flattened images would move."
        ),
        columns=(
            Column.text("scope", lambda r: r.scope),
            Column.count("first_epoch", lambda r: r.first_epoch),
            Column.count("last_epoch", lambda r: r.last_epoch),
            Column.text("direction", lambda r: r.direction),
            Column.count("pulls", lambda r: r.pulls, unit="count (image pulls)"),
            Column.bytes("layered_compressed_bytes", COMPRESSED, lambda r: r.layered_bytes),
            Column.bytes("flattened_compressed_bytes", COMPRESSED, lambda r: r.flattened_bytes),
            Column.fraction(
                "layered_saving_vs_flattened", lambda r: saving(r.layered_bytes, r.flattened_bytes)
            ),
            Column.ratio(
                "flattened_over_layered", lambda r: _over(r.flattened_bytes, r.layered_bytes)
            ),
        ),
        rows=rows,
    )


def transfer_by_epoch_table(result: SimulationResult) -> Table:
    c = COMPRESSED
    return Table(
        name="transfer_by_epoch",
        title="Transfer by epoch",
        meaning=(
            "Per epoch: the images built, what their push uploaded and what the rollout's pulls "
            "downloaded (compressed bytes; `flattened_*`: had every image been one flattened "
            "blob), the estimated pull time per pulling node (seconds) and the share of start-up "
            "spent pulling, and running totals."
        ),
        columns=(
            Column.count("epoch", lambda r: r.epoch),
            Column.count("base_releases", lambda r: r.base_releases),
            Column.count("runtime_releases", lambda r: r.runtime_releases),
            Column.count("app_builds", lambda r: r.app_builds),
            Column.bytes("push_layered_compressed_bytes", c, lambda r: r.push_uploaded_bytes),
            Column.bytes(
                "push_flattened_compressed_bytes", c, lambda r: r.push_flattened_uploaded_bytes
            ),
            Column.count("push_uploaded_layers", lambda r: r.push_uploaded_layers),
            Column.count("push_skipped_layers", lambda r: r.push_skipped_layers),
            Column.count("push_mounted_layers", lambda r: r.push_mounted_layers),
            Column.count("pulls", lambda r: r.pulls),
            Column.count("nodes_pulling", lambda r: r.nodes_pulling),
            Column.bytes("pull_layered_compressed_bytes", c, lambda r: r.pull_downloaded_bytes),
            Column.bytes(
                "pull_flattened_compressed_bytes", c, lambda r: r.pull_flattened_downloaded_bytes
            ),
            Column.count("pull_downloaded_layers", lambda r: r.pull_downloaded_layers),
            Column.bytes("pull_extracted_disk_bytes", DISK, lambda r: r.pull_extracted_disk_bytes),
            Column.seconds("pull_seconds_p50", lambda r: r.pull_seconds_p50),
            Column.seconds("pull_seconds_p95", lambda r: r.pull_seconds_p95),
            Column.seconds("pull_seconds_max", lambda r: r.pull_seconds_max),
            Column.seconds("flattened_pull_seconds_p50", lambda r: r.flattened_pull_seconds_p50),
            Column.seconds("flattened_pull_seconds_p95", lambda r: r.flattened_pull_seconds_p95),
            Column.seconds("flattened_pull_seconds_max", lambda r: r.flattened_pull_seconds_max),
            Column.fraction("startup_pull_share", lambda r: r.startup_pull_share),
            Column.fraction(
                "flattened_startup_pull_share", lambda r: r.flattened_startup_pull_share
            ),
            Column.bytes(
                "cumulative_push_layered_compressed_bytes", c, lambda r: r.cumulative_push_bytes
            ),
            Column.bytes(
                "cumulative_push_flattened_compressed_bytes",
                c,
                lambda r: r.cumulative_push_flattened_bytes,
            ),
            Column.bytes(
                "cumulative_pull_layered_compressed_bytes", c, lambda r: r.cumulative_pull_bytes
            ),
            Column.bytes(
                "cumulative_pull_flattened_compressed_bytes",
                c,
                lambda r: r.cumulative_pull_flattened_bytes,
            ),
        ),
        rows=result.transfers,
    )


@dataclass(frozen=True, slots=True)
class PullTimeRow:
    """The pull time of one kind of image: the first rollout's, and the later epochs'."""

    images: str
    first_seconds_p50: float
    first_seconds_p95: float
    first_seconds_max: float
    first_startup_pull_share: float
    later: EpochPulls


def pull_time_table(result: SimulationResult) -> Table:
    first = result.first_rollout
    rows = (
        PullTimeRow(
            "layered",
            first.pull_seconds_p50,
            first.pull_seconds_p95,
            first.pull_seconds_max,
            first.startup_pull_share,
            later_pulls(result),
        ),
        PullTimeRow(
            "flattened",
            first.flattened_pull_seconds_p50,
            first.flattened_pull_seconds_p95,
            first.flattened_pull_seconds_max,
            first.flattened_startup_pull_share,
            later_pulls(result, flattened=True),
        ),
    )
    return Table(
        name="pull_time",
        title="Estimated pull time and start-up share",
        meaning=(
            "Seconds a pulling node spends pulling an epoch's new images "
            "(`ceil(blobs / parallel downloads) x latency + bytes / bandwidth`), in the first "
            "rollout and at worst in a later epoch, and the share of a container's start-up "
            "spent pulling (mean over pulls; later epochs weighted by their pulls)."
        ),
        columns=(
            Column.text("images", lambda r: r.images),
            Column.seconds("first_rollout_seconds_p50", lambda r: r.first_seconds_p50),
            Column.seconds("first_rollout_seconds_p95", lambda r: r.first_seconds_p95),
            Column.seconds("first_rollout_seconds_max", lambda r: r.first_seconds_max),
            Column.fraction(
                "first_rollout_startup_pull_share", lambda r: r.first_startup_pull_share
            ),
            Column.count("later_epochs_with_pulls", lambda r: r.later.epochs),
            Column.seconds("later_worst_seconds_p95", lambda r: r.later.worst_seconds_p95),
            Column.seconds("later_worst_seconds_max", lambda r: r.later.worst_seconds_max),
            Column.fraction("later_startup_pull_share", lambda r: r.later.startup_pull_share),
        ),
        rows=rows,
    )


# --------------------------------------------------------------------------- lazy pulls


@dataclass(frozen=True, slots=True)
class LazyPullRow:
    """Pulls over a range of epochs, cold or warm, in full and lazily (`LazyEpoch`)."""

    scope: str
    pull: str
    pulls: int
    full_bytes: int
    lazy_startup_bytes: int
    lazy_moved_bytes: int
    full_requests: int
    lazy_startup_requests: int
    lazy_requests: int
    full_seconds_p95: float
    lazy_seconds_p95: float
    full_startup_share: float
    lazy_startup_share: float


def _first_rollout_row(row: LazyEpoch, pull: str) -> LazyPullRow:
    """The first rollout's `pull` ("cold" or "warm") figures of `row`."""
    return LazyPullRow(
        "first_rollout",
        pull,
        row.pulls,
        *(
            getattr(row, name.format(pull))
            for name in (
                "full_{}_bytes",
                "lazy_{}_startup_bytes",
                "lazy_{}_moved_bytes",
                "full_{}_requests",
                "lazy_{}_startup_requests",
                "lazy_{}_requests",
                "full_{}_seconds_p95",
                "lazy_{}_seconds_p95",
                "full_{}_startup_share",
                "lazy_{}_startup_share",
            )
        ),
    )


def lazy_pull_table(result: SimulationResult) -> Table:
    t = result.lazy_all_epochs
    first = result.lazy[0]
    rows = (
        _first_rollout_row(first, "cold"),
        _first_rollout_row(first, "warm"),
        LazyPullRow(
            "all_epochs",
            "warm",
            t.pulls,
            t.full_bytes,
            t.lazy_startup_bytes,
            t.lazy_moved_bytes,
            t.full_requests,
            t.lazy_startup_requests,
            t.lazy_requests,
            t.full_worst_seconds_p95,
            t.lazy_worst_seconds_p95,
            t.full_startup_share,
            t.lazy_startup_share,
        ),
    )
    lazy = result.config.lazy
    c = COMPRESSED
    return Table(
        name="lazy_pull",
        title="Lazy pulls vs full pulls",
        meaning=(
            "The rollouts pulled in full (every lacking blob before the container starts) and "
            f"lazily (eStargz, Nydus, Slacker: {percent(lazy.read_fraction)} of each lacking "
            f"blob read at start-up, in requests of {lazy.chunk_bytes:,} bytes; the rest "
            f"{'fetched in the background' if lazy.background else 'never fetched'}): cold "
            "(every pull onto an empty node) and warm (each node holding what it kept), in "
            "compressed bytes, registry requests, seconds a pulling node waits before its "
            "containers start (p95; all epochs: the worst epoch's) and share of start-up spent "
            "fetching (mean over pulls)."
        ),
        columns=(
            Column.text("scope", lambda r: r.scope),
            Column.text("pull", lambda r: r.pull, unit="cold or warm"),
            Column.count("pulls", lambda r: r.pulls, unit="count (image pulls)"),
            Column.bytes("full_compressed_bytes", c, lambda r: r.full_bytes),
            Column.bytes("lazy_startup_compressed_bytes", c, lambda r: r.lazy_startup_bytes),
            Column.bytes("lazy_moved_compressed_bytes", c, lambda r: r.lazy_moved_bytes),
            Column.fraction(
                "lazy_startup_saving", lambda r: saving(r.lazy_startup_bytes, r.full_bytes)
            ),
            Column.count("full_requests", lambda r: r.full_requests),
            Column.count("lazy_startup_requests", lambda r: r.lazy_startup_requests),
            Column.count("lazy_requests", lambda r: r.lazy_requests),
            Column.seconds("full_seconds_p95", lambda r: r.full_seconds_p95),
            Column.seconds("lazy_seconds_p95", lambda r: r.lazy_seconds_p95),
            Column.fraction("full_startup_share", lambda r: r.full_startup_share),
            Column.fraction("lazy_startup_share", lambda r: r.lazy_startup_share),
        ),
        rows=rows,
    )


def _lazy_by_epoch_columns() -> tuple[Column, ...]:
    """Every field of `LazyEpoch` as a column, named with its unit."""
    columns: list[Column] = [
        Column.count("epoch", lambda r: r.epoch),
        Column.count("pulls", lambda r: r.pulls),
        Column.count("nodes_pulling", lambda r: r.nodes_pulling),
    ]
    for pull in ("cold", "warm"):
        for name in (f"full_{pull}_bytes", f"lazy_{pull}_startup_bytes"):
            columns.append(_field_bytes(name))
        if pull == "warm":
            columns.append(_field_bytes("lazy_warm_background_bytes"))
        columns.append(_field_bytes(f"lazy_{pull}_moved_bytes"))
        for name in (
            f"full_{pull}_requests",
            f"lazy_{pull}_startup_requests",
            f"lazy_{pull}_requests",
        ):
            columns.append(Column.count(name, attrgetter(name)))
        for name in (
            f"full_{pull}_seconds_p50",
            f"full_{pull}_seconds_p95",
            f"lazy_{pull}_seconds_p50",
            f"lazy_{pull}_seconds_p95",
        ):
            columns.append(Column.seconds(name, attrgetter(name)))
        if pull == "warm":
            for name in ("full_warm_node_seconds", "lazy_warm_node_seconds"):
                columns.append(Column.seconds(name, attrgetter(name)))
        for name in (f"full_{pull}_startup_share", f"lazy_{pull}_startup_share"):
            columns.append(Column.fraction(name, attrgetter(name)))
    return tuple(columns)


def _field_bytes(name: str) -> Column:
    """A `LazyEpoch` byte field as a column named with its unit (`..._compressed_bytes`)."""
    return Column.bytes(
        name.removesuffix("_bytes") + "_compressed_bytes", COMPRESSED, attrgetter(name)
    )


def lazy_by_epoch_table(result: SimulationResult) -> Table:
    return Table(
        name="lazy_by_epoch",
        title="Lazy pulls by epoch",
        meaning=(
            "Per epoch, its rollout pulled in full and lazily, cold (every pull onto an empty "
            "node) and warm (each node holding what it kept): compressed bytes before the "
            "containers start and moved in all, registry requests, seconds a pulling node "
            "waits before its containers start (p50, p95 over the pulling nodes; "
            "`*_node_seconds` summed over them) and the share of start-up spent fetching "
            "(mean over pulls)."
        ),
        columns=_lazy_by_epoch_columns(),
        rows=result.lazy,
    )


# --------------------------------------------------------------------------- the images


@dataclass(frozen=True, slots=True)
class FigureRow:
    """One figure of a table that lists figures: its name, value, unit and meaning."""

    figure: str
    value: int
    unit: str
    meaning: str


def waste_table(result: SimulationResult) -> Table:
    w = result.waste
    rows = (
        FigureRow("images", w.images, COUNT, "images the registry holds at the end"),
        FigureRow(
            "images_with_shadowed_bytes",
            w.images_with_shadowed_bytes,
            COUNT,
            "of them, images with bytes a later layer deletes or overwrites",
        ),
        FigureRow(
            "shadowed_file_bytes",
            w.shadowed_file_bytes,
            FILE,
            "bytes in lower layers that a higher layer deletes, overwrites or hides: what "
            "flattening drops, and what combining the add and delete steps into one would save",
        ),
        FigureRow(
            "dive_wasted_file_bytes",
            w.dive_wasted_bytes,
            FILE,
            "dive's wasted bytes: every copy of each path that two or more layers name",
        ),
        FigureRow(
            "dive_cumulative_file_bytes",
            w.dive_cumulative_bytes,
            FILE,
            "dive's cumulative bytes: every path of every layer",
        ),
    )
    return Table(
        name="waste",
        title="Waste inside the images (final registry)",
        meaning=(
            "Bytes that images carry but no container can see (file bytes, summed over the "
            "images of the final registry, docs/design.md §6)."
        ),
        columns=(
            Column.text("figure", lambda r: r.figure),
            Column("value", "int", SEE_UNIT, lambda r: r.value),
            Column.text("unit", lambda r: r.unit),
            Column.text("meaning", lambda r: r.meaning),
        ),
        rows=rows,
    )


def sharing_table(result: SimulationResult) -> Table:
    sh = result.sharing
    return Table(
        name="sharing",
        title="Layer sharing in the final registry",
        meaning=(
            "Layers of the final registry grouped by how many of its images reference them; a "
            "layer referenced by n images saves (n - 1) x its compressed bytes against storing "
            "every image's layers, so the saved bytes sum to logical - layer."
        ),
        columns=(
            Column.text("images_referencing", lambda b: b.label, unit="count range"),
            Column.count("layers", lambda b: b.layers),
            Column.bytes("compressed_bytes", COMPRESSED, lambda b: b.compressed_bytes),
            Column.bytes("saved_compressed_bytes", COMPRESSED, lambda b: b.saved_bytes),
            Column.fraction("share_of_layers", lambda b: share(b.layers, sh.layers)),
            Column.fraction("share_of_saved", lambda b: share(b.saved_bytes, sh.saved_bytes)),
        ),
        rows=sh.buckets,
    )


@dataclass(frozen=True, slots=True)
class RankedLayer:
    """A layer of `SharingSummary.top_layers` and its place there (from 1)."""

    rank: int
    shared: SharedLayer


def sharing_top_layers_table(result: SimulationResult) -> Table:
    sh = result.sharing
    return Table(
        name="sharing_top_layers",
        title="The layers that carry most of the savings",
        meaning=(
            f"The {len(sh.top_layers)} layers whose sharing saves the most compressed bytes in "
            f"the final registry; together {percent(sh.top_share)} of what sharing saves."
        ),
        columns=(
            Column.count("rank", lambda r: r.rank),
            Column.count(
                "layer_id", lambda r: r.shared.layer, unit="layer id in the generated population"
            ),
            Column.text("layer", lambda r: r.shared.description),
            Column.count("images", lambda r: r.shared.images),
            Column.bytes("compressed_bytes", COMPRESSED, lambda r: r.shared.compressed_bytes),
            Column.bytes("saved_compressed_bytes", COMPRESSED, lambda r: r.shared.saved_bytes),
            Column.fraction(
                "share_of_saved", lambda r: share(r.shared.saved_bytes, sh.saved_bytes)
            ),
        ),
        rows=tuple(RankedLayer(k, x) for k, x in enumerate(sh.top_layers, start=1)),
    )


# --------------------------------------------------------------------------- containers, anchors


def containers_by_epoch_table(result: SimulationResult) -> Table:
    return Table(
        name="containers_by_epoch",
        title="Containers by epoch",
        meaning=(
            "Containers on all nodes at the end of each epoch and the disk bytes of their "
            "writable layers: a container is never shared, so this is what runs cost beside the "
            "images; stopped containers linger until removed."
        ),
        columns=(
            Column.count("epoch", lambda r: r.epoch),
            Column.count("running", lambda r: r.running),
            Column.count("stopped", lambda r: r.stopped),
            Column.bytes("running_writable_disk_bytes", DISK, lambda r: r.running_writable_bytes),
            Column.bytes("stopped_writable_disk_bytes", DISK, lambda r: r.stopped_writable_bytes),
            Column.bytes(
                "writable_disk_bytes",
                DISK,
                lambda r: r.running_writable_bytes + r.stopped_writable_bytes,
            ),
        ),
        rows=result.containers,
    )


def anchors_table(result: SimulationResult) -> Table:
    return Table(
        name="anchors",
        title="The simulated fleet beside published figures",
        meaning=(
            "Statistics of the simulated fleet next to the published figures of docs/anchors.md "
            "they are calibrated to or compared with, each computed on the population named "
            "(the source's, where the row has a verdict); `produced`, `low` and `high` are in "
            "the unit the figure names; `verdict` is `within` when low <= produced <= high, "
            "`outside` otherwise, `n/a` when the row is not comparable (`reason` says why)."
        ),
        columns=(
            Column.text("figure", lambda a: a.figure),
            Column.text("population", lambda a: a.population),
            Column("produced", "decimal", SEE_UNIT, lambda a: a.produced),
            Column.text("published", lambda a: a.published),
            Column("low", "decimal", SEE_UNIT, lambda a: a.low),
            Column("high", "decimal", SEE_UNIT, lambda a: a.high),
            Column.text("verdict", lambda a: a.verdict),
            Column.text("reason", lambda a: a.reason),
            Column.text("source", lambda a: a.source),
        ),
        rows=result.anchors,
    )


def run_tables(result: SimulationResult) -> list[Table]:
    """Every table of a run, in report order."""
    return [
        headline_table(result),
        storage_table(result),
        registry_by_epoch_table(result),
        nodes_by_epoch_table(result),
        node_figures_table(result),
        transfer_table(result),
        transfer_by_epoch_table(result),
        pull_time_table(result),
        lazy_pull_table(result),
        lazy_by_epoch_table(result),
        waste_table(result),
        sharing_table(result),
        sharing_top_layers_table(result),
        containers_by_epoch_table(result),
        anchors_table(result),
    ]
