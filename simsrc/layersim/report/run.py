"""The report of `layersim run`: a `SimulationResult` as CSV tables, summary.json, PNG plots and
report.md, and its headline as a rich table.

`run_tables(result)` builds every table (`report.tables.Table`); `summary_document(result,
...)` the summary.json document; `report_markdown(...)` the report; `write_run(result, folder,
timings)` writes them all into `folder` (the CLI hands it the temporary folder of
`atomic.atomic_directory`, so the results appear whole or not at all). Nothing here computes a
size: every byte count is a field of the result; savings and ratios are `metrics.saving` and
`metrics.dedup_ratio`. Timings go to timings.json only, so every other file is byte-identical
for the same config and seed. docs/run.md describes every file and column.
"""

from __future__ import annotations

import time
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from layersim import __version__
from layersim.accounting.metrics import STRATEGIES, dedup_ratio, saving
from layersim.config import config_to_dict
from layersim.report import json_text
from layersim.report.tables import SEE_UNIT, Table, columns, human_bytes, percent, units_of
from layersim.simulation import SAVINGS, SimulationResult, TransferEpoch, measure

C, D, F = "compressed bytes", "disk bytes", "file bytes"
N, FR, R, S, T = "count", "fraction", "ratio", "seconds", "text"
MS = "milliseconds"
FLOAT_DIGITS = 9  # floats in summary.json are rounded to this many decimals

SUMMARY = "summary.json"
TIMINGS = "timings.json"
REPORT = "report.md"


# --------------------------------------------------------------------------- tables


def _savings(logical: int | None, flattened: int, layer: int, file: int | None) -> list[Any]:
    """layer/file vs flattened, layer/file vs logical, file vs layer, dedup ratios."""

    def s(a: int | None, b: int | None) -> float | None:
        return None if a is None or b is None else saving(a, b)

    def r(a: int | None, b: int | None) -> float | None:
        return None if a is None or b is None else dedup_ratio(a, b)

    return [
        s(layer, flattened),
        s(file, flattened),
        s(layer, logical),
        s(file, logical),
        s(file, layer),
        r(logical, layer),
        r(logical, file),
    ]


_SAVING_COLUMNS = (
    ("layer_saving_vs_flattened", "fraction", FR),
    ("file_saving_vs_flattened", "fraction", FR),
    ("layer_saving_vs_logical", "fraction", FR),
    ("file_saving_vs_logical", "fraction", FR),
    ("file_saving_vs_layer", "fraction", FR),
    ("layer_dedup_ratio", "ratio", R),
    ("file_dedup_ratio", "ratio", R),
)


def storage_table(result: SimulationResult) -> Table:
    reg, nodes = result.registry[-1], result.nodes[-1]
    est = nodes.estimated
    rows = [
        (
            "registry",
            C,
            False,
            reg.images,
            reg.logical_bytes,
            reg.flattened_bytes,
            reg.layer_bytes,
            reg.file_bytes,
            *_savings(reg.logical_bytes, reg.flattened_bytes, reg.layer_bytes, reg.file_bytes),
        ),
        (
            "nodes_total",
            D,
            est,
            nodes.images,
            nodes.logical_bytes,
            nodes.flattened_bytes,
            nodes.layer_bytes,
            nodes.file_bytes,
            *_savings(
                nodes.logical_bytes, nodes.flattened_bytes, nodes.layer_bytes, nodes.file_bytes
            ),
        ),
    ]
    for stat in ("p50", "p95", "max"):
        flat = getattr(nodes, f"flattened_bytes_{stat}")
        layer = getattr(nodes, f"layer_bytes_{stat}")
        rows.append(
            (f"node_{stat}", D, False, None, None, flat, layer, None, saving(layer, flat))
            + (None,) * 6
        )
    return Table(
        name="storage",
        title=f"Storage by strategy at the end (epoch {reg.epoch})",
        meaning=(
            "Bytes stored under each strategy at the end of the run: the registry in compressed "
            "bytes, the nodes in disk bytes summed over nodes (`nodes_total`) and per node "
            "(`node_p50/p95/max`: the nodes' percentiles of flattened and of layer storage, "
            "taken separately); savings are `1 - S/B`, dedup ratios `logical/S`."
        ),
        columns=columns(
            ("store", "text", T),
            ("unit", "text", T),
            ("estimated", "bool", "true if the node figures are a sample estimate"),
            ("images", "int", N),
            ("logical_bytes", "int", SEE_UNIT),
            ("flattened_bytes", "int", SEE_UNIT),
            ("layer_bytes", "int", SEE_UNIT),
            ("file_bytes", "int", SEE_UNIT),
            *_SAVING_COLUMNS,
        ),
        rows=tuple(rows),
    )


def registry_by_epoch_table(result: SimulationResult) -> Table:
    rows = tuple(
        (
            r.epoch,
            r.images,
            r.logical_bytes,
            r.flattened_bytes,
            r.layer_bytes,
            r.file_bytes,
            *_savings(r.logical_bytes, r.flattened_bytes, r.layer_bytes, r.file_bytes),
        )
        for r in result.registry
    )
    return Table(
        name="registry_by_epoch",
        title="Registry storage by epoch",
        meaning=(
            "What the registry stores at the end of each measured epoch (after its cleanup), "
            "in compressed bytes, under each strategy."
        ),
        columns=columns(
            ("epoch", "int", N),
            ("images", "int", N),
            ("logical_compressed_bytes", "int", C),
            ("flattened_compressed_bytes", "int", C),
            ("layer_compressed_bytes", "int", C),
            ("file_compressed_bytes", "int", C),
            *_SAVING_COLUMNS,
        ),
        rows=rows,
    )


def nodes_by_epoch_table(result: SimulationResult) -> Table:
    rows = tuple(
        (
            r.epoch,
            r.nodes_measured,
            r.estimated,
            r.images,
            r.logical_bytes,
            r.flattened_bytes,
            r.layer_bytes,
            r.file_bytes,
            r.logical_ci95,
            r.flattened_ci95,
            r.layer_ci95,
            r.file_ci95,
            r.flattened_bytes_p50,
            r.flattened_bytes_p95,
            r.flattened_bytes_max,
            r.layer_bytes_p50,
            r.layer_bytes_p95,
            r.layer_bytes_max,
            *_savings(r.logical_bytes, r.flattened_bytes, r.layer_bytes, r.file_bytes),
        )
        for r in result.nodes
    )
    return Table(
        name="nodes_by_epoch",
        title="Node storage by epoch",
        meaning=(
            "What the nodes store at the end of each measured epoch, in disk bytes: summed over "
            "nodes per strategy (estimates with a 95% half-width `*_ci95` when only a sample of "
            "nodes is measured, else exact with 0), and per-node percentiles."
        ),
        columns=columns(
            ("epoch", "int", N),
            ("nodes_measured", "int", N),
            ("estimated", "bool", "true if the totals are a sample estimate"),
            ("images", "int", "count (summed over measured nodes)"),
            ("logical_disk_bytes", "int", D),
            ("flattened_disk_bytes", "int", D),
            ("layer_disk_bytes", "int", D),
            ("file_disk_bytes", "int", D),
            ("logical_ci95_disk_bytes", "int", D),
            ("flattened_ci95_disk_bytes", "int", D),
            ("layer_ci95_disk_bytes", "int", D),
            ("file_ci95_disk_bytes", "int", D),
            ("node_flattened_disk_bytes_p50", "int", D),
            ("node_flattened_disk_bytes_p95", "int", D),
            ("node_flattened_disk_bytes_max", "int", D),
            ("node_layer_disk_bytes_p50", "int", D),
            ("node_layer_disk_bytes_p95", "int", D),
            ("node_layer_disk_bytes_max", "int", D),
            *_SAVING_COLUMNS,
        ),
        rows=rows,
    )


def transfer_table(result: SimulationResult) -> Table:
    last = result.transfers[-1]
    first = result.first_rollout
    steady = result.steady_state
    scopes = (
        ("first_rollout", first.epoch, first.epoch, first.pulls, first),
        ("later_epochs", steady.first_epoch, steady.last_epoch, steady.pulls, steady),
    )
    rows = []
    for scope, lo, hi, pulls, src in scopes:
        rows.append(
            (
                scope,
                lo,
                hi,
                "push",
                None,
                src.push_uploaded_bytes,
                src.push_flattened_uploaded_bytes,
            )
        )
        rows.append(
            (
                scope,
                lo,
                hi,
                "pull",
                pulls,
                src.pull_downloaded_bytes,
                src.pull_flattened_downloaded_bytes,
            )
        )
    total_pulls = sum(r.pulls for r in result.transfers)
    rows.append(
        (
            "all_epochs",
            result.transfers[0].epoch,
            last.epoch,
            "push",
            None,
            last.cumulative_push_bytes,
            last.cumulative_push_flattened_bytes,
        )
    )
    rows.append(
        (
            "all_epochs",
            result.transfers[0].epoch,
            last.epoch,
            "pull",
            total_pulls,
            last.cumulative_pull_bytes,
            last.cumulative_pull_flattened_bytes,
        )
    )
    full = tuple(
        (*row, saving(row[5], row[6]), dedup_ratio(row[6], row[5]) if row[5] else None)
        for row in rows
    )
    return Table(
        name="transfer",
        title="Transfer: layered vs flattened images",
        meaning=(
            "Compressed bytes pushed to the registry and pulled by the nodes: the first rollout "
            "(epoch 0, empty nodes), the epochs after it, and all epochs together; "
            "`flattened_over_layered` is how many times more flattened images would move."
        ),
        columns=columns(
            ("scope", "text", T),
            ("first_epoch", "int", N),
            ("last_epoch", "int", N),
            ("direction", "text", T),
            ("pulls", "int", "count (image pulls)"),
            ("layered_compressed_bytes", "int", C),
            ("flattened_compressed_bytes", "int", C),
            ("layered_saving_vs_flattened", "fraction", FR),
            ("flattened_over_layered", "ratio", R),
        ),
        rows=full,
    )


def _transfer_row(r: TransferEpoch) -> tuple[Any, ...]:
    return (
        r.epoch,
        r.base_releases,
        r.runtime_releases,
        r.app_builds,
        r.push_uploaded_bytes,
        r.push_flattened_uploaded_bytes,
        r.push_uploaded_layers,
        r.push_skipped_layers,
        r.push_mounted_layers,
        r.pulls,
        r.nodes_pulling,
        r.pull_downloaded_bytes,
        r.pull_flattened_downloaded_bytes,
        r.pull_downloaded_layers,
        r.pull_extracted_disk_bytes,
        r.pull_seconds_p50,
        r.pull_seconds_p95,
        r.pull_seconds_max,
        r.flattened_pull_seconds_p50,
        r.flattened_pull_seconds_p95,
        r.flattened_pull_seconds_max,
        r.startup_pull_share,
        r.flattened_startup_pull_share,
        r.cumulative_push_bytes,
        r.cumulative_push_flattened_bytes,
        r.cumulative_pull_bytes,
        r.cumulative_pull_flattened_bytes,
    )


def transfer_by_epoch_table(result: SimulationResult) -> Table:
    return Table(
        name="transfer_by_epoch",
        title="Transfer by epoch",
        meaning=(
            "Per epoch: the images built, what their push uploaded and what the rollout's pulls "
            "downloaded (compressed bytes; `flattened_*`: had every image been one flattened "
            "blob), the estimated pull time per pulling node (seconds) and the share of start-up "
            "spent pulling, and running totals."
        ),
        columns=columns(
            ("epoch", "int", N),
            ("base_releases", "int", N),
            ("runtime_releases", "int", N),
            ("app_builds", "int", N),
            ("push_layered_compressed_bytes", "int", C),
            ("push_flattened_compressed_bytes", "int", C),
            ("push_uploaded_layers", "int", N),
            ("push_skipped_layers", "int", N),
            ("push_mounted_layers", "int", N),
            ("pulls", "int", N),
            ("nodes_pulling", "int", N),
            ("pull_layered_compressed_bytes", "int", C),
            ("pull_flattened_compressed_bytes", "int", C),
            ("pull_downloaded_layers", "int", N),
            ("pull_extracted_disk_bytes", "int", D),
            ("pull_seconds_p50", "seconds", S),
            ("pull_seconds_p95", "seconds", S),
            ("pull_seconds_max", "seconds", S),
            ("flattened_pull_seconds_p50", "seconds", S),
            ("flattened_pull_seconds_p95", "seconds", S),
            ("flattened_pull_seconds_max", "seconds", S),
            ("startup_pull_share", "fraction", FR),
            ("flattened_startup_pull_share", "fraction", FR),
            ("cumulative_push_layered_compressed_bytes", "int", C),
            ("cumulative_push_flattened_compressed_bytes", "int", C),
            ("cumulative_pull_layered_compressed_bytes", "int", C),
            ("cumulative_pull_flattened_compressed_bytes", "int", C),
        ),
        rows=tuple(_transfer_row(r) for r in result.transfers),
    )


def _later_pull_time(result: SimulationResult, prefix: str, share: str) -> tuple[Any, ...]:
    later = [r for r in result.transfers[1:] if r.pulls > 0]
    if not later:
        return (0, None, None, None)
    pulls = sum(r.pulls for r in later)
    return (
        len(later),
        max(getattr(r, f"{prefix}_p95") for r in later),
        max(getattr(r, f"{prefix}_max") for r in later),
        sum(getattr(r, share) * r.pulls for r in later) / pulls,
    )


def pull_time_table(result: SimulationResult) -> Table:
    first = result.first_rollout
    rows = []
    for images, prefix, share in (
        ("layered", "pull_seconds", "startup_pull_share"),
        ("flattened", "flattened_pull_seconds", "flattened_startup_pull_share"),
    ):
        rows.append(
            (
                images,
                getattr(first, f"{prefix}_p50"),
                getattr(first, f"{prefix}_p95"),
                getattr(first, f"{prefix}_max"),
                getattr(first, share),
                *_later_pull_time(result, prefix, share),
            )
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
        columns=columns(
            ("images", "text", T),
            ("first_rollout_seconds_p50", "seconds", S),
            ("first_rollout_seconds_p95", "seconds", S),
            ("first_rollout_seconds_max", "seconds", S),
            ("first_rollout_startup_pull_share", "fraction", FR),
            ("later_epochs_with_pulls", "int", N),
            ("later_worst_seconds_p95", "seconds", S),
            ("later_worst_seconds_max", "seconds", S),
            ("later_startup_pull_share", "fraction", FR),
        ),
        rows=tuple(rows),
    )


def waste_table(result: SimulationResult) -> Table:
    w = result.waste
    rows = (
        ("images", w.images, N, "images the registry holds at the end"),
        (
            "images_with_shadowed_bytes",
            w.images_with_shadowed_bytes,
            N,
            "of them, images with bytes a later layer deletes or overwrites",
        ),
        (
            "shadowed_file_bytes",
            w.shadowed_file_bytes,
            F,
            "bytes in lower layers that a higher layer deletes, overwrites or hides: what "
            "flattening drops, and what combining the add and delete steps into one would save",
        ),
        (
            "dive_wasted_file_bytes",
            w.dive_wasted_bytes,
            F,
            "dive's wasted bytes: every copy of each path that two or more layers name",
        ),
        (
            "dive_cumulative_file_bytes",
            w.dive_cumulative_bytes,
            F,
            "dive's cumulative bytes: every path of every layer",
        ),
    )
    return Table(
        name="waste",
        title="Waste inside the images (final registry)",
        meaning=(
            "Bytes that images carry but no container can see (file bytes, summed over the "
            "images of the final registry, DESIGN.md §6)."
        ),
        columns=columns(
            ("figure", "text", T),
            ("value", "int", SEE_UNIT),
            ("unit", "text", T),
            ("meaning", "text", T),
        ),
        rows=rows,
    )


def sharing_table(result: SimulationResult) -> Table:
    sh = result.sharing
    rows = tuple(
        (
            b.label,
            b.layers,
            b.compressed_bytes,
            b.saved_bytes,
            b.layers / sh.layers if sh.layers else 0.0,
            b.saved_bytes / sh.saved_bytes if sh.saved_bytes else 0.0,
        )
        for b in sh.buckets
    )
    return Table(
        name="sharing",
        title="Layer sharing in the final registry",
        meaning=(
            "Layers of the final registry grouped by how many of its images reference them; a "
            "layer referenced by n images saves (n - 1) x its compressed bytes against storing "
            "every image's layers, so the saved bytes sum to logical - layer."
        ),
        columns=columns(
            ("images_referencing", "text", "count range"),
            ("layers", "int", N),
            ("compressed_bytes", "int", C),
            ("saved_compressed_bytes", "int", C),
            ("share_of_layers", "fraction", FR),
            ("share_of_saved", "fraction", FR),
        ),
        rows=rows,
    )


def sharing_top_layers_table(result: SimulationResult) -> Table:
    sh = result.sharing
    rows = tuple(
        (
            rank,
            x.layer,
            x.description,
            x.images,
            x.compressed_bytes,
            x.saved_bytes,
            x.saved_bytes / sh.saved_bytes if sh.saved_bytes else 0.0,
        )
        for rank, x in enumerate(sh.top_layers, start=1)
    )
    return Table(
        name="sharing_top_layers",
        title="The layers that carry most of the savings",
        meaning=(
            f"The {len(sh.top_layers)} layers whose sharing saves the most compressed bytes in "
            f"the final registry; together {percent(sh.top_share)} of what sharing saves."
        ),
        columns=columns(
            ("rank", "int", N),
            ("layer_id", "int", "layer id in the generated population"),
            ("layer", "text", T),
            ("images", "int", N),
            ("compressed_bytes", "int", C),
            ("saved_compressed_bytes", "int", C),
            ("share_of_saved", "fraction", FR),
        ),
        rows=rows,
    )


def containers_by_epoch_table(result: SimulationResult) -> Table:
    rows = tuple(
        (
            r.epoch,
            r.running,
            r.stopped,
            r.running_writable_bytes,
            r.stopped_writable_bytes,
            r.running_writable_bytes + r.stopped_writable_bytes,
        )
        for r in result.containers
    )
    return Table(
        name="containers_by_epoch",
        title="Containers by epoch",
        meaning=(
            "Containers on all nodes at the end of each epoch and the disk bytes of their "
            "writable layers: a container is never shared, so this is what runs cost beside the "
            "images; stopped containers linger until removed."
        ),
        columns=columns(
            ("epoch", "int", N),
            ("running", "int", N),
            ("stopped", "int", N),
            ("running_writable_disk_bytes", "int", D),
            ("stopped_writable_disk_bytes", "int", D),
            ("writable_disk_bytes", "int", D),
        ),
        rows=rows,
    )


def anchors_table(result: SimulationResult) -> Table:
    return Table(
        name="anchors",
        title="The simulated fleet beside published figures",
        meaning=(
            "Statistics of the simulated fleet next to the published figures of ANCHORS.md they "
            "are calibrated to or compared with; `produced` is in the unit the figure names."
        ),
        columns=columns(
            ("figure", "text", T),
            ("produced", "decimal", "as the figure says"),
            ("published", "text", T),
            ("source", "text", T),
        ),
        rows=tuple((a.figure, a.produced, a.published, a.source) for a in result.anchors),
    )


def headline_table(result: SimulationResult) -> Table:
    h = result.headline()
    reg, nodes = h.registry_stored, h.nodes_stored
    estimated = " (estimated from a sample)" if h.nodes_estimated else ""

    def ms(seconds: float | None) -> int | None:
        return None if seconds is None else round(seconds * 1000)

    rows: list[tuple[Any, ...]] = [
        ("registry: stored at the end", C, reg.logical, reg.flattened, reg.layer, reg.file),
        (
            f"nodes: stored at the end, sum over {h.nodes} nodes{estimated}",
            D,
            nodes.logical,
            nodes.flattened,
            nodes.layer,
            nodes.file,
        ),
        (
            "nodes: the fullest node at the end",
            D,
            None,
            h.fullest_node_stored.flattened,
            h.fullest_node_stored.layer,
            None,
        ),
        (
            "first rollout: pulled by the nodes",
            C,
            None,
            h.first_rollout_pulled.flattened,
            h.first_rollout_pulled.layer,
            None,
        ),
        (
            f"all {h.epochs} epochs: pulled by the nodes",
            C,
            None,
            h.pulled.flattened,
            h.pulled.layer,
            None,
        ),
        (
            f"all {h.epochs} epochs: pushed to the registry",
            C,
            None,
            h.pushed.flattened,
            h.pushed.layer,
            None,
        ),
        (
            "first rollout: pull time per node, p95",
            MS,
            None,
            ms(h.first_rollout_pull_seconds_p95.flattened),
            ms(h.first_rollout_pull_seconds_p95.layer),
            None,
        ),
    ]
    if h.later_pull_seconds_p95 is not None:
        rows.append(
            (
                "later epochs: worst pull time per node, p95",
                MS,
                None,
                ms(h.later_pull_seconds_p95.flattened),
                ms(h.later_pull_seconds_p95.layer),
                None,
            )
        )
    full = tuple(
        (
            *row,
            saving(row[4], row[3]),
            None if row[5] is None else saving(row[5], row[3]),
            None if row[5] is None else saving(row[5], row[4]),
        )
        for row in rows
    )
    return Table(
        name="headline",
        title="Headline: layer sharing against flattened images",
        meaning=(
            "What layers save against flattened exports (and what file-level dedup would save on "
            "top): storage at the end of the run, transfers, and estimated pull time; `unit` "
            "says which bytes each row counts."
        ),
        columns=columns(
            ("figure", "text", T),
            ("unit", "text", T),
            ("logical", "int", SEE_UNIT),
            ("flattened", "int", SEE_UNIT),
            ("layer", "int", SEE_UNIT),
            ("file", "int", SEE_UNIT),
            ("layer_saving_vs_flattened", "fraction", FR),
            ("file_saving_vs_flattened", "fraction", FR),
            ("file_saving_vs_layer", "fraction", FR),
        ),
        rows=full,
    )


def run_tables(result: SimulationResult) -> list[Table]:
    """Every table of a run, in report order."""
    return [
        headline_table(result),
        storage_table(result),
        registry_by_epoch_table(result),
        nodes_by_epoch_table(result),
        transfer_table(result),
        transfer_by_epoch_table(result),
        pull_time_table(result),
        waste_table(result),
        sharing_table(result),
        sharing_top_layers_table(result),
        containers_by_epoch_table(result),
        anchors_table(result),
    ]


# --------------------------------------------------------------------------- summary.json


def stable_floats(value: Any, digits: int = FLOAT_DIGITS) -> Any:
    """`value` with every float rounded to `digits` decimals (recursively), so that the last
    bits of a float sum never reach the JSON."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, Mapping):
        return {k: stable_floats(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stable_floats(v, digits) for v in value]
    return value


def _store(stored: Mapping[str, int]) -> dict[str, Any]:
    return {
        "stored_bytes": dict(stored),
        "savings": {
            "vs_flattened": {s: saving(stored[s], stored["flattened"]) for s in STRATEGIES},
            "vs_logical": {s: saving(stored[s], stored["logical"]) for s in STRATEGIES},
            "file_vs_layer": saving(stored["file"], stored["layer"]),
        },
        "dedup_ratio": {s: dedup_ratio(stored["logical"], stored[s]) for s in STRATEGIES},
    }


def _moved(layered: int, flattened: int) -> dict[str, Any]:
    return {
        "layered_bytes": layered,
        "flattened_bytes": flattened,
        "saving": saving(layered, flattened),
    }


def summary_document(
    result: SimulationResult, tables: Sequence[Table], plots: Sequence[str]
) -> dict[str, Any]:
    """The summary.json document (docs/run.md lists every key)."""
    cfg = result.config
    reg, nodes = result.registry[-1], result.nodes[-1]
    first, steady, last = result.first_rollout, result.steady_state, result.transfers[-1]
    final_containers = result.containers[-1]
    registry = {
        "epoch": reg.epoch,
        "images": reg.images,
        "unit": C,
        **_store({s: getattr(reg, f"{s}_bytes") for s in STRATEGIES}),
    }
    node_doc = {
        "epoch": nodes.epoch,
        "nodes": result.fleet.nodes,
        "nodes_measured": nodes.nodes_measured,
        "estimated": nodes.estimated,
        "images": nodes.images,
        "unit": D,
        **_store({s: getattr(nodes, f"{s}_bytes") for s in STRATEGIES}),
        "ci95_bytes": {s: getattr(nodes, f"{s}_ci95") for s in STRATEGIES},
        "per_node": {
            s: {stat: getattr(nodes, f"{s}_bytes_{stat}") for stat in ("p50", "p95", "max")}
            for s in ("flattened", "layer")
        },
    }

    def rollout(r: TransferEpoch) -> dict[str, Any]:
        return {
            "epoch": r.epoch,
            "pulls": r.pulls,
            "nodes_pulling": r.nodes_pulling,
            "push": _moved(r.push_uploaded_bytes, r.push_flattened_uploaded_bytes),
            "pull": _moved(r.pull_downloaded_bytes, r.pull_flattened_downloaded_bytes),
            "pull_seconds": {
                "layered": {
                    "p50": r.pull_seconds_p50,
                    "p95": r.pull_seconds_p95,
                    "max": r.pull_seconds_max,
                },
                "flattened": {
                    "p50": r.flattened_pull_seconds_p50,
                    "p95": r.flattened_pull_seconds_p95,
                    "max": r.flattened_pull_seconds_max,
                },
            },
            "startup_pull_share": {
                "layered": r.startup_pull_share,
                "flattened": r.flattened_startup_pull_share,
            },
        }

    transfers = {
        "unit": C,
        "first_rollout": rollout(first),
        "later_epochs": {
            "first_epoch": steady.first_epoch,
            "last_epoch": steady.last_epoch,
            "pulls": steady.pulls,
            "push": _moved(steady.push_uploaded_bytes, steady.push_flattened_uploaded_bytes),
            "pull": _moved(steady.pull_downloaded_bytes, steady.pull_flattened_downloaded_bytes),
        },
        "all_epochs": {
            "epochs": len(result.transfers),
            "pulls": sum(r.pulls for r in result.transfers),
            "push": _moved(last.cumulative_push_bytes, last.cumulative_push_flattened_bytes),
            "pull": _moved(last.cumulative_pull_bytes, last.cumulative_pull_flattened_bytes),
        },
    }
    w = result.waste
    sh = result.sharing
    doc: dict[str, Any] = {
        "layersim_version": __version__,
        "scenario": cfg.scenario,
        "description": cfg.description,
        "seed": cfg.seed,
        "config": config_to_dict(cfg),
        "counts": {
            **{k: getattr(result.fleet, k) for k in result.fleet.__dataclass_fields__},
            "epochs": len(result.transfers),
            "registry_images_at_end": reg.images,
            "node_images_at_end": nodes.images,
            "containers_running_at_end": final_containers.running,
            "containers_stopped_at_end": final_containers.stopped,
        },
        "headline": measure(result, SAVINGS),
        "registry": registry,
        "nodes": node_doc,
        "transfers": transfers,
        "waste": {
            "unit": F,
            "images": w.images,
            "images_with_shadowed_bytes": w.images_with_shadowed_bytes,
            "shadowed_bytes": w.shadowed_file_bytes,
            "dive_wasted_bytes": w.dive_wasted_bytes,
            "dive_cumulative_bytes": w.dive_cumulative_bytes,
        },
        "sharing": {
            "unit": C,
            "layers": sh.layers,
            "saved_bytes": sh.saved_bytes,
            "buckets": [
                {
                    "images_referencing": b.label,
                    "layers": b.layers,
                    "compressed_bytes": b.compressed_bytes,
                    "saved_bytes": b.saved_bytes,
                }
                for b in sh.buckets
            ],
            "top_layers": [
                {
                    "layer_id": x.layer,
                    "layer": x.description,
                    "images": x.images,
                    "compressed_bytes": x.compressed_bytes,
                    "saved_bytes": x.saved_bytes,
                }
                for x in sh.top_layers
            ],
            "top_layers_share_of_saved": sh.top_share,
        },
        "containers": {
            "unit": D,
            "epoch": final_containers.epoch,
            "running": final_containers.running,
            "stopped": final_containers.stopped,
            "running_writable_bytes": final_containers.running_writable_bytes,
            "stopped_writable_bytes": final_containers.stopped_writable_bytes,
        },
        "anchors": [
            {
                "figure": a.figure,
                "produced": a.produced,
                "published": a.published,
                "source": a.source,
            }
            for a in result.anchors
        ],
        "tables": {
            t.name: {"file": t.filename, "title": t.title, "meaning": t.meaning} for t in tables
        },
        "columns": units_of(tables),
        "plots": list(plots),
    }
    return stable_floats(doc)


# --------------------------------------------------------------------------- report.md


PLOT_CAPTIONS: Mapping[str, str] = {
    "storage.png": "stored bytes by strategy over the epochs (log scale)",
    "transfer.png": "bytes pushed and pulled per epoch, layered vs flattened (log scale)",
    "sharing.png": "layers by how many images reference them, and what sharing them saves",
    "pull_time.png": "estimated pull time per node and share of start-up spent pulling",
    "containers.png": "writable layers of running and stopped containers",
}
# the plot each table's section shows
_PLOT_OF = {
    "storage": "storage.png",
    "transfer": "transfer.png",
    "pull_time": "pull_time.png",
    "sharing": "sharing.png",
    "containers_by_epoch": "containers.png",
}
# tables long enough to fold away in report.md
_FOLDED = {"registry_by_epoch", "nodes_by_epoch", "transfer_by_epoch", "containers_by_epoch"}


def _what_it_says(summary: Mapping[str, Any]) -> list[str]:
    reg, nodes = summary["registry"], summary["nodes"]
    tr = summary["transfers"]
    w = summary["waste"]
    sh = summary["sharing"]
    return [
        f"- The registry stores {human_bytes(reg['stored_bytes']['layer'])} as layers against "
        f"{human_bytes(reg['stored_bytes']['flattened'])} as flattened images: layers save "
        f"{percent(reg['savings']['vs_flattened']['layer'])}. File-level dedup would store "
        f"{percent(reg['savings']['file_vs_layer'])} less than layers: what layer sharing "
        "misses (base and dependency versions that differ in a few files, rebuilds that are "
        "not reproducible).",
        f"- The nodes store {human_bytes(nodes['stored_bytes']['layer'])} (disk, all nodes"
        f"{', estimated' if nodes['estimated'] else ''}) as layers against "
        f"{human_bytes(nodes['stored_bytes']['flattened'])} flattened: "
        f"{percent(nodes['savings']['vs_flattened']['layer'])} saved; file-level dedup would "
        f"store {percent(nodes['savings']['file_vs_layer'])} less than layers.",
        f"- The first rollout pulls {human_bytes(tr['first_rollout']['pull']['layered_bytes'])} "
        f"layered against {human_bytes(tr['first_rollout']['pull']['flattened_bytes'])} "
        f"flattened; over all {tr['all_epochs']['epochs']} epochs pulls save "
        f"{percent(tr['all_epochs']['pull']['saving'])} and pushes "
        f"{percent(tr['all_epochs']['push']['saving'])}.",
        f"- {w['images_with_shadowed_bytes']} of {w['images']} final images carry "
        f"{human_bytes(w['shadowed_bytes'])} of shadowed file bytes (added, then deleted in a "
        "later step).",
        f"- The top {len(sh['top_layers'])} shared layers carry "
        f"{percent(sh['top_layers_share_of_saved'])} of what layer sharing saves in the registry.",
    ]


def report_markdown(
    summary: Mapping[str, Any], tables: Sequence[Table], plots: Sequence[str]
) -> str:
    """report.md: what was run, the headline and what it says, every table as Markdown with a
    sentence saying what it means, and the plots embedded with relative links."""
    counts = summary["counts"]
    lines = [
        f"# layersim run: `{summary['scenario']}` (seed {summary['seed']})",
        "",
        f"{summary['description']}".strip(),
        "",
        f"layersim {summary['layersim_version']}; {counts['images']:,} images, "
        f"{counts['layers']:,} layers, {counts['file_entries']:,} file entries, "
        f"{counts['apps']:,} apps, {counts['nodes']:,} nodes, {counts['containers']:,} "
        f"containers over {counts['epochs']} epochs. The full config is in "
        f"[`{SUMMARY}`]({SUMMARY}); every table below is also a CSV file in this folder with "
        "exact integers. Here bytes are in decimal units (1 GB = 10^9 bytes) and savings are "
        "`1 - bytes(S) / bytes(flattened)` unless the column says otherwise.",
        "",
        "## What the numbers say",
        "",
        *_what_it_says(summary),
        "",
    ]
    shown = set()
    for table in tables:
        lines += [
            f"## {table.title}",
            "",
            table.meaning,
            f"File: [`{table.filename}`]({table.filename}).",
            "",
        ]
        body = table.to_markdown()
        if table.name in _FOLDED:
            lines += ["<details><summary>show the table</summary>", "", body, "</details>", ""]
        else:
            lines += [body]
        plot = _PLOT_OF.get(table.name)
        if plot in plots:
            shown.add(plot)
            lines += [f"![{PLOT_CAPTIONS[plot]}]({plot})", ""]
    rest = [p for p in plots if p not in shown]
    if rest:
        lines += ["## More plots", ""]
        for plot in rest:
            lines += [f"![{PLOT_CAPTIONS.get(plot, plot)}]({plot})", ""]
    lines += [
        "## Files",
        "",
        f"- [`{SUMMARY}`]({SUMMARY}): config, seed, version, counts and every headline figure.",
        *(f"- [`{t.filename}`]({t.filename}): {t.title.lower()}." for t in tables),
        *(f"- [`{p}`]({p}): {PLOT_CAPTIONS.get(p, p)}." for p in plots),
        f"- `{TIMINGS}`: wall time of each stage (differs from run to run; no figure).",
        "",
    ]
    return "\n".join(lines)


# --------------------------------------------------------------------------- writing


def _write(folder: Path, name: str, data: bytes) -> None:
    (folder / name).write_bytes(data)


def write_run(
    result: SimulationResult, folder: Path, timings: Mapping[str, float] | None = None
) -> list[str]:
    """Write every output of a run into `folder` (an empty, usually temporary, folder): the
    CSV tables, the PNG plots, summary.json, report.md, and timings.json (`timings` plus the
    time this report took). Returns the file names written, timings.json last."""
    # matplotlib is imported here, not at module level: it costs a second that a command which
    # draws nothing (`--version`, a config error) should not pay
    from layersim.report.plots import run_plots

    started = time.perf_counter()
    tables = run_tables(result)
    for table in tables:
        _write(folder, table.filename, table.to_csv().encode())
    plots = run_plots(result)
    for name, png in plots.items():
        _write(folder, name, png)
    summary = summary_document(result, tables, list(plots))
    _write(folder, SUMMARY, json_text(summary).encode())
    _write(folder, REPORT, report_markdown(summary, tables, list(plots)).encode())
    stages = {f"{k}_seconds": round(v, 3) for k, v in (timings or {}).items()}
    stages["report_seconds"] = round(time.perf_counter() - started, 3)
    _write(folder, TIMINGS, json_text(stages).encode())
    return [*(t.filename for t in tables), *plots, SUMMARY, REPORT, TIMINGS]


# --------------------------------------------------------------------------- the console


def render_headline(result: SimulationResult, console: Console, out: str | None = None) -> None:
    """The headline table on the console (rich), as report.md shows it."""
    table = headline_table(result)
    rich = RichTable(title=table.title, title_justify="left")
    for index, column in enumerate(table.columns):
        rich.add_column(
            column.name.replace("_", " "),
            justify="left" if index < 2 else "right",
            overflow="fold",
        )
    for row in table.rows:
        rich.add_row(*(Text(cell) for cell in table.display_row(row)))
    console.print(rich)
    if out is not None:
        console.print(f"wrote {out}", highlight=False)
