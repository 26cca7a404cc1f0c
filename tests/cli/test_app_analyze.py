"""Tests of `layersim analyze` and `layersim calibrate` through the typer app: the analyze
document has every key of `evaluate`'s (plus the documented `analysis`), bad input is one line
and exit code 2 with nothing written, `--platform` chooses, and the file `calibrate` writes is
one `layersim run --config` runs.

Images are OCI layouts and docker-archives written here with the `test_readers` helpers.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner
from zlib_ng import zlib_ng

from layersim.cli.app import app
from layersim.config import load_config
from layersim.report.analysis import ANALYSIS_UNITS
from tests.readers.images import APP, BASE, Layout, M, docker_archive, make_tar, sha

runner = CliRunner()

# an evaluate spec of the same shape as the analyzed population: two images on one base, one
# node that pulls both, no containers
SPEC = """
[layers.base]
files = [{ path = "bin/sh", size = 1000 }]
[layers.app]
files = [{ path = "app/main.py", size = 50, class = "text" }]
[images]
"base:1" = ["base"]
"app:1" = ["base", "app"]
[nodes.node]
images = ["base:1", "app:1"]
"""


def layouts(tmp_path: Path) -> list[Path]:
    """`base:1` (one layer) and `app:1`, `app:2` on it, one layout per repository."""
    base = make_tar(BASE)
    first = Layout(tmp_path / "base")
    first.add(first.image([base]), "1")
    second = Layout(tmp_path / "app")
    second.add(second.image([base, make_tar(APP)]), "1")
    second.add(second.image([base, make_tar([*APP, M("app/v2", b"two")])], "zstd"), "2")
    return [first.root, second.root]


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def ok_json(*args: str | Path) -> dict[str, Any]:
    result = invoke(*args, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stderr == ""
    return json.loads(result.stdout)


def shape(value: Any, names: frozenset[str], path: str = "") -> set[str]:
    """Every key path of a document, with the names of images and nodes as `*` and list items
    as `[]` (`names`: the paths whose keys are names)."""
    out = {path}
    if isinstance(value, dict):
        for key, item in value.items():
            part = "*" if path in names else key
            out |= shape(item, names, f"{path}.{part}" if path else part)
    elif isinstance(value, list):
        for item in value:
            out |= shape(item, names, f"{path}[]")
    return out


NAMED = frozenset({"images", "nodes", "nodes.*.images"})


def test_analyze_has_the_evaluate_schema(tmp_path: Path) -> None:
    """The analyze document has exactly the keys of evaluate's (images and nodes by name, list
    items alike), in the same order, plus `analysis` and `chunks`; `units` is evaluate's plus the units of
    the `analysis` figures; `source` lists the paths."""
    paths = layouts(tmp_path)
    doc = ok_json("analyze", *paths)
    spec = tmp_path / "spec.toml"
    spec.write_text(SPEC)
    reference = _evaluate_json(spec)
    assert list(doc) == [*list(reference)[:-1], "analysis", "chunks", "units"]
    analyzed = {k: v for k, v in doc.items() if k not in ("analysis", "chunks", "units", "source")}
    expected = {k: v for k, v in reference.items() if k not in ("units", "source")}
    assert shape(analyzed, NAMED) == shape(expected, NAMED)
    assert doc["units"] == {**reference["units"], **ANALYSIS_UNITS}
    assert doc["source"] == [str(p) for p in paths]
    assert list(doc["images"]) == ["base:1", "app:1", "app:2"]
    # app:1 mounts the base from the base repository; app:2 finds it in its own
    pushes = {p["image"]: p for p in doc["registry"]["pushes"]}
    assert len(pushes["app:1"]["mounted_layers"]) == 1
    assert len(pushes["app:2"]["skipped_layers"]) == 1 and not pushes["app:2"]["mounted_layers"]


def _evaluate_json(spec: Path) -> dict[str, Any]:
    result = invoke("evaluate", spec, "--json")
    assert result.exit_code == 0, result.output
    return json.loads(result.stdout)


def test_analysis_section(tmp_path: Path) -> None:
    """Per image: repository, layer count, merged-view files, and each layer's identities and
    sizes as stored; the layer names are those the evaluate keys use."""
    paths = layouts(tmp_path)
    doc = ok_json("analyze", *paths)
    analysis = doc["analysis"]
    assert analysis["paths"] == [str(p) for p in paths] and analysis["platform"] is None
    image = analysis["images"]["app:2"]
    assert image["repository"] == "app" and image["layer_count"] == 2
    # bin/busybox, etc/passwd, etc/motd, app/main.py, app/v2 (bin/sh is a symlink)
    assert image["file_count"] == 5
    assert image["file_bytes"] == sum(len(m.data) for m in [*BASE, *APP] if m.data) + 3
    top = image["layers"][1]
    tar = make_tar([*APP, M("app/v2", b"two")])
    assert top["diff_id"] == sha(tar) and top["tar_bytes"] == len(tar)
    assert top["name"] == sha(tar)[7:19] == doc["images"]["app:2"]["layers"][1]
    assert top["stored_uncompressed"] is False and top["files"] == 2
    assert top["entries"] == 3 and top["file_bytes"] == len(APP[1].data) + 3
    blob = paths[1] / "blobs" / "sha256" / top["blob_digest"][7:]
    assert top["compressed_bytes"] == blob.stat().st_size


def test_docker_archive(tmp_path: Path) -> None:
    """A docker-archive: images named by RepoTags, layers stored as plain tars."""
    base, top = make_tar(BASE), make_tar(APP)
    archive = docker_archive(tmp_path / "a.tar", [(["reg/app:1"], [base, top])])
    doc = ok_json("analyze", archive)
    (_, layer1) = doc["analysis"]["images"]["reg/app:1"]["layers"]
    assert layer1["stored_uncompressed"] and layer1["blob_digest"] == sha(top)
    assert layer1["compressed_bytes"] == layer1["tar_bytes"] == len(top)
    assert doc["images"]["reg/app:1"]["layered_bytes"] == len(base) + len(top)


def test_out_and_tables(tmp_path: Path) -> None:
    """Tables on stdout by default (with the layer table), the same document in --out as
    with --json; --quiet prints no tables but still writes --out."""
    paths = layouts(tmp_path)
    out = tmp_path / "report.json"
    result = invoke("analyze", *paths, "--out", out, "--no-cache")
    assert result.exit_code == 0, result.output
    assert "layersim analyze" in result.stdout and "Layers" in result.stdout
    assert "app:2" in result.stdout
    assert json.loads(out.read_text()) == ok_json("analyze", *paths, "--no-cache")
    out.unlink()
    quiet = invoke("analyze", *paths, "--quiet", "--out", out)
    assert quiet.exit_code == 0 and quiet.stdout == "" and out.exists()


def _one_error(result) -> str:
    assert result.exit_code == 2, result.output
    assert result.stdout == ""
    assert "Traceback" not in result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ")
    return lines[0]


def test_corrupt_blob_is_one_line_and_nothing_written(tmp_path: Path) -> None:
    """A layer blob whose bytes are not its digest's: exit 2, one line naming the blob, no
    traceback, no output file (read without the cache, which would answer for the digest)."""
    paths = layouts(tmp_path)
    layer = ok_json("analyze", *paths)["analysis"]["images"]["app:1"]["layers"][1]
    blob = paths[1] / "blobs" / "sha256" / layer["blob_digest"][7:]
    data = bytearray(blob.read_bytes())
    data[len(data) // 2] ^= 0xFF
    blob.write_bytes(bytes(data))
    out = tmp_path / "never.json"
    line = _one_error(invoke("analyze", *paths, "--json", "--out", out, "--no-cache"))
    assert layer["blob_digest"] in line
    assert not out.exists()
    assert not list(tmp_path.glob("*.tmp")) and not list(tmp_path.glob(".never*"))


@pytest.mark.parametrize(
    ("make", "message"),
    [
        (lambda tmp: tmp / "missing", "missing: no such file or directory"),
        (lambda tmp: (tmp / "empty").mkdir() or tmp / "empty", "neither an OCI image layout"),
    ],
)
def test_bad_paths(tmp_path: Path, make, message: str) -> None:
    """A path that does not exist, or holds no image: one line, exit 2."""
    assert message in _one_error(invoke("analyze", make(tmp_path)))


def test_platform_selection(tmp_path: Path) -> None:
    """One reference in two platforms: linux/amd64 by default, --platform otherwise, and a
    platform that is not there is one line listing those that are."""
    layout = Layout(tmp_path / "multi")
    layout.add(layout.image([make_tar(APP)], platform=("linux", "arm64")), "1")
    layout.add(layout.image([make_tar(BASE)], platform=("linux", "amd64")), "1")
    default = ok_json("analyze", layout.root)
    arm = ok_json("analyze", layout.root, "--platform", "linux/arm64")
    (name,) = default["analysis"]["images"]
    assert default["analysis"]["images"][name]["layers"][0]["diff_id"] == sha(make_tar(BASE))
    assert arm["analysis"]["images"][name]["layers"][0]["diff_id"] == sha(make_tar(APP))
    assert arm["analysis"]["platform"] == "linux/arm64"
    line = _one_error(invoke("analyze", layout.root, "--platform", "linux/s390x"))
    assert "linux/s390x" in line and "linux/arm64" in line


# ---------------------------------------------------------------------------------------------
# calibrate


def test_calibrate_writes_a_file_run_accepts(tmp_path: Path) -> None:
    """calibrate writes the experiment file atomically and prints what it fitted; the file
    loads, and `layersim run --config FILE --set time.epochs=2` runs it."""
    paths = layouts(tmp_path)
    target = tmp_path / "fit.toml"
    result = invoke("calibrate", *paths, "-o", target, "--check-seeds", "2")
    assert result.exit_code == 0, result.output
    assert "Fitted keys" in result.stdout and str(target) in result.stdout
    config = load_config(target, overrides=["time.epochs=2"])
    assert config.apps.count == 1 and config.time.epochs == 2
    out = tmp_path / "run"
    run = invoke("run", "--config", target, "--set", "time.epochs=2", "--out", out, "--quiet")
    assert run.exit_code == 0, run.output
    assert (out / "summary.json").is_file()
    assert not list(tmp_path.glob(".fit.toml*"))


def test_calibrate_quiet_and_scenario(tmp_path: Path) -> None:
    paths = layouts(tmp_path)
    target = tmp_path / "fit.toml"
    result = invoke("calibrate", *paths, "-o", target, "--scenario", "small", "-q")
    assert result.exit_code == 0 and result.stdout == ""
    assert load_config(target).scenario == "small"


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--scenario", "nope"], "unknown scenario 'nope'"),
        (["--check-seeds", "-1"], "--check-seeds: must be a non-negative integer"),
        (["--platform", "amd64"], "os/arch"),
    ],
)
def test_calibrate_bad_options(tmp_path: Path, extra: list[str], message: str) -> None:
    target = tmp_path / "fit.toml"
    line = _one_error(invoke("calibrate", *layouts(tmp_path), "-o", target, *extra))
    assert message in line
    assert not target.exists()


def test_calibrate_refuses_to_overwrite_an_input(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "a.tar", [(["app:1"], [make_tar(BASE)])])
    before = archive.read_bytes()
    line = _one_error(invoke("calibrate", archive, "-o", archive, "--check-seeds", "0"))
    assert "refusing to overwrite the input" in line
    assert archive.read_bytes() == before


def test_flattened_export_is_measured(tmp_path: Path) -> None:
    """With --flattened-export, analyze measures each image's flattened export: for `app:2` it
    equals the tar of the merged view's members (base then top layer), gzip-compressed by
    zlib-ng at level 6. Without the flag it is not measured (null: the estimate stands)."""
    assert (
        ok_json("analyze", *layouts(tmp_path))["analysis"]["images"]["app:2"]["flattened_export"]
        is None
    )
    doc = ok_json("analyze", "--flattened-export", *layouts(tmp_path))
    export = doc["analysis"]["images"]["app:2"]["flattened_export"]
    tar = make_tar([*BASE, *APP, M("app/v2", b"two")])
    assert export == {
        "tar_bytes": len(tar),
        "gzip_bytes": len(zlib_ng.compress(tar, 6, 31)),
        "gzip_level": 6,
    }
    assert doc["units"]["analysis.images.*.flattened_export.gzip_bytes"] == "compressed bytes"


def test_flattened_export_needs_plain_paths(tmp_path: Path) -> None:
    """--flattened-export reads the blobs again from disk, so it refuses a transport reference
    (here `oci:`) with one error line, before writing anything."""
    layout = layouts(tmp_path)[0]
    line = _one_error(invoke("analyze", "--flattened-export", f"oci:{layout}"))
    assert "--flattened-export" in line and "plain paths" in line


SMALL_CHUNKS = (
    "--cdc-min-bytes", "64", "--cdc-avg-bytes", "256", "--cdc-max-bytes", "1024",
    "--fixed-chunk-bytes", "1000",
)  # fmt: skip


def test_chunks_exact_on_a_hand_built_layout(tmp_path: Path) -> None:
    """Two images: x:1 = a layer with `a`, 10240 zero bytes; x:2 = that layer plus one with
    `b`, 2048 zero bytes. Zeros never match FastCDC's masks, so CDC cuts at the maximum (1024):
    `a` is 10 chunks, `b` 2, all one digest; fixed chunks of 1000: `a` 10 x 1000 + 240, `b`
    1000 + 1000 + 48: three distinct (1000, 240, 48 zeros). The registry stores each distinct
    chunk zstd-3 compressed; the node each distinct chunk padded to its 4096-byte block."""
    import zstandard

    layout = Layout(tmp_path / "l")
    base = make_tar([M("a", bytes(10240))])
    layout.add(layout.image([base]), "1")
    layout.add(layout.image([base, make_tar([M("b", bytes(2048))])]), "2")
    doc = ok_json("analyze", layout.root, *SMALL_CHUNKS)
    assert doc["chunks"] == {
        "cdc": {
            "min_bytes": 64,
            "avg_bytes": 256,
            "max_bytes": 1024,
            "chunks": 12,
            "distinct_chunks": 1,
            "distinct_bytes": 1024,
        },
        "fixed": {"chunk_bytes": 1000, "chunks": 14, "distinct_chunks": 3, "distinct_bytes": 1288},
    }

    def z(n: int) -> int:
        return len(zstandard.ZstdCompressor(level=3).compress(bytes(n)))

    registry = doc["registry"]["stored_bytes"]
    assert (registry["chunk_cdc"], registry["chunk_fixed"]) == (z(1024), z(1000) + z(240) + z(48))
    node = doc["nodes"]["node"]["stored_bytes"]
    assert (node["file"], node["chunk_cdc"], node["chunk_fixed"]) == (16384, 4096, 3 * 4096)
    assert doc["fleet"]["stored_bytes"]["chunk_fixed"] == 3 * 4096


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (["--fixed-chunk-bytes", "0"], "fixed chunk size must be a positive number"),
        (["--cdc-min-bytes", "70000"], "min <= avg <= max"),
        (["--cdc-avg-bytes", "0"], "CDC average chunk size must be a positive number"),
        (["--cdc-max-bytes", "100"], "CDC maximum chunk size must be within"),
    ],
)
def test_bad_chunk_sizes(tmp_path: Path, extra: list[str], message: str) -> None:
    """A chunk size of 0, out of range, or min > avg: one `error:` line naming it, exit 2."""
    assert message in _one_error(invoke("analyze", *layouts(tmp_path), "--json", *extra))
