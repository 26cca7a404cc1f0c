"""Tests of `layersim.readers.archive`: docker-archives (`docker save`, `skopeo copy ...
docker-archive:`), in both layouts writers use, planned from `manifest.json`.
"""

from __future__ import annotations

import io
import json
import os
import tarfile
from pathlib import Path

import pytest

from layersim.errors import ImageFormatError
from layersim.readers import read_images
from layersim.readers.archive import plan_archive
from layersim.readers.layer_blob import LayerBlob
from layersim.readers.plan import Platform
from layersim.readers.source import opened
from tests.readers.images import APP, BASE, compress, docker_archive, make_tar, sha


@pytest.mark.parametrize("style", ["legacy", "blobs"])
@pytest.mark.parametrize("how", ["none", "gzip"])
def test_docker_archive(tmp_path: Path, style: str, how: str) -> None:
    """Both docker-archive layouts, with layers stored plain or gzip (sniffed): names from
    RepoTags, DiffIDs checked, a layer shared by two images read once (one Layer object)."""
    base, app = make_tar(BASE), make_tar(APP)
    path = docker_archive(
        tmp_path / "images.tar", [(["base:1"], [base]), (["app:1"], [base, app])], style, how
    )
    calls: list[tuple[int, int]] = []
    images = read_images([path], progress=lambda d, t: calls.append((d, t)))
    assert [i.name for i in images] == ["base:1", "app:1"]
    assert images[1].layers[0] is images[0].layers[0]
    for layer, tar in zip(images[1].layers, (base, app), strict=True):
        assert layer.diff_id == sha(tar)
        assert layer.blob_digest == sha(compress(tar, how))
        assert layer.compressed_bytes == len(compress(tar, how))
    total = len(compress(base, how)) + len(compress(app, how))
    assert calls[0] == (0, total) and calls[-1] == (total, total)
    assert [d for d, _ in calls] == sorted(d for d, _ in calls)


def test_docker_archive_hostile_paths(tmp_path: Path) -> None:
    """Layer paths that climb out, are absolute, or are symlinks out of the archive."""
    for layer_path, message in [
        ("../outside.tar", "leaves the image"),
        ("/etc/passwd", "absolute path"),
        ("evil/layer.tar", "outside the archive"),
    ]:
        config = json.dumps(
            {
                "os": "linux",
                "architecture": "amd64",
                "rootfs": {"type": "layers", "diff_ids": [sha(b"")]},
            }
        ).encode()
        files = {
            "c.json": config,
            "manifest.json": json.dumps(
                [{"Config": "c.json", "RepoTags": ["x:1"], "Layers": [layer_path]}]
            ).encode(),
        }
        path = tmp_path / "hostile.tar"
        with tarfile.open(path, "w") as tar:
            for name, data in files.items():
                info = tarfile.TarInfo(name)
                info.size = len(data)
                tar.addfile(info, io.BytesIO(data))
            link = tarfile.TarInfo("evil/layer.tar")
            link.type = tarfile.SYMTYPE
            link.linkname = "../../../etc/passwd"
            tar.addfile(link)
        with pytest.raises(ImageFormatError, match=message):
            read_images([path])


def test_docker_archive_config_digest_is_checked(tmp_path: Path) -> None:
    """A config stored as `blobs/sha256/<hex>` must hash to `<hex>`."""
    path = docker_archive(tmp_path / "a.tar", [(["x:1"], [make_tar(BASE)])], style="blobs")
    unpacked = tmp_path / "u"
    with tarfile.open(path) as tar:
        tar.extractall(unpacked, filter="tar")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    config = unpacked / manifest[0]["Config"]
    config.write_bytes(config.read_bytes().replace(b"amd64", b"arm64"))
    with pytest.raises(ImageFormatError, match="not the declared"):
        read_images([unpacked])


# ---------------------------------------------------------------------------------------------
# plans, and exact messages, on archives unpacked in a directory


def unpacked_archive(tmp_path: Path, style: str = "legacy") -> tuple[Path, list[dict]]:
    """A docker-archive of `app:1` (BASE, APP), unpacked; its manifest.json."""
    path = docker_archive(tmp_path / "a.tar", [(["app:1"], [make_tar(BASE), make_tar(APP)])], style)
    root = tmp_path / "unpacked"
    with tarfile.open(path) as tar:
        tar.extractall(root, filter="tar")
    return root, json.loads((root / "manifest.json").read_text())


def plans(root: Path, wanted: Platform | None = None):
    with opened(root) as source:
        return plan_archive(source, root, wanted)


@pytest.mark.parametrize("style", ["legacy", "blobs"])
def test_plan_of_each_layout(tmp_path: Path, style: str) -> None:
    """Each layer's blob: where it lies, no declared compression (sniffed when read), the blob
    digest its `blobs/sha256/<hex>` path declares (none for the legacy `<id>/layer.tar`), its
    stored bytes and the config's DiffID; a legacy layer's key is the file its link leads to."""
    root, manifest = unpacked_archive(tmp_path, style)
    (plan,) = plans(root)
    assert plan.name == "app:1" and plan.where == f"{root}: manifest.json: image 1"
    for index, (layer, tar) in enumerate(
        zip(plan.layers, (make_tar(BASE), make_tar(APP)), strict=True), start=1
    ):
        member = manifest[0]["Layers"][index - 1]
        assert layer.member == member
        assert layer.blob == LayerBlob(
            where=f"layer {index} of app:1 ({member}) in {root}",
            compression=None,
            digest=sha(tar) if style == "blobs" else None,  # type: ignore[arg-type]
            stored_bytes=len(tar),
            diff_id=sha(tar),  # type: ignore[arg-type]
        )
        expected_key = (
            sha(tar) if style == "blobs" else os.path.realpath(root / f"{sha(tar)[7:]}.tar")
        )
        assert layer.key == expected_key


def test_an_image_without_repo_tags_is_named_by_its_config(tmp_path: Path) -> None:
    """No RepoTags: `<archive name up to its first dot>@<config digest>`."""
    root, manifest = unpacked_archive(tmp_path)
    config_digest = sha((root / manifest[0]["Config"]).read_bytes())
    manifest[0]["RepoTags"] = None
    (root / "manifest.json").write_text(json.dumps(manifest))
    (plan,) = plans(root)
    assert plan.name == f"unpacked@{config_digest}"


def rewrite(root: Path, manifest: object) -> None:
    (root / "manifest.json").write_text(json.dumps(manifest))


def test_archive_messages(tmp_path: Path) -> None:
    """Exact one-line messages for what a manifest.json can get wrong."""
    root, manifest = unpacked_archive(tmp_path)
    where = f"{root}: manifest.json"
    first_layer = manifest[0]["Layers"][0]
    cases = [
        ([], f"{where}: expected a non-empty list of images"),
        ({"Config": "x"}, f"{where}: expected a non-empty list of images"),
        ([dict(manifest[0], RepoTags=[1])], f"{where}: image 1: malformed RepoTags"),
        (
            [dict(manifest[0], Layers=manifest[0]["Layers"][:1])],
            f"{where}: image 1: 1 layers, but its config lists 2 DiffIDs",
        ),
        (
            [dict(manifest[0], Layers=[first_layer, 7])],
            f"{where}: image 1: malformed layer path 7",
        ),
        (
            [dict(manifest[0], Layers=[first_layer, "nothing/layer.tar"])],
            f"layer 2 of app:1 (nothing/layer.tar) in {root}: the layer file is missing",
        ),
        (
            [dict(manifest[0], Config=None)],
            f"{where}: image 1: field 'Config' is missing or malformed",
        ),
    ]
    for document, message in cases:
        rewrite(root, document)
        with pytest.raises(ImageFormatError) as info:
            plans(root)
        assert str(info.value) == message


def test_a_platform_other_than_wanted_is_refused(tmp_path: Path) -> None:
    """An archive holds one platform per image: asking for another is an error, not a choice;
    asking for its own (or a variant-less match) plans it."""
    root, _ = unpacked_archive(tmp_path)
    assert [p.name for p in plans(root, Platform.parse("linux/amd64"))] == ["app:1"]
    with pytest.raises(ImageFormatError) as info:
        plans(root, Platform.parse("linux/arm64"))
    assert str(info.value) == f"{root}: app:1 is for platform linux/amd64, not linux/arm64"
