"""Tests of the console tables at 80 and 100 columns (`report.tables.console_tables`, used by
every `render_*`): no word of a header or a cell is split across lines (`flattene` / `d`), no
line is wider than the console, and a table too wide to stand at its longest words is folded
into parts that repeat the rows' names.

A split word is found without knowing the table: the same render on a console wide enough for
nothing to wrap gives every word; at 80 or 100 columns each word printed must be one of them
(a split leaves fragments such as `millisec` that are no word of the table)."""

from __future__ import annotations

from collections.abc import Callable

import pytest
from rich.console import Console
from rich.table import Table as RichTable

from layersim.accounting.assemble import evaluate
from layersim.report.advice import advice_to_json, render_advice
from layersim.report.analysis import render_analysis
from layersim.report.evaluation import metrics_to_json, render_evaluation
from layersim.report.run import render_headline
from layersim.report.sweep import render_sweep
from layersim.report.tables import console_tables
from tests.report.test_advice import ADVICE
from tests.report.test_analysis import document
from tests.report.test_evaluation import population
from tests.report.test_sweep import fake_sweep

BORDER = set("─━│┃┏┓┗┛┣┫┳┻╋┡┩╇┢┪╈└┘├┤┬┴┼┌┐╭╮╯╰ ")
# the words a folded table's title adds: "(1 of 2)"
FOLD_WORDS = {"of"} | {f"({n}" for n in range(1, 10)} | {f"{n})" for n in range(1, 10)}


def _words(text: str) -> list[str]:
    return [w for w in text.split() if not set(w) <= BORDER]


def _render(render: Callable[[Console], None], width: int) -> str:
    console = Console(record=True, width=width)
    render(console)
    return console.export_text()


def _evaluation(console: Console) -> None:
    pop = population()
    render_evaluation(metrics_to_json(pop, evaluate(pop), source="spec.toml"), console)


RENDERS: dict[str, Callable[[Console], None]] = {
    "analyze": lambda console: render_analysis(document(), console),
    "evaluate": _evaluation,
    "advise": lambda console: render_advice(advice_to_json([ADVICE]), console),
    "sweep": lambda console: render_sweep(fake_sweep(), console),
}


def _assert_no_split_word(render: Callable[[Console], None], width: int) -> None:
    known = set(_words(_render(render, 10_000))) | FOLD_WORDS
    text = _render(render, width)
    split = sorted({w for w in _words(text) if w not in known})
    assert not split, f"words split at {width} columns: {split}\n{text}"
    assert max(len(line.rstrip()) for line in text.splitlines()) <= width


@pytest.mark.parametrize("width", [80, 100])
def test_run_headline_splits_no_word(tiny, width):
    """`layersim run`'s headline table at 80 and 100 columns: every word whole (no
    `flattene` / `d`, no `millisec` / `onds`), no line wider than the console."""
    _, result = tiny
    _assert_no_split_word(lambda console: render_headline(result, console), width)


@pytest.mark.parametrize("width", [80, 100])
@pytest.mark.parametrize("command", sorted(RENDERS))
def test_command_tables_split_no_word(command, width):
    """The tables of analyze, evaluate, advise and sweep at 80 and 100 columns: every word
    whole, no line wider than the console."""
    _assert_no_split_word(RENDERS[command], width)


def test_headline_stands_whole_at_100_columns(tiny):
    """At 100 columns the headline is one table with all nine columns (nothing folded)."""
    _, result = tiny
    text = _render(lambda console: render_headline(result, console), 100)
    assert "(1 of" not in text
    header = " ".join(_words(text.split("─")[0]))
    for word in ("figure", "unit", "logical", "flattened", "layer", "file", "saving", "vs"):
        assert word in header


def wide_table() -> RichTable:
    table = RichTable(title="Wide")
    table.add_column("name")
    for k in range(6):
        table.add_column(f"column_{k} figure", justify="right")
    table.add_row("first", *(f"{10**k:,}" for k in range(6)))
    table.add_row("second row", *("-" for _ in range(6)))
    return table


def test_a_table_too_wide_is_folded_repeating_the_names():
    """Six columns whose header words are 8 characters cannot stand side by side in 40
    columns: the table is folded into parts, each at most 40 wide, each starting with the
    `name` column, together holding every other column once, in order, with every row."""
    parts = console_tables(wide_table(), 40)
    assert len(parts) > 1
    headers = [[c.header for c in part.columns] for part in parts]
    assert all(h[0] == "name" for h in headers)
    assert [h for part in headers for h in part[1:]] == [f"column_{k} figure" for k in range(6)]
    assert [part.title for part in parts] == [f"Wide ({n} of {len(parts)})" for n in range(1, 7)][
        : len(parts)
    ]
    for part in parts:
        assert part.row_count == 2
        console = Console(record=True, width=40)
        console.print(part)
        text = console.export_text()
        assert max(len(line.rstrip()) for line in text.splitlines()) <= 40
        assert "second row" in text or ("second" in text and "row" in text)


def test_a_table_that_fits_is_one_table_with_every_cell_on_one_line():
    """A narrow table keeps its title and each cell on one line when the console has room."""
    table = RichTable(title="Small")
    table.add_column("name")
    table.add_column("bytes", justify="right")
    table.add_row("a long name here", "1,000")
    (part,) = console_tables(table, 80)
    assert part.title == "Small"
    console = Console(record=True, width=80)
    console.print(part)
    assert "a long name here" in console.export_text()
