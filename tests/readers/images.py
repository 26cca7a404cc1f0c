"""Images built here, byte by byte, for the readers' tests (and the CLI's and calibration's).

Tar members (`M`, `make_tar`), compressed blobs (`compress`), OCI layouts written in a directory
(`Layout`), docker-archives (`docker_archive`), and the layouts of the bad-input cases. Every
identity a test expects is computed here with hashlib on the bytes written, independently of
the readers. Not a test module.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import random
import shutil
import tarfile
from dataclasses import dataclass, field
from pathlib import Path

import zstandard
from zlib_ng import zlib_ng

from layersim.model import Layer
from layersim.model.sizes import TAR_END_BYTES, CompressionModel
from layersim.readers import read_images
from layersim.readers.flatten import FEED_BYTES, GZIP_LEVEL, GZIP_WBITS

OVERHEAD = CompressionModel().blob_overhead_bytes()
GZIP_MT = "application/vnd.oci.image.layer.v1.tar+gzip"
ZSTD_MT = "application/vnd.oci.image.layer.v1.tar+zstd"
TAR_MT = "application/vnd.oci.image.layer.v1.tar"
MEDIA_TYPES = {"gzip": GZIP_MT, "zstd": ZSTD_MT, "none": TAR_MT}
MANIFEST_MT = "application/vnd.oci.image.manifest.v1+json"
INDEX_MT = "application/vnd.oci.image.index.v1+json"
CONFIG_MT = "application/vnd.oci.image.config.v1+json"


def sha(data: bytes) -> str:
    return "sha256:" + hashlib.sha256(data).hexdigest()


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


def noise(n_bytes: int, seed: int) -> bytes:
    """`n_bytes` of incompressible bytes, the same for the same seed."""
    return random.Random(seed).randbytes(n_bytes)


def gzip_bytes(tar: bytes) -> int:
    """zlib-ng gzip of `tar` at `readers.flatten`'s level, fed in its 1 MiB slices: built
    here, independently of the module's writer."""
    deflate = zlib_ng.compressobj(GZIP_LEVEL, zlib_ng.DEFLATED, GZIP_WBITS)
    out = [deflate.compress(tar[i : i + FEED_BYTES]) for i in range(0, len(tar), FEED_BYTES)]
    return len(b"".join(out)) + len(deflate.flush())


def compress(tar: bytes, how: str) -> bytes:
    """`tar` as stored: gzip, zstd or none (deterministic: gzip without a timestamp)."""
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
        """Write a blob; return its descriptor."""
        digest = sha(data)
        (self.root / "blobs" / "sha256" / digest[7:]).write_bytes(data)
        return {"mediaType": media_type, "digest": digest, "size": len(data)}

    def json_blob(self, obj: object, media_type: str) -> dict:
        """Write `obj` as a JSON blob; return its descriptor."""
        return self.blob(json.dumps(obj).encode(), media_type)

    def image(
        self,
        tars: list[bytes],
        how: str | list[str] = "gzip",
        platform: tuple[str, str] = ("linux", "amd64"),
        diff_ids: list[str] | None = None,
        media_types: list[str] | None = None,
        created: str | None = None,
    ) -> dict:
        """Write an image's blobs (its config's `created` if given); return its manifest
        descriptor."""
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
        if created is not None:
            config["created"] = created
        manifest = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MT,
            "config": self.json_blob(config, CONFIG_MT),
            "layers": layers,
        }
        return self.json_blob(manifest, MANIFEST_MT)

    def add(self, descriptor: dict, ref: str | None = None, **extra: object) -> None:
        """List a descriptor in index.json (with a ref name annotation if `ref`)."""
        entry = dict(descriptor, **extra)
        if ref is not None:
            entry["annotations"] = {"org.opencontainers.image.ref.name": ref}
        self.index.append(entry)
        (self.root / "index.json").write_text(
            json.dumps({"schemaVersion": 2, "manifests": self.index})
        )

    def manifest(self, descriptor: dict) -> dict:
        """The JSON of a blob written before (a manifest, usually), to change and rewrite."""
        return json.loads((self.root / "blobs/sha256" / descriptor["digest"][7:]).read_bytes())

    def blob_file(self, digest: str) -> Path:
        """Where the blob of `digest` is stored."""
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


def one_layer(tar: bytes, how: str = "gzip", tmp: Path | None = None) -> Layer:
    """Read a single-layer OCI image holding `tar`; return its Layer."""
    assert tmp is not None
    layout = Layout(tmp / "layout")
    layout.add(layout.image([tar], how), "one:1")
    (image,) = read_images([layout.root])
    return image.layers[0]


def corrupt_layer_case(tmp_path: Path, stored: bytes, diff_id: str, media_type: str) -> Path:
    """A one-image layout (ref `x`) whose one layer blob is `stored`, of `media_type`, and whose
    config declares `diff_id` for it."""
    layout = Layout(tmp_path / "bad")
    desc = layout.image([make_tar(BASE)], "none")
    manifest = layout.manifest(desc)
    manifest["layers"][0] = layout.blob(stored, media_type)
    config = {
        "architecture": "amd64",
        "os": "linux",
        "rootfs": {"type": "layers", "diff_ids": [diff_id]},
    }
    manifest["config"] = layout.json_blob(config, CONFIG_MT)
    layout.add(layout.json_blob(manifest, MANIFEST_MT), "x")
    return layout.root


def hostile_member_case(tmp_path: Path, members: list[M]) -> Path:
    """`corrupt_layer_case` with a well-formed gzip layer of `members` (and its right DiffID)."""
    tar = make_tar(members)
    return corrupt_layer_case(tmp_path, gzip.compress(tar), sha(tar), GZIP_MT)


def raw_tar_header(name: bytes, size_field: bytes, typeflag: bytes = b"0") -> bytes:
    """One USTAR header block with a raw size field (e.g. one no tar writer would write)."""
    header = bytearray(512)
    header[0 : len(name)] = name
    header[100:108] = b"0000644\0"
    header[124:136] = size_field
    header[156:157] = typeflag
    header[257:265] = b"ustar\x0000"
    header[148:156] = b"        "
    header[148:156] = b"%06o\0 " % sum(header)
    return bytes(header)


def good_layout(tmp_path: Path) -> tuple[Layout, dict]:
    """A layout with one image `app:1` of layers BASE and APP; its manifest descriptor."""
    layout = Layout(tmp_path / "layout")
    desc = layout.image([make_tar(BASE), make_tar(APP)])
    layout.add(desc, "app:1")
    return layout, desc


@dataclass
class RegistryStorage:
    """A distribution registry's filesystem storage written by hand, as the registry lays it
    out (`docker/registry/v2`: blobs, repositories' layer links, manifest revisions, tags)."""

    root: Path

    @property
    def v2(self) -> Path:
        return self.root / "docker" / "registry" / "v2"

    def blob(self, data: bytes) -> str:
        """Store a blob; return its digest."""
        digest = sha(data)
        path = self.v2 / "blobs" / "sha256" / digest[7:9] / digest[7:] / "data"
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return digest

    def blob_bytes(self, digest: str) -> int:
        return (self.v2 / "blobs" / "sha256" / digest[7:9] / digest[7:] / "data").stat().st_size

    def link(self, path: Path, digest: str) -> None:
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_text(digest)

    def repository(self, name: str) -> Path:
        return self.v2 / "repositories" / name

    def manifest(self, repo: str, doc: dict) -> str:
        """Store a manifest (or index) in `repo` as a push does: blob and revision link."""
        digest = self.blob(json.dumps(doc).encode())
        revision = self.repository(repo) / "_manifests/revisions/sha256" / digest[7:] / "link"
        self.link(revision, digest)
        return digest

    def image(
        self,
        repo: str,
        layers: list[bytes],
        created: str | None = None,
        platform: tuple[str, str] = ("linux", "amd64"),
    ) -> str:
        """Push an image (layer blobs as given, a config with `created` if given) to `repo`;
        return its manifest digest."""
        descriptors = []
        config = {"architecture": platform[1], "os": platform[0], "rootfs": {"type": "layers"}}
        if created is not None:
            config["created"] = created
        config_digest = self.blob(json.dumps(config).encode())
        for data in [json.dumps(config).encode(), *layers]:
            digest = self.blob(data)
            self.link(self.repository(repo) / "_layers/sha256" / digest[7:] / "link", digest)
            descriptors.append({"mediaType": GZIP_MT, "digest": digest, "size": len(data)})
        descriptors[0]["mediaType"] = CONFIG_MT
        assert descriptors[0]["digest"] == config_digest
        doc = {
            "schemaVersion": 2,
            "mediaType": MANIFEST_MT,
            "config": descriptors[0],
            "layers": descriptors[1:],
        }
        return self.manifest(repo, doc)

    def tag(self, repo: str, tag: str, digest: str) -> None:
        """Point `tag` at `digest` (its history kept in `index/`, as the registry does)."""
        tags = self.repository(repo) / "_manifests/tags" / tag
        self.link(tags / "current" / "link", digest)
        self.link(tags / "index/sha256" / digest[7:] / "link", digest)

    def delete_manifest(self, repo: str, digest: str) -> None:
        """What `DELETE /v2/REPO/manifests/DIGEST` does: unlink the revision (its directory
        stays) and remove every tag currently pointing to it."""
        (self.repository(repo) / "_manifests/revisions/sha256" / digest[7:] / "link").unlink()
        for current in (self.repository(repo) / "_manifests/tags").glob("*/current/link"):
            if current.read_text() == digest:
                shutil.rmtree(current.parent.parent)
