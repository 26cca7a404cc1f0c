"""Tests of `layersim.report.sweep`: the sweep's tables, sweep.json, report.md and console
table hold the figures of the runs and their stats over seeds, each where the docs say.

The sweep is made up (`fake_sweep`): a real plan of two points and two seeds, figures chosen
so that every mean, min and max is a different number; nothing runs."""

from __future__ import annotations

import csv
import io

from rich.console import Console

from layersim.experiment.sweep import SweepResult, SweepRun, parse_param, plan_sweep
from layersim.report.sweep import (
    SHORT,
    SWEEP_PNG,
    render_sweep,
    runs_table,
    sweep_document,
    sweep_markdown,
    sweep_table,
)
from layersim.simulation.metrics import COUNTS, SAVINGS, STANDARD_METRICS

METRIC_NAMES = [metric.name for metric in SAVINGS]
# the counts the made-up runs record, in the standard order
RECORDED = ("images", "registry_layer_compressed_bytes", "nodes_layer_disk_bytes")


def fake_sweep() -> SweepResult:
    """A sweep over `apps.count` = 4, 8 with seeds 1, 2 and made-up figures (nothing runs)."""
    plan = plan_sweep([parse_param("apps.count=4,8")], [1, 2], scenario="small")
    runs = []
    for point in plan.points:
        for seed in plan.seeds:
            base = 0.5 + 0.1 * point.index + 0.01 * seed
            figures = {
                "registry_layer_saving_vs_flattened": base,
                "nodes_layer_saving_vs_flattened": base + 0.001,
                "registry_file_saving_vs_layer": base - 0.3,
                "nodes_file_saving_vs_layer": base - 0.2,
                "pull_layer_saving_vs_flattened": 1 / 3,
                "images": 10 + point.index,
                "registry_layer_compressed_bytes": 1000 * seed,
                "nodes_layer_disk_bytes": 2000 * seed,
            }
            runs.append(SweepRun(point.index, seed, figures, seconds=1.23456))
    metrics = SAVINGS + tuple(m for m in COUNTS if m.name in RECORDED)
    return SweepResult(plan=plan, metrics=metrics, runs=tuple(runs))


def _csv(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_sweep_table_rows_are_points():
    """sweep.csv has one row per point: the param's value as given, the number of seeds and
    mean, min and max over seeds of every metric (6 decimals)."""
    table = sweep_table(fake_sweep())
    assert [c.name for c in table.columns][:2] == ["apps.count", "seeds"]
    assert len(table.columns) == 2 + 3 * len(METRIC_NAMES)
    rows = _csv(table.to_csv())
    assert [(r["apps.count"], r["seeds"]) for r in rows] == [("4", "2"), ("8", "2")]
    # point 1: 0.6 + 0.01 x seed for seeds 1 and 2
    assert rows[1]["registry_layer_saving_vs_flattened_mean"] == "0.615000"
    assert rows[1]["registry_layer_saving_vs_flattened_min"] == "0.610000"
    assert rows[1]["registry_layer_saving_vs_flattened_max"] == "0.620000"
    assert table.columns[2].unit == "fraction (mean over seeds)"


def test_runs_table_rows_are_runs():
    """sweep_runs.csv has one row per point and seed with every figure of the run, each
    column with its unit: fractions, counts, compressed or disk bytes."""
    table = runs_table(fake_sweep())
    rows = _csv(table.to_csv())
    assert [(r["point"], r["apps.count"], r["seed"]) for r in rows] == [
        ("0", "4", "1"),
        ("0", "4", "2"),
        ("1", "8", "1"),
        ("1", "8", "2"),
    ]
    assert rows[3]["nodes_layer_disk_bytes"] == "4000"
    assert rows[3]["images"] == "11"
    units = {c.name: c.unit for c in table.columns}
    assert units["registry_layer_compressed_bytes"] == "compressed bytes"
    assert units["nodes_layer_disk_bytes"] == "disk bytes"
    assert units["images"] == "count"
    assert units["pull_layer_saving_vs_flattened"] == "fraction"


def test_sweep_document():
    """sweep.json names the seeds, the params and the metrics, and holds per point its params,
    its stats and its runs' figures."""
    result = fake_sweep()
    doc = sweep_document(result, [sweep_table(result), runs_table(result)])
    assert doc["seeds"] == [1, 2]
    assert doc["params"] == [{"key": "apps.count", "values": ["4", "8"]}]
    assert [m["name"] for m in doc["metrics"]] == list(METRIC_NAMES)
    point = doc["points"][1]
    assert point["params"] == {"apps.count": "8"}
    assert point["stats"]["registry_layer_saving_vs_flattened"]["min"] == 0.61
    assert [r["seed"] for r in point["runs"]] == [1, 2]
    assert list(doc["tables"]) == ["sweep", "sweep_runs"]
    assert doc["plots"] == [SWEEP_PNG]


def test_sweep_markdown_shows_mean_and_range():
    """report.md shows each point's mean saving with the lowest and highest seed's, in
    percent, and embeds the plot."""
    text = sweep_markdown(fake_sweep())
    assert "| apps.count | " + " | ".join(SHORT[n] for n in METRIC_NAMES) + " |" in text
    assert "| `8` | 61.5% (61.0% - 62.0%) |" in text
    assert f"]({SWEEP_PNG})" in text


def test_render_sweep_shows_mean_savings():
    """The console table has one row per point with its mean savings in percent."""
    console = Console(record=True, width=200)
    render_sweep(fake_sweep(), console)
    text = console.export_text()
    assert text.startswith("Savings (mean over 2 seeds)")
    row = next(line for line in text.splitlines() if line.startswith("8 "))
    assert "61.5%" in row and "33.3%" in row


def test_every_aggregated_metric_has_a_short_name():
    """The sweep's legends and headers name every aggregated standard metric, the lazy-pull
    savings included."""
    assert {m.name for m in STANDARD_METRICS if m.aggregated} == set(SHORT)
