"""Real image blobs for the `analyze` benchmark: an OCI image layout written with the stdlib.

`write_layout(directory)` writes a deterministic OCI layout (`oci-layout`, `index.json`,
`blobs/sha256/...`) of a few images on one shared base layer: gzip layer blobs of real tars
(directories, regular files of text-like and binary-like bytes, a whiteout), configs whose
`rootfs.diff_ids` are the tars' sha256, and manifests. It is what `skopeo copy ... oci:DIR`
writes, at a size that reads in about a second.

`stdlib_digest_pass(blobs)` is the floor `analyze` is compared with: every distinct layer blob
read in 1 MiB chunks, its sha256 taken (the blob digest), gunzipped with `zlib`, and the sha256
of the tar taken (the DiffID): what any reader must do at least, single-threaded, with the
standard library alone.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import tarfile
import zlib
from dataclasses import dataclass
from pathlib import Path

import numpy as np

OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
OCI_GZIP_LAYER = "application/vnd.oci.image.layer.v1.tar+gzip"
CHUNK_BYTES = 1 << 20


@dataclass(frozen=True)
class Layout:
    """A written layout: its directory, its distinct layer blobs and their sizes."""

    path: Path
    images: tuple[str, ...]
    blobs: tuple[Path, ...]
    blob_bytes: int  # stored (compressed) bytes of the distinct layer blobs
    tar_bytes: int  # their uncompressed bytes
    files: int  # regular files in the distinct layers


class _ByteSource:
    """File bytes cut from two 8 MiB pools at random offsets: text-like (Zipf-distributed words
    of a 4,000-word vocabulary: gzip about 3x) and binary-like (Zipf-distributed 16-byte chunks
    of a random vocabulary, as code repeats its instruction patterns: about 2x)."""

    POOL_BYTES = 8 << 20

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        letters = np.frombuffer(b"abcdefghijklmnopqrstuvwxyz_./=", np.uint8)
        lengths = rng.integers(2, 11, 4000)
        words = [
            letters[rng.integers(0, letters.size, n)].tobytes() + b" " for n in lengths.tolist()
        ]
        picks = _zipf_picks(rng, len(words), self.POOL_BYTES // 6)
        self.text = b"".join([words[i] for i in picks.tolist()])[: self.POOL_BYTES]
        chunks = rng.integers(0, 256, (8192, 16), dtype=np.uint8)
        self.binary = chunks[_zipf_picks(rng, 8192, self.POOL_BYTES // 16)].tobytes()

    def take(self, n_bytes: int, text_like: bool) -> bytes:
        pool = self.text if text_like else self.binary
        out = []
        while n_bytes > 0:
            piece = min(n_bytes, self.POOL_BYTES // 2)
            start = int(self.rng.integers(0, self.POOL_BYTES - piece + 1))
            out.append(pool[start : start + piece])
            n_bytes -= piece
        return b"".join(out)


def _zipf_picks(rng: np.random.Generator, n: int, size: int) -> np.ndarray:
    weights = 1.0 / np.arange(1, n + 1)
    return rng.choice(n, size, p=weights / weights.sum())


def _layer_tar(
    source: _ByteSource, prefix: str, n_files: int, median_bytes: int, whiteout: str = ""
) -> tuple[bytes, int]:
    """A layer tar (bytes) and its regular-file count: `n_files` files below `prefix`."""
    out = io.BytesIO()
    sizes = np.exp(source.rng.normal(np.log(median_bytes), 1.3, n_files)).astype(np.int64)
    with tarfile.open(fileobj=out, mode="w", format=tarfile.PAX_FORMAT) as tar:
        info = tarfile.TarInfo(prefix)
        info.type, info.mode, info.mtime = tarfile.DIRTYPE, 0o755, 1_700_000_000
        tar.addfile(info)
        for i, size in enumerate(sizes.tolist()):
            info = tarfile.TarInfo(f"{prefix}/f{i:05d}")
            info.size, info.mode, info.mtime = size, 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(source.take(size, text_like=i % 3 != 0)))
        if whiteout:
            info = tarfile.TarInfo(whiteout)
            info.mode, info.mtime = 0o644, 1_700_000_000
            tar.addfile(info, io.BytesIO(b""))
    return out.getvalue(), n_files


def _put_blob(blobs: Path, data: bytes) -> tuple[str, int, Path]:
    digest = "sha256:" + hashlib.sha256(data).hexdigest()
    path = blobs / digest.split(":", 1)[1]
    path.write_bytes(data)
    return digest, len(data), path


def _put_json(blobs: Path, document: object) -> tuple[str, int]:
    digest, size, _ = _put_blob(blobs, json.dumps(document, sort_keys=True).encode())
    return digest, size


def write_layout(directory: Path, seed: int = 5, apps: int = 3, scale: float = 0.5) -> Layout:
    """Write the layout to `directory` (created): `apps` images on one base layer."""
    source = _ByteSource(np.random.default_rng(seed))
    blobs = directory / "blobs" / "sha256"
    blobs.mkdir(parents=True, exist_ok=True)
    (directory / "oci-layout").write_text(json.dumps({"imageLayoutVersion": "1.0.0"}))
    base = _layer_tar(source, "usr/lib/base", int(1200 * scale), 12_000)
    app_layers = [
        _layer_tar(
            source,
            f"srv/app{a}",
            int(300 * scale),
            16_000,
            whiteout="usr/lib/base/.wh.f00000" if a == 0 else "",
        )
        for a in range(apps)
    ]
    layer_descs = []
    distinct: list[Path] = []
    blob_bytes = tar_bytes = files = 0
    for tar, n_files in [base, *app_layers]:
        compressed = gzip.compress(tar, compresslevel=6, mtime=0)
        digest, size, path = _put_blob(blobs, compressed)
        diff_id = "sha256:" + hashlib.sha256(tar).hexdigest()
        layer_descs.append(({"mediaType": OCI_GZIP_LAYER, "digest": digest, "size": size}, diff_id))
        distinct.append(path)
        blob_bytes += size
        tar_bytes += len(tar)
        files += n_files
    manifests = []
    names = []
    for a in range(apps):
        stack = [layer_descs[0], layer_descs[1 + a]]
        config = {
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": [diff for _, diff in stack]},
        }
        config_digest, config_size = _put_json(blobs, config)
        manifest = {
            "schemaVersion": 2,
            "mediaType": OCI_MANIFEST,
            "config": {"mediaType": OCI_CONFIG, "digest": config_digest, "size": config_size},
            "layers": [desc for desc, _ in stack],
        }
        digest, size = _put_json(blobs, manifest)
        name = f"bench.example/app{a}:1.0"
        names.append(name)
        manifests.append(
            {
                "mediaType": OCI_MANIFEST,
                "digest": digest,
                "size": size,
                "annotations": {"org.opencontainers.image.ref.name": name},
            }
        )
    (directory / "index.json").write_text(json.dumps({"schemaVersion": 2, "manifests": manifests}))
    return Layout(directory, tuple(names), tuple(distinct), blob_bytes, tar_bytes, files)


def stdlib_digest_pass(blobs: tuple[Path, ...]) -> tuple[tuple[str, str], ...]:
    """(blob digest, DiffID) of every gzip blob, streamed with hashlib and zlib alone."""
    out = []
    for path in blobs:
        blob_hash, tar_hash = hashlib.sha256(), hashlib.sha256()
        inflate = zlib.decompressobj(wbits=31)
        with path.open("rb") as handle:
            while chunk := handle.read(CHUNK_BYTES):
                blob_hash.update(chunk)
                tar_hash.update(inflate.decompress(chunk))
        tar_hash.update(inflate.flush())
        out.append(("sha256:" + blob_hash.hexdigest(), "sha256:" + tar_hash.hexdigest()))
    return tuple(out)
