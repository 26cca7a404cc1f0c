"""Tests of `layersim.report.advice`: the JSON has exactly the documented keys in order, and
the table shows every advice with its savings."""

from __future__ import annotations

from rich.console import Console

from layersim.advice.advise import Advice
from layersim.report.advice import ADVICE_KEYS, advice_to_json, render_advice

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
