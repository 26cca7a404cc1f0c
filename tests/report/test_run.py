"""Tests of `layersim.report.run`: summary.json holds the config, the counts and the figures
the result holds, another seed gives another summary, report.md links every file it names,
and the console headline is the headline table."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from rich.console import Console

from layersim.accounting.metrics import saving
from layersim.report.documents import json_text, stable_floats
from layersim.report.run import REPORT, SUMMARY, render_headline, summary_document
from layersim.report.run_tables import headline_table, run_tables
from tests.report.tiny import tiny_run


def test_other_seed_gives_other_figures(folder):
    """Another seed gives other tables and another summary."""
    _, result = tiny_run(seed=7)
    tables = {t.filename: t for t in run_tables(result)}
    assert tables["storage.csv"].to_csv() != (folder / "storage.csv").read_text()
    assert (
        tables["transfer_by_epoch.csv"].to_csv() != (folder / "transfer_by_epoch.csv").read_text()
    )
    summary = summary_document(result, list(tables.values()), [])
    assert summary["seed"] == 7
    assert json_text(stable_floats(summary)) != (folder / SUMMARY).read_text()


def test_summary_keys(tiny, folder):
    """summary.json holds the config and seed, the version, the counts and every headline
    figure, with savings computed by `metrics.saving`."""
    _, result = tiny
    doc = json.loads((folder / SUMMARY).read_text())
    assert list(doc) == [
        "layersim_version",
        "scenario",
        "description",
        "seed",
        "config",
        "counts",
        "headline",
        "registry",
        "nodes",
        "node_figures",
        "transfers",
        "lazy",
        "waste",
        "sharing",
        "containers",
        "anchors",
        "tables",
        "columns",
        "plots",
    ]
    lazy = result.lazy_all_epochs
    assert doc["lazy"]["all_epochs"]["lazy_startup_bytes"] == lazy.lazy_startup_bytes
    assert doc["headline"]["lazy_startup_bytes_saving"] == pytest.approx(
        lazy.lazy_startup_bytes_saving
    )
    assert doc["lazy"]["first_rollout"]["full_cold_bytes"] == result.lazy[0].full_cold_bytes
    assert doc["config"]["lazy"]["read_fraction"] == 0.064
    assert doc["seed"] == doc["config"]["seed"] == 42
    assert doc["config"]["apps"]["count"] == 8
    for key in ("images", "layers", "file_entries", "nodes", "containers"):
        assert doc["counts"][key] == getattr(result.fleet, key)
    reg = result.registry[-1]
    assert doc["registry"]["stored_bytes"] == {
        "logical": reg.logical_bytes,
        "flattened": reg.flattened_bytes,
        "layer": reg.layer_bytes,
        "file": reg.file_bytes,
        "chunk_cdc": reg.chunk_cdc_bytes,
        "chunk_fixed": reg.chunk_fixed_bytes,
    }
    assert doc["registry"]["savings"]["chunk_vs_file"]["chunk_cdc"] == round(
        saving(reg.chunk_cdc_bytes, reg.file_bytes), 9
    )
    assert doc["registry"]["savings"]["vs_flattened"]["layer"] == round(
        saving(reg.layer_bytes, reg.flattened_bytes), 9
    )
    assert set(doc["nodes"]["savings"]) == {
        "vs_flattened",
        "vs_logical",
        "file_vs_layer",
        "chunk_vs_file",
    }
    assert set(doc["nodes"]["per_node"]["layer"]) == {"p50", "p95", "max"}
    first = doc["transfers"]["first_rollout"]
    assert first["pull"]["layered_bytes"] == result.first_rollout.pull_downloaded_bytes
    assert first["pull"]["flattened_bytes"] == (
        result.first_rollout.pull_flattened_downloaded_bytes
    )
    assert doc["transfers"]["all_epochs"]["pull"]["layered_bytes"] == (
        result.transfers[-1].cumulative_pull_bytes
    )
    assert doc["waste"]["shadowed_bytes"] == result.waste.shadowed_file_bytes
    assert len(doc["anchors"]) == len(result.anchors)
    assert set(doc["headline"]) == {
        "lazy_startup_bytes_saving",
        "lazy_startup_seconds_saving",
        "registry_layer_saving_vs_flattened",
        "nodes_layer_saving_vs_flattened",
        "registry_file_saving_vs_layer",
        "nodes_file_saving_vs_layer",
        "pull_layer_saving_vs_flattened",
        "registry_chunk_cdc_saving_vs_file",
        "registry_chunk_fixed_saving_vs_file",
        "nodes_chunk_cdc_saving_vs_file",
        "nodes_chunk_fixed_saving_vs_file",
    }
    for name, table in doc["tables"].items():
        assert (folder / table["file"]).exists(), name
        assert doc["columns"][name]


def test_summary_transfer_counts(tiny):
    """summary.json counts the epochs and the pulls of all of them, and the later epochs'
    pulls are the steady state's."""
    _, result = tiny
    doc = summary_document(result, [], [])
    all_epochs = doc["transfers"]["all_epochs"]
    assert all_epochs["epochs"] == len(result.transfers) == doc["counts"]["epochs"]
    assert all_epochs["pulls"] == sum(r.pulls for r in result.transfers)
    assert doc["transfers"]["later_epochs"]["pulls"] == result.steady_state.pulls
    assert doc["tables"] == {} and doc["columns"] == {} and doc["plots"] == []


def test_report_links_every_file(folder):
    """report.md embeds every PNG of the folder and links every CSV and summary.json; every
    plot listed in summary.json exists."""
    report = (folder / REPORT).read_text()
    pngs = sorted(p.name for p in folder.glob("*.png"))
    assert len(pngs) >= 4
    for name in pngs:
        assert re.search(rf"!\[[^]]*\]\({re.escape(name)}\)", report), name
    for path in folder.glob("*.csv"):
        assert f"]({path.name})" in report, path.name
    assert f"]({SUMMARY})" in report
    assert sorted(json.loads((folder / SUMMARY).read_text())["plots"]) == pngs


def test_docs_name_every_file(folder):
    """docs/run.md describes every file a run writes."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "run.md").read_text()
    for path in folder.iterdir():
        assert f"`{path.name}`" in docs, path.name


def test_render_headline_prints_the_headline_table(tiny):
    """The console headline is the headline table's title, its headers with spaces and its
    figures in human units, then where the run was written."""
    _, result = tiny
    console = Console(record=True, width=250)
    render_headline(result, console, out="runs/x")
    text = console.export_text()
    assert text.startswith("Headline: layer sharing against flattened images")
    assert "layer saving vs flattened" in text
    assert "registry: stored at the end" in text
    registry = headline_table(result).display_rows()[0]
    assert registry[1] == "compressed bytes" and registry[2].endswith("B")  # `6.04 GB`
    for cell in registry[1:]:
        assert cell in text, cell
    assert text.rstrip().endswith("wrote runs/x")
