"""The report of `layersim run` beside its tables: the summary.json document, the report.md
text and the headline on the console.

`summary_document(result, tables, plots)` builds summary.json (docs/run.md lists every key);
`report_markdown(summary, tables, plots)` the report; `render_headline` prints the headline
table. The tables are `report.run_tables`', the plots `report.plots`'; `report.documents`
writes them all into the run's folder. Nothing here computes a figure: byte counts are fields
of the result, savings and ratios `metrics.saving` and `metrics.dedup_ratio`, summed-up pulls
`accounting.analysis.epoch_pulls`. Timings go to timings.json only, so every other file is
byte-identical for the same config and seed.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import asdict
from typing import Any

from rich.console import Console

from layersim import __version__
from layersim.accounting.metrics import (
    ALL_STRATEGIES,
    CHUNK_STRATEGIES,
    dedup_ratio,
    saving,
)
from layersim.config import config_to_dict
from layersim.report.run_tables import headline_table, pulls_of
from layersim.report.tables import (
    COMPRESSED,
    DISK,
    FILE,
    Table,
    human_bytes,
    percent,
    print_tables,
    units_of,
)
from layersim.simulation import (
    CHUNK_SAVINGS,
    LAZY_SAVINGS,
    SAVINGS,
    SimulationResult,
    TransferEpoch,
    measure,
)
from layersim.simulation.steady import node_figures

# The files of a run's folder (a sweep's folder has a report and timings too).
SUMMARY = "summary.json"
REPORT = "report.md"
TIMINGS = "timings.json"


# --------------------------------------------------------------------------- summary.json


def _store(stored: Mapping[str, int | None]) -> dict[str, Any]:
    """A store's bytes per strategy, its savings and dedup ratios; the chunk strategies only
    where measured (their savings also against file-level dedup: `chunk_vs_file`)."""
    shown = [s for s in ALL_STRATEGIES if stored.get(s) is not None]
    chunks = [s for s in CHUNK_STRATEGIES if s in shown]
    out: dict[str, Any] = {
        "stored_bytes": {s: stored[s] for s in shown},
        "savings": {
            "vs_flattened": {s: saving(stored[s], stored["flattened"]) for s in shown},
            "vs_logical": {s: saving(stored[s], stored["logical"]) for s in shown},
            "file_vs_layer": saving(stored["file"], stored["layer"]),
        },
        "dedup_ratio": {s: dedup_ratio(stored["logical"], stored[s]) for s in shown},
    }
    if chunks:
        out["savings"]["chunk_vs_file"] = {s: saving(stored[s], stored["file"]) for s in chunks}
    return out


def _moved(layered: int, flattened: int) -> dict[str, Any]:
    return {
        "layered_bytes": layered,
        "flattened_bytes": flattened,
        "saving": saving(layered, flattened),
    }


def _counts(result: SimulationResult) -> dict[str, Any]:
    fleet, final_containers = result.fleet, result.containers[-1]
    return {
        **{k: getattr(fleet, k) for k in fleet.__dataclass_fields__},
        "epochs": len(result.transfers),
        "registry_images_at_end": result.registry[-1].images,
        "node_images_at_end": result.nodes[-1].images,
        "containers_running_at_end": final_containers.running,
        "containers_stopped_at_end": final_containers.stopped,
    }


def _registry(result: SimulationResult) -> dict[str, Any]:
    reg = result.registry[-1]
    return {
        "epoch": reg.epoch,
        "images": reg.images,
        "unit": COMPRESSED,
        **_store({s: getattr(reg, f"{s}_bytes") for s in ALL_STRATEGIES}),
    }


def _nodes(result: SimulationResult) -> dict[str, Any]:
    nodes = result.nodes[-1]
    return {
        "epoch": nodes.epoch,
        "nodes": result.fleet.nodes,
        "nodes_measured": nodes.nodes_measured,
        "estimated": nodes.estimated,
        "images": nodes.images,
        "unit": DISK,
        **_store({s: getattr(nodes, f"{s}_bytes") for s in ALL_STRATEGIES}),
        "ci95_bytes": {
            s: getattr(nodes, f"{s}_ci95")
            for s in ALL_STRATEGIES
            if getattr(nodes, f"{s}_ci95") is not None
        },
        "per_node": {
            s: {stat: getattr(nodes, f"{s}_bytes_{stat}") for stat in ("p50", "p95", "max")}
            for s in ("flattened", "layer")
        },
    }


def _rollout(r: TransferEpoch) -> dict[str, Any]:
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


def _transfers(result: SimulationResult) -> dict[str, Any]:
    steady, last = result.steady_state, result.transfers[-1]
    return {
        "unit": COMPRESSED,
        "first_rollout": _rollout(result.first_rollout),
        "later_epochs": {
            "first_epoch": steady.first_epoch,
            "last_epoch": steady.last_epoch,
            "pulls": steady.pulls,
            "push": _moved(steady.push_uploaded_bytes, steady.push_flattened_uploaded_bytes),
            "pull": _moved(steady.pull_downloaded_bytes, steady.pull_flattened_downloaded_bytes),
        },
        "all_epochs": {
            "epochs": len(result.transfers),
            "pulls": pulls_of(result.transfers).pulls,
            "push": _moved(last.cumulative_push_bytes, last.cumulative_push_flattened_bytes),
            "pull": _moved(last.cumulative_pull_bytes, last.cumulative_pull_flattened_bytes),
        },
    }


def _lazy(result: SimulationResult) -> dict[str, Any]:
    totals = result.lazy_all_epochs
    return {
        "unit": COMPRESSED,
        "first_rollout": asdict(result.lazy[0]),
        "all_epochs": {
            **asdict(totals),
            "lazy_startup_bytes_saving": totals.lazy_startup_bytes_saving,
            "lazy_startup_seconds_saving": totals.lazy_startup_seconds_saving,
            "lazy_moved_bytes_saving": totals.lazy_moved_bytes_saving,
        },
    }


def _waste(result: SimulationResult) -> dict[str, Any]:
    w = result.waste
    return {
        "unit": FILE,
        "images": w.images,
        "images_with_shadowed_bytes": w.images_with_shadowed_bytes,
        "shadowed_bytes": w.shadowed_file_bytes,
        "dive_wasted_bytes": w.dive_wasted_bytes,
        "dive_cumulative_bytes": w.dive_cumulative_bytes,
    }


def _sharing(result: SimulationResult) -> dict[str, Any]:
    sh = result.sharing
    return {
        "unit": COMPRESSED,
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
    }


def _containers(result: SimulationResult) -> dict[str, Any]:
    final = result.containers[-1]
    return {
        "unit": DISK,
        "epoch": final.epoch,
        "running": final.running,
        "stopped": final.stopped,
        "running_writable_bytes": final.running_writable_bytes,
        "stopped_writable_bytes": final.stopped_writable_bytes,
    }


def summary_document(
    result: SimulationResult, tables: Sequence[Table], plots: Sequence[str]
) -> dict[str, Any]:
    """The summary.json document (docs/run.md lists every key). Its floats are as computed:
    `documents.stable_floats` rounds them when the document is written."""
    cfg = result.config
    return {
        "layersim_version": __version__,
        "scenario": cfg.scenario,
        "description": cfg.description,
        "seed": cfg.seed,
        "config": config_to_dict(cfg),
        "counts": _counts(result),
        "headline": measure(result, SAVINGS + LAZY_SAVINGS + CHUNK_SAVINGS),
        "registry": _registry(result),
        "nodes": _nodes(result),
        "node_figures": [asdict(f) for f in node_figures(result.nodes, len(result.transfers), cfg)],
        "transfers": _transfers(result),
        "lazy": _lazy(result),
        "waste": _waste(result),
        "sharing": _sharing(result),
        "containers": _containers(result),
        "anchors": [asdict(a) for a in result.anchors],
        "tables": {
            t.name: {"file": t.filename, "title": t.title, "meaning": t.meaning} for t in tables
        },
        "columns": units_of(tables),
        "plots": list(plots),
    }


# --------------------------------------------------------------------------- report.md


PLOT_CAPTIONS: Mapping[str, str] = {
    "storage.png": "stored bytes by strategy over the epochs (log scale)",
    "transfer.png": "bytes pushed and pulled per epoch, layered vs flattened (log scale)",
    "sharing.png": "layers by how many images reference them, and what sharing them saves",
    "pull_time.png": "estimated pull time per node and share of start-up spent pulling",
    "containers.png": "writable layers of running and stopped containers",
    "lazy.png": "time before containers start and bytes fetched for it, full vs lazy pulls",
}
# the plot each table's section shows
_PLOT_OF = {
    "storage": "storage.png",
    "transfer": "transfer.png",
    "pull_time": "pull_time.png",
    "lazy_pull": "lazy.png",
    "sharing": "sharing.png",
    "containers_by_epoch": "containers.png",
}
# tables long enough to fold away in report.md
_FOLDED = {
    "registry_by_epoch",
    "nodes_by_epoch",
    "transfer_by_epoch",
    "lazy_by_epoch",
    "containers_by_epoch",
}


def _chunk_lines(summary: Mapping[str, Any]) -> list[str]:
    """What chunk-level dedup would store, against file-level dedup (none without chunks)."""
    reg, nodes, chunks = summary["registry"], summary["nodes"], summary["config"]["chunks"]
    if "chunk_vs_file" not in reg["savings"] or "chunk_vs_file" not in nodes["savings"]:
        return []
    r, n = reg["savings"]["chunk_vs_file"], nodes["savings"]["chunk_vs_file"]
    return [
        f"- Chunk-level dedup (each file cut into FastCDC chunks of {chunks['cdc_avg_bytes']:,} "
        f"bytes on average, or {chunks['fixed_bytes']:,}-byte fixed-size chunks) would store {percent(r['chunk_cdc'])} (CDC) and "
        f"{percent(r['chunk_fixed'])} (fixed) less than file-level dedup in the registry, "
        f"{percent(n['chunk_cdc'])} and {percent(n['chunk_fixed'])} less on the nodes: what "
        "the versions of a file share beyond the whole file (modelled edits, "
        "docs/semantics.md).",
    ]


def _steady_state(summary: Mapping[str, Any]) -> str:
    """What the node figures are over the steady state, and the saw-tooth if there is one."""
    layer, file = summary["node_figures"]
    every = summary["config"]["time"]["storage_every"]
    text = (
        f"- Over the steady state (the {layer['steady_epochs']} measured epochs from epoch "
        f"{layer['steady_first_epoch']}, the second half of the run) the nodes' layers save "
        f"{percent(layer['steady_mean'])} against flattened images on average (final epoch "
        f"{percent(layer['final'])}) and file-level dedup {percent(file['steady_mean'])} "
        f"against layers (final {percent(file['final'])})."
    )
    tooth = layer["saw_tooth"] or file["saw_tooth"]
    if tooth:
        fig = layer if layer["saw_tooth"] else file
        cause = (
            f"the period of {', '.join(f'`{c}`' for c in tooth['cadences'])}, the fixed "
            "cadence of 2 epochs: the nodes hold more or fewer versions of the released "
            "layers at once depending on where an epoch falls in the release cycle"
            if tooth["cadences"]
            else "no fixed cadence of 2 epochs in the config"
        )
        name = "layer saving" if fig is layer else "file-level saving"
        return text + (
            f" They alternate from one epoch to the next, a saw-tooth of period 2 ({cause}). "
            f"The {name}: highs {percent(tooth['high_mean'])}, lows "
            f"{percent(tooth['low_mean'])}; the final epoch is "
            f"{'a low' if tooth['final_is_low'] else 'a high'}, so read the steady-state mean, "
            "not the final epoch (node_figures.csv)."
        )
    if every > 1:
        return text + (
            f" Stored bytes are measured every {every} epochs, so an alternation from one epoch "
            "to the next cannot be seen; with cadences of 2 epochs the final epoch may fall on "
            "a crest or a trough (node_figures.csv)."
        )
    return text + " They show no saw-tooth (node_figures.csv)."


def _what_it_says(summary: Mapping[str, Any]) -> list[str]:
    reg, nodes = summary["registry"], summary["nodes"]
    tr = summary["transfers"]
    w = summary["waste"]
    sh = summary["sharing"]
    lazy, lazy_cfg = summary["lazy"], summary["config"]["lazy"]
    first, every = lazy["first_rollout"], lazy["all_epochs"]
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
        _steady_state(summary),
        *_chunk_lines(summary),
        f"- The first rollout pulls {human_bytes(tr['first_rollout']['pull']['layered_bytes'])} "
        f"layered against {human_bytes(tr['first_rollout']['pull']['flattened_bytes'])} "
        f"flattened; over all {tr['all_epochs']['epochs']} epochs pulls save "
        f"{percent(tr['all_epochs']['pull']['saving'])} and pushes "
        f"{percent(tr['all_epochs']['push']['saving'])}.",
        f"- Lazy pulling ({percent(lazy_cfg['read_fraction'])} of each lacking blob read at "
        f"start-up, in {lazy_cfg['chunk_bytes']:,}-byte requests) would start the first "
        f"rollout's cold containers after {human_bytes(first['lazy_cold_startup_bytes'])} "
        f"against {human_bytes(first['full_cold_bytes'])} for full pulls (p95 per node "
        f"{first['lazy_cold_seconds_p95']:.2f} s against {first['full_cold_seconds_p95']:.2f} s; "
        f"{first['lazy_cold_startup_requests']:,} registry requests against "
        f"{first['full_cold_requests']:,}); over all epochs it fetches "
        f"{percent(every['lazy_startup_bytes_saving'])} fewer bytes before containers start "
        f"and nodes wait {percent(every['lazy_startup_seconds_saving'])} less. Slacker "
        "measured 76% of start-up spent pulling and 6.4% of the pulled data read, over cold "
        "starts of 57 HelloBench images (see the anchors).",
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


# --------------------------------------------------------------------------- the console


def render_headline(result: SimulationResult, console: Console, out: str | None = None) -> None:
    """The headline table on the console (rich), as report.md shows it."""
    print_tables(console, headline_table(result).to_rich())
    if out is not None:
        console.print(f"wrote {out}", highlight=False)
