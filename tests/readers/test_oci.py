"""Tests of `layersim.readers.oci`: OCI image layouts planned from `index.json` down through
image indexes and manifests to configs and layer blobs; one platform chosen per image; names;
and every refusal as one exact line naming the layout and the blob.

The layouts are written here by hand (`tests.readers.images.Layout`); the plans are checked
before any layer is streamed (`plan_layout`), and end to end where the choice shows in the
layers read (`read_images`).
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from layersim.errors import ImageFormatError
from layersim.readers import read_images
from layersim.readers.decompress import Compression
from layersim.readers.layer_blob import LayerBlob
from layersim.readers.oci import MAX_INDEX_DEPTH, plan_layout
from layersim.readers.plan import ImagePlan, Platform
from layersim.readers.source import opened
from tests.readers.images import (
    APP,
    BASE,
    INDEX_MT,
    MANIFEST_MT,
    Layout,
    compress,
    good_layout,
    make_tar,
    sha,
)

DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
ATTESTATION = {"vnd.docker.reference.type": "attestation-manifest"}


def plan(root: Path, platform: str | None = None) -> list[ImagePlan]:
    """The plans of the layout at `root`, for `platform` if given."""
    with opened(root) as source:
        return plan_layout(source, root, Platform.parse(platform) if platform else None)


def refusal(root: Path, platform: str | None = None) -> str:
    """The message planning the layout at `root` fails with."""
    with pytest.raises(ImageFormatError) as info:
        plan(root, platform)
    return str(info.value)


def index_of(layout: Layout, *children: dict, media_type: str = INDEX_MT) -> dict:
    """Write an image index of `children`; return its descriptor."""
    return layout.json_blob({"schemaVersion": 2, "manifests": list(children)}, media_type)


def on(platform: str, descriptor: dict) -> dict:
    """`descriptor` as an index lists it for `platform` (os/arch[/variant])."""
    parsed = Platform.parse(platform)
    fields = {"os": parsed.os, "architecture": parsed.architecture}
    if parsed.variant:
        fields["variant"] = parsed.variant
    return dict(descriptor, platform=fields)


def manifest_digest(plans: list[ImagePlan]) -> list[str]:
    """The manifest digest of each plan, as its `where` names it."""
    return [p.where.split("manifest ", 1)[1].split(" ", 1)[0] for p in plans]


# ---------------------------------------------------------------------------------------------
# moved with the module: names, platforms, refusals through read_images


def test_image_naming_in_layouts(tmp_path: Path) -> None:
    """A bare ref is a tag of the layout's directory; a full reference is used as is; several
    images of one layout are read in index order."""
    layout = Layout(tmp_path / "base")
    layout.add(layout.image([make_tar(BASE)]), "1")
    layout.add(layout.image([make_tar(BASE), make_tar(APP)]), "registry.example/team/app:2")
    layout.add(layout.image([make_tar(APP)]))
    names = [image.name for image in read_images([layout.root])]
    assert names[:2] == ["base:1", "registry.example/team/app:2"]
    assert names[2].startswith("base@sha256:")


def test_platform_selection(tmp_path: Path) -> None:
    """An image index: linux/amd64 by default, --platform otherwise, an error listing the
    platforms when none fits; a single-platform image is taken whatever its platform."""
    layout = Layout(tmp_path / "multi")
    amd = layout.image([make_tar(BASE)], platform=("linux", "amd64"))
    arm = layout.image([make_tar(APP)], platform=("linux", "arm64"))
    attestation = layout.image([make_tar(APP)], platform=("unknown", "unknown"))
    index = layout.json_blob(
        {
            "schemaVersion": 2,
            "manifests": [
                dict(arm, platform={"os": "linux", "architecture": "arm64"}),
                dict(amd, platform={"os": "linux", "architecture": "amd64"}),
                dict(
                    attestation,
                    platform={"os": "unknown", "architecture": "unknown"},
                    annotations={"vnd.docker.reference.type": "attestation-manifest"},
                ),
            ],
        },
        "application/vnd.oci.image.index.v1+json",
    )
    layout.add(index, "multi:1")
    (default,) = read_images([layout.root])
    assert default.layers[0].diff_id == sha(make_tar(BASE))
    (arm64,) = read_images([layout.root], platform="linux/arm64/v8")
    assert arm64.layers[0].diff_id == sha(make_tar(APP))
    with pytest.raises(ImageFormatError, match=r"linux/s390x.*linux/arm64, linux/amd64"):
        read_images([layout.root], platform="linux/s390x")

    only_arm = Layout(tmp_path / "arm")
    only_arm.add(only_arm.image([make_tar(APP)], platform=("linux", "arm64")), "1")
    assert read_images([only_arm.root])[0].name == "arm:1"
    with pytest.raises(ImageFormatError, match="no image for platform linux/amd64"):
        read_images([only_arm.root], platform="linux/amd64")
    with pytest.raises(ImageFormatError, match="os/arch"):
        read_images([only_arm.root], platform="amd64")


def test_same_ref_with_several_platforms_in_index_json(tmp_path: Path) -> None:
    """Descriptors sharing a ref name in index.json are one image in several platforms."""
    layout = Layout(tmp_path / "l")
    layout.add(layout.image([make_tar(APP)], platform=("linux", "arm64")), "1")
    layout.add(layout.image([make_tar(BASE)]), "1")
    (image,) = read_images([layout.root])
    assert image.layers[0].diff_id == sha(make_tar(BASE))


def test_missing_blob(tmp_path: Path) -> None:
    """A layer blob the manifest lists but the layout lacks is named by its digest."""
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][1]["digest"]
    layout.blob_file(digest).unlink()
    with pytest.raises(ImageFormatError, match=f"{digest}.*missing"):
        read_images([layout.root])


def test_blob_size_differs_from_descriptor(tmp_path: Path) -> None:
    """A huge declared size is refused before any byte is streamed."""
    layout = Layout(tmp_path / "l")
    desc = layout.image([make_tar(BASE)])
    manifest = layout.manifest(desc)
    manifest["layers"][0]["size"] = 1 << 62
    layout.add(layout.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json"), "x")
    with pytest.raises(ImageFormatError, match="manifest says 4611686018427387904"):
        read_images([layout.root])


@pytest.mark.parametrize(
    ("media_type", "message"),
    [
        ("application/vnd.oci.image.layer.v1.tar+bzip2", "unknown media type"),
        ("application/vnd.oci.image.layer.v1.tar+gzip+encrypted", "unknown media type"),
        ("application/vnd.docker.image.rootfs.foreign.diff.tar.gzip", "foreign"),
    ],
)
def test_unsupported_layer_media_types(tmp_path: Path, media_type: str, message: str) -> None:
    """Layers of an unknown compression or encryption, and foreign layers, are refused."""
    layout = Layout(tmp_path / "l")
    layout.add(layout.image([make_tar(BASE)], media_types=[media_type]), "x")
    with pytest.raises(ImageFormatError, match=message):
        read_images([layout.root])


def test_unknown_manifest_media_type(tmp_path: Path) -> None:
    """A descriptor in index.json that is neither a manifest nor an index is refused."""
    layout = Layout(tmp_path / "l")
    layout.add(layout.json_blob({"schemaVersion": 1}, "application/vnd.example.thing+json"))
    with pytest.raises(ImageFormatError, match="unknown media type"):
        read_images([layout.root])


@pytest.mark.parametrize(
    "text",
    ["{not json", "[" * 100_000, '{"schemaVersion": 2, "manifests": 7}', '"just a string"'],
)
def test_malformed_index_json(tmp_path: Path, text: str) -> None:
    """index.json that is not JSON, too deeply nested, or not an index names index.json."""
    layout, _ = good_layout(tmp_path)
    (layout.root / "index.json").write_text(text)
    with pytest.raises(ImageFormatError, match=r"index\.json"):
        read_images([layout.root])


def test_malformed_config(tmp_path: Path) -> None:
    """A config blob that is not JSON; a config whose DiffID count disagrees with the layers."""
    layout = Layout(tmp_path / "l")
    desc = layout.image([make_tar(BASE)])
    manifest = layout.manifest(desc)
    manifest["config"] = layout.blob(b"\x00garbage", "application/vnd.oci.image.config.v1+json")
    layout.add(layout.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json"), "x")
    with pytest.raises(ImageFormatError, match="malformed JSON"):
        read_images([layout.root])

    layout2 = Layout(tmp_path / "l2")
    layout2.add(layout2.image([make_tar(BASE)], diff_ids=[sha(b"a"), sha(b"b")]), "x")
    with pytest.raises(ImageFormatError, match="1 layers, but its config lists 2 DiffIDs"):
        read_images([layout2.root])


# ---------------------------------------------------------------------------------------------
# index -> manifest -> config -> layer plans


def test_plan_resolves_index_to_manifest_config_and_layers(tmp_path: Path) -> None:
    """One image of a gzip and a zstd layer: its name, its manifest named in `where`, and per
    layer the blob path, the key (blob digest), and what the blob must be: compression from
    the media type, digest and size from the manifest, DiffID from the config."""
    base, app = make_tar(BASE), make_tar(APP)
    layout = Layout(tmp_path / "layout")
    desc = layout.image([base, app], ["gzip", "zstd"])
    layout.add(desc, "v1")
    (image,) = plan(layout.root)
    root = layout.root
    assert image.name == "layout:v1"
    assert image.where == f"{root}: manifest {desc['digest']} (layout:v1)"
    for index, (layer, tar, how) in enumerate(
        zip(image.layers, (base, app), ("gzip", "zstd"), strict=True), start=1
    ):
        stored = compress(tar, how)
        assert layer.member == f"blobs/sha256/{sha(stored)[7:]}"
        assert layer.key == sha(stored)
        assert layer.blob == LayerBlob(
            where=f"blob {sha(stored)} (layer {index} of layout:v1) in {root}",
            compression=Compression(how),
            digest=sha(stored),  # type: ignore[arg-type]
            stored_bytes=len(stored),
            diff_id=sha(tar),  # type: ignore[arg-type]
        )


def test_docker_media_types_read_as_oci_ones(tmp_path: Path) -> None:
    """A Docker manifest list of a Docker v2 manifest with a Docker config and Docker layer
    types: planned as the OCI equivalents (rootfs.diff.tar.gzip is gzip, .tar is none, .tar.zstd
    is zstd), and the layers read to the DiffIDs of the tars."""
    tars = [make_tar(BASE), make_tar(APP), make_tar(BASE[:2])]
    layout = Layout(tmp_path / "d")
    kinds = [("gzip", ".tar.gzip"), ("none", ".tar"), ("zstd", ".tar.zstd")]
    layers = [
        layout.blob(compress(t, how), "application/vnd.docker.image.rootfs.diff" + suffix)
        for t, (how, suffix) in zip(tars, kinds, strict=True)
    ]
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [sha(t) for t in tars]},
    }
    manifest = layout.json_blob(
        {
            "schemaVersion": 2,
            "mediaType": DOCKER_MANIFEST,
            "config": layout.json_blob(config, DOCKER_CONFIG),
            "layers": layers,
        },
        DOCKER_MANIFEST,
    )
    layout.add(index_of(layout, on("linux/amd64", manifest), media_type=DOCKER_LIST), "d:1")
    (image,) = plan(layout.root)
    assert [layer.blob.compression for layer in image.layers] == [
        Compression.GZIP,
        Compression.NONE,
        Compression.ZSTD,
    ]
    (read,) = read_images([layout.root])
    assert [layer.diff_id for layer in read.layers] == [sha(t) for t in tars]


def test_media_type_from_the_blob_when_the_descriptor_omits_it(tmp_path: Path) -> None:
    """Descriptors without `mediaType`: the blob's own `mediaType` decides; a blob without one
    is an index if it lists `manifests`, else a manifest."""
    layout = Layout(tmp_path / "l")
    amd = layout.image([make_tar(BASE)])
    arm = layout.image([make_tar(APP)], platform=("linux", "arm64"))
    bare_index = layout.json_blob(
        {"schemaVersion": 2, "manifests": [on("linux/arm64", arm), on("linux/amd64", amd)]},
        INDEX_MT,
    )
    manifest = layout.manifest(amd)
    del manifest["mediaType"]
    bare_manifest = layout.json_blob(manifest, MANIFEST_MT)
    layout.add({k: v for k, v in bare_index.items() if k != "mediaType"}, "multi")
    layout.add({k: v for k, v in amd.items() if k != "mediaType"}, "typed")
    layout.add({k: v for k, v in bare_manifest.items() if k != "mediaType"}, "bare")
    plans = plan(layout.root)
    assert [p.name for p in plans] == ["l:multi", "l:typed", "l:bare"]
    assert manifest_digest(plans) == [amd["digest"], amd["digest"], bare_manifest["digest"]]


@pytest.mark.parametrize(("platform", "chosen"), [(None, "amd"), ("linux/arm64", "arm")])
def test_nested_indexes_are_expanded(tmp_path: Path, platform: str | None, chosen: str) -> None:
    """An index of an index of manifests (index.json -> outer -> inner -> manifests): the
    platforms of the innermost manifests are chosen from as if listed at the top."""
    layout = Layout(tmp_path / "n")
    images = {
        "amd": layout.image([make_tar(BASE)]),
        "arm": layout.image([make_tar(APP)], platform=("linux", "arm64")),
    }
    inner = index_of(layout, on("linux/arm64", images["arm"]), on("linux/amd64", images["amd"]))
    outer = index_of(layout, inner)
    layout.add(outer, "nested:1")
    (image,) = plan(layout.root, platform)
    assert image.name == "nested:1"
    assert manifest_digest([image]) == [images[chosen]["digest"]]


def test_indexes_nest_at_most_max_index_depth(tmp_path: Path) -> None:
    """Indexes nested `MAX_INDEX_DEPTH` deep (the one index.json lists included) are read; one
    more is refused."""
    layout = Layout(tmp_path / "deep")
    image = layout.image([make_tar(BASE)])
    descriptor = image
    for _ in range(MAX_INDEX_DEPTH):
        descriptor = index_of(layout, descriptor)
    layout.add(descriptor, "ok")
    assert manifest_digest(plan(layout.root)) == [image["digest"]]

    too_deep = Layout(tmp_path / "too")
    descriptor = too_deep.image([make_tar(BASE)])
    for _ in range(MAX_INDEX_DEPTH + 1):
        descriptor = index_of(too_deep, descriptor)
    too_deep.add(descriptor, "deep")
    assert refusal(too_deep.root) == f"{too_deep.root}: image indexes nest too deep"


def test_platform_from_the_config_when_the_descriptors_declare_none(tmp_path: Path) -> None:
    """Two descriptors of one ref without `platform`: each manifest's config says its
    platform, and linux/amd64 is chosen by default."""
    layout = Layout(tmp_path / "c")
    arm = layout.image([make_tar(APP)], platform=("linux", "arm64"))
    amd = layout.image([make_tar(BASE)])
    layout.add(arm, "1")
    layout.add(amd, "1")
    assert manifest_digest(plan(layout.root)) == [amd["digest"]]
    assert manifest_digest(plan(layout.root, "linux/arm64")) == [arm["digest"]]


def test_variants_are_matched_as_containerd_does(tmp_path: Path) -> None:
    """An index of arm/v6 and arm/v7: asking for linux/arm/v7 takes v7, for linux/arm takes
    the first arm listed, for linux/arm/v8 fails listing both."""
    layout = Layout(tmp_path / "v")
    v6 = layout.image([make_tar(APP)], platform=("linux", "arm"))
    v7 = layout.image([make_tar(BASE)], platform=("linux", "arm"))
    layout.add(index_of(layout, on("linux/arm/v6", v6), on("linux/arm/v7", v7)), "arm:1")
    assert manifest_digest(plan(layout.root, "linux/arm/v7")) == [v7["digest"]]
    assert manifest_digest(plan(layout.root, "linux/arm")) == [v6["digest"]]
    assert refusal(layout.root, "linux/arm/v8") == (
        f"{layout.root}: arm:1 has no image for platform linux/arm/v8 "
        "(it has: linux/arm/v6, linux/arm/v7); choose one with --platform"
    )


def test_unknown_platform_message(tmp_path: Path) -> None:
    """No platform fits: one line naming the platform wanted and listing every platform the
    index has, in its order (attestations left out), and how to choose."""
    layout = Layout(tmp_path / "multi")
    amd = layout.image([make_tar(BASE)])
    arm = layout.image([make_tar(APP)], platform=("linux", "arm64"))
    attestation = layout.image([make_tar(APP)], platform=("unknown", "unknown"))
    layout.add(
        index_of(
            layout,
            on("linux/arm64", arm),
            on("linux/amd64", amd),
            dict(on("unknown/unknown", attestation), annotations=ATTESTATION),
        ),
        "multi:1",
    )
    assert refusal(layout.root, "linux/s390x") == (
        f"{layout.root}: multi:1 has no image for platform linux/s390x "
        "(it has: linux/arm64, linux/amd64); choose one with --platform"
    )


def test_an_index_of_attestations_only_has_no_image(tmp_path: Path) -> None:
    """A ref whose index lists only attestation manifests has no image manifest; a layout
    whose index.json lists only attestations (or nothing) lists no image."""
    layout = Layout(tmp_path / "a")
    attestation = layout.image([make_tar(APP)], platform=("unknown", "unknown"))
    layout.add(index_of(layout, dict(attestation, annotations=ATTESTATION)), "x:1")
    assert refusal(layout.root) == f"{layout.root}: x:1: no image manifest"

    only = Layout(tmp_path / "only")
    only.add(on("unknown/unknown", only.image([make_tar(APP)])), "y:1")
    assert refusal(only.root) == f"{only.root}: index.json: lists no image"
    (only.root / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": []}))
    assert refusal(only.root) == f"{only.root}: index.json: lists no image"


def test_containerd_name_annotation(tmp_path: Path) -> None:
    """`io.containerd.image.name` names the image (and groups its platforms) where there is
    no ref name."""
    layout = Layout(tmp_path / "ctr")
    name = {"io.containerd.image.name": "docker.io/library/alpine:3.19"}
    layout.add(dict(layout.image([make_tar(APP)], platform=("linux", "arm64")), annotations=name))
    layout.add(dict(layout.image([make_tar(BASE)]), annotations=name))
    (image,) = plan(layout.root)
    assert image.name == "docker.io/library/alpine:3.19"


def test_unnamed_descriptors_are_separate_images(tmp_path: Path) -> None:
    """Descriptors without a name are never platforms of one another: each is an image, named
    `<layout>@<manifest digest>`."""
    layout = Layout(tmp_path / "anon")
    first = layout.image([make_tar(APP)], platform=("linux", "arm64"))
    second = layout.image([make_tar(BASE)])
    layout.add(first)
    layout.add(second)
    assert [p.name for p in plan(layout.root)] == [
        f"anon@{first['digest']}",
        f"anon@{second['digest']}",
    ]


# ---------------------------------------------------------------------------------------------
# refusals, exact


def test_missing_layout_file_and_version(tmp_path: Path) -> None:
    """index.json without `oci-layout`, and a layout version other than 1.x."""
    layout, _ = good_layout(tmp_path)
    (layout.root / "oci-layout").unlink()
    assert refusal(layout.root) == f"{layout.root}: index.json but no oci-layout file"
    (layout.root / "oci-layout").write_text('{"imageLayoutVersion": "2.0.0"}')
    assert (
        refusal(layout.root) == f"{layout.root}: oci-layout: unsupported imageLayoutVersion '2.0.0'"
    )
    (layout.root / "oci-layout").write_text("{}")
    assert refusal(layout.root) == (
        f"{layout.root}: oci-layout: field 'imageLayoutVersion' is missing or malformed"
    )


def test_missing_blob_message(tmp_path: Path) -> None:
    """A missing layer blob: its digest, its place in the image, the layout."""
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][1]["digest"]
    layout.blob_file(digest).unlink()
    assert (
        refusal(layout.root)
        == f"blob {digest} (layer 2 of app:1) in {layout.root}: the blob is missing"
    )


def test_missing_manifest_blob_message(tmp_path: Path) -> None:
    """A manifest blob index.json lists but the layout lacks."""
    layout, desc = good_layout(tmp_path)
    layout.blob_file(desc["digest"]).unlink()
    assert refusal(layout.root) == f"{layout.root}: blobs/sha256/{desc['digest'][7:]} is missing"


def test_bad_media_type_messages(tmp_path: Path) -> None:
    """An unknown manifest media type, an unknown layer media type, a foreign layer, and a
    config that is not an image config: each one exact line."""
    layout = Layout(tmp_path / "l")
    thing = layout.json_blob({"schemaVersion": 1}, "application/vnd.example.thing+json")
    layout.add(thing)
    assert refusal(layout.root) == (
        f"{layout.root}: {thing['digest']}: unknown media type 'application/vnd.example.thing+json'"
    )

    for media_type, what in [
        ("application/vnd.oci.image.layer.v1.tar+bzip2", "unknown media type"),
        ("application/vnd.oci.image.layer.nondistributable.v1.tar+gzip", "non-distributable"),
    ]:
        bad = Layout(tmp_path / what.replace(" ", "-"))
        desc = bad.image([make_tar(BASE)], media_types=[media_type])
        bad.add(desc, "x")
        digest = bad.manifest(desc)["layers"][0]["digest"]
        where = f"blob {digest} (layer 1 of {bad.root.name}:x) in {bad.root}"
        expected = (
            f"{where}: unknown media type {media_type!r}"
            if what == "unknown media type"
            else f"{where}: non-distributable (foreign) layer {media_type!r} is not supported"
        )
        assert refusal(bad.root) == expected

    config = Layout(tmp_path / "cfg")
    manifest = config.manifest(config.image([make_tar(BASE)]))
    manifest["config"]["mediaType"] = "application/octet-stream"
    desc = config.json_blob(manifest, MANIFEST_MT)
    config.add(desc, "x")
    assert refusal(config.root) == (
        f"{config.root}: manifest {desc['digest']} (cfg:x): config media type "
        "'application/octet-stream' is not an image config"
    )


def test_manifest_schema_and_layer_count_messages(tmp_path: Path) -> None:
    """A manifest of schemaVersion 1, and one whose layers and config DiffIDs disagree."""
    layout = Layout(tmp_path / "l")
    manifest = layout.manifest(layout.image([make_tar(BASE)]))
    manifest["schemaVersion"] = 1
    desc = layout.json_blob(manifest, MANIFEST_MT)
    layout.add(desc, "x")
    where = f"{layout.root}: manifest {desc['digest']} (l:x)"
    assert refusal(layout.root) == f"{where}: schemaVersion 1 is not 2"

    counted = Layout(tmp_path / "c")
    desc = counted.image([make_tar(BASE)], diff_ids=[sha(b"a"), sha(b"b")])
    counted.add(desc, "x")
    assert refusal(counted.root) == (
        f"{counted.root}: manifest {desc['digest']} (c:x): 1 layers, but its config lists 2 DiffIDs"
    )


def test_layer_stored_size_message(tmp_path: Path) -> None:
    """A layer blob whose stored size is not the manifest's: both sizes, before streaming."""
    layout = Layout(tmp_path / "l")
    manifest = layout.manifest(layout.image([make_tar(BASE)]))
    stored = manifest["layers"][0]["size"]
    manifest["layers"][0]["size"] = stored + 1
    layout.add(layout.json_blob(manifest, MANIFEST_MT), "x")
    digest = manifest["layers"][0]["digest"]
    assert refusal(layout.root) == (
        f"blob {digest} (layer 1 of l:x) in {layout.root}: {stored} bytes stored, but the "
        f"manifest says {stored + 1}"
    )


def test_json_blob_size_and_digest_are_checked(tmp_path: Path) -> None:
    """A manifest blob of another size than its descriptor's, or of other bytes of the same
    size, is refused by `load_json` with both values."""
    layout, desc = good_layout(tmp_path)
    path = layout.blob_file(desc["digest"])
    name = f"blobs/sha256/{desc['digest'][7:]}"
    original = path.read_bytes()
    path.write_bytes(original + b" ")
    assert refusal(layout.root) == (
        f"{layout.root}: {name}: {len(original) + 1} bytes, but its descriptor says {len(original)}"
    )
    changed = original.replace(b'"schemaVersion": 2', b'"schemaVersion": 3')
    assert len(changed) == len(original) and changed != original
    path.write_bytes(changed)
    assert refusal(layout.root) == (
        f"{layout.root}: {name}: content has digest {sha(changed)}, not the declared "
        f"{desc['digest']}"
    )
