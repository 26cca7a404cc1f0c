"""Tables of figures as byte-stable CSV, as Markdown and as rich tables: the one place cells
are formatted.

A `Table` is a name (its file is `<name>.csv`), a title, one sentence saying what it shows and in
which unit, its `Column`s and its rows. A row is any object (a result record such as a
`TransferEpoch`, or a small row value a report declares); each column is declared once with its
name, its kind, its unit and the function that computes its cell from a row, so a column's
header, unit and value live in one place and the CSV, the Markdown and the console all read
the same declaration. Every column's kind fixes how a cell is written, so that the same figures
always give the same bytes:

- `int`: an exact integer (byte counts, counts), written as digits;
- `fraction`: a share or a saving, 6 decimals (`0.951234`);
- `ratio`: a dedup or compression ratio, 4 decimals;
- `seconds`: a time, 3 decimals;
- `decimal`: any other real figure, 4 decimals;
- `bool`: `true` / `false`;
- `text`: as is.

`None` is an empty cell (a figure that does not apply to the row). The CSV has one header row of
column names, which carry the unit (`_compressed_bytes`, `_disk_bytes`, `_file_bytes`,
`_seconds`); `Column.unit` repeats it for the docs and the Markdown header.

Markdown and the console show byte counts in decimal units (`881.18 GB`) and fractions as
percentages; the CSV keeps the exact values. A cell function reads figures; it computes none
(`layersim.accounting.metrics` and `layersim.accounting.analysis` define them).
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from rich import box
from rich.console import Console
from rich.segment import Segment
from rich.table import Table as RichTable
from rich.text import Text

# The units of columns and document figures, in words.
TAR, COMPRESSED, DISK, FILE = "tar bytes", "compressed bytes", "disk bytes", "file bytes"
COUNT, FRACTION, RATIO, SECONDS = "count", "fraction", "ratio", "seconds"
TEXT = "text"
SEE_UNIT = "see the row's unit"

KINDS = ("int", "fraction", "ratio", "seconds", "decimal", "bool", "text")
_DECIMALS = {"fraction": 6, "ratio": 4, "seconds": 3, "decimal": 4}


@dataclass(frozen=True)
class Column:
    """A column: its CSV name, its kind (how cells are written), its unit in words, and the
    function that reads its cell from a row."""

    name: str
    kind: str
    unit: str
    cell: Callable[[Any], Any]

    def __post_init__(self) -> None:
        if self.kind not in KINDS:
            raise ValueError(f"unknown column kind {self.kind!r}")

    # One constructor per common kind, so that a table's declaration reads as a list of
    # (name, [unit,] cell).

    @classmethod
    def count(cls, name: str, cell: Callable[[Any], Any], unit: str = COUNT) -> Column:
        """An integer count (`unit` says of what)."""
        return cls(name, "int", unit, cell)

    @classmethod
    def bytes(cls, name: str, unit: str, cell: Callable[[Any], Any]) -> Column:
        """An exact byte count in `unit` (compressed, disk, file or tar bytes)."""
        return cls(name, "int", unit, cell)

    @classmethod
    def text(cls, name: str, cell: Callable[[Any], Any], unit: str = TEXT) -> Column:
        return cls(name, "text", unit, cell)

    @classmethod
    def fraction(cls, name: str, cell: Callable[[Any], Any], unit: str = FRACTION) -> Column:
        """A share or a saving."""
        return cls(name, "fraction", unit, cell)

    @classmethod
    def ratio(cls, name: str, cell: Callable[[Any], Any]) -> Column:
        return cls(name, "ratio", RATIO, cell)

    @classmethod
    def seconds(cls, name: str, cell: Callable[[Any], Any]) -> Column:
        return cls(name, "seconds", SECONDS, cell)

    @classmethod
    def flag(cls, name: str, unit: str, cell: Callable[[Any], Any]) -> Column:
        """A yes/no cell; `unit` says what true means."""
        return cls(name, "bool", unit, cell)

    @property
    def is_bytes(self) -> bool:
        """An integer column of byte counts: `bytes` is a word of its name."""
        return self.kind == "int" and "bytes" in self.name.split("_")

    @property
    def unit_per_row(self) -> bool:
        """The row's `unit` cell says what this column counts (`unit` is `SEE_UNIT`)."""
        return self.unit == SEE_UNIT

    def in_row(self, unit: Any) -> Column:
        """The column as a row whose `unit` cell is `unit` reads it: a column whose unit is the
        row's writes a row in `seconds` as seconds (3 decimals), any other row as declared."""
        if self.unit_per_row and unit == SECONDS:
            return Column(self.name, "seconds", SECONDS, self.cell)
        return self

    @property
    def left_aligned(self) -> bool:
        """Words (text, yes/no) read from the left; figures line up on the right."""
        return self.kind in ("text", "bool")


@dataclass(frozen=True)
class Table:
    """A named table of figures (`name`.csv) with a title and what it means: its rows, and the
    columns that compute each row's cells."""

    name: str
    title: str
    meaning: str
    columns: tuple[Column, ...]
    rows: tuple[Any, ...]

    def __post_init__(self) -> None:
        names = [c.name for c in self.columns]
        if len(set(names)) != len(names):
            raise ValueError(f"{self.name}: a column name is declared twice: {names}")

    @property
    def filename(self) -> str:
        return f"{self.name}.csv"

    @property
    def cells(self) -> tuple[tuple[Any, ...], ...]:
        """Every row's cells, in column order: what each column reads from the row."""
        return tuple(tuple(c.cell(row) for c in self.columns) for row in self.rows)

    def column(self, name: str) -> list[Any]:
        """The values of one column."""
        column = next(c for c in self.columns if c.name == name)
        return [column.cell(row) for row in self.rows]

    def to_csv(self) -> str:
        """The table as CSV text: a header row, then one line per row, `\\n` line ends."""
        buffer = io.StringIO()
        writer = csv.writer(buffer, lineterminator="\n")
        writer.writerow([c.name for c in self.columns])
        for columns, cells in zip(self._row_columns(), self.cells, strict=True):
            writer.writerow([csv_cell(c, v) for c, v in zip(columns, cells, strict=True)])
        return buffer.getvalue()

    def _row_columns(self) -> list[tuple[Column, ...]]:
        """Per row, the columns as that row reads them (`Column.in_row` of its `unit` cell)."""
        names = [c.name for c in self.columns]
        if "unit" not in names:
            return [self.columns] * len(self.rows)
        units = self.column("unit")
        return [tuple(c.in_row(unit) for c in self.columns) for unit in units]

    def to_markdown(self) -> str:
        """The table as a Markdown table (human units; text cells escaped)."""
        header = [markdown_header(c) for c in self.columns]
        align = ["---" if c.left_aligned else "---:" for c in self.columns]
        lines = ["| " + " | ".join(header) + " |", "|" + "|".join(align) + "|"]
        for cells in self.display_rows():
            lines.append("| " + " | ".join(cells) + " |")
        return "\n".join(lines) + "\n"

    def to_rich(self) -> RichTable:
        """The table for the console, with the cells of the Markdown table (names shown as
        written, never read as markup; no cell elided: `console_tables` lays it out so that
        no word is split)."""
        rich = RichTable(title=self.title, title_justify="left")
        for column in self.columns:
            rich.add_column(
                column.name.replace("_", " "),
                justify="left" if column.left_aligned else "right",
                overflow="fold",
            )
        for cells in self.display_rows():
            rich.add_row(*(Text(cell) for cell in cells))
        return rich

    def display_rows(self) -> list[list[str]]:
        """Every row's cells for people (Markdown, the console): an integer cell is a byte
        count, shown in decimal units, if `bytes` is a word of its column name, or its
        column's unit is the row's and the row's `unit` cell names bytes."""
        names = [c.name for c in self.columns]
        rows = []
        for columns, cells in zip(self._row_columns(), self.cells, strict=True):
            unit = cells[names.index("unit")] if "unit" in names else None
            row_bytes = isinstance(unit, str) and unit.endswith("bytes")
            rows.append(
                [
                    human_bytes(int(v))
                    if v is not None and c.kind == "int" and c.unit_per_row and row_bytes
                    else markdown_cell(c, v)
                    for c, v in zip(columns, cells, strict=True)
                ]
            )
        return rows


def csv_cell(column: Column, value: Any) -> str:
    """One CSV cell, formatted by the column's kind (module docstring)."""
    if value is None:
        return ""
    kind = column.kind
    if kind == "int":
        if isinstance(value, bool) or int(value) != value:
            raise ValueError(f"{column.name}: not an integer: {value!r}")
        return str(int(value))
    if kind == "bool":
        return "true" if value else "false"
    if kind == "text":
        return str(value)
    return f"{float(value):.{_DECIMALS[kind]}f}"


def human_bytes(n: int) -> str:
    """A byte count in decimal units with 2 decimals (`881.18 GB`); below 1 kB, exact."""
    value = float(n)
    if abs(value) < 1000:
        return f"{int(n)} B"
    for unit in ("kB", "MB", "GB", "TB", "PB"):
        value /= 1000
        if abs(value) < 1000 or unit == "PB":
            return f"{value:,.2f} {unit}"
    raise AssertionError("unreachable")


def percent(fraction: float) -> str:
    """A fraction as a percentage with one decimal (`95.1%`)."""
    return f"{fraction * 100:.1f}%"


def _escape(text: str) -> str:
    return text.replace("|", "\\|").replace("\n", " ")


def markdown_header(column: Column) -> str:
    return _escape(column.name)


def markdown_cell(column: Column, value: Any) -> str:
    """One Markdown cell: bytes in decimal units, fractions as percentages, counts with thousands
    separators, the rest as in the CSV."""
    if value is None:
        return ""
    if column.is_bytes:
        return human_bytes(int(value))
    if column.kind == "int":
        return f"{int(value):,}"
    if column.kind == "bool":
        return "yes" if value else "no"
    if column.kind == "fraction":
        return percent(float(value))
    if column.kind == "ratio":
        return f"{float(value):.2f}x"
    if column.kind == "text":
        return _escape(str(value))
    return csv_cell(column, value)


def units_of(tables: Sequence[Table]) -> dict[str, dict[str, str]]:
    """`{table name: {column name: unit}}` for the docs and summary.json."""
    return {t.name: {c.name: c.unit for c in t.columns} for t in tables}


# --------------------------------------------------------------------------- the console


def _plain(cell: Any) -> str:
    return cell.plain if isinstance(cell, Text) else str(cell)


def _longest(texts: Sequence[Any], unit: str) -> int:
    """The longest word (`unit` "word") or line (`unit` "line") of `texts`."""
    split = str.split if unit == "word" else str.splitlines
    return max((len(part) for text in texts for part in split(_plain(text))), default=1)


def _compact(table: RichTable, columns: Sequence[Any], cells: Sequence[list[Any]], rows: int):
    """A copy of `table` with light borders (a line between columns, a rule under the header,
    no frame) and only `columns` (with their `cells`), the first `rows` rows."""
    out = RichTable(
        title=table.title,
        title_justify=table.title_justify,
        box=box.MINIMAL,
        show_edge=False,
        pad_edge=False,
    )
    for column in columns:
        out.add_column(column.header, justify=column.justify, overflow="fold")
    for row in range(rows):
        out.add_row(*(column_cells[row] for column_cells in cells))
    return out


def _frame_width(table: RichTable, widths: Sequence[int]) -> int:
    """The width `table` takes on a console when its columns are `widths` wide: the widths plus
    its borders and padding."""
    for column, column_width in zip(table.columns, widths, strict=True):
        column.width = column_width
    wide = Console(width=10_000)
    lines = wide.render_lines(table, wide.options, pad=False)
    return max(Segment.get_line_length(line) for line in lines)


def console_tables(table: RichTable, width: int, keys: int = 1) -> list[RichTable]:
    """`table` laid out for a console `width` columns wide so that no word of a header or a
    cell is ever split (`flattene` / `d`): light borders; every column at least as wide as its
    longest word, so that a cell wraps between words only; the room left given first to the
    columns that need least to hold their longest cell on one line (figures stay on one line,
    long names wrap), then to headers; and when the columns cannot all stand side by side at
    their longest words, folded into several tables of the same rows, each repeating the first
    `keys` columns (the rows' names) and taking as many of the others as fit. Only a single
    word wider than the console is still split."""
    columns = table.columns
    cells = [list(c.cells) for c in columns]
    words = [_longest([c.header, *cells[i]], "word") for i, c in enumerate(columns)]
    lines = [max(_longest(cells[i], "line"), words[i]) for i in range(len(columns))]
    headers = [max(_longest([c.header], "line"), lines[i]) for i, c in enumerate(columns)]

    def part(indices: list[int], rows: int) -> RichTable:
        return _compact(table, [columns[i] for i in indices], [cells[i] for i in indices], rows)

    head = list(range(min(keys, len(columns))))
    groups: list[list[int]] = [[]]
    for i in range(len(head), len(columns)):
        trial = head + groups[-1] + [i]
        fits = _frame_width(part(trial, 0), [words[j] for j in trial]) <= width
        if groups[-1] and not fits:
            groups.append([])
        groups[-1].append(i)
    tables = []
    for n, group in enumerate(groups, 1):
        indices = head + group
        out = part(indices, table.row_count)
        widths = [words[i] for i in indices]
        spare = width - _frame_width(part(indices, 0), widths)
        for wanted in (lines, headers):
            for k in sorted(range(len(indices)), key=lambda k: wanted[indices[k]] - widths[k]):
                grow = max(0, min(spare, wanted[indices[k]] - widths[k]))
                widths[k] += grow
                spare -= grow
        if len(groups) > 1:
            out.title = f"{table.title or ''} ({n} of {len(groups)})".strip()
        # room left for the title to stand on one line above the columns, if it can
        title = len(_plain(out.title or ""))
        widths[-1] += max(0, min(spare, title - (width - spare)))
        for column, column_width in zip(out.columns, widths, strict=True):
            column.width = column_width
        tables.append(out)
    return tables


def print_tables(console: Console, table: RichTable, keys: int = 1) -> None:
    """Print `table` on `console` as `console_tables` lays it out at the console's width."""
    for part in console_tables(table, console.width, keys):
        console.print(part)
