"""The report of `layersim sweep`: a `SweepResult` as sweep.csv, sweep_runs.csv, sweep.json,
sweep.png and report.md, and its savings on the console.

`sweep_table`, `runs_table`, `sweep_document`, `sweep_markdown` and `sweep_png` build the
documents; `report.documents.write_sweep` writes them into the sweep's folder. Every figure is
a metric the sweep recorded (`SweepResult.metrics`, `simulation.metrics`); the mean, min and max
over seeds of the aggregated ones (the savings) are `SweepResult.stats`. docs/run.md describes every file and column.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from rich.console import Console
from rich.table import Table as RichTable
from rich.text import Text

from layersim import __version__
from layersim.config import config_to_dict
from layersim.experiment.sweep import MetricStats, SweepPoint, SweepResult
from layersim.report.run import TIMINGS
from layersim.report.tables import COMPRESSED, DISK, Column, Table, percent, print_tables

# The files of a sweep's folder, beside report.md and timings.json (`report.run`'s names).
SWEEP_CSV = "sweep.csv"
RUNS_CSV = "sweep_runs.csv"
SWEEP_JSON = "sweep.json"
SWEEP_PNG = "sweep.png"

# Short names of the metrics for plot legends and Markdown headers.
SHORT: Mapping[str, str] = {
    "registry_layer_saving_vs_flattened": "registry: layers vs flattened",
    "nodes_layer_saving_vs_flattened": "nodes: layers vs flattened",
    "registry_file_saving_vs_layer": "registry: file dedup vs layers",
    "nodes_file_saving_vs_layer": "nodes: file dedup vs layers",
    "pull_layer_saving_vs_flattened": "pulls: layered vs flattened",
    "lazy_startup_bytes_saving": "lazy vs full pulls: bytes before start",
    "lazy_startup_seconds_saving": "lazy vs full pulls: seconds before start",
    "registry_chunk_cdc_saving_vs_file": "registry: CDC chunks vs file dedup",
    "registry_chunk_fixed_saving_vs_file": "registry: fixed chunks vs file dedup",
    "nodes_chunk_cdc_saving_vs_file": "nodes: CDC chunks vs file dedup",
    "nodes_chunk_fixed_saving_vs_file": "nodes: fixed chunks vs file dedup",
}


def _param_columns(
    result: SweepResult, labels: Callable[[Any], tuple[str, ...]]
) -> tuple[Column, ...]:
    """One text column per param: its value at the row's point (`labels(row)`), as given."""
    return tuple(
        Column.text(p.key, lambda row, k=k: labels(row)[k], unit="the parameter's value, as given")
        for k, p in enumerate(result.plan.params)
    )


@dataclass(frozen=True, slots=True)
class PointRow:
    """A grid point and the stats of every metric over its seeds."""

    point: SweepPoint
    stats: dict[str, MetricStats]


def _stat_column(name: str, stat: str) -> Column:
    """The `stat` (mean, min or max) over seeds of metric `name`, of a `PointRow`."""
    return Column.fraction(
        f"{name}_{stat}",
        lambda row: getattr(row.stats[name], stat),
        unit=f"fraction ({stat} over seeds)",
    )


def sweep_table(result: SweepResult) -> Table:
    """One row per grid point: the params, the seeds, and mean/min/max of every metric."""
    seeds = len(result.plan.seeds)
    return Table(
        name="sweep",
        title="Savings across the grid",
        meaning=(
            "Per grid point, the headline savings (`1 - S/B`, fractions) as mean, min and max "
            "over the seeds: "
            + "; ".join(f"`{name}`: {what}" for name, what in _meanings(result))
            + "."
        ),
        columns=(
            *_param_columns(result, lambda row: row.point.labels),
            Column.count("seeds", lambda row: seeds),
            *(
                _stat_column(name, stat)
                for name in _aggregated(result)
                for stat in ("mean", "min", "max")
            ),
        ),
        rows=tuple(PointRow(point, result.stats(point.index)) for point in result.plan.points),
    )


def _aggregated(result: SweepResult) -> list[str]:
    """The names of the metrics aggregated over seeds (the savings, by default), in order."""
    return [metric.name for metric in result.aggregated]


def _meanings(result: SweepResult) -> list[tuple[str, str]]:
    """(name, meaning) of every aggregated metric, in order."""
    return [(metric.name, metric.meaning) for metric in result.aggregated]


def _figure_column(name: str, aggregated: Sequence[str]) -> Column:
    """A metric the sweep recorded, of a `SweepRun`: an aggregated one (a fraction), a count,
    or a byte count (disk bytes of the nodes, compressed bytes of the registry and pulls)."""
    if name in aggregated:
        return Column.fraction(name, lambda run: run.figures[name])
    if name in ("images", "file_entries"):
        return Column.count(name, lambda run: run.figures[name])
    unit = DISK if "disk" in name else COMPRESSED
    return Column.bytes(name, unit, lambda run: run.figures[name])


def runs_table(result: SweepResult) -> Table:
    """One row per run (point x seed) with every metric the sweep recorded."""
    names = [metric.name for metric in result.metrics]
    aggregated = _aggregated(result)
    points = result.plan.points
    return Table(
        name="sweep_runs",
        title="Every run of the sweep",
        meaning=(
            "One row per grid point and seed: the savings and the byte counts they come from "
            "(registry at the end: compressed bytes; nodes at the end, summed: disk bytes; pulls "
            "of every epoch: compressed bytes)."
        ),
        columns=(
            Column.count("point", lambda run: run.point, unit="grid position"),
            *_param_columns(result, lambda run: points[run.point].labels),
            Column.count("seed", lambda run: run.seed, unit="seed"),
            *(_figure_column(n, aggregated) for n in names),
        ),
        rows=result.runs,
    )


def _markdown_table(result: SweepResult) -> str:
    """The sweep table for people: `mean (min - max)` in percent per metric."""
    params = [p.key for p in result.plan.params]
    header = [*params, *(SHORT.get(n, n) for n in _aggregated(result))]
    lines = [
        "| " + " | ".join(header) + " |",
        "|" + "|".join(["---"] * len(params) + ["---:"] * len(_aggregated(result))) + "|",
    ]
    for point in result.plan.points:
        stats = result.stats(point.index)
        cells = [f"`{label}`" for label in point.labels]
        for name in _aggregated(result):
            s = stats[name]
            if len(result.plan.seeds) > 1:
                cells.append(f"{percent(s.mean)} ({percent(s.min)} - {percent(s.max)})")
            else:
                cells.append(percent(s.mean))
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def sweep_png(result: SweepResult) -> bytes:
    """Savings against the first param: one panel with a line per metric; with a second
    param, one panel per metric with a line per value of the second param."""
    from layersim.report.plots import sweep_plot  # matplotlib only when drawing

    plan = result.plan
    first = plan.params[0]
    title = f"{plan.base.scenario}: savings vs {first.key} ({len(plan.seeds)} seeds, min-max band)"

    def triple(point: int, name: str) -> tuple[float, float, float]:
        s = result.stats(point)[name]
        return (s.mean, s.min, s.max)

    if len(plan.params) == 1:
        lines = {
            SHORT.get(name, name): [triple(p.index, name) for p in plan.points]
            for name in _aggregated(result)
        }
        series: dict[str, dict[str, list[tuple[float, float, float]]]] = {"": lines}
    else:
        second = plan.params[1]
        n2 = len(second.labels)
        series = {}
        for name in _aggregated(result):
            series[SHORT.get(name, name)] = {
                f"{second.key}={label}": [
                    triple(i1 * n2 + i2, name) for i1 in range(len(first.labels))
                ]
                for i2, label in enumerate(second.labels)
            }
    x_values = list(first.values) if first.numeric else list(first.labels)
    return sweep_plot(first.key, x_values, series, title=title)


def sweep_document(result: SweepResult, tables: Sequence[Table]) -> dict[str, Any]:
    """The sweep.json document (docs/run.md lists every key). Its floats are as computed:
    `documents.stable_floats` rounds them when the document is written."""
    plan = result.plan
    points = []
    for point in plan.points:
        stats = result.stats(point.index)
        points.append(
            {
                "index": point.index,
                "params": {
                    p.key: label for p, label in zip(plan.params, point.labels, strict=True)
                },
                "stats": {
                    name: {"mean": s.mean, "min": s.min, "max": s.max} for name, s in stats.items()
                },
                "runs": [
                    {"seed": r.seed, "figures": dict(r.figures)}
                    for r in result.point_runs(point.index)
                ],
            }
        )
    doc = {
        "layersim_version": __version__,
        "scenario": plan.base.scenario,
        "description": plan.base.description,
        "seeds": list(plan.seeds),
        "params": [{"key": p.key, "values": list(p.labels)} for p in plan.params],
        "metrics": [{"name": n, "meaning": what} for n, what in _meanings(result)],
        "note": (
            "stored bytes are measured at the last epoch only (time.storage_every is set to "
            "time.epochs in every run); every figure is a final-epoch or all-epoch figure"
        ),
        "base_config": config_to_dict(plan.base),
        "points": points,
        "tables": {t.name: {"file": t.filename, "title": t.title} for t in tables},
        "plots": [SWEEP_PNG],
    }
    return doc


def sweep_markdown(result: SweepResult) -> str:
    plan = result.plan
    keys = " x ".join(f"`{p.key}`" for p in plan.params)
    grid = "; ".join(f"`{p.key}` = {', '.join(p.labels)}" for p in plan.params)
    seeds = ", ".join(str(s) for s in plan.seeds)
    lines = [
        f"# layersim sweep: {keys} on `{plan.base.scenario}`",
        "",
        f"layersim {__version__}. Grid: {grid}; seeds {seeds} (the same seeds at every point). "
        f"{len(plan.points)} points, {plan.n_runs} runs. Every other setting is the scenario's "
        f"(full config in [`{SWEEP_JSON}`]({SWEEP_JSON})).",
        "",
        "Each cell is the saving `1 - bytes(S) / bytes(B)` as the mean over seeds, with the "
        "lowest and highest seed in brackets: "
        + "; ".join(f"**{SHORT.get(n, n)}**: {what}" for n, what in _meanings(result))
        + ".",
        "",
        _markdown_table(result),
        f"![savings vs {plan.params[0].key}]({SWEEP_PNG})",
        "",
        "## Files",
        "",
        f"- [`{SWEEP_CSV}`]({SWEEP_CSV}): one row per point, mean/min/max of every saving.",
        f"- [`{RUNS_CSV}`]({RUNS_CSV}): one row per run, the savings and their byte counts.",
        f"- [`{SWEEP_JSON}`]({SWEEP_JSON}): all of it with the config.",
        f"- [`{SWEEP_PNG}`]({SWEEP_PNG}): the savings against `{plan.params[0].key}`.",
        f"- `{TIMINGS}`: wall time of each run (differs from run to run; no figure).",
        "",
    ]
    return "\n".join(lines)


def render_sweep(result: SweepResult, console: Console) -> None:
    """The sweep table on the console: mean savings per point (percent)."""
    plan = result.plan
    table = RichTable(title=f"Savings (mean over {len(plan.seeds)} seeds)", title_justify="left")
    for p in plan.params:
        table.add_column(p.key, overflow="fold")
    for name in _aggregated(result):
        table.add_column(SHORT.get(name, name), justify="right", overflow="fold")
    for point in plan.points:
        stats = result.stats(point.index)
        table.add_row(
            *(Text(label) for label in point.labels),
            *(percent(stats[n].mean) for n in _aggregated(result)),
        )
    print_tables(console, table, keys=len(plan.params))
