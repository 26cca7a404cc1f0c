"""Tests of `layersim.report.advice`: the JSON has exactly the documented keys in order, the
table shows every advice with its savings, and a run's advice.csv has the same figures."""

from __future__ import annotations

from dataclasses import replace

from rich.console import Console

from layersim.advice.advise import Advice
from layersim.report.advice import (
    ADVICE_KEYS,
    advice_to_json,
    fleet_advice_table,
    render_advice,
)

ADVICE = Advice(
    image="app:1",
    kind="combine_steps",
    layers=("aaa", "bbb"),
    start=1,
    stop=3,
    saves_tar_bytes=601_536,
    saves_compressed_bytes=598_000,
    saves_disk_bytes=602_112,
    where="image",
    estimated=True,
    detail="layers 1-2: later layers delete or overwrite 600,000 file bytes",
)


def test_document_keys() -> None:
    """`{"advice": [...]}` with exactly the issue's keys, in order, layers as a list."""
    doc = advice_to_json([ADVICE])
    assert list(doc) == ["advice"]
    (row,) = doc["advice"]
    assert (
        tuple(row)
        == ADVICE_KEYS
        == (
            "image",
            "kind",
            "layers",
            "saves_tar_bytes",
            "saves_compressed_bytes",
            "saves_disk_bytes",
            "where",
            "estimated",
            "detail",
        )
    )
    assert row["layers"] == ["aaa", "bbb"] and row["saves_tar_bytes"] == 601_536
    assert advice_to_json([]) == {"advice": []}


def test_table() -> None:
    """A row per advice with its savings (compressed marked ~ when estimated), and a line
    when there is none."""
    console = Console(record=True, width=250)
    render_advice(advice_to_json([ADVICE]), console)
    text = console.export_text()
    row = next(line for line in text.splitlines() if line.startswith("app:1 "))
    cells = [c.strip() for c in row.split("│")]
    assert cells[:7] == [
        "app:1",
        "combine_steps",
        "aaa, bbb",
        "601,536",
        "~598,000",
        "602,112",
        "image",
    ]
    assert "~ estimated" in text
    console = Console(record=True, width=250)
    render_advice(advice_to_json([]), console)
    assert console.export_text() == "no advice: no change to these images saves bytes\n"


def test_fleet_advice_table(tiny_advice) -> None:
    """advice.csv has the issue's figures as columns, one row per advice in the advice's
    order, exact integers; a skipped relayer is said in the table's meaning."""
    table = fleet_advice_table(tiny_advice)
    assert table.filename == "advice.csv"
    assert [c.name for c in table.columns] == [
        "image",
        "kind",
        "target",
        "layers",
        "saves_tar_bytes",
        "saves_compressed_bytes",
        "saves_disk_bytes",
        "where",
        "estimated",
        "detail",
    ]
    assert table.column("saves_tar_bytes") == [a.saves_tar_bytes for a in tiny_advice.advice]
    assert "relayer was not computed" not in table.meaning
    skipped = fleet_advice_table(replace(tiny_advice, relayer_skipped=True, images=401))
    assert "relayer was not computed: the final state holds 401 images, more than 400" in (
        skipped.meaning
    )
    none = fleet_advice_table(replace(tiny_advice, advice=(), skipped=True, images=20_001))
    assert "No advice was computed: the final state holds 20,001 images, more than 20,000" in (
        none.meaning
    )
    assert none.rows == ()
