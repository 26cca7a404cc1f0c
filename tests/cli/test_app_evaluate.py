"""Tests of `layersim evaluate` through the typer app: exact figures, --out, errors, --version.

The figures of the small spec below are computed by hand from the size rules (sizes.py,
model.py), with the arithmetic written next to each number:

- tar bytes of an entry: 512-byte header + data padded to 512; a layer adds 1024 end bytes.
- compressed bytes of an entry: ceil(header * 1000 / 10000) + ceil(file * 1000 / class ratio)
  with ratios binary 2400, text 4000 per-mille; a blob adds 20 + ceil(1024 / 10) = 123.
  So a 512-byte header costs ceil(51.2) = 52.
- disk bytes: a file's length rounded up to 4096; whiteouts cost nothing.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

import layersim
from layersim.cli.app import app

runner = CliRunner()

SMALL_SPEC = """
[layers.base]
files = [
  { path = "bin/sh", size = 1000, content = "sh" },
  { path = "etc/os-release", size = 100, content = "os-release", class = "text" },
]

[layers.app]
files = [{ path = "app/main.py", size = 5000, class = "text" }]
deletes = ["etc/os-release"]

[images]
"app:1" = ["base", "app"]
"tool:1" = ["base"]

[nodes.n1]
images = ["app:1", "tool:1"]

[[nodes.n1.containers]]
image = "app:1"
writes = [{ path = "tmp/log", size = 10 }]
modifies = ["bin/sh"]

[[nodes.n1.containers]]
image = "tool:1"
state = "stopped"
writes = [{ path = "x", size = 5000 }]
"""

# --- per entry ---
# bin/sh (binary, 1000):       tar 512 + 1024 = 1536;  compressed 52 + ceil(1000/2.4) = 52 + 417 = 469
#                              disk 4096;  content compressed 417
# etc/os-release (text, 100):  tar 512 + 512 = 1024;   compressed 52 + ceil(100/4) = 52 + 25 = 77
#                              disk 4096;  content compressed 25
# app/main.py (text, 5000):    tar 512 + 5120 = 5632;  compressed 52 + 1250 = 1302
#                              disk 8192;  content compressed 1250
# whiteout etc/.wh.os-release: tar 512;  compressed 52;  disk 0
# --- per layer ---
BASE_TAR = 1536 + 1024 + 1024  # = 3584
APP_TAR = 5632 + 512 + 1024  # = 7168
BASE_COMPRESSED = 123 + 469 + 77  # = 669
APP_COMPRESSED = 123 + 1302 + 52  # = 1477
BASE_DISK = 4096 + 4096  # = 8192
APP_DISK = 8192 + 0  # = 8192
# --- flattened exports ---
# app:1 shows bin/sh and app/main.py (os-release is deleted, the whiteout dropped)
APP_FLAT_TAR = 1536 + 5632 + 1024  # = 8192
APP_FLAT_COMPRESSED = 469 + 1302 + 123  # = 1894
APP_FLAT_DISK = 4096 + 8192  # = 12288
# tool:1 is its one layer
TOOL_FLAT_COMPRESSED = BASE_COMPRESSED  # = 669
TOOL_FLAT_DISK = BASE_DISK  # = 8192


def write_spec(tmp_path: Path, text: str = SMALL_SPEC, name: str = "spec.toml") -> Path:
    path = tmp_path / name
    path.write_text(text)
    return path


def evaluate_json(spec: Path) -> dict:
    result = runner.invoke(app, ["evaluate", str(spec), "--json"])
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def test_images_exact(tmp_path: Path) -> None:
    """Per-image figures of the small spec equal the hand computation."""
    doc = evaluate_json(write_spec(tmp_path))
    assert list(doc["images"]) == ["app:1", "tool:1"]
    assert doc["images"]["app:1"] == {
        "layers": ["base", "app"],
        "layered_bytes": BASE_TAR + APP_TAR,  # 3584 + 7168 = 10752
        "flattened_bytes": APP_FLAT_TAR,  # 8192
        "shadowed_bytes": 100,  # os-release, deleted by app
        # dive, per path over the layers naming it (file bytes):
        #   bin/sh: 1000 (min 1000); etc/os-release: 100 + 0, the whiteout of a file counts 0
        #   (min 0); app/main.py: 5000 (min 5000)
        "dive_efficiency": (1000 + 0 + 5000) / (1000 + 100 + 5000),  # 6000 / 6100
        "dive_wasted_bytes": 100,  # etc/os-release is named by two layers: 100 + 0
        "dive_user_bytes": 5000,  # every layer but the first
        "dive_min_bytes": 6000,
        "dive_cumulative_bytes": 6100,
        "layered_compressed_bytes": BASE_COMPRESSED + APP_COMPRESSED,  # 669 + 1477 = 2146
        "layered_disk_bytes": BASE_DISK + APP_DISK,  # 16384
        "flattened_compressed_bytes": APP_FLAT_COMPRESSED,  # 1894
        "flattened_disk_bytes": APP_FLAT_DISK,  # 12288
    }
    assert doc["images"]["tool:1"] == {
        "layers": ["base"],
        "layered_bytes": BASE_TAR,
        "flattened_bytes": BASE_TAR,
        "shadowed_bytes": 0,
        "dive_efficiency": 1.0,
        "dive_wasted_bytes": 0,
        "dive_user_bytes": 0,
        "dive_min_bytes": 1100,
        "dive_cumulative_bytes": 1100,
        "layered_compressed_bytes": BASE_COMPRESSED,
        "layered_disk_bytes": BASE_DISK,
        "flattened_compressed_bytes": TOOL_FLAT_COMPRESSED,
        "flattened_disk_bytes": TOOL_FLAT_DISK,
    }


def test_registry_exact(tmp_path: Path) -> None:
    """Registry stored bytes and pushes (default push order: as defined) equal the hand
    computation; tool:1's base blob is mounted from the app repository."""
    registry = evaluate_json(write_spec(tmp_path))["registry"]
    logical = (669 + 1477) + 669  # every image's own layers: 2815
    flattened = APP_FLAT_COMPRESSED + TOOL_FLAT_COMPRESSED  # 1894 + 669 = 2563
    layer = BASE_COMPRESSED + APP_COMPRESSED  # each blob once: 2146
    file = 417 + 25 + 1250  # each content once: 1692
    assert registry["stored_bytes"] == {
        "logical": logical,
        "flattened": flattened,
        "layer": layer,
        "file": file,
        # modelled chunks: each file one chunk, none shared between contents (= file)
        "chunk_cdc": file,
        "chunk_fixed": file,
    }
    assert registry["savings"]["vs_flattened"] == {
        "logical": 1 - 2815 / 2563,
        "flattened": 0.0,
        "layer": 1 - 2146 / 2563,
        "file": 1 - 1692 / 2563,
        "chunk_cdc": 1 - 1692 / 2563,
        "chunk_fixed": 1 - 1692 / 2563,
    }
    assert registry["savings"]["vs_logical"]["layer"] == 1 - 2146 / 2815
    assert registry["dedup_ratio"]["file"] == 2815 / 1692
    assert registry["pushes"] == [
        {
            "image": "app:1",
            "uploaded_bytes": 669 + 1477,
            "uploaded_layers": ["base", "app"],
            "skipped_layers": [],
            "mounted_layers": [],
            "flattened_uploaded_bytes": 1894,
        },
        {
            "image": "tool:1",
            "uploaded_bytes": 0,
            "uploaded_layers": [],
            "skipped_layers": ["base"],
            "mounted_layers": ["base"],
            "flattened_uploaded_bytes": 669,
        },
    ]


def test_node_exact(tmp_path: Path) -> None:
    """Node stored bytes, pulls, docker-df usage and containers equal the hand computation."""
    doc = evaluate_json(write_spec(tmp_path))
    node = doc["nodes"]["n1"]
    assert node["stored_bytes"] == {
        "logical": (8192 + 8192) + 8192,  # app:1's layers + tool:1's layer = 24576
        "flattened": APP_FLAT_DISK + TOOL_FLAT_DISK,  # 12288 + 8192 = 20480
        "layer": BASE_DISK + APP_DISK,  # tool:1's only ChainID is app:1's first: 16384
        "file": 4096 + 4096 + 8192,  # sh, os-release, main.py once each: 16384
        "chunk_cdc": 16384,  # modelled: one chunk per file, none shared (= file)
        "chunk_fixed": 16384,
    }
    assert node["savings"]["vs_flattened"]["layer"] == 1 - 16384 / 20480
    # container n1-0: tmp/log 10 -> 4096; copy-up of bin/sh (overlay2, whole file) -> 4096
    # container n1-1: x 5000 -> 8192
    assert node["container_bytes"] == 8192 + 8192
    assert node["container_bytes_running"] == 8192
    assert node["container_bytes_stopped"] == 8192
    assert node["containers"] == [
        {"name": "n1-0", "image": "app:1", "state": "running", "writable_bytes": 8192},
        {"name": "n1-1", "image": "tool:1", "state": "stopped", "writable_bytes": 8192},
    ]
    assert node["pulled_bytes"] == {
        "layer": 669 + 1477 + 0,  # tool:1's base is already on the node
        "flattened": 1894 + 669,  # two distinct exports
    }
    assert node["pulls"] == [
        {
            "image": "app:1",
            "downloaded_bytes": 2146,
            "extracted_disk_bytes": 16384,
            "downloaded_layers": ["base", "app"],
            "skipped_layers": [],
            "flattened_downloaded_bytes": 1894,
        },
        {
            "image": "tool:1",
            "downloaded_bytes": 0,
            "extracted_disk_bytes": 0,
            "downloaded_layers": [],
            "skipped_layers": ["base"],
            "flattened_downloaded_bytes": 669,
        },
    ]
    assert node["images"] == {
        # app:1: base (shared with tool:1) + app
        "app:1": {"size_bytes": 16384, "shared_bytes": 8192, "unique_bytes": 8192},
        "tool:1": {"size_bytes": 8192, "shared_bytes": 8192, "unique_bytes": 0},
    }
    assert doc["fleet"]["stored_bytes"] == node["stored_bytes"]
    assert doc["fleet"]["container_bytes"] == 16384


@pytest.mark.parametrize("n_apps", [1, 2, 3, 5])
def test_closed_form_n_apps_on_one_base(tmp_path: Path, n_apps: int) -> None:
    """n apps with an app layer of A bytes on one base of B bytes, all on one node:
    layer-stored disk bytes = B + nA, flattened = n(B + A) (= logical)."""
    base_bytes, app_bytes = 10 * 4096, 3 * 4096  # multiples of the block: disk = file bytes
    lines = [f'[layers.base]\nfiles = [{{ path = "lib/base.so", size = {base_bytes} }}]']
    for i in range(n_apps):
        lines.append(f'[layers.app{i}]\nfiles = [{{ path = "app/a{i}", size = {app_bytes} }}]')
    lines.append("[images]")
    lines += [f'app{i} = ["base", "app{i}"]' for i in range(n_apps)]
    names = ", ".join(f'"app{i}"' for i in range(n_apps))
    lines.append(f"[nodes.n]\nimages = [{names}]")
    doc = evaluate_json(write_spec(tmp_path, "\n".join(lines) + "\n"))
    stored = doc["nodes"]["n"]["stored_bytes"]
    assert stored["layer"] == base_bytes + n_apps * app_bytes
    assert stored["flattened"] == n_apps * (base_bytes + app_bytes)
    assert stored["logical"] == n_apps * (base_bytes + app_bytes)
    assert stored["file"] == base_bytes + n_apps * app_bytes


def test_out_writes_the_same_document(tmp_path: Path) -> None:
    """--out writes the JSON document that --json prints, byte for byte, and leaves no
    temporary file; without --json stdout gets the tables."""
    spec = write_spec(tmp_path)
    out = tmp_path / "report.json"
    printed = runner.invoke(app, ["evaluate", str(spec), "--json", "--out", str(out)])
    assert printed.exit_code == 0
    assert out.read_text() == printed.stdout
    assert json.loads(out.read_text())["source"] == str(spec)
    out.unlink()
    tables = runner.invoke(app, ["evaluate", str(spec), "--out", str(out)])
    assert tables.exit_code == 0
    assert out.read_text() == printed.stdout
    assert sorted(p.name for p in tmp_path.iterdir()) == ["report.json", "spec.toml"]
    assert "Stored bytes by strategy" in tables.stdout
    assert "2,146" in tables.stdout  # the registry's layer-stored compressed bytes


def test_out_replaces_an_existing_file(tmp_path: Path) -> None:
    """--out over an existing file replaces it whole."""
    spec = write_spec(tmp_path)
    out = tmp_path / "report.json"
    out.write_text("old" * 10000)
    result = runner.invoke(app, ["evaluate", str(spec), "--out", str(out), "--json"])
    assert result.exit_code == 0
    assert out.read_text() == result.stdout


def test_output_is_deterministic(tmp_path: Path) -> None:
    """Two runs on the same spec print the same bytes."""
    spec = write_spec(tmp_path)
    first = runner.invoke(app, ["evaluate", str(spec), "--json"])
    second = runner.invoke(app, ["evaluate", str(spec), "--json"])
    assert first.stdout == second.stdout


def test_json_spec(tmp_path: Path) -> None:
    """A JSON spec evaluates like its TOML twin."""
    spec = tmp_path / "spec.json"
    spec.write_text(
        json.dumps(
            {
                "layers": {
                    "base": {
                        "files": [
                            {"path": "bin/sh", "size": 1000, "content": "sh"},
                            {
                                "path": "etc/os-release",
                                "size": 100,
                                "content": "os-release",
                                "class": "text",
                            },
                        ]
                    },
                    "app": {
                        "files": [{"path": "app/main.py", "size": 5000, "class": "text"}],
                        "deletes": ["etc/os-release"],
                    },
                },
                "images": {"app:1": ["base", "app"], "tool:1": ["base"]},
            }
        )
    )
    doc = evaluate_json(spec)
    assert doc["registry"]["stored_bytes"] == {
        "logical": 2815,
        "flattened": 2563,
        "layer": 2146,
        "file": 1692,
        "chunk_cdc": 1692,  # modelled: one chunk per file, none shared (= file)
        "chunk_fixed": 1692,
    }
    assert doc["nodes"] == {}


def test_example_fleet_evaluates(tmp_path: Path) -> None:
    """examples/fleet.toml evaluates; the wasteful report image carries the deleted archive
    (52428800 file bytes) that its one-step twin does not."""
    example = Path(__file__).resolve().parents[2] / "examples" / "fleet.toml"
    doc = evaluate_json(example)
    assert doc["images"]["report:1.0"]["shadowed_bytes"] == 52428800
    assert doc["images"]["report-slim:1.0"]["shadowed_bytes"] == 0
    assert (
        doc["images"]["report:1.0"]["flattened_bytes"]
        == (doc["images"]["report-slim:1.0"]["flattened_bytes"])
    )


BAD_SPECS = [
    (
        "unknown layer",
        '[layers.a]\n[images]\ni = ["a", "b"]\n',
        "images.i[1]: unknown layer 'b'",
    ),
    (
        "negative size",
        '[layers.a]\nfiles = [{ path = "x", size = -5 }]\n[images]\ni = ["a"]\n',
        "layers.a.files[0].size: must be a non-negative integer, got -5",
    ),
    (
        "container of an image not on the node",
        '[layers.a]\n[images]\ni = ["a"]\nj = ["a"]\n[nodes.n]\nimages = ["i"]\n'
        '[[nodes.n.containers]]\nimage = "j"\n',
        "nodes.n.containers[0].image: image 'j' is not on node 'n' (add it to nodes.n.images)",
    ),
    (
        "malformed TOML",
        "[layers.a\n",
        "malformed TOML: Expected ']' at the end of a table declaration (at line 1, column 10)",
    ),
]


@pytest.mark.parametrize(
    ("text", "message"), [b[1:] for b in BAD_SPECS], ids=[b[0] for b in BAD_SPECS]
)
def test_bad_spec_exits_2_with_one_line(tmp_path: Path, text: str, message: str) -> None:
    """A bad spec gives exit code 2, one `error:` line on stderr naming the problem, nothing
    on stdout, no traceback, and no output file."""
    spec = write_spec(tmp_path, text)
    out = tmp_path / "report.json"
    result = runner.invoke(app, ["evaluate", str(spec), "--json", "--out", str(out)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: {spec}: {message}\n"
    assert "Traceback" not in result.output
    assert not out.exists()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["spec.toml"]


def test_missing_spec_exits_2(tmp_path: Path) -> None:
    """A spec that does not exist is a one-line error and exit code 2."""
    missing = tmp_path / "none.toml"
    result = runner.invoke(app, ["evaluate", str(missing)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {missing}: No such file or directory\n"


def test_spec_that_is_a_directory_exits_2(tmp_path: Path) -> None:
    """A directory named like a spec is a one-line error and exit code 2."""
    folder = tmp_path / "d.toml"
    folder.mkdir()
    result = runner.invoke(app, ["evaluate", str(folder)])
    assert result.exit_code == 2
    assert result.stderr == f"error: {folder}: Is a directory\n"


def test_wrong_extension_exits_2(tmp_path: Path) -> None:
    """A spec that is neither .toml nor .json is refused."""
    spec = write_spec(tmp_path, "layers: {}", name="spec.yaml")
    result = runner.invoke(app, ["evaluate", str(spec)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {spec}: a spec must be a .toml or .json file, got 'spec.yaml'\n"
    )


def test_unwritable_out_exits_2(tmp_path: Path) -> None:
    """--out into a missing directory is a one-line error naming the file, exit code 2."""
    spec = write_spec(tmp_path)
    out = tmp_path / "missing" / "report.json"
    result = runner.invoke(app, ["evaluate", str(spec), "--out", str(out)])
    assert result.exit_code == 2
    assert result.stdout == ""
    assert result.stderr == f"error: cannot write {str(out)!r}: No such file or directory\n"


def test_out_refuses_to_overwrite_the_spec(tmp_path: Path) -> None:
    """--out naming the spec itself is refused and the spec is left intact."""
    spec = write_spec(tmp_path)
    result = runner.invoke(app, ["evaluate", str(spec), "--out", str(spec)])
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: refusing to overwrite the input {str(spec)!r} with the output\n"
    )
    assert spec.read_text() == SMALL_SPEC


def test_version() -> None:
    """--version prints the package version and exits 0."""
    result = runner.invoke(app, ["--version"])
    assert result.exit_code == 0
    assert result.stdout == f"layersim {layersim.__version__}\n"


def test_help_lists_evaluate() -> None:
    """The app is a group: `layersim --help` lists the evaluate command and its options."""
    result = runner.invoke(app, ["evaluate", "--help"])
    assert result.exit_code == 0
    assert "--json" in result.stdout
    assert "--out" in result.stdout
