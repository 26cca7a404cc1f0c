"""Tests of `layersim.report.run` (and `report.tables`, `report.plots`): the run folder's tables,
summary.json and report.md are byte-identical for the same config and seed, change with the
seed, hold the figures the reference implementation computes, and link every file they name."""

from __future__ import annotations

import csv
import io
import json
import re
from pathlib import Path

import numpy as np
import pytest

from layersim.accounting import reference
from layersim.accounting.arrays import to_population
from layersim.accounting.metrics import saving
from layersim.config import load_config
from layersim.fleet import generate
from layersim.report import json_text
from layersim.report.run import (
    REPORT,
    SUMMARY,
    TIMINGS,
    headline_table,
    run_tables,
    stable_floats,
    summary_document,
    write_run,
)
from layersim.report.tables import Column, Table, csv_cell, human_bytes
from layersim.simulation import simulate
from layersim.simulation.state import state_arrays

# The `small` scenario cut down (few files, few epochs) so that a run and the reference take
# about a second.
TINY = [
    "time.epochs=5",
    "bases.file_scale=0.05",
    "bases.release_every=2",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "apps.count=8",
    "apps.code_files=5.0",
    "apps.packages_per_layer=3.0",
    "apps.waste_probability=0.5",
    "apps.rebuild_every=1.5",
    "registry.retention=2",
    "nodes.count=3",
]


def _run(seed: int = 42):
    config = load_config(scenario="small", overrides=[*TINY, f"seed={seed}"])
    fleet = generate(config, np.random.default_rng(config.seed))
    return fleet, simulate(fleet)


@pytest.fixture(scope="module")
def tiny():
    return _run()


@pytest.fixture(scope="module")
def expected(tiny):
    """The reference implementation's figures for the state at the end of the last epoch."""
    fleet, _ = tiny
    population = to_population(state_arrays(fleet, fleet.epochs - 1))
    return population, reference.evaluate(population)


@pytest.fixture(scope="module")
def folder(tiny, tmp_path_factory) -> Path:
    out = tmp_path_factory.mktemp("run")
    write_run(tiny[1], out, {"generate": 0.1, "simulate": 0.2})
    return out


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_same_seed_gives_identical_files(tiny, folder, tmp_path):
    """A second run of the same config and seed writes byte-identical tables, summary.json,
    report.md and plots; only timings.json may differ."""
    _, result = _run()
    names = write_run(result, tmp_path, {"generate": 9.0})
    assert names[-1] == TIMINGS
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        if name == TIMINGS:
            continue
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name


def test_other_seed_gives_other_figures(folder):
    """Another seed gives other tables and another summary."""
    _, result = _run(seed=7)
    tables = {t.filename: t for t in run_tables(result)}
    assert tables["storage.csv"].to_csv() != (folder / "storage.csv").read_text()
    assert (
        tables["transfer_by_epoch.csv"].to_csv() != (folder / "transfer_by_epoch.csv").read_text()
    )
    summary = summary_document(result, list(tables.values()), [])
    assert summary["seed"] == 7
    assert json_text(summary) != (folder / SUMMARY).read_text()


def test_timings_apart_from_figures(folder):
    """Wall times are in timings.json only, never in summary.json."""
    timings = json.loads((folder / TIMINGS).read_text())
    assert set(timings) == {"generate_seconds", "simulate_seconds", "report_seconds"}
    assert "seconds" not in json.dumps(json.loads((folder / SUMMARY).read_text())["counts"])
    assert "timings" not in (folder / SUMMARY).read_text()


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
        "transfers",
        "waste",
        "sharing",
        "containers",
        "anchors",
        "tables",
        "columns",
        "plots",
    ]
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
    }
    assert doc["registry"]["savings"]["vs_flattened"]["layer"] == round(
        saving(reg.layer_bytes, reg.flattened_bytes), 9
    )
    assert set(doc["nodes"]["savings"]) == {"vs_flattened", "vs_logical", "file_vs_layer"}
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
        "registry_layer_saving_vs_flattened",
        "nodes_layer_saving_vs_flattened",
        "registry_file_saving_vs_layer",
        "nodes_file_saving_vs_layer",
        "pull_layer_saving_vs_flattened",
    }
    for name, table in doc["tables"].items():
        assert (folder / table["file"]).exists(), name
        assert doc["columns"][name]


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


def test_pngs_are_pngs(folder):
    for path in folder.glob("*.png"):
        assert path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert b"Software" not in path.read_bytes()[:200]


def test_storage_csv_equals_reference(expected, folder):
    """The final registry and node figures of storage.csv equal what the reference
    implementation computes on the population the last epoch stands for."""
    population, expected = expected
    rows = {r["store"]: r for r in _rows(folder / "storage.csv")}
    registry = expected.registry_stored_bytes
    for strategy in ("logical", "flattened", "layer", "file"):
        assert int(rows["registry"][f"{strategy}_bytes"]) == getattr(registry, strategy)
        total = sum(getattr(n.stored_bytes, strategy) for n in expected.nodes)
        assert int(rows["nodes_total"][f"{strategy}_bytes"]) == total
    assert int(rows["registry"]["images"]) == len(population.push_order)
    layer = sorted(n.stored_bytes.layer for n in expected.nodes)
    flattened = sorted(n.stored_bytes.flattened for n in expected.nodes)
    assert int(rows["node_max"]["layer_bytes"]) == layer[-1]
    assert int(rows["node_max"]["flattened_bytes"]) == flattened[-1]
    assert float(rows["registry"]["layer_saving_vs_flattened"]) == pytest.approx(
        saving(registry.layer, registry.flattened), abs=1e-6
    )
    # the last row of the per-epoch tables is the same state
    last = _rows(folder / "registry_by_epoch.csv")[-1]
    assert int(last["layer_compressed_bytes"]) == registry.layer
    nodes_last = _rows(folder / "nodes_by_epoch.csv")[-1]
    assert int(nodes_last["file_disk_bytes"]) == sum(n.stored_bytes.file for n in expected.nodes)


def test_containers_csv_equals_reference(expected, folder):
    """The final containers row equals the reference's writable bytes by state."""
    _, expected = expected
    usage = [c for n in expected.nodes for c in n.containers]
    last = _rows(folder / "containers_by_epoch.csv")[-1]
    assert int(last["running"]) == sum(c.state == "running" for c in usage)
    assert int(last["stopped_writable_disk_bytes"]) == sum(
        c.writable_bytes for c in usage if c.state == "stopped"
    )


def test_transfer_csv_sums(tiny, folder):
    """transfer.csv's all-epochs rows are the sums of the per-epoch rows, and the first
    rollout row is epoch 0."""
    _, result = tiny
    rows = {(r["scope"], r["direction"]): r for r in _rows(folder / "transfer.csv")}
    by_epoch = _rows(folder / "transfer_by_epoch.csv")
    assert int(rows["all_epochs", "pull"]["layered_compressed_bytes"]) == sum(
        int(r["pull_layered_compressed_bytes"]) for r in by_epoch
    )
    assert int(rows["all_epochs", "push"]["flattened_compressed_bytes"]) == sum(
        int(r["push_flattened_compressed_bytes"]) for r in by_epoch
    )
    assert int(rows["first_rollout", "pull"]["layered_compressed_bytes"]) == int(
        by_epoch[0]["pull_layered_compressed_bytes"]
    )
    assert int(rows["later_epochs", "pull"]["pulls"]) == result.steady_state.pulls


def test_csv_cells_are_fixed_format(tiny):
    """Integers are written as digits, fractions with 6 decimals, seconds with 3."""
    for table in run_tables(tiny[1]):
        text = table.to_csv()
        header, *lines = text.splitlines()
        assert header.split(",") == [c.name for c in table.columns]
        for row in csv.reader(lines):
            for column, cell in zip(table.columns, row, strict=True):
                if cell == "":
                    continue
                if column.kind == "int":
                    assert cell.lstrip("-").isdigit(), (table.name, column.name, cell)
                elif column.kind == "fraction":
                    assert len(cell.split(".")[1]) == 6, (table.name, column.name, cell)
                elif column.kind == "seconds":
                    assert len(cell.split(".")[1]) == 3, (table.name, column.name, cell)


def test_headline_rows(tiny):
    """The headline compares flattened and layer for storage and transfers; its savings are
    `1 - layer / flattened`."""
    _, result = tiny
    table = headline_table(result)
    figures = table.column("figure")
    assert figures[0] == "registry: stored at the end"
    for row in table.rows:
        flattened, layer, layer_saving = row[3], row[4], row[6]
        assert layer_saving == saving(layer, flattened)


def test_cell_formatting():
    """csv_cell writes by kind; human_bytes uses decimal units."""
    assert csv_cell(Column("a_bytes", "int", "x"), 12) == "12"
    assert csv_cell(Column("s", "fraction", "x"), 0.5) == "0.500000"
    assert csv_cell(Column("t", "seconds", "x"), 1.23456) == "1.235"
    assert csv_cell(Column("r", "ratio", "x"), 2) == "2.0000"
    assert csv_cell(Column("b", "bool", "x"), True) == "true"
    assert csv_cell(Column("n", "int", "x"), None) == ""
    with pytest.raises(ValueError):
        csv_cell(Column("n", "int", "x"), 1.5)
    assert human_bytes(999) == "999 B"
    assert human_bytes(881_184_738_434) == "881.18 GB"
    assert stable_floats({"a": [0.1 + 0.2]}) == {"a": [0.3]}


def test_table_rejects_ragged_rows():
    with pytest.raises(ValueError):
        Table("t", "T", "m", (Column("a", "int", "x"),), ((1, 2),))


def test_docs_name_every_file(folder):
    """docs/run.md describes every file a run writes."""
    docs = (Path(__file__).resolve().parents[2] / "docs" / "run.md").read_text()
    for path in folder.iterdir():
        assert f"`{path.name}`" in docs, path.name
