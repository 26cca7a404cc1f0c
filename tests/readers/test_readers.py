"""Tests of `layersim.readers`: OCI layouts and docker-archives built here, byte by byte.

Every expected identity is computed independently with hashlib on the bytes the test wrote.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import tarfile
import threading
from dataclasses import dataclass, field
from pathlib import Path

import pytest
import zstandard
from hypothesis import given, settings
from hypothesis import strategies as st

import layersim.readers.blobs as blobs_module
import layersim.readers.layer_tar as layer_tar
import layersim.readers.source as source_module
from layersim.accounting.reference import evaluate
from layersim.errors import ImageFormatError
from layersim.model import EntryKind
from layersim.model.sizes import TAR_END_BYTES, CompressionModel
from layersim.readers import read_images, read_population
from layersim.readers.layer_tar import (
    PIECE_BYTES,
    Compression,
    LayerBlob,
    TarScanner,
    apportion,
    read_layer,
)

OVERHEAD = CompressionModel().blob_overhead_bytes()
GZIP_MT = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD_MT = "application/vnd.oci.image.layer.v1.tar+zstd"
TAR_MT = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPES = {"gzip": GZIP_MT, "zstd": ZSTD_MT, "none": TAR_MT}


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


# ---------------------------------------------------------------------------------------------
# builders


@dataclass
class M:
    """A tar member to write: a file (data), directory, symlink, hard link or special file."""

    name: str
    data: bytes = b""
    kind: bytes = tarfile.REGTYPE
    link: str = ""


def make_tar(members: list[M], fmt: int = tarfile.PAX_FORMAT, end: bool = True) -> bytes:
    """A tar as Go writes it: the members, then two zero blocks (none if not `end`) and no
    padding to a 10 KiB record (which Python's tarfile adds)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=fmt) as tar:
        for m in members:
            info = tarfile.TarInfo(m.name)
            info.type = m.kind
            info.linkname = m.link
            info.mtime = 0
            if m.kind == tarfile.DIRTYPE:
                info.mode = 0o755
            info.size = len(m.data) if m.kind in (tarfile.REGTYPE, tarfile.CONTTYPE) else 0
            tar.addfile(info, io.BytesIO(m.data) if info.size else None)
        members_end = tar.offset
    return buf.getvalue()[: members_end + (TAR_END_BYTES if end else 0)]


def compress(tar: bytes, how: str) -> bytes:
    if how == "gzip":
        return gzip.compress(tar, mtime=0)
    if how == "zstd":
        return zstandard.ZstdCompressor().compress(tar)
    return tar


@dataclass
class Layout:
    """An OCI layout being written in a directory."""

    root: Path
    index: list[dict] = field(default_factory=list)

    def __post_init__(self) -> None:
        (self.root / "blobs" / "sha256").mkdir(parents=True, exist_ok=True)
        (self.root / "oci-layout").write_text('{"imageLayoutVersion": "1.0.0"}')

    def blob(self, data: bytes, media_type: str) -> dict:
        digest = sha(data)
        (self.root / "blobs" / "sha256" / digest[7:]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def json_blob(self, obj: object, media_type: str) -> dict:
        return self.blob(json.dumps(obj).encode(), media_type)

    def image(
        self,
        tars: list[bytes],
        how: str | list[str] = "gzip",
        platform: tuple[str, str] = ("linux", "amd64"),
        diff_ids: list[str] | None = None,
        media_types: list[str] | None = None,
    ) -> dict:
        """Write an image's blobs; return its manifest descriptor."""
        hows = [how] * len(tars) if isinstance(how, str) else how
        layers = [
            self.blob(compress(t, h), (media_types or [MEDIA_TYPES[h]] * len(tars))[i])
            for i, (t, h) in enumerate(zip(tars, hows, strict=True))
        ]
        config = {
            "architecture": platform[1],
            "os": platform[0],
            "rootfs": {"type": "layers", "diff_ids": diff_ids or [sha(t) for t in tars]},
        }
        manifest = {
            "schemaVersion": 2,
            "mediaType": "application/vnd.oci.image.manifest.v1+json",
            "config": self.json_blob(config, "application/vnd.oci.image.config.v1+json"),
            "layers": layers,
        }
        return self.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json")

    def add(self, descriptor: dict, ref: str | None = None, **extra: object) -> None:
        entry = dict(descriptor, **extra)
        if ref is not None:
            entry["annotations"] = {"org.opencontainers.image.ref.name": ref}
        self.index.append(entry)
        (self.root / "index.json").write_text(
            json.dumps({"schemaVersion": 2, "manifests": self.index})
        )

    def manifest(self, descriptor: dict) -> dict:
        return json.loads((self.root / "blobs/sha256" / descriptor["digest"][7:]).read_bytes())

    def blob_file(self, digest: str) -> Path:
        return self.root / "blobs" / "sha256" / digest[7:]


def tar_of_dir(root: Path, out: Path) -> Path:
    """Pack a directory as an uncompressed tar (symlinks kept as symlinks)."""
    with tarfile.open(out, "w", format=tarfile.PAX_FORMAT) as tar:
        for path in sorted(root.rglob("*")):
            tar.add(path, arcname=str(path.relative_to(root)), recursive=False)
    return out


def docker_archive(
    out: Path, images: list[tuple[list[str], list[bytes]]], style: str = "legacy", how: str = "none"
) -> Path:
    """Write a docker-archive tar: per image its RepoTags and layer tars.

    `legacy`: `<diffid>.tar` files with `<id>/layer.tar` symlinks to them (skopeo's layout);
    `blobs`: `blobs/sha256/<hex>` (Docker 25+)."""
    files: dict[str, bytes] = {}
    links: dict[str, str] = {}
    manifest = []
    for tags, tars in images:
        layer_paths = []
        for n, t in enumerate(tars):
            stored = compress(t, how)
            if style == "legacy":
                files[f"{sha(t)[7:]}.tar"] = stored
                link = f"{hashlib.sha256(f'{tags}{n}'.encode()).hexdigest()}/layer.tar"
                links[link] = f"../{sha(t)[7:]}.tar"
                layer_paths.append(link)
            else:
                files[f"blobs/sha256/{sha(stored)[7:]}"] = stored
                layer_paths.append(f"blobs/sha256/{sha(stored)[7:]}")
        config = json.dumps(
            {
                "architecture": "amd64",
                "os": "linux",
                "rootfs": {"type": "layers", "diff_ids": [sha(t) for t in tars]},
            }
        ).encode()
        config_name = (
            f"{sha(config)[7:]}.json" if style == "legacy" else f"blobs/sha256/{sha(config)[7:]}"
        )
        files[config_name] = config
        manifest.append({"Config": config_name, "RepoTags": tags, "Layers": layer_paths})
    files["manifest.json"] = json.dumps(manifest).encode()
    with tarfile.open(out, "w") as tar:
        for name, data in files.items():
            info = tarfile.TarInfo(name)
            info.size = len(data)
            tar.addfile(info, io.BytesIO(data))
        for name, target in links.items():
            info = tarfile.TarInfo(name)
            info.type = tarfile.SYMTYPE
            info.linkname = target
            tar.addfile(info)
    return out


BASE = [
    M("bin", kind=tarfile.DIRTYPE),
    M("bin/busybox", b"\x7fELF" + bytes(range(256)) * 40),
    M("bin/sh", kind=tarfile.SYMTYPE, link="busybox"),
    M("etc", kind=tarfile.DIRTYPE),
    M("etc/passwd", b"root:x:0:0:root:/root:/bin/sh\n"),
    M("etc/motd", b"welcome\n" * 100),
]
APP = [M("app", kind=tarfile.DIRTYPE), M("app/main.py", b"print('hello')\n" * 50)]


def one_layer(tar: bytes, how: str = "gzip", tmp: Path | None = None):
    """Read a single-layer OCI image holding `tar`; return its Layer."""
    assert tmp is not None
    layout = Layout(tmp / "layout")
    layout.add(layout.image([tar], how), "one:1")
    (image,) = read_images([layout.root])
    return image.layers[0]


# ---------------------------------------------------------------------------------------------
# OCI layouts


@pytest.mark.parametrize("how", ["gzip", "zstd", "none"])
def test_oci_layer_identities_and_sizes_are_exact(tmp_path: Path, how: str) -> None:
    """DiffID, blob digest, tar and compressed bytes of each layer are those of the bytes
    written; every regular file's content digest is the sha256 of its data."""
    base, app = make_tar(BASE), make_tar(APP)
    layout = Layout(tmp_path / "layout")
    layout.add(layout.image([base, app], how), "app:1")
    (image,) = read_images([layout.root])
    assert image.name == "layout:app:1" or image.name == "app:1"
    for layer, tar in zip(image.layers, (base, app), strict=True):
        stored = compress(tar, how)
        assert layer.diff_id == sha(tar)
        assert layer.blob_digest == sha(stored)
        assert layer.tar_bytes == len(tar)
        assert layer.compressed_bytes == len(stored)
        assert sum(e.tar_bytes for e in layer.entries) + TAR_END_BYTES == len(tar)
        assert sum(e.compressed_bytes for e in layer.entries) == len(stored) - OVERHEAD
    files = {e.path: e for e in image.layers[0].entries}
    assert files["bin/busybox"].kind is EntryKind.FILE
    assert files["bin/busybox"].file_bytes == 4 + 256 * 40
    assert files["bin/busybox"].content == sha(BASE[1].data)
    assert files["bin/sh"].kind is EntryKind.SYMLINK and files["bin/sh"].link_target == "busybox"
    assert files["bin"].kind is EntryKind.DIR and files["bin"].tar_bytes == 512
    assert files["etc/motd"].tar_bytes == 512 + 1024


def test_same_tar_in_three_compressions_gives_the_same_entries(tmp_path: Path) -> None:
    """gzip, zstd and uncompressed blobs of one tar: one DiffID, the same entries but for
    compressed bytes; the uncompressed blob's digest is its DiffID."""
    tar = make_tar(BASE)
    layers = [one_layer(tar, how, tmp_path / how) for how in ("gzip", "zstd", "none")]
    assert len({layer.diff_id for layer in layers}) == 1
    assert len({layer.blob_digest for layer in layers}) == 3
    assert layers[2].blob_digest == layers[2].diff_id

    def shape(layer):
        return [(e.path, e.kind, e.file_bytes, e.content, e.tar_bytes) for e in layer.entries]

    assert shape(layers[0]) == shape(layers[1]) == shape(layers[2])


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


def test_whiteouts_opaque_dirs_links_and_devices(tmp_path: Path) -> None:
    """`.wh.name` deletes `name`; `.wh..wh..opq` makes its directory opaque; hard links keep
    their (normalized) target; hostile symlink targets are recorded as data, never followed;
    devices and FIFOs are empty files; the root entry `./` is not an entry."""
    tar = make_tar(
        [
            M("./", kind=tarfile.DIRTYPE),
            M("etc/.wh.motd"),
            M("opt", kind=tarfile.DIRTYPE),
            M("opt/.wh..wh..opq"),
            M("bin/ash", kind=tarfile.LNKTYPE, link="./bin/busybox"),
            M("evil", kind=tarfile.SYMTYPE, link="../../../../etc/shadow"),
            M("abs", kind=tarfile.SYMTYPE, link="/etc/passwd"),
            M("dev/null", kind=tarfile.CHRTYPE),
            M("run/fifo", kind=tarfile.FIFOTYPE),
            M(".wh..wh.plnk/123", b"aufs"),
        ]
    )
    entries = {(e.path, e.kind): e for e in one_layer(tar, tmp=tmp_path).entries}
    assert ("etc/motd", EntryKind.WHITEOUT) in entries
    assert ("opt", EntryKind.OPAQUE) in entries and ("opt", EntryKind.DIR) in entries
    assert entries[("bin/ash", EntryKind.HARDLINK)].link_target == "bin/busybox"
    assert entries[("evil", EntryKind.SYMLINK)].link_target == "../../../../etc/shadow"
    assert entries[("abs", EntryKind.SYMLINK)].link_target == "/etc/passwd"
    assert entries[("dev/null", EntryKind.FILE)].file_bytes == 0
    assert entries[("dev/null", EntryKind.FILE)].content == sha(b"")
    assert ("run/fifo", EntryKind.FILE) in entries
    assert not any(path.startswith(".wh..wh.") or path == "" for path, _ in entries)


def test_long_names_pax_and_gnu_are_measured_with_their_extra_headers(tmp_path: Path) -> None:
    """A name too long for USTAR costs extra headers; they count in the entry's tar bytes, so
    the entries still add up to the whole tar."""
    long_dir = "usr/share/" + "d" * 120
    name = long_dir + "/file.txt"
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        tar = make_tar([M(long_dir, kind=tarfile.DIRTYPE), M(name, b"x" * 700)], fmt=fmt)
        layer = one_layer(tar, "none", tmp_path / str(fmt))
        entries = {e.path: e for e in layer.entries}
        assert entries[name].file_bytes == 700
        assert entries[name].tar_bytes == 512 + 512 + 512 + 1024  # ext header + data + hdr
        assert sum(e.tar_bytes for e in layer.entries) + TAR_END_BYTES == len(tar)


def test_a_later_member_of_the_same_path_wins(tmp_path: Path) -> None:
    """As extraction does: the second `etc/passwd` replaces the first."""
    tar = make_tar([M("etc/passwd", b"first"), M("etc/passwd", b"second!")])
    (entry,) = one_layer(tar, tmp=tmp_path).entries
    assert entry.content == sha(b"second!") and entry.file_bytes == 7


def test_multi_member_gzip_and_tar_without_end_blocks(tmp_path: Path) -> None:
    """A gzip blob of two members reads as their concatenation; a tar without its two zero
    blocks is accepted (as Go's archive/tar does); trailing zero padding counts in the DiffID."""
    tar = make_tar(BASE, end=False)
    assert len(tar) % 512 == 0
    half = len(tar) // 1024 * 512
    stored = gzip.compress(tar[:half], mtime=0) + gzip.compress(tar[half:], mtime=0)
    layout = Layout(tmp_path / "l")
    desc = layout.image([tar], "none")
    manifest = layout.manifest(desc)
    manifest["layers"][0] = layout.blob(stored, GZIP_MT)
    layout.add(layout.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json"), "x")
    (image,) = read_images([layout.root])
    assert image.layers[0].diff_id == sha(tar)
    assert sum(e.tar_bytes for e in image.layers[0].entries) == len(tar)

    padded = make_tar(BASE) + bytes(10240)  # GNU tar pads to a 10 KiB record
    layer = one_layer(padded, tmp=tmp_path / "padded")
    assert layer.diff_id == sha(padded) and layer.tar_bytes == len(padded)


def test_zstd_frames_skippable_frames_and_pax_global_headers(tmp_path: Path) -> None:
    """A zstd blob of two frames with a skippable frame between them (as zstd:chunked writes)
    reads as one tar; a PAX global header is no entry, its bytes go to the next entry."""
    tar = make_tar(BASE)
    half = len(tar) // 1024 * 512
    skippable = (0x184D2A5E).to_bytes(4, "little") + (5).to_bytes(4, "little") + b"meta!"
    stored = (
        zstandard.ZstdCompressor(write_checksum=True).compress(tar[:half])
        + skippable
        + zstandard.ZstdCompressor().compress(tar[half:])
    )
    layout = Layout(tmp_path / "l")
    manifest = layout.manifest(layout.image([tar], "none"))
    manifest["layers"][0] = layout.blob(stored, ZSTD_MT)
    layout.add(layout.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json"), "x")
    (image,) = read_images([layout.root])
    assert image.layers[0].diff_id == sha(tar) and image.layers[0].blob_digest == sha(stored)

    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as writer:
        writer.pax_headers = {"comment": "global"}  # written as a 'g' header first
        writer.addfile(tarfile.TarInfo("only"), None)
        members_end = writer.offset
    with_global = buf.getvalue()[: members_end + TAR_END_BYTES]
    (entry,) = one_layer(with_global, tmp=tmp_path / "g").entries
    assert entry.path == "only" and entry.tar_bytes == members_end


def test_every_piece_of_a_decompression_bomb_is_bounded(tmp_path: Path) -> None:
    """64 MiB of zeros gzip to 64 KiB; no decompressed piece exceeds PIECE_BYTES."""
    tar = make_tar([M("zeros", bytes(64 << 20))])
    stored = gzip.compress(tar, mtime=0)
    tap = layer_tar._Tap(io.BytesIO(stored), lambda chunk: None)
    sizes = [len(piece) for piece, _ in layer_tar._gzip_pieces(tap)]
    assert max(sizes) <= PIECE_BYTES
    assert sum(sizes) == len(tar)


@pytest.mark.parametrize("how", ["gzip", "zstd", "none"])
def test_threaded_pipeline_agrees_with_the_inline_path(
    tmp_path: Path, how: str, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The three-stage threaded pipeline reads a layer exactly as the single-thread path."""
    members = [M(f"f{i}", os.urandom(300_000) + bytes(500_000)) for i in range(4)]
    tar = make_tar(members)
    inline = one_layer(tar, how, tmp_path / "inline")
    monkeypatch.setattr(layer_tar, "THREADED_MIN_BYTES", 1)
    threaded = one_layer(tar, how, tmp_path / "threaded")
    assert threaded == inline


def test_threaded_pipeline_stops_cleanly_on_corrupt_input(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A corrupt stream in the threaded pipeline is an ImageFormatError, and no thread is left
    running."""
    monkeypatch.setattr(layer_tar, "THREADED_MIN_BYTES", 1)
    monkeypatch.setattr(layer_tar, "CHUNK_BYTES", 16 << 10)
    tar = make_tar([M(f"f{i}", os.urandom(100_000)) for i in range(8)])
    stored = bytearray(gzip.compress(tar, mtime=0))
    stored[len(stored) // 2 : len(stored) // 2 + 64] = bytes(64)
    before = threading.active_count()
    blob = LayerBlob("blob X", Compression.GZIP, None, len(stored), sha(tar))
    with pytest.raises(ImageFormatError, match="blob X"):
        read_layer(io.BytesIO(bytes(stored)), blob)
    assert threading.active_count() == before


def several_blobs(tmp_path: Path) -> list[Path]:
    """An OCI layout and a docker-archive whose images have several distinct layer blobs of
    unlike sizes, in all three compressions (the archive's stored plain or gzip)."""
    tars = [
        make_tar([M(f"l{n}/f{i}", os.urandom(1000 * (n + 1) ** 2) * 3) for i in range(n + 2)])
        for n in range(6)
    ]
    layout = Layout(tmp_path / "layout")
    layout.add(layout.image(tars[:3], ["gzip", "zstd", "none"]), "a:1")
    layout.add(layout.image([tars[0], *tars[3:]], ["gzip", "zstd", "gzip", "none"]), "b:1")
    archive = docker_archive(tmp_path / "a.tar", [(["c:1"], tars[::2]), (["d:1"], tars[1::2])])
    gzipped = docker_archive(tmp_path / "g.tar", [(["e:1"], tars[3:])], "blobs", "gzip")
    return [layout.root, archive, gzipped]


def test_blobs_read_at_once_agree_with_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the distinct blobs on several threads (archive members included, read in place
    through one file) gives the very layers, in the very order, of reading them one by one;
    progress is reported on the calling thread, from (0, total) to (total, total)."""
    paths = several_blobs(tmp_path)
    monkeypatch.setattr(blobs_module, "available_cores", lambda: 1)
    one_by_one = read_images(paths)
    monkeypatch.setattr(blobs_module, "available_cores", lambda: 4)
    calls: list[tuple[int, int, int]] = []
    at_once = read_images(paths, progress=lambda d, t: calls.append((d, t, threading.get_ident())))
    assert at_once == one_by_one
    assert [layer.name for i in at_once for layer in i.layers] == [
        layer.name for i in one_by_one for layer in i.layers
    ]
    total = calls[0][1]
    assert calls[0][:2] == (0, total) and calls[-1][:2] == (total, total)
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)
    assert {thread for _, _, thread in calls} == {threading.get_ident()}


def test_blobs_read_at_once_fail_with_the_first_bad_blob_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Of two bad blobs read at once, the error is the earlier one's in the image's order (as
    reading one by one reports), even when the later one, far smaller, fails first; no thread
    is left running."""
    monkeypatch.setattr(blobs_module, "available_cores", lambda: 4)
    monkeypatch.setattr(layer_tar, "CHUNK_BYTES", 16 << 10)
    big = make_tar([M(f"big/f{i}", os.urandom(200_000)) for i in range(10)])
    small = make_tar([M("small", b"s")])
    fine = make_tar([M("fine", b"f")])
    layout = Layout(tmp_path / "l")
    wrong = [sha(b"not big"), sha(fine), sha(b"not small")]
    layout.add(layout.image([big, fine, small], diff_ids=wrong), "x:1")
    before = threading.active_count()
    for _ in range(3):
        with pytest.raises(ImageFormatError, match=r"\(layer 1 of x:1\).*DiffID"):
            read_images([layout.root])
    assert threading.active_count() == before


def test_compressed_bytes_follow_the_stream_not_the_layer_average(tmp_path: Path) -> None:
    """An incompressible file gets a far larger share of the compressed blob than a file of
    zeros of the same length; shares sum exactly to the blob minus its modelled overhead."""
    tar = make_tar([M("random", os.urandom(3 << 20)), M("zeros", bytes(3 << 20))])
    layer = one_layer(tar, tmp=tmp_path)
    by_path = {e.path: e for e in layer.entries}
    assert by_path["random"].compressed_bytes > 50 * by_path["zeros"].compressed_bytes
    assert by_path["random"].content_compressed_bytes <= by_path["random"].compressed_bytes
    assert sum(e.compressed_bytes for e in layer.entries) == layer.compressed_bytes - OVERHEAD


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


# ---------------------------------------------------------------------------------------------
# docker-archives


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


def test_docker_archive_and_oci_layout_unpacked_or_packed(tmp_path: Path) -> None:
    """A docker-archive unpacked in a directory, and an OCI layout packed in a tar, read the
    same as their other form."""
    archive = docker_archive(tmp_path / "a.tar", [(["app:1"], [make_tar(BASE), make_tar(APP)])])
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="tar")
    assert read_images([unpacked]) == read_images([archive])

    layout = Layout(tmp_path / "layout")
    layout.add(layout.image([make_tar(BASE), make_tar(APP)]), "app:1")
    packed = tar_of_dir(layout.root, tmp_path / "layout.tar")
    assert read_images([packed]) == read_images([layout.root])


# ---------------------------------------------------------------------------------------------
# populations


def test_population_pushes_in_read_order_and_one_node_pulls_all(tmp_path: Path) -> None:
    """Paths form one population: push order = read order; the base layer blob is skipped in
    its own repository and mounted in another; a repeated name gets `#2` in the same
    repository; the uncompressed archive copy is another blob."""
    base, app = make_tar(BASE), make_tar(APP)
    base_layout = Layout(tmp_path / "base")
    base_layout.add(base_layout.image([base]), "1")
    app_layout = Layout(tmp_path / "app")
    app_layout.add(app_layout.image([base, app]), "1")
    app_layout.add(app_layout.image([base, app]), "2")
    archive = docker_archive(tmp_path / "a.tar", [(["app:1"], [base, app])])
    population = read_population([base_layout.root, app_layout.root, archive])
    names = ["base:1", "app:1", "app:2", "app:1#2"]
    assert population.push_order == tuple(names)
    assert [node.images for node in population.nodes] == [tuple(names)]
    pushes = {p.image: p for p in evaluate(population).pushes}
    base_label = sha(base)[7:19]
    app_label = sha(app)[7:19]
    assert pushes["app:1"].mounted_layers == (base_label,)
    assert pushes["app:1"].uploaded_layers == (app_label,)
    assert pushes["app:1"].uploaded_bytes == len(gzip.compress(app, mtime=0))
    assert pushes["app:2"].uploaded_layers == () and pushes["app:2"].mounted_layers == ()
    assert pushes["app:1#2"].uploaded_bytes == len(base) + len(app)


def test_shadowed_bytes_of_a_file_deleted_in_a_later_layer(tmp_path: Path) -> None:
    """Add then delete in the next layer: shadowed bytes are the file's; doing both in one
    layer costs nothing; a single-layer image's flattened blob equals its layer's."""
    blob = os.urandom(50_000)
    add = make_tar([M("opt", kind=tarfile.DIRTYPE), M("opt/blob.bin", blob)])
    delete = make_tar([M("opt", kind=tarfile.DIRTYPE), M("opt/.wh.blob.bin")])
    layout = Layout(tmp_path / "l")
    layout.add(layout.image([make_tar(BASE), add, delete]), "wasteful")
    layout.add(layout.image([make_tar(BASE)]), "base")
    metrics = {m.name: m for m in evaluate(read_population([layout.root])).images}
    assert metrics["l:wasteful"].shadowed_file_bytes == len(blob)
    assert (
        metrics["l:base"].flattened_compressed_bytes == metrics["l:base"].layered_compressed_bytes
    )
    assert metrics["l:base"].flattened_tar_bytes == metrics["l:base"].layered_tar_bytes


# ---------------------------------------------------------------------------------------------
# bad input: every case is one ImageFormatError naming the file or blob


def corrupt_layer_case(tmp_path: Path, stored: bytes, diff_id: str, media_type: str) -> Path:
    layout = Layout(tmp_path / "bad")
    desc = layout.image([make_tar(BASE)], "none")
    manifest = layout.manifest(desc)
    manifest["layers"][0] = layout.blob(stored, media_type)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    manifest["config"] = layout.json_blob(config, "application/vnd.oci.image.config.v1+json")
    layout.add(layout.json_blob(manifest, "application/vnd.oci.image.manifest.v1+json"), "x")
    return layout.root


def truncated_tar() -> bytes:
    return make_tar(BASE)[:1500]


BAD_STREAMS = {
    "truncated tar": (
        lambda t: truncated_tar(),
        lambda t: sha(truncated_tar()),
        TAR_MT,
        "truncated tar",
    ),
    "truncated gzip": (
        lambda t: gzip.compress(t)[:-20],
        lambda t: sha(t),
        GZIP_MT,
        "truncated gzip",
    ),
    "corrupt gzip": (
        lambda t: gzip.compress(t)[:30] + b"\xff" * 40 + gzip.compress(t)[70:],
        lambda t: sha(t),
        GZIP_MT,
        "corrupt gzip",
    ),
    "gzip with trailing garbage": (
        lambda t: gzip.compress(t) + b"junk",
        lambda t: sha(t),
        GZIP_MT,
        "corrupt gzip",
    ),
    "empty gzip": (lambda t: b"", lambda t: sha(b""), GZIP_MT, "empty gzip"),
    "truncated zstd": (
        lambda t: zstandard.ZstdCompressor().compress(t)[:-7],
        lambda t: sha(t),
        ZSTD_MT,
        "truncated zstd|DiffID",
    ),
    "corrupt zstd": (
        lambda t: b"\x28\xb5\x2f\xfd" + b"\xff" * 64,
        lambda t: sha(t),
        ZSTD_MT,
        "corrupt zstd|zstd",
    ),
    "not a tar": (
        lambda t: b"hello world" * 100,
        lambda t: sha(b"hello world" * 100),
        TAR_MT,
        "not a tar",
    ),
    "wrong DiffID": (lambda t: gzip.compress(t), lambda t: sha(b"other"), GZIP_MT, "DiffID"),
}


@pytest.mark.parametrize("case", sorted(BAD_STREAMS))
def test_bad_layer_streams(tmp_path: Path, case: str) -> None:
    """Truncated or corrupt streams and wrong DiffIDs name the blob that is wrong."""
    make_stored, make_diff, media_type, message = BAD_STREAMS[case]
    tar = make_tar(BASE)
    stored = make_stored(tar)
    root = corrupt_layer_case(tmp_path, stored, make_diff(tar), media_type)
    with pytest.raises(ImageFormatError, match=message) as info:
        read_images([root])
    assert sha(stored) in str(info.value)
    assert "\n" not in str(info.value)


def hostile_member_case(tmp_path: Path, members: list[M]) -> Path:
    tar = make_tar(members)
    return corrupt_layer_case(tmp_path, gzip.compress(tar), sha(tar), GZIP_MT)


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([M("../../etc/passwd", b"x")], "climbs out"),
        ([M("a/../../b", b"x")], "climbs out"),
        ([M("bin/sh", kind=tarfile.LNKTYPE, link="../../etc/shadow")], "climbs out"),
        ([M("etc/.wh.")], "names nothing"),
        ([M("/", kind=tarfile.REGTYPE, data=b"x")], "root"),
        ([M(".wh..wh..opq")], "opaque marker at the image root"),
        ([M("s", kind=tarfile.GNUTYPE_SPARSE)], "unsupported tar type"),
    ],
)
def test_hostile_tar_members(tmp_path: Path, members: list[M], message: str) -> None:
    """Members that would escape the root or that the model cannot hold are refused."""
    with pytest.raises(ImageFormatError, match=message):
        read_images([hostile_member_case(tmp_path, members)])


def test_absolute_member_names_stay_inside(tmp_path: Path) -> None:
    """An absolute member name is relative to the layer root, as Docker extracts it."""
    root = hostile_member_case(tmp_path, [M("/etc/passwd", b"x")])
    assert [e.path for e in read_images([root])[0].layers[0].entries] == ["etc/passwd"]


def raw_tar_header(name: bytes, size_field: bytes, typeflag: bytes = b"0") -> bytes:
    header = bytearray(512)
    header[0 : len(name)] = name
    header[100:108] = b"0000644\0"
    header[124:136] = size_field
    header[156:157] = typeflag
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"        "
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def test_huge_declared_member_size_is_a_truncated_tar(tmp_path: Path) -> None:
    """A header declaring 8 GiB that the stream does not deliver: a truncated tar."""
    tar = raw_tar_header(b"big", b"77777777777\0") + bytes(4096)
    root = corrupt_layer_case(tmp_path, gzip.compress(tar), sha(tar), GZIP_MT)
    with pytest.raises(ImageFormatError, match="truncated tar"):
        read_images([root])


def test_huge_extended_header_is_refused(tmp_path: Path) -> None:
    """A PAX header above Go's 1 MiB limit is refused before it is collected."""
    tar = raw_tar_header(b"pax", b"%011o\0" % (64 << 20), b"x") + bytes(1024)
    root = corrupt_layer_case(tmp_path, gzip.compress(tar), sha(tar), GZIP_MT)
    with pytest.raises(ImageFormatError, match="extended header"):
        read_images([root])


def good_layout(tmp_path: Path) -> tuple[Layout, dict]:
    layout = Layout(tmp_path / "layout")
    desc = layout.image([make_tar(BASE), make_tar(APP)])
    layout.add(desc, "app:1")
    return layout, desc


def test_missing_blob(tmp_path: Path) -> None:
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][1]["digest"]
    layout.blob_file(digest).unlink()
    with pytest.raises(ImageFormatError, match=f"{digest}.*missing"):
        read_images([layout.root])


def test_blob_with_wrong_digest(tmp_path: Path) -> None:
    """Same size, other bytes: the digest check names the blob."""
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][0]["digest"]
    path = layout.blob_file(digest)
    path.write_bytes(
        gzip.compress(make_tar(APP) + bytes(path.stat().st_size))[: path.stat().st_size]
    )
    with pytest.raises(ImageFormatError, match=digest):
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
    layout = Layout(tmp_path / "l")
    layout.add(layout.image([make_tar(BASE)], media_types=[media_type]), "x")
    with pytest.raises(ImageFormatError, match=message):
        read_images([layout.root])


def test_unknown_manifest_media_type(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "l")
    layout.add(layout.json_blob({"schemaVersion": 1}, "application/vnd.example.thing+json"))
    with pytest.raises(ImageFormatError, match="unknown media type"):
        read_images([layout.root])


@pytest.mark.parametrize(
    "text",
    ["{not json", "[" * 100_000, '{"schemaVersion": 2, "manifests": 7}', '"just a string"'],
)
def test_malformed_index_json(tmp_path: Path, text: str) -> None:
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


def test_json_above_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    layout, _ = good_layout(tmp_path)
    monkeypatch.setattr(source_module, "MAX_JSON_BYTES", 100)
    with pytest.raises(ImageFormatError, match="more than 100"):
        read_images([layout.root])


@pytest.mark.parametrize(
    ("digest", "message"),
    [
        ("sha512:" + "a" * 128, "unsupported digest algorithm"),
        ("sha256:../../../../etc/passwd", "not a sha256 digest"),
        ("sha256:" + "A" * 64, "not a sha256 digest"),
    ],
)
def test_bad_descriptor_digests(tmp_path: Path, digest: str, message: str) -> None:
    layout, desc = good_layout(tmp_path)
    (layout.root / "index.json").write_text(
        json.dumps({"schemaVersion": 2, "manifests": [dict(desc, digest=digest)]})
    )
    with pytest.raises(ImageFormatError, match=message):
        read_images([layout.root])


def test_blob_symlink_leading_out_of_the_layout(tmp_path: Path) -> None:
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][0]["digest"]
    secret = tmp_path / "secret"
    secret.write_bytes(layout.blob_file(digest).read_bytes())
    layout.blob_file(digest).unlink()
    layout.blob_file(digest).symlink_to(secret)
    with pytest.raises(ImageFormatError, match="leading out of the image directory"):
        read_images([layout.root])


def test_blob_that_is_a_fifo(tmp_path: Path) -> None:
    """A FIFO in place of a blob is refused without opening it (which would block)."""
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][0]["digest"]
    layout.blob_file(digest).unlink()
    os.mkfifo(layout.blob_file(digest))
    with pytest.raises(ImageFormatError, match="not a regular file"):
        read_images([layout.root])


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
    path = docker_archive(tmp_path / "a.tar", [(["x:1"], [make_tar(BASE)])], style="blobs")
    unpacked = tmp_path / "u"
    with tarfile.open(path) as tar:
        tar.extractall(unpacked, filter="tar")
    manifest = json.loads((unpacked / "manifest.json").read_text())
    config = unpacked / manifest[0]["Config"]
    config.write_bytes(config.read_bytes().replace(b"amd64", b"arm64"))
    with pytest.raises(ImageFormatError, match="not the declared"):
        read_images([unpacked])


def test_not_an_image_and_missing_paths(tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(ImageFormatError, match="neither an OCI image layout"):
        read_images([tmp_path / "empty"])
    with pytest.raises(ImageFormatError, match="no such file"):
        read_images([tmp_path / "nope"])
    (tmp_path / "junk.tar").write_bytes(b"\x00" * 10 + b"junk" * 300)
    with pytest.raises(ImageFormatError, match=r"junk\.tar"):
        read_images([tmp_path / "junk.tar"])
    archive = docker_archive(tmp_path / "a.tar", [(["x:1"], [make_tar(BASE)])])
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(archive.read_bytes()))
    with pytest.raises(ImageFormatError, match="compressed archive"):
        read_images([tmp_path / "a.tar.gz"])


def test_archive_with_a_huge_extended_header(tmp_path: Path) -> None:
    """An archive whose PAX header declares 64 MiB is refused before the header is read."""
    path = tmp_path / "hostile.tar"
    path.write_bytes(raw_tar_header(b"pax", b"%011o\0" % (64 << 20), b"x") + bytes(4096))
    with pytest.raises(ImageFormatError, match=r"hostile\.tar.*extended header of 67108864"):
        read_images([path])


def test_truncated_archive(tmp_path: Path) -> None:
    archive = docker_archive(tmp_path / "a.tar", [(["x:1"], [make_tar(BASE)])])
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageFormatError, match=r"a\.tar"):
        read_images([archive])


def test_image_without_layers(tmp_path: Path) -> None:
    layout = Layout(tmp_path / "l")
    layout.add(layout.image([]), "empty")
    with pytest.raises(ImageFormatError, match="has no layers"):
        read_images([layout.root])


def test_reading_writes_nothing(tmp_path: Path) -> None:
    """Reading leaves the input tree exactly as it was (no extraction, no temp files)."""
    layout, _ = good_layout(tmp_path)
    before = sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*"))
    read_images([layout.root])
    assert sorted((p, p.stat().st_mtime_ns) for p in tmp_path.rglob("*")) == before


# ---------------------------------------------------------------------------------------------
# properties


member_names = st.lists(
    st.text(alphabet="abcdefgh_-.", min_size=1, max_size=150).filter(
        lambda s: s not in (".", "..") and not s.startswith(".wh.")
    ),
    min_size=1,
    max_size=12,
    unique=True,
)


@settings(max_examples=60, deadline=None)
@given(
    names=member_names,
    sizes=st.lists(st.integers(0, 3000), min_size=12, max_size=12),
    cuts=st.lists(st.integers(1, 2000), min_size=1, max_size=30),
    fmt=st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT]),
)
def test_scanner_agrees_with_tarfile_whatever_the_piece_boundaries(
    names: list[str], sizes: list[int], cuts: list[int], fmt: int
) -> None:
    """Fed in pieces cut anywhere, the scanner finds what `tarfile` finds: the same members,
    sizes and content digests, and measured tar bytes that add up to the archive."""
    members = [
        M(f"d/{n}", bytes([i % 251]) * s)
        for i, (n, s) in enumerate(zip(names, sizes, strict=False))
    ]
    tar = make_tar(members, fmt=fmt)
    scanner = TarScanner()
    position = 0
    for cut in cuts:
        scanner.feed(tar[position : position + cut])
        position += cut
    scanner.feed(tar[position:])
    scanner.finish()
    with tarfile.open(fileobj=io.BytesIO(tar)) as reference:
        expected = [(m.name, m.size) for m in reference.getmembers()]
    assert [(m.name, m.file_bytes) for m in scanner.members] == expected
    assert [m.content for m in scanner.members] == [sha(m.data) for m in members]
    assert sum(m.end - m.start for m in scanner.members) + TAR_END_BYTES == len(tar)


@given(
    total=st.integers(0, 10**12),
    weights=st.lists(st.floats(0, 1e9, allow_nan=False), min_size=1, max_size=50),
)
def test_apportion_sums_exactly(total: int, weights: list[float]) -> None:
    """Apportioned shares are non-negative integers summing exactly to the total."""
    import numpy as np

    shares = apportion(total, np.asarray(weights))
    assert int(shares.sum()) == total
    assert (shares >= 0).all()
