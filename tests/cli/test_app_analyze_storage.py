"""Tests of `layersim analyze --registry-storage DIR [--older-than D --now T]` through the typer
app: the `analysis.registry.storage` and `analysis.registry.older_than` figures on a
hand-written registry storage and layouts, the storage table, and bad storage or options as one
`error:` line, exit 2, read before any image and nothing written."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from layersim.cli.app import app
from tests.readers.images import BASE, Layout, M, RegistryStorage, make_tar

runner = CliRunner()
NOW = "2026-12-01T00:00:00Z"


def invoke(*args: str | Path):
    return runner.invoke(app, [str(a) for a in args])


def _storage(tmp_path: Path) -> tuple[RegistryStorage, dict[str, str]]:
    """app:1 (2025), app:2 (2026-11) sharing L0; app:latest overwritten (the first one
    untagged); gone:1 deleted; an orphan blob."""
    storage = RegistryStorage(tmp_path / "registry")
    l0, l1, l2, l3, l4, lg = (n.encode() * 100 for n in ("l0", "l1", "l2", "l3", "l4", "lg"))
    m = {
        "app1": storage.image("app", [l0, l1], "2025-01-01T00:00:00Z"),
        "app2": storage.image("app", [l0, l2], "2026-11-01T00:00:00Z"),
        "app3": storage.image("app", [l0, l3], "2026-10-01T00:00:00Z"),
        "app4": storage.image("app", [l0, l4]),
        "gone": storage.image("gone", [l0, lg], "2026-11-02T00:00:00Z"),
        "orphan": storage.blob(b"an upload no manifest references"),
    }
    for tag, key in (("1", "app1"), ("2", "app2"), ("latest", "app3"), ("latest", "app4")):
        storage.tag("app", tag, m[key])
    storage.tag("gone", "1", m["gone"])
    storage.delete_manifest("gone", m["gone"])
    return storage, m


def _own_blobs(storage: RegistryStorage, manifest: str, layers: int = 1) -> list[str]:
    """A manifest, its config and its last `layers` layers."""
    path = storage.v2 / "blobs/sha256" / manifest[7:9] / manifest[7:] / "data"
    doc = json.loads(path.read_bytes())
    return [manifest, doc["config"]["digest"], *(d["digest"] for d in doc["layers"][-layers:])]


def _layouts(tmp_path: Path) -> list[Path]:
    """old:1 (2020), new:1 (2026-11) on one base, undated:1 (no `created`)."""
    base = make_tar(BASE)
    roots = []
    for name, created in (("old", "2020-01-01T00:00:00Z"), ("new", "2026-11-30T23:59:59Z")):
        layout = Layout(tmp_path / name)
        layout.add(
            layout.image([base, make_tar([M(f"{name}.txt", name.encode() * 99)])], created=created),
            "1",
        )
        roots.append(layout.root)
    layout = Layout(tmp_path / "undated")
    layout.add(layout.image([base]), "1")
    return [*roots, layout.root]


def test_storage_and_older_than_figures(tmp_path: Path) -> None:
    """Exact figures: garbage collection frees the deleted manifest's own blobs and the
    orphan; the untagged `latest` pins its manifest, config and own layer; deleting the tags
    older than 180 days (app:1) frees its manifest, config and own layer on top (L0 stays with
    app:2); app:latest has no creation time. Over the images read, `old:1` is deleted
    (its own layer freed, the base kept by new:1) and `undated:1` is counted apart."""
    storage, m = _storage(tmp_path)
    paths = _layouts(tmp_path)
    args = ["analyze", *paths, "--registry-storage", storage.root, "--older-than", "180d"]
    result = invoke(*args, "--now", NOW, "--json", "--quiet")
    assert result.exit_code == 0, result.output
    analysis = json.loads(result.stdout)["analysis"]
    figures = analysis["registry"]["storage"]
    size = storage.blob_bytes
    gone = [*_own_blobs(storage, m["gone"]), m["orphan"]]
    assert figures["garbage_collect"] == {
        "frees_blobs": 4,
        "frees_bytes": sum(size(d) for d in gone),
    }
    pinned = _own_blobs(storage, m["app3"])
    assert figures["untagged_pinned"] == {
        "frees_blobs": 3,
        "frees_bytes": sum(size(d) for d in pinned),
        "manifests": 1,
    }
    assert figures["garbage_collect_delete_untagged"]["frees_bytes"] == sum(
        size(d) for d in gone + pinned
    )
    older = figures["older_than"]
    assert older["deleted_tags"] == ["app:1"] and older["tags_without_created"] == ["app:latest"]
    assert older["frees_bytes"] == sum(size(d) for d in _own_blobs(storage, m["app1"]))
    assert (
        older["cutoff"] == "2026-06-04T00:00:00+00:00"
        and older["now"] == "2026-12-01T00:00:00+00:00"
    )
    assert (figures["repositories"], figures["tags"], figures["manifests"]) == (2, 3, 4)
    assert figures["untagged_manifests"] == 1 and figures["path"] == str(storage.root)
    engine = analysis["registry"]["older_than"]
    assert engine["deleted_images"] == ["old:1"] and engine["images_without_created"] == [
        "undated:1"
    ]
    own = analysis["images"]["old:1"]["layers"][1]
    assert engine["frees_bytes"] == own["compressed_bytes"]
    assert analysis["images"]["new:1"]["created"] == "2026-11-30T23:59:59+00:00"
    assert analysis["images"]["undated:1"]["created"] is None
    tables = invoke(*args, "--now", NOW, "--quiet", "--no-cache")
    assert tables.exit_code == 0
    shown = invoke(*args, "--now", NOW, "--no-cache")
    assert "Registry storage" in shown.stdout and "garbage-collect now" in shown.stdout


def test_without_options_the_figures_are_null(tmp_path: Path) -> None:
    """Without --registry-storage and --older-than, both keys are there and null."""
    result = invoke("analyze", *_layouts(tmp_path), "--json", "--quiet")
    registry = json.loads(result.stdout)["analysis"]["registry"]
    assert registry["storage"] is None and registry["older_than"] is None


def _broken_link(tmp_path: Path) -> Path:
    storage, _ = _storage(tmp_path)
    (storage.repository("app") / "_manifests/tags/1/current/link").write_text("sha256:zz")
    return storage.root


@pytest.mark.parametrize(
    ("extra", "message"),
    [
        (lambda tmp: ["--registry-storage", tmp], "not a registry's storage"),
        (lambda tmp: ["--registry-storage", tmp / "nope"], "no such directory"),
        (lambda tmp: ["--registry-storage", _broken_link(tmp)], "broken link file"),
        (lambda tmp: ["--older-than", "30x"], "--older-than: '30x' is not a duration"),
        (lambda tmp: ["--now", NOW], "--now is the time --older-than counts back from"),
        (lambda tmp: ["--older-than", "1d", "--now", "today"], "--now: 'today' is not"),
    ],
)
def test_bad_storage_or_options(tmp_path: Path, extra, message: str) -> None:
    """Bad storage or options: one `error:` line, exit 2, nothing written; found before any
    image is read (the image path given does not exist)."""
    out = tmp_path / "out.json"
    result = invoke("analyze", tmp_path / "no-image", *extra(tmp_path), "--out", out)
    assert result.exit_code == 2, result.output
    lines = result.stderr.splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: ") and message in lines[0]
    assert "Traceback" not in result.output and not out.exists()
