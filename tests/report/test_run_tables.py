"""Tests of `layersim.report.run_tables`: the fourteen tables of a run hold the figures the
reference implementation computes, their sums agree, and their cells are written by kind."""

from __future__ import annotations

import csv
import io
from pathlib import Path

import pytest

from layersim.accounting.analysis import epoch_pulls, share
from layersim.accounting.metrics import saving
from layersim.report.run_tables import (
    SAVING_COLUMNS,
    StoreRow,
    headline_table,
    later_pulls,
    pull_time_table,
    run_tables,
    sharing_table,
    sharing_top_layers_table,
)


def _rows(path: Path) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(path.read_text())))


def test_fifteen_tables_in_report_order(tiny):
    """A run has fifteen tables, the headline first, each with a distinct name."""
    names = [t.name for t in run_tables(tiny[1])]
    assert names == [
        "headline",
        "storage",
        "registry_by_epoch",
        "nodes_by_epoch",
        "node_figures",
        "transfer",
        "transfer_by_epoch",
        "pull_time",
        "lazy_pull",
        "lazy_by_epoch",
        "waste",
        "sharing",
        "sharing_top_layers",
        "containers_by_epoch",
        "anchors",
    ]


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
    assert int(rows["all_epochs", "pull"]["pulls"]) == sum(int(r["pulls"]) for r in by_epoch)
    assert rows["all_epochs", "push"]["pulls"] == ""


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
    for row in table.cells:
        flattened, layer, layer_saving = row[3], row[4], row[6]
        assert layer_saving == saving(layer, flattened)


def test_headline_pull_time_rows_in_milliseconds(tiny):
    """The headline's pull-time rows are the p95 seconds in whole milliseconds: the first
    rollout's, and the worst later epoch's."""
    _, result = tiny
    rows = {r.figure: r for r in headline_table(result).rows}
    first = rows["first rollout: pull time per node, p95"]
    assert first.unit == "milliseconds"
    assert first.layer == round(result.first_rollout.pull_seconds_p95 * 1000)
    assert first.flattened == round(result.first_rollout.flattened_pull_seconds_p95 * 1000)
    worst = rows["later epochs: worst pull time per node, p95"]
    later = [r for r in result.transfers[1:] if r.pulls > 0]
    assert worst.layer == round(max(r.pull_seconds_p95 for r in later) * 1000)


def test_saving_columns_leave_unmeasured_cells_empty():
    """A store row whose logical or file bytes are not measured has no saving against or of
    them; the savings it has are `metrics.saving`'s."""
    row = StoreRow("node_max", "disk bytes", False, None, None, 1000, 250, None)
    cells = {c.name: c.cell(row) for c in SAVING_COLUMNS}
    assert cells == {
        "layer_saving_vs_flattened": 0.75,
        "file_saving_vs_flattened": None,
        "layer_saving_vs_logical": None,
        "file_saving_vs_logical": None,
        "file_saving_vs_layer": None,
        "layer_dedup_ratio": None,
        "file_dedup_ratio": None,
    }


def test_pull_time_table_reads_epoch_pulls(tiny):
    """pull_time's later-epoch cells are `analysis.epoch_pulls` of the epochs after the first
    rollout, for layered and for flattened images."""
    _, result = tiny
    later = result.transfers[1:]
    expected = epoch_pulls(
        [r.pulls for r in later],
        [r.flattened_pull_seconds_p95 for r in later],
        [r.flattened_pull_seconds_max for r in later],
        [r.flattened_startup_pull_share for r in later],
    )
    assert later_pulls(result, flattened=True) == expected
    table = pull_time_table(result)
    flattened = dict(zip([c.name for c in table.columns], table.cells[1], strict=True))
    assert flattened["images"] == "flattened"
    assert flattened["later_epochs_with_pulls"] == expected.epochs
    assert flattened["later_worst_seconds_p95"] == expected.worst_seconds_p95
    assert flattened["later_startup_pull_share"] == expected.startup_pull_share


def test_sharing_shares(tiny):
    """The sharing tables' shares are each bucket's (or layer's) part of all layers and of all
    saved bytes, and the buckets' saved bytes sum to the total."""
    _, result = tiny
    sh = result.sharing
    table = sharing_table(result)
    assert table.column("share_of_saved") == [
        share(b.saved_bytes, sh.saved_bytes) for b in sh.buckets
    ]
    assert table.column("share_of_layers") == [share(b.layers, sh.layers) for b in sh.buckets]
    assert sum(table.column("saved_compressed_bytes")) == sh.saved_bytes
    top = sharing_top_layers_table(result)
    assert top.column("rank") == list(range(1, len(sh.top_layers) + 1))
    assert top.column("layer_id") == [x.layer for x in sh.top_layers]


def test_lazy_csv_sums_and_reads_the_lazy_rows(tiny, folder):
    """lazy_pull.csv's first-rollout rows are lazy_by_epoch.csv's epoch 0 (cold, warm); its
    all-epochs row sums the per-epoch warm columns and takes the worst p95; every lazy
    start-up saving is `1 - lazy start-up / full`."""
    _, result = tiny
    rows = {(r["scope"], r["pull"]): r for r in _rows(folder / "lazy_pull.csv")}
    by_epoch = _rows(folder / "lazy_by_epoch.csv")
    assert len(by_epoch) == len(result.transfers)
    first = by_epoch[0]
    for pull in ("cold", "warm"):
        row = rows["first_rollout", pull]
        assert row["full_compressed_bytes"] == first[f"full_{pull}_compressed_bytes"]
        assert row["lazy_startup_requests"] == first[f"lazy_{pull}_startup_requests"]
        assert row["lazy_seconds_p95"] == first[f"lazy_{pull}_seconds_p95"]
    every = rows["all_epochs", "warm"]
    for total, column in (
        ("full_compressed_bytes", "full_warm_compressed_bytes"),
        ("lazy_startup_compressed_bytes", "lazy_warm_startup_compressed_bytes"),
        ("lazy_moved_compressed_bytes", "lazy_warm_moved_compressed_bytes"),
        ("full_requests", "full_warm_requests"),
        ("lazy_requests", "lazy_warm_requests"),
        ("pulls", "pulls"),
    ):
        assert int(every[total]) == sum(int(r[column]) for r in by_epoch), total
    assert float(every["lazy_seconds_p95"]) == max(
        float(r["lazy_warm_seconds_p95"]) for r in by_epoch
    )
    for row in rows.values():
        expected = saving(
            int(row["lazy_startup_compressed_bytes"]), int(row["full_compressed_bytes"])
        )
        assert float(row["lazy_startup_saving"]) == pytest.approx(expected, abs=1e-6)
