"""Content identities of the OCI image spec, kept apart by type.

- `DiffID`: sha256 of an *uncompressed* layer tar; listed in the image config's rootfs.
- `BlobDigest`: sha256 of a *compressed* blob; the key of a registry and of containerd's content store.
- `ChainID`: identity of a layer *on top of its parents*; the key of a node's layer store
  (overlay2 / snapshotter). `ChainID(L1) = DiffID(L1)`,
  `ChainID(Ln) = sha256(ChainID(Ln-1) + " " + DiffID(Ln))`.
- `ContentDigest`: identity of one file's bytes (file-level dedup).
- `ChunkDigest`: identity of one chunk of a file's bytes (chunk-level dedup): sha256 of the
  chunk's bytes (`chunk_digest`), or a synthetic digest for a modelled chunk (`model.chunks`).

A digest is a string `sha256:<64 hex>` validated in one place, `parse_digest`.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Sequence
from typing import NewType

from layersim.errors import ModelError

DiffID = NewType("DiffID", str)
BlobDigest = NewType("BlobDigest", str)
ChainID = NewType("ChainID", str)
ContentDigest = NewType("ContentDigest", str)
ChunkDigest = NewType("ChunkDigest", str)

_DIGEST_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


def parse_digest(text: str) -> str:
    """Return `text` if it is a well-formed `sha256:<64 lowercase hex>` digest, else raise."""
    if not isinstance(text, str) or not _DIGEST_RE.fullmatch(text):
        raise ModelError(f"not a sha256 digest: {text!r}")
    return text


def sha256_digest(data: bytes) -> str:
    """`sha256:<hex>` of `data`."""
    return "sha256:" + hashlib.sha256(data).hexdigest()


def chain_ids(diff_ids: Sequence[DiffID]) -> list[ChainID]:
    """ChainIDs of a layer stack, base first, per the OCI image spec (config.md, "Layer ChainID")."""
    out: list[ChainID] = []
    for diff_id in diff_ids:
        if not out:
            out.append(ChainID(diff_id))
        else:
            out.append(ChainID(sha256_digest(f"{out[-1]} {diff_id}".encode())))
    return out


def synthetic_digest(*parts: str | int) -> str:
    """A deterministic digest for a modelled (not read) object, from its canonical parts.

    Parts are joined with NUL so that no two different part lists collide by concatenation.
    """
    return sha256_digest("\0".join(str(p) for p in parts).encode())


def content_digest(name: str, file_bytes: int) -> ContentDigest:
    """Identity of modelled file contents: the same name and length are the same bytes."""
    return ContentDigest(synthetic_digest("content", name, file_bytes))


def chunk_digest(data: bytes | memoryview) -> ChunkDigest:
    """Identity of a chunk read from a real file: sha256 of its bytes."""
    return ChunkDigest("sha256:" + hashlib.sha256(data).hexdigest())
