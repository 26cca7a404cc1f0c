"""Tests of `layersim.report.tables`: a column's declaration (name, kind, unit, cell) gives the
CSV, Markdown and console cells of every row, byte for byte; cells are written by kind; byte
counts and fractions are shown in human units."""

from __future__ import annotations

from dataclasses import dataclass

import pytest
from rich.console import Console

from layersim.report.tables import (
    COMPRESSED,
    SEE_UNIT,
    Column,
    Table,
    csv_cell,
    human_bytes,
    markdown_cell,
    percent,
    units_of,
)


@dataclass(frozen=True)
class Epoch:
    epoch: int
    pushed_bytes: int
    saving: float | None
    seconds: float
    estimated: bool
    note: str


ROWS = (
    Epoch(0, 881_184_738_434, 0.951234449, 1.23456, False, "first | rollout"),
    Epoch(1, 999, None, 0.5, True, "later"),
)


def small_table() -> Table:
    return Table(
        name="pushes",
        title="Pushes",
        meaning="What each epoch pushed.",
        columns=(
            Column.count("epoch", lambda e: e.epoch),
            Column.bytes("pushed_compressed_bytes", COMPRESSED, lambda e: e.pushed_bytes),
            Column.fraction("saving", lambda e: e.saving),
            Column.seconds("push_seconds", lambda e: e.seconds),
            Column.flag("estimated", "true if estimated", lambda e: e.estimated),
            Column.text("note", lambda e: e.note),
        ),
        rows=ROWS,
    )


def test_csv_is_exact():
    """The CSV is the header of column names, then each row's cells by kind: integers as
    digits, fractions with 6 decimals, seconds with 3, true/false, text as is (quoted by the
    csv module only when needed), `None` empty; `\\n` line ends."""
    assert small_table().to_csv() == (
        "epoch,pushed_compressed_bytes,saving,push_seconds,estimated,note\n"
        "0,881184738434,0.951234,1.235,false,first | rollout\n"
        "1,999,,0.500,true,later\n"
    )


def test_markdown_is_exact():
    """Markdown shows byte counts in decimal units, fractions as percentages, yes/no, text
    escaped and left-aligned, figures right-aligned."""
    assert small_table().to_markdown() == (
        "| epoch | pushed_compressed_bytes | saving | push_seconds | estimated | note |\n"
        "|---:|---:|---:|---:|---|---|\n"
        "| 0 | 881.18 GB | 95.1% | 1.235 | no | first \\| rollout |\n"
        "| 1 | 999 B |  | 0.500 | yes | later |\n"
    )


def test_cells_read_each_row_through_its_columns():
    """`cells` and `column` are what each column's function reads from the rows."""
    table = small_table()
    assert table.cells[1] == (1, 999, None, 0.5, True, "later")
    assert table.column("pushed_compressed_bytes") == [881_184_738_434, 999]


def test_rich_table_shows_the_markdown_cells():
    """The console table has the title, the column names with spaces, and the cells of the
    Markdown table, never read as markup."""
    table = Table(
        "t",
        "Title",
        "m",
        (Column.text("name_of_it", lambda r: r), Column.bytes("b_bytes", COMPRESSED, len)),
        ("[bold]x", "yy"),
    )
    console = Console(record=True, width=80)
    console.print(table.to_rich())
    text = console.export_text()
    assert text.startswith("Title")
    assert "name of it" in text and "b bytes" in text
    assert "[bold]x" in text and "7 B" in text and "2 B" in text


def test_unit_per_row():
    """An integer column whose unit is the row's shows bytes in decimal units when the row's
    `unit` cell names bytes, else as a count."""
    table = Table(
        "t",
        "T",
        "m",
        (
            Column.text("unit", lambda r: r[0]),
            Column("value", "int", SEE_UNIT, lambda r: r[1]),
        ),
        (("disk bytes", 1_500_000), ("milliseconds", 1_500_000)),
    )
    assert table.display_rows() == [["disk bytes", "1.50 MB"], ["milliseconds", "1,500,000"]]


def test_cell_formatting():
    """csv_cell writes by kind; human_bytes uses decimal units."""
    cell = lambda row: row  # noqa: E731
    assert csv_cell(Column("a_bytes", "int", "x", cell), 12) == "12"
    assert csv_cell(Column("s", "fraction", "x", cell), 0.5) == "0.500000"
    assert csv_cell(Column("t", "seconds", "x", cell), 1.23456) == "1.235"
    assert csv_cell(Column("r", "ratio", "x", cell), 2) == "2.0000"
    assert csv_cell(Column("d", "decimal", "x", cell), 1 / 3) == "0.3333"
    assert csv_cell(Column("b", "bool", "x", cell), True) == "true"
    assert csv_cell(Column("n", "int", "x", cell), None) == ""
    with pytest.raises(ValueError):
        csv_cell(Column("n", "int", "x", cell), 1.5)
    with pytest.raises(ValueError):
        csv_cell(Column("n", "int", "x", cell), True)
    assert human_bytes(999) == "999 B"
    assert human_bytes(881_184_738_434) == "881.18 GB"


def test_human_units():
    """human_bytes steps by 1000 with 2 decimals up to PB; percent has one decimal; Markdown
    counts have thousands separators and ratios an `x`."""
    assert human_bytes(0) == "0 B"
    assert human_bytes(1000) == "1.00 kB"
    assert human_bytes(1_234_567) == "1.23 MB"
    assert human_bytes(5 * 10**18) == "5,000.00 PB"
    assert percent(0.951234) == "95.1%"
    assert percent(0.0) == "0.0%"
    assert percent(1.0) == "100.0%"
    count = Column.count("n", lambda r: r)
    assert markdown_cell(count, 1234567) == "1,234,567"
    assert markdown_cell(Column.ratio("r", lambda r: r), 7.25) == "7.25x"


def test_constructors_fix_kind_and_unit():
    """Each constructor fixes the kind, and the unit where it is implied."""
    cell = lambda row: row  # noqa: E731
    assert (Column.count("n", cell).kind, Column.count("n", cell).unit) == ("int", "count")
    assert Column.bytes("b", COMPRESSED, cell).kind == "int"
    assert (Column.fraction("f", cell).kind, Column.fraction("f", cell).unit) == (
        "fraction",
        "fraction",
    )
    assert (Column.ratio("r", cell).kind, Column.seconds("s", cell).unit) == ("ratio", "seconds")
    assert Column.flag("e", "true if so", cell).kind == "bool"
    assert Column.text("t", cell, unit="count range").unit == "count range"


def test_table_rejects_a_column_declared_twice():
    """Two columns of one name would make an ambiguous CSV header: refused. So is a kind
    that is not one of the kinds."""
    with pytest.raises(ValueError):
        Table("t", "T", "m", (Column.count("a", len), Column.count("a", len)), ())
    with pytest.raises(ValueError):
        Column("a", "float", "x", len)


def test_units_of():
    """units_of maps each table to its columns' units."""
    assert units_of([small_table()]) == {
        "pushes": {
            "epoch": "count",
            "pushed_compressed_bytes": "compressed bytes",
            "saving": "fraction",
            "push_seconds": "seconds",
            "estimated": "true if estimated",
            "note": "text",
        }
    }
