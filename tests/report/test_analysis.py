"""Tests of `layersim.report.analysis`: the analyze document is the evaluate document with the
paths as `source` and an `analysis` section (each image's files, each layer's identities,
sizes and files), and its layer table shows them.

The population is a spec with known files, so every figure has an exact expected value."""

from __future__ import annotations

from typing import Any

from rich.console import Console

from layersim.accounting.analysis import compression_ratio
from layersim.accounting.assemble import evaluate
from layersim.readers.flatten import FlattenedSize
from layersim.readers.spec import parse_spec
from layersim.report.analysis import (
    ANALYSIS_UNITS,
    analysis_to_json,
    flattened_table,
    render_analysis,
)
from layersim.report.evaluation import UNITS, metrics_to_json

SPEC: dict[str, Any] = {
    "layers": {
        "base": {"files": [{"path": "etc/a", "size": 100}, {"path": "etc/b", "size": 20}]},
        "top": {
            "files": [{"path": "etc/b", "size": 7}, {"path": "app/main", "size": 3}],
            "deletes": ["etc/a"],
        },
    },
    "images": {"reg/app:1": ["base", "top"], "base:1": ["base"]},
}


def document() -> dict[str, Any]:
    population = parse_spec(SPEC)
    return analysis_to_json(
        population, evaluate(population), paths=["x/app", "x/base"], platform="linux/amd64"
    )


def test_document_is_the_evaluate_document_plus_analysis():
    """Every key of the evaluate document, in order, with `analysis` and `chunks` before `units`; `source`
    lists the paths; `units` adds the units of the analysis figures."""
    population = parse_spec(SPEC)
    evaluated = metrics_to_json(population, evaluate(population), source="x/app, x/base")
    doc = document()
    assert list(doc) == [*list(evaluated)[:-1], "analysis", "chunks", "units"]
    assert doc["source"] == ["x/app", "x/base"]
    assert doc["images"] == evaluated["images"]
    assert doc["units"] == {**UNITS, **ANALYSIS_UNITS}


def test_analysis_images_and_layers():
    """Each image: its repository, layer count and the files of its merged view; each layer:
    its name, identities, sizes, entries and regular files."""
    analysis = document()["analysis"]
    assert analysis["paths"] == ["x/app", "x/base"]
    assert analysis["platform"] == "linux/amd64"
    assert list(analysis["images"]) == ["reg/app:1", "base:1"]
    app = analysis["images"]["reg/app:1"]
    assert app["repository"] == "reg/app"
    assert (app["layer_count"], app["file_count"], app["file_bytes"]) == (2, 2, 10)
    base, top = app["layers"]
    assert (base["name"], base["files"], base["file_bytes"]) == ("base", 2, 120)
    assert (top["name"], top["files"], top["file_bytes"]) == ("top", 2, 10)
    layer = parse_spec(SPEC).images[0].layers[1]
    assert top["entries"] == len(layer.entries)
    assert top["diff_id"] == layer.diff_id and top["blob_digest"] == layer.blob_digest
    assert top["stored_uncompressed"] is (layer.blob_digest == layer.diff_id)
    assert (top["tar_bytes"], top["compressed_bytes"]) == (
        layer.tar_bytes,
        layer.compressed_bytes,
    )
    only = analysis["images"]["base:1"]
    assert (only["file_count"], only["file_bytes"]) == (2, 120)


def test_layer_table_shows_every_layer():
    """The console shows the evaluate tables and a row per layer with its files, tar and
    compressed bytes and their ratio."""
    doc = document()
    console = Console(record=True, width=200)
    render_analysis(doc, console)
    text = console.export_text()
    assert text.startswith("layersim analyze x/app x/base")
    assert "Layers (tar bytes; compressed bytes of the stored blob)" in text
    top = doc["analysis"]["images"]["reg/app:1"]["layers"][1]
    ratio = compression_ratio(top["tar_bytes"], top["compressed_bytes"])
    row = next(line for line in text.splitlines() if "│ top " in line)
    cells = [c.strip() for c in row.split("│")]
    assert cells[1:3] == ["1", "top"]
    assert cells[4:] == [
        "2",
        f"{top['tar_bytes']:,}",
        f"{top['compressed_bytes']:,}",
        f"{ratio:.2f}x",
    ]


def test_flattened_export_key_and_table():
    """Without measurements every image's `flattened_export` is null and no table is drawn;
    with them the JSON holds the measured sizes and the table shows them next to the engine's
    flattened tar bytes and estimated compressed bytes."""
    assert all(i["flattened_export"] is None for i in document()["analysis"]["images"].values())
    assert flattened_table(document()) is None
    population = parse_spec(SPEC)
    measured = {"reg/app:1": FlattenedSize(tar_bytes=4096, gzip_bytes=321, gzip_level=6)}
    doc = analysis_to_json(
        population, evaluate(population), paths=["x"], platform=None, flattened=measured
    )
    images = doc["analysis"]["images"]
    assert images["reg/app:1"]["flattened_export"] == {
        "tar_bytes": 4096,
        "gzip_bytes": 321,
        "gzip_level": 6,
    }
    assert images["base:1"]["flattened_export"] is None
    console = Console(record=True, width=200)
    render_analysis(doc, console)
    text = console.export_text()
    assert "Flattened export (gzip measured with zlib-ng, level 6)" in text
    row = next(
        line for line in text.splitlines() if line.startswith("reg/app:1 ") and "321" in line
    )
    cells = [c.strip() for c in row.split("│")]
    figures = doc["images"]["reg/app:1"]
    assert cells == [
        "reg/app:1",
        f"{figures['flattened_bytes']:,}",
        f"{figures['flattened_compressed_bytes']:,}",
        "4,096",
        "321",
    ]
