"""Tests of `layersim.readers.spec`: parsing a population spec and every way a spec can be wrong."""

from __future__ import annotations

import copy
import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.accounting.reference import evaluate as reference_evaluate
from layersim.errors import SpecError
from layersim.model import (
    ContainerState,
    EntryKind,
    FileModify,
    FileWrite,
    StorageDriver,
    make_entry,
    make_layer,
)
from layersim.model.digest import content_digest
from layersim.readers.spec import load_spec, parse_spec, read_spec_document

EXAMPLE = Path(__file__).resolve().parents[2] / "examples" / "fleet.toml"


def small_doc() -> dict[str, Any]:
    """A valid spec touching every section, as a document (what tomllib/json return)."""
    return {
        "options": {"block_bytes": 4096, "driver": "overlay2", "keep_compressed_blobs": False},
        "classes": {"weights": 1.08},
        "layers": {
            "base": {
                "mtime": 7,
                "files": [
                    {"path": "bin/sh", "size": 1000, "content": "sh"},
                    {"path": "/etc/os-release", "size": 100, "content": "osr", "class": "text"},
                    {"path": "etc/unique", "size": 10},
                ],
            },
            "app": {
                "files": [
                    {"path": "app/w.bin", "size": 5000, "class": "weights"},
                    {"path": "app/sh", "size": 1000, "content": "sh"},
                    {"path": "etc/unique", "size": 10},
                    {"path": "lib/x", "size": 3},
                ],
                "deletes": ["etc/os-release"],
                "opaque": ["lib"],
            },
        },
        "images": {"app:1": ["base", "app"], "base:1": ["base"]},
        "registry": {"push": ["base:1", "app:1"]},
        "nodes": {
            "n1": {
                "images": ["base:1", "app:1"],
                "containers": [
                    {
                        "image": "app:1",
                        "writes": [{"path": "/tmp/log/", "size": 10}],
                        "modifies": ["app/w.bin", {"path": "bin/sh", "changed_bytes": 12}],
                        "deletes": ["etc/unique"],
                    },
                    {"name": "old", "image": "base:1", "state": "stopped"},
                ],
            },
            "n2": {},
        },
    }


def spec_error(doc: Any) -> str:
    """The message of the SpecError that parsing `doc` raises."""
    with pytest.raises(SpecError) as caught:
        parse_spec(doc)
    message = str(caught.value)
    assert "\n" not in message
    return message


# --- parsing ---------------------------------------------------------------------------------


def test_layers_become_entries_with_the_size_model() -> None:
    """Files, deletes and opaque dirs become FILE, WHITEOUT and OPAQUE entries made by
    make_entry with the spec's content names, classes and the merged compression model; the
    layer carries its spec name and mtime; nothing implicit is added."""
    population = parse_spec(small_doc())
    app = population.image_by_name["app:1"]
    base, top = app.layers
    assert (base.name, top.name) == ("base", "app")
    compression = population.compression
    assert dict(compression.class_ratios_permille) == {
        "text": 4000,
        "binary": 2400,
        "archive": 1000,
        "weights": 1080,
    }
    expected_base = make_layer(
        [
            make_entry("bin/sh", EntryKind.FILE, 1000, content_digest("sh", 1000), "binary"),
            make_entry("etc/os-release", EntryKind.FILE, 100, content_digest("osr", 100), "text"),
            make_entry(
                "etc/unique",
                EntryKind.FILE,
                10,
                content_digest("unique\0base\0etc/unique", 10),
                "binary",
            ),
        ],
        mtime=7,
    )
    assert base == expected_base
    assert base.diff_id == expected_base.diff_id
    kinds = [(e.path, e.kind) for e in top.entries]
    assert kinds == [
        ("app/sh", EntryKind.FILE),
        ("app/w.bin", EntryKind.FILE),
        ("etc/os-release", EntryKind.WHITEOUT),
        ("etc/unique", EntryKind.FILE),
        ("lib", EntryKind.OPAQUE),
        ("lib/x", EntryKind.FILE),
    ]
    by_path = {e.path: e for e in top.entries}
    # 5000 file bytes at 1080 per-mille: ceil(5000 * 1000 / 1080) = ceil(4629.6) = 4630
    assert by_path["app/w.bin"].content_compressed_bytes == 4630
    assert by_path["app/w.bin"].content_class == "weights"


def test_same_content_name_and_size_is_the_same_bytes() -> None:
    """Two files with the same content name and size share a content digest; an omitted
    content is unique even at the same path and size in another layer."""
    population = parse_spec(small_doc())
    base, top = population.image_by_name["app:1"].layers
    base_entries = {e.path: e for e in base.entries}
    top_entries = {e.path: e for e in top.entries}
    assert top_entries["app/sh"].content == base_entries["bin/sh"].content
    assert top_entries["etc/unique"].content != base_entries["etc/unique"].content
    assert top_entries["lib/x"].content == content_digest("unique\0app\0lib/x", 3)


def test_unique_content_never_equals_a_written_content_name() -> None:
    """An omitted content cannot collide with a content name a user writes, even one that
    spells the example form `unique:<layer>:<path>`."""
    doc = {
        "layers": {
            "a": {"files": [{"path": "x", "size": 5}]},
            "b": {"files": [{"path": "y", "size": 5, "content": "unique:a:x"}]},
        },
        "images": {"i": ["a", "b"]},
    }
    a, b = parse_spec(doc).images[0].layers
    assert a.entries[0].content != b.entries[0].content


def test_images_registry_and_options() -> None:
    """Images keep their spec order, the push order is the registry's, options are parsed."""
    population = parse_spec(small_doc())
    assert [image.name for image in population.images] == ["app:1", "base:1"]
    assert population.push_order == ("base:1", "app:1")
    assert population.options.block_bytes == 4096
    assert population.options.driver is StorageDriver.OVERLAY2
    assert population.options.keep_compressed_blobs is False


def test_push_order_defaults_to_definition_order() -> None:
    """Without [registry] push, every image is pushed in the order defined."""
    doc = small_doc()
    del doc["registry"]
    assert parse_spec(doc).push_order == ("app:1", "base:1")


def test_options_block_driver_and_kept_blobs() -> None:
    """[options] sets the block size, the storage driver and kept blobs."""
    doc = small_doc()
    doc["options"] = {"block_bytes": 512, "driver": "block", "keep_compressed_blobs": True}
    options = parse_spec(doc).options
    assert (options.block_bytes, options.driver, options.keep_compressed_blobs) == (
        512,
        StorageDriver.BLOCK,
        True,
    )


def test_class_ratios_become_exact_per_mille() -> None:
    """[classes] ratios become per-mille integers rounded to the nearest (2.2 -> 2200, not
    2200.0000000000002), integers are accepted, and a huge ratio cannot overflow."""
    doc = {
        "classes": {"a": 2.2, "b": 3, "c": 1.0004, "text": 5.0, "d": 1e308},
        "layers": {},
        "images": {},
    }
    ratios = parse_spec(doc).compression.class_ratios_permille
    assert (ratios["a"], ratios["b"], ratios["c"], ratios["text"]) == (2200, 3000, 1000, 5000)
    assert ratios["d"] == int(1e308) * 1000  # the float 1e308 is an exact integer
    assert ratios["binary"] == 2400


def test_nodes_and_containers() -> None:
    """Nodes keep their pull order; containers get default names `<node>-<index>`, default
    state running, normalized paths, and modifies as a string or {path, changed_bytes}."""
    population = parse_spec(small_doc())
    n1, n2 = population.nodes
    assert (n1.name, n1.images) == ("n1", ("base:1", "app:1"))
    assert (n2.name, n2.images, n2.containers) == ("n2", (), ())
    first, second = n1.containers
    assert first.name == "n1-0"
    assert first.image == "app:1"
    assert first.state is ContainerState.RUNNING
    assert first.writes == (FileWrite("tmp/log", 10),)
    assert first.modifies == (FileModify("app/w.bin", None), FileModify("bin/sh", 12))
    assert first.deletes == ("etc/unique",)
    assert (second.name, second.state) == ("old", ContainerState.STOPPED)


def test_toml_and_json_give_the_same_population(tmp_path: Path) -> None:
    """The same document read from JSON and from TOML builds equal populations."""
    doc = small_doc()
    json_path = tmp_path / "spec.json"
    json_path.write_text(json.dumps(doc))
    toml_path = tmp_path / "spec.toml"
    toml_path.write_text(
        """
[options]
block_bytes = 4096
driver = "overlay2"
keep_compressed_blobs = false
[classes]
weights = 1.08
[layers.base]
mtime = 7
files = [
  { path = "bin/sh", size = 1000, content = "sh" },
  { path = "/etc/os-release", size = 100, content = "osr", class = "text" },
  { path = "etc/unique", size = 10 },
]
[layers.app]
files = [
  { path = "app/w.bin", size = 5000, class = "weights" },
  { path = "app/sh", size = 1000, content = "sh" },
  { path = "etc/unique", size = 10 },
  { path = "lib/x", size = 3 },
]
deletes = ["etc/os-release"]
opaque = ["lib"]
[images]
"app:1" = ["base", "app"]
"base:1" = ["base"]
[registry]
push = ["base:1", "app:1"]
[nodes.n1]
images = ["base:1", "app:1"]
[[nodes.n1.containers]]
image = "app:1"
writes = [{ path = "/tmp/log/", size = 10 }]
modifies = ["app/w.bin", { path = "bin/sh", changed_bytes = 12 }]
deletes = ["etc/unique"]
[[nodes.n1.containers]]
name = "old"
image = "base:1"
state = "stopped"
[nodes.n2]
"""
    )
    from_json = load_spec(json_path)
    from_toml = load_spec(toml_path)
    assert from_json == from_toml == parse_spec(doc)
    assert [l.name for l in from_toml.images[0].layers] == ["base", "app"]  # noqa: E741


def test_example_fleet_parses() -> None:
    """examples/fleet.toml is a valid spec with its six images and two nodes."""
    population = load_spec(EXAMPLE)
    assert [image.name for image in population.images] == [
        "debian:12",
        "python:3.12",
        "shop:1.0",
        "shop:1.1",
        "report:1.0",
        "report-slim:1.0",
    ]
    assert [node.name for node in population.nodes] == ["node-a", "node-b"]
    assert [c.name for c in population.nodes[1].containers] == ["node-b-0", "node-b-1"]


def test_layer_without_entries_is_an_empty_tar() -> None:
    """A layer that lists nothing is an empty tar (two end blocks), as `RUN true` makes."""
    doc = {"layers": {"empty": {}}, "images": {"i": ["empty"]}}
    (layer,) = parse_spec(doc).images[0].layers
    assert (layer.entries, layer.tar_bytes) == ((), 1024)


def test_repeated_layer_in_one_image_is_allowed() -> None:
    """An image may list the same layer twice (identical changesets do occur)."""
    doc = {"layers": {"a": {"files": [{"path": "x", "size": 1}]}}, "images": {"i": ["a", "a"]}}
    image = parse_spec(doc).images[0]
    assert len(image.layers) == 2
    assert image.chain_ids[0] != image.chain_ids[1]


# --- errors: every one names its place -------------------------------------------------------


def _set(path: str, value: Any) -> Callable[[dict[str, Any]], None]:
    """A mutation of the small document: set the value at a dotted path (ints index lists)."""

    def apply(doc: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split("|")]
        target: Any = doc
        for key in keys[:-1]:
            target = target[key]
        target[keys[-1]] = value

    return apply


def _delete(path: str) -> Callable[[dict[str, Any]], None]:
    def apply(doc: dict[str, Any]) -> None:
        keys: list[Any] = [int(k) if k.isdigit() else k for k in path.split("|")]
        target: Any = doc
        for key in keys[:-1]:
            target = target[key]
        del target[keys[-1]]

    return apply


ERRORS: list[tuple[str, Callable[[dict[str, Any]], None], str]] = [
    (
        "unknown top-level key",
        _set("layer", {}),
        "top level: unknown key 'layer' (allowed: classes, images, layers, nodes, options, "
        "registry)",
    ),
    ("missing layers", _delete("layers"), "top level: missing key 'layers'"),
    ("missing images", _delete("images"), "top level: missing key 'images'"),
    ("layers not a table", _set("layers", []), "layers: must be a table, got a list"),
    ("layer not a table", _set("layers|base", 3), "layers.base: must be a table, got 3"),
    (
        "unknown layer key",
        _set("layers|base|fils", []),
        "layers.base: unknown key 'fils' (allowed: deletes, files, mtime, opaque)",
    ),
    (
        "files not a list",
        _set("layers|base|files", {"path": "x"}),
        "layers.base.files: must be a list, got a table",
    ),
    (
        "file not a table",
        _set("layers|base|files|1", "etc/os-release"),
        "layers.base.files[1]: must be a table, got 'etc/os-release'",
    ),
    (
        "unknown file key",
        _set("layers|base|files|0|sise", 3),
        "layers.base.files[0]: unknown key 'sise' (allowed: class, content, path, size)",
    ),
    (
        "missing size",
        _delete("layers|base|files|0|size"),
        "layers.base.files[0]: missing key 'size'",
    ),
    (
        "missing path",
        _delete("layers|app|files|2|path"),
        "layers.app.files[2]: missing key 'path'",
    ),
    (
        "negative size",
        _set("layers|app|files|2|size", -5),
        "layers.app.files[2].size: must be a non-negative integer, got -5",
    ),
    (
        "float size",
        _set("layers|app|files|2|size", 4096.0),
        "layers.app.files[2].size: must be a non-negative integer, got 4096.0",
    ),
    (
        "boolean size",
        _set("layers|app|files|2|size", True),
        "layers.app.files[2].size: must be a non-negative integer, got true",
    ),
    (
        "string size",
        _set("layers|app|files|2|size", "4k"),
        "layers.app.files[2].size: must be a non-negative integer, got '4k'",
    ),
    (
        "path not a string",
        _set("layers|base|files|0|path", 7),
        "layers.base.files[0].path: a path must be a string, got 7",
    ),
    (
        "empty path",
        _set("layers|base|files|0|path", "/"),
        "layers.base.files[0].path: empty path '/'",
    ),
    (
        "path climbing out",
        _set("layers|base|files|0|path", "../etc/x"),
        "layers.base.files[0].path: path '../etc/x' climbs out of the image root",
    ),
    (
        "whiteout-looking file",
        _set("layers|base|files|0|path", "etc/.wh.x"),
        "layers.base.files[0].path: path 'etc/.wh.x' has a name starting with '.wh.', which a "
        "tar reader takes for a whiteout (list deleted paths under 'deletes', opaque "
        "directories under 'opaque')",
    ),
    (
        "duplicate path in a layer",
        _set("layers|base|files|2|path", "/bin/sh/"),
        "layers.base.files[2]: path 'bin/sh' is already listed at layers.base.files[0]",
    ),
    (
        "delete of a path the same layer adds",
        _set("layers|app|deletes", ["app/sh"]),
        "layers.app.deletes[0]: path 'app/sh' is already listed at layers.app.files[1]",
    ),
    (
        "opaque on a file of the same layer",
        _set("layers|app|opaque", ["app/sh"]),
        "layers.app.opaque[0]: path 'app/sh' is already listed at layers.app.files[1]",
    ),
    (
        "path below a file",
        _set("layers|base|files|2|path", "bin/sh/x"),
        "layers.base.files[2]: path 'bin/sh/x' lies below 'bin/sh', which is a file at "
        "layers.base.files[0]",
    ),
    (
        "path below a deleted path",
        _set("layers|app|deletes", ["app"]),
        "layers.app.files[0]: path 'app/w.bin' lies below 'app', which is deleted at "
        "layers.app.deletes[0]",
    ),
    (
        "deletes not a list",
        _set("layers|app|deletes", "etc/os-release"),
        "layers.app.deletes: must be a list, got 'etc/os-release'",
    ),
    (
        "unknown class",
        _set("layers|base|files|0|class", "video"),
        "layers.base.files[0].class: unknown content class 'video' (known: archive, binary, "
        "text, weights; add more under [classes])",
    ),
    (
        "same content with another class",
        _set("layers|app|files|1|class", "text"),
        "layers.app.files[1].class: content 'sh' of 1000 bytes is class 'text' here but "
        "'binary' at layers.base.files[0].content; the same bytes have one class",
    ),
    (
        "empty content name",
        _set("layers|base|files|0|content", ""),
        "layers.base.files[0].content: a content name must be a non-empty string without "
        "control characters, got ''",
    ),
    (
        "content name not a string",
        _set("layers|base|files|0|content", 5),
        "layers.base.files[0].content: a content name must be a string, got 5",
    ),
    (
        "negative mtime",
        _set("layers|base|mtime", -1),
        "layers.base.mtime: must be a non-negative integer, got -1",
    ),
    (
        "layer name with a newline",
        _set("layers|bad\nname", {}),
        "layers: a key must be a non-empty string without control characters, got 'bad\\nname'",
    ),
    (
        "image not a list",
        _set("images|base:1", "base"),
        "images.\"base:1\": must be a list, got 'base'",
    ),
    (
        "image without layers",
        _set("images|base:1", []),
        'images."base:1": an image needs at least one layer',
    ),
    (
        "unknown layer",
        _set("images|app:1", ["base", "ap"]),
        "images.\"app:1\"[1]: unknown layer 'ap'",
    ),
    (
        "layer name not a string",
        _set("images|app:1", ["base", 2]),
        'images."app:1"[1]: a layer name must be a string, got 2',
    ),
    (
        "unknown registry key",
        _set("registry|pull", []),
        "registry: unknown key 'pull' (allowed: push)",
    ),
    (
        "push of an unknown image",
        _set("registry|push", ["base:1", "app:2"]),
        "registry.push[1]: unknown image 'app:2'",
    ),
    (
        "push listed twice",
        _set("registry|push", ["base:1", "app:1", "base:1"]),
        "registry.push[2]: image 'base:1' is listed twice (first at registry.push[0])",
    ),
    (
        "unknown node key",
        _set("nodes|n2|image", ["app:1"]),
        "nodes.n2: unknown key 'image' (allowed: containers, images)",
    ),
    (
        "node pulls an unknown image",
        _set("nodes|n2|images", ["app:9"]),
        "nodes.n2.images[0]: unknown image 'app:9'",
    ),
    (
        "node pulls an image twice",
        _set("nodes|n1|images", ["base:1", "app:1", "app:1"]),
        "nodes.n1.images[2]: image 'app:1' is listed twice (first at nodes.n1.images[1])",
    ),
    (
        "containers not a list",
        _set("nodes|n2|containers", {"image": "app:1"}),
        "nodes.n2.containers: must be a list, got a table",
    ),
    (
        "container without image",
        _delete("nodes|n1|containers|1|image"),
        "nodes.n1.containers[1]: missing key 'image'",
    ),
    (
        "unknown container key",
        _set("nodes|n1|containers|1|cmd", "sh"),
        "nodes.n1.containers[1]: unknown key 'cmd' (allowed: deletes, image, modifies, name, "
        "state, writes)",
    ),
    (
        "container of an unknown image",
        _set("nodes|n1|containers|1|image", "nginx:1"),
        "nodes.n1.containers[1].image: unknown image 'nginx:1'",
    ),
    (
        "container of an image not on its node",
        _set("nodes|n1|images", ["base:1"]),
        "nodes.n1.containers[0].image: image 'app:1' is not on node 'n1' (add it to "
        "nodes.n1.images)",
    ),
    (
        "bad state",
        _set("nodes|n1|containers|1|state", "paused"),
        "nodes.n1.containers[1].state: must be 'running' or 'stopped', got 'paused'",
    ),
    (
        "duplicate container name",
        _set("nodes|n1|containers|1|name", "n1-0"),
        "nodes.n1.containers[1]: container name 'n1-0' is already used at nodes.n1.containers[0]",
    ),
    (
        "write with a negative size",
        _set("nodes|n1|containers|0|writes|0|size", -1),
        "nodes.n1.containers[0].writes[0].size: must be a non-negative integer, got -1",
    ),
    (
        "write without a path",
        _delete("nodes|n1|containers|0|writes|0|path"),
        "nodes.n1.containers[0].writes[0]: missing key 'path'",
    ),
    (
        "write with an unknown key",
        _set("nodes|n1|containers|0|writes|0|file_bytes", 1),
        "nodes.n1.containers[0].writes[0]: unknown key 'file_bytes' (allowed: path, size)",
    ),
    (
        "modify of a path the image lacks",
        _set("nodes|n1|containers|0|modifies|0", "app/none"),
        "nodes.n1.containers[0].modifies[0]: image 'app:1' has no file 'app/none' to modify",
    ),
    (
        "modify of a file a higher layer deleted",
        _set("nodes|n1|containers|0|modifies|0", "etc/os-release"),
        "nodes.n1.containers[0].modifies[0]: image 'app:1' has no file 'etc/os-release' to modify",
    ),
    (
        "modify with negative changed bytes",
        _set("nodes|n1|containers|0|modifies|1|changed_bytes", -3),
        "nodes.n1.containers[0].modifies[1].changed_bytes: must be a non-negative integer, got -3",
    ),
    (
        "modify neither a path nor a table",
        _set("nodes|n1|containers|0|modifies|1", 3),
        "nodes.n1.containers[0].modifies[1]: must be a table, got 3",
    ),
    (
        "delete of a path the image lacks",
        _set("nodes|n1|containers|0|deletes", ["etc"]),
        "nodes.n1.containers[0].deletes[0]: image 'app:1' has no path 'etc' to delete (its "
        "layers list no entry there)",
    ),
    (
        "path touched twice",
        _set("nodes|n1|containers|0|deletes", ["app/w.bin"]),
        "nodes.n1.containers[0].deletes[0]: path 'app/w.bin' is already touched at "
        "nodes.n1.containers[0].modifies[0]",
    ),
    (
        "unknown option",
        _set("options|block", 4096),
        "options: unknown key 'block' (allowed: block_bytes, driver, keep_compressed_blobs)",
    ),
    (
        "block size not a power of two",
        _set("options|block_bytes", 3000),
        "options.block_bytes: must be a positive power of two, got 3000",
    ),
    (
        "zero block size",
        _set("options|block_bytes", 0),
        "options.block_bytes: must be a positive power of two, got 0",
    ),
    (
        "unknown driver",
        _set("options|driver", "zfs"),
        "options.driver: must be 'overlay2' or 'block', got 'zfs'",
    ),
    (
        "kept blobs not a boolean",
        _set("options|keep_compressed_blobs", "yes"),
        "options.keep_compressed_blobs: must be true or false, got 'yes'",
    ),
    (
        "compression ratio below 1",
        _set("classes|weights", 0.5),
        "classes.weights: must be a compression ratio >= 1.0, got 0.5",
    ),
    (
        "compression ratio not a number",
        _set("classes|weights", "2x"),
        "classes.weights: must be a compression ratio >= 1.0, got '2x'",
    ),
    (
        "infinite compression ratio",
        _set("classes|weights", float("inf")),
        "classes.weights: must be a compression ratio >= 1.0, got inf",
    ),
    (
        "compression ratio beyond any float",  # JSON integers have no bound
        _set("classes|weights", 10**400),
        "classes.weights: must be a compression ratio >= 1.0, got 1" + "0" * 56 + "...",
    ),
    (
        "negative block size",
        _set("options|block_bytes", -4096),
        "options.block_bytes: must be a non-negative integer, got -4096",
    ),
]


@pytest.mark.parametrize(("mutate", "message"), [e[1:] for e in ERRORS], ids=[e[0] for e in ERRORS])
def test_bad_spec_names_the_place(mutate: Callable[[dict[str, Any]], None], message: str) -> None:
    """Each way a spec can be wrong raises SpecError with a one-line message naming the
    place (dotted keys, list indices from 0) and the problem."""
    doc = copy.deepcopy(small_doc())
    mutate(doc)
    assert spec_error(doc) == message


def test_top_level_must_be_a_table() -> None:
    """A document that is not a table is rejected at the top level."""
    assert spec_error([1, 2]) == "top level: must be a table, got a list"


# --- reading files ---------------------------------------------------------------------------


def test_wrong_extension(tmp_path: Path) -> None:
    """Only .toml and .json files are specs; the message names the file."""
    path = tmp_path / "fleet.yaml"
    path.write_text("layers: {}")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: a spec must be a .toml or .json file, got 'fleet.yaml'"


def test_extension_is_case_insensitive(tmp_path: Path) -> None:
    """FLEET.TOML is read as TOML."""
    path = tmp_path / "FLEET.TOML"
    path.write_text('[layers.a]\n[images]\ni = ["a"]\n')
    assert [image.name for image in load_spec(path).images] == ["i"]


def test_malformed_toml(tmp_path: Path) -> None:
    """A TOML syntax error is a SpecError naming the file, the line and the column."""
    path = tmp_path / "bad.toml"
    path.write_text("[layers.a\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == (
        f"{path}: malformed TOML: Expected ']' at the end of a table declaration "
        "(at line 1, column 10)"
    )


def test_toml_duplicate_layer_is_rejected_by_toml(tmp_path: Path) -> None:
    """A layer defined twice in TOML is a TOML error (tables cannot be redefined)."""
    path = tmp_path / "dup.toml"
    path.write_text('[layers.a]\n[layers.a]\n[images]\ni = ["a"]\n')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value).startswith(f"{path}: malformed TOML: Cannot declare ('layers', 'a')")


def test_toml_not_utf8(tmp_path: Path) -> None:
    """A TOML file that is not UTF-8 is a SpecError, not a UnicodeDecodeError."""
    path = tmp_path / "latin.toml"
    path.write_bytes(b"[layers.caf\xe9]\n")
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: malformed TOML: not UTF-8 (invalid continuation byte)"


def test_malformed_json(tmp_path: Path) -> None:
    """A JSON syntax error is a SpecError naming the file and the position."""
    path = tmp_path / "bad.json"
    path.write_text('{"layers": }')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert (
        str(caught.value) == f"{path}: malformed JSON: Expecting value: line 1 column 12 (char 11)"
    )


def test_json_duplicate_key_names_the_place(tmp_path: Path) -> None:
    """JSON would silently keep the last of two equal keys; the spec rejects it where it is."""
    path = tmp_path / "dup.json"
    path.write_text('{"layers": {"a": {}, "a": {"mtime": 1}}, "images": {"i": ["a"]}}')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: layers: duplicate key 'a'"


def test_json_nan_is_rejected(tmp_path: Path) -> None:
    """NaN is not a number a spec accepts."""
    path = tmp_path / "nan.json"
    path.write_text('{"classes": {"x": NaN}, "layers": {}, "images": {}}')
    with pytest.raises(SpecError) as caught:
        load_spec(path)
    assert str(caught.value) == f"{path}: malformed JSON: NaN is not a number a spec accepts"


def test_json_top_level_list(tmp_path: Path) -> None:
    """A JSON spec must be an object."""
    path = tmp_path / "list.json"
    path.write_text("[]")
    with pytest.raises(SpecError) as caught:
        read_spec_document(path)
    assert str(caught.value) == "top level: must be a table, got a list"


def test_missing_file_is_an_os_error(tmp_path: Path) -> None:
    """An unreadable spec raises OSError (the CLI turns it into exit code 2)."""
    with pytest.raises(FileNotFoundError):
        load_spec(tmp_path / "none.toml")


# --- property: any document gives a population or a one-line SpecError ----------------------

_JSON_SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=True, allow_infinity=True),
    st.sampled_from(["", "a", "app:1", "base", "n1", "bin/sh", "../x", ".wh.x", "running", "text"]),
    st.text(max_size=8),
)
_JSON_VALUES = st.recursive(
    _JSON_SCALARS,
    lambda children: (
        st.lists(children, max_size=3)
        | st.dictionaries(
            st.sampled_from(["path", "size", "files", "image", "images", "a", "base", "x"]),
            children,
            max_size=3,
        )
    ),
    max_leaves=8,
)


def _locations(value: Any, path: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    """Every place in a document where a value sits."""
    places = [path] if path else []
    if isinstance(value, dict):
        for key, item in value.items():
            places += _locations(item, (*path, key))
    elif isinstance(value, list):
        for index, item in enumerate(value):
            places += _locations(item, (*path, index))
    return places


@given(data=st.data())
def test_any_mutation_parses_or_fails_cleanly(data: st.DataObject) -> None:
    """Replacing any value of a valid spec by arbitrary JSON-like data either gives a
    population that the reference evaluates without error, or a one-line SpecError: never
    another exception, never a model error at evaluation time."""
    doc = small_doc()
    for _ in range(data.draw(st.integers(min_value=1, max_value=3))):
        places = _locations(doc)
        place = data.draw(st.sampled_from(places))
        target: Any = doc
        for key in place[:-1]:
            target = target[key]
        target[place[-1]] = data.draw(_JSON_VALUES)
    try:
        population = parse_spec(doc)
    except SpecError as exc:
        assert "\n" not in str(exc)
        return
    reference_evaluate(population)
