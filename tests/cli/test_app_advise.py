"""Tests of `layersim advise` through the typer app, on OCI layouts written here: an image
that adds an archive and deletes it in the next layer gets `combine_steps` with the savings
the engine measures on the combined image; an app on the older of two base versions gets
rebase and consolidate saving exactly the old version's layer; bad input is one line and exit
code 2."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from layersim.accounting.assemble import evaluate
from layersim.advice.advise import apply_advice, combine_steps
from layersim.cli.app import app
from layersim.readers import read_population
from tests.readers.images import Layout, M, gzip_bytes, make_tar

runner = CliRunner()
ARCHIVE = M("src.tar", bytes(range(256)) * 2000)


def layout(tmp_path: Path) -> Path:
    image = Layout(tmp_path / "app")
    layers = [
        make_tar([M("bin/sh", b"sh" * 5000)]),
        make_tar([ARCHIVE]),
        make_tar([M("app/main", b"main" * 3000), M(".wh.src.tar")]),
    ]
    image.add(image.image(layers), "1")
    return image.root


def test_advise_json(tmp_path: Path) -> None:
    """The JSON lists combine_steps for layers 1-2 of app:1, with the tar and disk savings of
    the population re-evaluated with those layers combined; its compressed saving measured
    (not estimated): the two blobs on disk minus the zlib-ng gzip (level 6) of the combined
    layer's tar, built here (`app/main` alone: the archive and its whiteout are gone)."""
    root = layout(tmp_path)
    result = runner.invoke(app, ["advise", str(root), "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    combines = [a for a in doc["advice"] if a["kind"] == "combine_steps"]
    (advice,) = combines
    population = read_population([root])
    (expected,) = combine_steps(population, evaluate(population))
    (before,) = evaluate(population).images
    (after,) = evaluate(apply_advice(population, expected)).images
    assert advice["image"] == "app:1" and len(advice["layers"]) == 2
    assert advice["saves_tar_bytes"] == before.layered_tar_bytes - after.layered_tar_bytes
    assert advice["saves_disk_bytes"] == before.layered_disk_bytes - after.layered_disk_bytes
    assert advice["saves_tar_bytes"] > len(ARCHIVE.data)
    assert advice["estimated"] is False and advice["where"] == "image"
    blobs = [layer.compressed_bytes for layer in population.images[0].layers]
    new_tar = make_tar([M("app/main", b"main" * 3000)])
    assert advice["saves_compressed_bytes"] == blobs[1] + blobs[2] - gzip_bytes(new_tar)


def test_advise_no_measure(tmp_path: Path) -> None:
    """`--no-measure`: the compressed saving is the engine's estimate (the combined layer's
    entries' apportioned shares), flagged estimated."""
    root = layout(tmp_path)
    result = runner.invoke(app, ["advise", str(root), "--json", "--quiet", "--no-measure"])
    assert result.exit_code == 0, result.output
    (advice,) = [a for a in json.loads(result.stdout)["advice"] if a["kind"] == "combine_steps"]
    population = read_population([root])
    (expected,) = combine_steps(population, evaluate(population))
    assert advice["estimated"] is True
    assert advice["saves_compressed_bytes"] == expected.saves_compressed_bytes


def test_advise_tables_and_errors(tmp_path: Path) -> None:
    """Tables by default; a missing path is exit 2 with one `error:` line."""
    result = runner.invoke(app, ["advise", str(layout(tmp_path))])
    assert result.exit_code == 0, result.output
    assert "Advice (bytes saved)" in result.stdout and "combine_steps" in result.stdout
    missing = runner.invoke(app, ["advise", str(tmp_path / "nope")])
    assert missing.exit_code == 2
    assert missing.stderr.startswith("error: ") and missing.stderr.count("\n") == 1
    assert missing.stdout == ""


def base_layouts(tmp_path: Path) -> list[Path]:
    """`base` in two versions (sharing bin/sh, lib/c rewritten) and `svc:1` built on
    base:1 (its first layer byte for byte base:1's)."""
    sh = M("bin/sh", b"sh" * 20_000)
    v1 = make_tar([sh, M("lib/c", b"c1" * 15_000)])
    v2 = make_tar([sh, M("lib/c", b"c2" * 15_000)])
    base = Layout(tmp_path / "base")
    base.add(base.image([v1]), "1")
    base.add(base.image([v2]), "2")
    svc = Layout(tmp_path / "svc")
    svc.add(svc.image([v1, make_tar([M("app/main", b"m" * 7_000)])]), "1")
    return [base.root, svc.root]


def test_advise_rebase_and_consolidate(tmp_path: Path) -> None:
    """svc:1 on base:1 gets rebase onto base:2 and the family consolidate onto base:2; both
    retire base:1, so each saves exactly base:1's layer: its tar and blob bytes in the
    registry, its disk bytes on the node; not estimated (no layer is made)."""
    roots = base_layouts(tmp_path)
    result = runner.invoke(app, ["advise", *map(str, roots), "--json", "--quiet"])
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    by_kind = {a["kind"]: a for a in doc["advice"]}
    (base_1,) = [i for i in read_population(roots).images if i.name == "base:1"]
    (layer,) = base_1.layers
    expected = [layer.tar_bytes, layer.compressed_bytes, layer.disk_bytes()]
    for kind, image in (("rebase", "svc:1"), ("consolidate", "base")):
        advice = by_kind[kind]
        assert advice["image"] == image and advice["estimated"] is False
        assert [
            advice["saves_tar_bytes"],
            advice["saves_compressed_bytes"],
            advice["saves_disk_bytes"],
        ] == expected
    assert "base:1 is then retired" in by_kind["rebase"]["detail"]
