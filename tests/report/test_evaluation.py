"""Tests of `layersim.report.evaluation`: the JSON document and the tables of an evaluation.

The document is checked against a hand-made `PopulationMetrics` whose every figure is a
different number, so that a field mapped to the wrong key cannot pass.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

from rich.console import Console

import layersim
from layersim.accounting.assemble import evaluate
from layersim.accounting.metrics import (
    ContainerUsage,
    ImageDiskUsage,
    ImageMetrics,
    NodeMetrics,
    PopulationMetrics,
    PullRecord,
    PushRecord,
    StoredBytes,
    saving,
)
from layersim.model import Population
from layersim.readers.spec import parse_spec
from layersim.report import evaluation_tables, metrics_to_json, render_evaluation
from layersim.report.evaluation import UNITS

SPEC: dict[str, Any] = {
    "layers": {
        "base": {"files": [{"path": "a", "size": 4096}]},
        "top": {"files": [{"path": "b", "size": 4096}]},
    },
    "images": {"z:1": ["base", "top"], "a:1": ["base"]},
    "nodes": {
        "n2": {"images": ["a:1"]},
        "n1": {
            "images": ["z:1", "a:1"],
            "containers": [{"image": "z:1", "writes": [{"path": "log", "size": 1}]}],
        },
    },
}


def population() -> Population:
    return parse_spec(SPEC)


def image_metrics(name: str, layers: tuple[str, ...], base: int) -> ImageMetrics:
    """Image figures that are all different: base+1 ... base+12."""
    return ImageMetrics(
        name=name,
        layers=layers,
        layered_tar_bytes=base + 1,
        layered_compressed_bytes=base + 2,
        layered_disk_bytes=base + 3,
        flattened_tar_bytes=base + 4,
        flattened_compressed_bytes=base + 5,
        flattened_disk_bytes=base + 6,
        shadowed_file_bytes=base + 7,
        dive_min_bytes=base + 8,
        dive_cumulative_bytes=base + 16,
        dive_wasted_bytes=base + 10,
        dive_user_bytes=base + 11,
    )


def node_metrics(name: str, base: int) -> NodeMetrics:
    return NodeMetrics(
        name=name,
        stored_bytes=StoredBytes(
            logical=base + 40, flattened=base + 30, layer=base + 20, file=base + 10
        ),
        pulls=(
            PullRecord("a:1", base + 1, base + 2, ("base",), (), base + 3),
            PullRecord("z:1", base + 4, base + 5, ("top",), ("base",), base + 6),
        ),
        images=(
            ImageDiskUsage("a:1", base + 7, base + 8, base + 9),
            ImageDiskUsage("z:1", base + 10, base + 11, base + 12),
        ),
        containers=(
            ContainerUsage("c0", "a:1", "running", base + 100),
            ContainerUsage("c1", "z:1", "stopped", base + 200),
            ContainerUsage("c2", "z:1", "running", base + 300),
        ),
    )


def fake_metrics() -> PopulationMetrics:
    """Figures in the order of the population, with every number distinct."""
    return PopulationMetrics(
        images=(
            image_metrics("z:1", ("base", "top"), 1000),
            image_metrics("a:1", ("base",), 2000),
        ),
        registry_stored_bytes=StoredBytes(logical=400, flattened=300, layer=200, file=100),
        pushes=(
            PushRecord("z:1", 11, ("base", "top"), (), (), 12),
            PushRecord("a:1", 0, (), ("base",), ("base",), 13),
        ),
        nodes=(node_metrics("n2", 10000), node_metrics("n1", 20000)),
    )


def test_top_level_keys_in_a_stable_order() -> None:
    """The document starts with version and source and ends with units, in a fixed order."""
    doc = metrics_to_json(population(), fake_metrics(), source="spec.toml")
    assert list(doc) == [
        "layersim_version",
        "source",
        "model",
        "images",
        "registry",
        "nodes",
        "fleet",
        "units",
    ]
    assert doc["layersim_version"] == layersim.__version__
    assert doc["source"] == "spec.toml"
    assert doc["model"] == {
        "block_bytes": 4096,
        "driver": "overlay2",
        "keep_compressed_blobs": False,
        "metadata_ratio_permille": 10000,
        "class_ratios_permille": {"archive": 1000, "binary": 2400, "text": 4000},
        "default_class": "binary",
    }


def test_image_fields_map_to_their_keys() -> None:
    """Each ImageMetrics field lands under its documented key; images in population order."""
    doc = metrics_to_json(population(), fake_metrics(), source="s")
    assert list(doc["images"]) == ["z:1", "a:1"]
    assert doc["images"]["z:1"] == {
        "layers": ["base", "top"],
        "layered_bytes": 1001,
        "flattened_bytes": 1004,
        "shadowed_bytes": 1007,
        "dive_efficiency": 1008 / 1016,
        "dive_wasted_bytes": 1010,
        "dive_user_bytes": 1011,
        "dive_min_bytes": 1008,
        "dive_cumulative_bytes": 1016,
        "layered_compressed_bytes": 1002,
        "layered_disk_bytes": 1003,
        "flattened_compressed_bytes": 1005,
        "flattened_disk_bytes": 1006,
    }


def test_images_follow_population_order_not_metrics_order() -> None:
    """Images are keyed in population order even if the metrics list them otherwise."""
    metrics = fake_metrics()
    swapped = PopulationMetrics(
        images=metrics.images[::-1],
        registry_stored_bytes=metrics.registry_stored_bytes,
        pushes=metrics.pushes,
        nodes=metrics.nodes,
    )
    doc = metrics_to_json(population(), swapped, source="s")
    assert list(doc["images"]) == ["z:1", "a:1"]
    assert doc["images"]["a:1"]["layered_bytes"] == 2001


def test_registry_section() -> None:
    """Registry stored bytes, savings against flattened and logical (metrics.saving), dedup
    ratios and pushes in push order with mounted layers."""
    registry = metrics_to_json(population(), fake_metrics(), source="s")["registry"]
    assert list(registry) == ["stored_bytes", "savings", "dedup_ratio", "pushes"]
    assert registry["stored_bytes"] == {"logical": 400, "flattened": 300, "layer": 200, "file": 100}
    assert registry["savings"] == {
        "vs_flattened": {
            "logical": saving(400, 300),
            "flattened": 0.0,
            "layer": saving(200, 300),
            "file": saving(100, 300),
        },
        "vs_logical": {
            "logical": 0.0,
            "flattened": saving(300, 400),
            "layer": 0.5,
            "file": 0.75,
        },
    }
    assert registry["dedup_ratio"] == {
        "logical": 1.0,
        "flattened": 4 / 3,
        "layer": 2.0,
        "file": 4.0,
    }
    assert registry["pushes"] == [
        {
            "image": "z:1",
            "uploaded_bytes": 11,
            "uploaded_layers": ["base", "top"],
            "skipped_layers": [],
            "mounted_layers": [],
            "flattened_uploaded_bytes": 12,
        },
        {
            "image": "a:1",
            "uploaded_bytes": 0,
            "uploaded_layers": [],
            "skipped_layers": ["base"],
            "mounted_layers": ["base"],
            "flattened_uploaded_bytes": 13,
        },
    ]


def test_node_section() -> None:
    """A node's stored bytes, container totals split by state, pulled bytes summed over its
    pulls, the pulls, docker-df usage keyed by image and the containers."""
    doc = metrics_to_json(population(), fake_metrics(), source="s")
    assert list(doc["nodes"]) == ["n2", "n1"]
    node = doc["nodes"]["n2"]
    assert list(node) == [
        "stored_bytes",
        "savings",
        "dedup_ratio",
        "container_bytes",
        "container_bytes_running",
        "container_bytes_stopped",
        "pulled_bytes",
        "pulls",
        "images",
        "containers",
    ]
    assert node["stored_bytes"] == {
        "logical": 10040,
        "flattened": 10030,
        "layer": 10020,
        "file": 10010,
    }
    assert node["savings"]["vs_flattened"]["layer"] == saving(10020, 10030)
    assert node["container_bytes"] == 10100 + 10200 + 10300
    assert node["container_bytes_running"] == 10100 + 10300
    assert node["container_bytes_stopped"] == 10200
    assert node["pulled_bytes"] == {"layer": 10001 + 10004, "flattened": 10003 + 10006}
    assert node["pulls"][1] == {
        "image": "z:1",
        "downloaded_bytes": 10004,
        "extracted_disk_bytes": 10005,
        "downloaded_layers": ["top"],
        "skipped_layers": ["base"],
        "flattened_downloaded_bytes": 10006,
    }
    assert node["images"] == {
        "a:1": {"size_bytes": 10007, "shared_bytes": 10008, "unique_bytes": 10009},
        "z:1": {"size_bytes": 10010, "shared_bytes": 10011, "unique_bytes": 10012},
    }
    assert node["containers"][1] == {
        "name": "c1",
        "image": "z:1",
        "state": "stopped",
        "writable_bytes": 10200,
    }


def test_fleet_sums_the_nodes() -> None:
    """The fleet section sums every node's stored, container and pulled bytes."""
    fleet = metrics_to_json(population(), fake_metrics(), source="s")["fleet"]
    assert fleet["stored_bytes"] == {
        "logical": 10040 + 20040,
        "flattened": 10030 + 20030,
        "layer": 10020 + 20020,
        "file": 10010 + 20010,
    }
    assert fleet["savings"]["vs_flattened"]["layer"] == saving(30040, 30060)
    assert fleet["container_bytes"] == (10100 + 10200 + 10300) + (20100 + 20200 + 20300)
    assert fleet["pulled_bytes"] == {
        "layer": (10001 + 10004) + (20001 + 20004),
        "flattened": (10003 + 10006) + (20003 + 20006),
    }


def test_empty_population() -> None:
    """A population with no images gives zeros, savings 0.0 and dedup ratios 1.0."""
    empty = Population(images=())
    doc = metrics_to_json(empty, evaluate(empty), source="s")
    assert doc["images"] == {} and doc["nodes"] == {}
    assert doc["registry"]["stored_bytes"] == {
        "logical": 0,
        "flattened": 0,
        "layer": 0,
        "file": 0,
        "chunk_cdc": 0,
        "chunk_fixed": 0,
    }
    assert doc["registry"]["savings"]["vs_flattened"]["layer"] == 0.0
    assert doc["registry"]["dedup_ratio"]["layer"] == 1.0
    assert doc["fleet"]["stored_bytes"]["layer"] == 0


def _figure_paths(value: Any, path: tuple[str, ...] = ()) -> Iterator[tuple[str, ...]]:
    """Paths of every figure (number or non-empty list of names) of a document; the items of a
    list of tables add `[]` to its key."""
    if isinstance(value, list) and not value:
        return
    if isinstance(value, dict):
        for key, item in value.items():
            yield from _figure_paths(item, (*path, key))
    elif isinstance(value, list) and value and isinstance(value[0], dict):
        for item in value:
            yield from _figure_paths(item, (*path[:-1], path[-1] + "[]"))
    elif isinstance(value, int | float | list) and not isinstance(value, bool):
        yield path


def _matches(pattern: str, path: tuple[str, ...]) -> bool:
    parts = pattern.split(".")
    return len(parts) == len(path) and all(
        p == q or p == "*" or (p == "*[]" and q.endswith("[]"))
        for p, q in zip(parts, path, strict=True)
    )


def test_units_name_every_figure() -> None:
    """Every number or list of names in the document has a unit in `units`, and every unit
    pattern matches some figure (no stale entries)."""
    doc = metrics_to_json(population(), evaluate(population()), source="s")
    del doc["units"]
    paths = list(_figure_paths(doc))
    assert paths
    for path in paths:
        if path[0] == "model" and path[1] == "class_ratios_permille":
            path = path[:2]
        assert any(_matches(pattern, path) for pattern in UNITS), path
    for pattern in UNITS:
        if pattern == "model.class_ratios_permille":
            continue
        assert any(_matches(pattern, path) for path in paths), pattern


def render_text(doc: dict[str, Any]) -> str:
    console = Console(record=True, width=200)
    render_evaluation(doc, console)
    return console.export_text()


def test_tables_show_the_figures() -> None:
    """The tables show images, stored bytes by strategy, pushes, nodes and docker-df usage,
    with exact byte counts and savings in percent."""
    pop = population()
    doc = metrics_to_json(pop, evaluate(pop), source="spec.toml")
    assert [t.title for t in evaluation_tables(doc)] == [
        "Images (tar bytes; shadowed and dive in file bytes)",
        "Stored bytes by strategy (savings against flattened)",
        "Registry pushes in order (compressed bytes; layer counts)",
        "Nodes (pulls in compressed bytes, containers in disk bytes)",
        "Images on nodes (disk bytes, as docker system df -v)",
    ]
    text = render_text(doc)
    assert text.startswith("layersim evaluate spec.toml\n")
    row = next(line for line in text.splitlines() if "node n1" in line)
    cells = [cell.strip() for cell in row.split("│")]
    # n1 holds z:1 (base, top: 4096 disk bytes each) and a:1 (base):
    # logical 8192 + 4096; flattened 8192 + 4096; layer and file 4096 + 4096;
    # saving against flattened 1 - 8192 / 12288 = 33.3%; the chunk strategies, modelled (one
    # chunk per file under 64 KiB, none shared between contents), store what file does
    assert cells == [
        "node n1",
        "disk",
        "12,288",
        "12,288",
        "8,192",
        "8,192",
        "8,192",
        "8,192",
        "33.3%",
        "33.3%",
        "33.3%",
        "33.3%",
    ]


def test_tables_without_nodes() -> None:
    """Without nodes only the image, stored-bytes and push tables are drawn."""
    doc = metrics_to_json(population(), fake_metrics(), source="s")
    doc["nodes"] = {}
    assert len(evaluation_tables(doc)) == 3


def test_names_are_not_rich_markup() -> None:
    """An image or node name that looks like rich markup is shown as written."""
    spec = {
        "layers": {"l": {"files": [{"path": "a", "size": 1}]}},
        "images": {"[bold]x": ["l"]},
        "nodes": {"[red]n": {"images": ["[bold]x"]}},
    }
    pop = parse_spec(spec)
    text = render_text(metrics_to_json(pop, evaluate(pop), source="[i]spec.toml"))
    assert "[bold]x" in text
    assert "[red]n" in text
    assert "layersim evaluate [i]spec.toml" in text
