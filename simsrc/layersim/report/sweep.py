"""The report of `layersim sweep`: a `SweepResult` as sweep.csv, sweep_runs.csv, sweep.json,
sweep.png and report.md.

`write_sweep(result, folder, timings)` writes them into `folder` (the CLI hands it the temporary
folder of `atomic.atomic_directory`). Every figure is a metric the sweep recorded
(`SweepResult.metrics`, `simulation.metrics`); the mean, min and max over seeds of the
aggregated ones (the savings) are `SweepResult.stats`. Wall times go to timings.json only.
docs/run.md describes every file and column.
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
from layersim.config import config_to_dict
from layersim.experiment.sweep import SweepResult
from layersim.report import json_text
from layersim.report.run import stable_floats
from layersim.report.tables import Column, Table, columns, percent

SWEEP_CSV = "sweep.csv"
RUNS_CSV = "sweep_runs.csv"
SWEEP_JSON = "sweep.json"
SWEEP_PNG = "sweep.png"
REPORT = "report.md"
TIMINGS = "timings.json"

# Short names of the metrics for plot legends and Markdown headers.
SHORT: Mapping[str, str] = {
    "registry_layer_saving_vs_flattened": "registry: layers vs flattened",
    "nodes_layer_saving_vs_flattened": "nodes: layers vs flattened",
    "registry_file_saving_vs_layer": "registry: file dedup vs layers",
    "nodes_file_saving_vs_layer": "nodes: file dedup vs layers",
    "pull_layer_saving_vs_flattened": "pulls: layered vs flattened",
}


def _aggregated(result: SweepResult) -> list[str]:
    """The names of the metrics aggregated over seeds (the savings, by default), in order."""
    return [metric.name for metric in result.aggregated]


def _meanings(result: SweepResult) -> list[tuple[str, str]]:
    return [(metric.name, metric.meaning) for metric in result.aggregated]


def _param_columns(result: SweepResult) -> tuple[Column, ...]:
    return tuple(
        Column(p.key, "text", "the parameter's value, as given") for p in result.plan.params
    )


def sweep_table(result: SweepResult) -> Table:
    """One row per grid point: the params, the seeds, and mean/min/max of every metric."""
    metric_columns = []
    for name in _aggregated(result):
        for stat in ("mean", "min", "max"):
            metric_columns.append((f"{name}_{stat}", "fraction", f"fraction ({stat} over seeds)"))
    rows = []
    for point in result.plan.points:
        stats = result.stats(point.index)
        cells: list[Any] = [*point.labels, len(result.plan.seeds)]
        for name in _aggregated(result):
            s = stats[name]
            cells += [s.mean, s.min, s.max]
        rows.append(tuple(cells))
    return Table(
        name="sweep",
        title="Savings across the grid",
        meaning=(
            "Per grid point, the headline savings (`1 - S/B`, fractions) as mean, min and max "
            "over the seeds: "
            + "; ".join(f"`{name}`: {what}" for name, what in _meanings(result))
            + "."
        ),
        columns=(*_param_columns(result), *columns(("seeds", "int", "count"), *metric_columns)),
        rows=tuple(rows),
    )


def runs_table(result: SweepResult) -> Table:
    """One row per run (point x seed) with every metric the sweep recorded."""
    aggregated = _aggregated(result)
    names = [metric.name for metric in result.metrics]
    kinds = {n: ("fraction" if n in aggregated else "int") for n in names}
    units = {
        n: "fraction"
        if n in aggregated
        else "count"
        if n in ("images", "file_entries")
        else ("disk bytes" if "disk" in n else "compressed bytes")
        for n in names
    }
    rows = []
    for run in result.runs:
        labels = result.plan.points[run.point].labels
        rows.append((run.point, *labels, run.seed, *(run.figures[n] for n in names)))
    return Table(
        name="sweep_runs",
        title="Every run of the sweep",
        meaning=(
            "One row per grid point and seed: the savings and the byte counts they come from "
            "(registry at the end: compressed bytes; nodes at the end, summed: disk bytes; pulls "
            "of every epoch: compressed bytes)."
        ),
        columns=(
            Column("point", "int", "grid position"),
            *_param_columns(result),
            Column("seed", "int", "seed"),
            *(Column(n, kinds[n], units[n]) for n in names),
        ),
        rows=tuple(rows),
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
    """The sweep.json document (docs/run.md lists every key)."""
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
    return stable_floats(doc)


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


def write_sweep(
    result: SweepResult, folder: Path, timings: Mapping[str, float] | None = None
) -> list[str]:
    """Write every output of a sweep into `folder`; returns the file names, timings.json last."""
    started = time.perf_counter()
    tables = [sweep_table(result), runs_table(result)]
    for table in tables:
        (folder / table.filename).write_bytes(table.to_csv().encode())
    (folder / SWEEP_PNG).write_bytes(sweep_png(result))
    (folder / SWEEP_JSON).write_bytes(json_text(sweep_document(result, tables)).encode())
    (folder / REPORT).write_bytes(sweep_markdown(result).encode())
    stages: dict[str, Any] = {f"{k}_seconds": round(v, 3) for k, v in (timings or {}).items()}
    stages["report_seconds"] = round(time.perf_counter() - started, 3)
    stages["runs"] = [
        {"point": r.point, "seed": r.seed, "seconds": round(r.seconds, 3)} for r in result.runs
    ]
    (folder / TIMINGS).write_bytes(json_text(stages).encode())
    return [SWEEP_CSV, RUNS_CSV, SWEEP_PNG, SWEEP_JSON, REPORT, TIMINGS]


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
    console.print(table)
