"""Chunks of file contents: what chunk-level dedup stores (DESIGN.md §5, `chunk_cdc` and
`chunk_fixed`).

A file's bytes are cut per file, never across file boundaries (as Nydus RAFS does), by two
chunkers: content-defined (FastCDC 2020, `ChunkSizes.cdc_*`) and fixed-size
(`ChunkSizes.fixed_bytes`, the last chunk of a file shorter). Chunks belong to a file *content*
(`ContentDigest`), not to an entry: the same bytes under two paths or in two layers are cut the
same way, so a population carries one `ContentChunks` per distinct content.

- Real images: the readers cut every regular file as it streams (`readers.chunking`); a chunk's
  identity is sha256 of its bytes, its `compressed_bytes` the chunk compressed on its own with
  zstd level 3 (as Nydus stores chunks).
- Populations without bytes (hand-written specs, converted arrays): `modelled_chunks` derives a
  content's chunks from its size and identity alone. Fixed-size boundaries depend on the size
  only, so they are exact; content-defined ones depend on bytes nobody has, so the model cuts at
  the average size (the last chunk shorter). Every modelled chunk's identity is derived from its
  content's, so no two distinct contents share a chunk: there, chunk dedup stores exactly the
  file bytes file dedup stores, and differs from it only by per-chunk compression and padding.

This module holds values and the model; what a store holds is `accounting`'s.
"""

from __future__ import annotations

import functools
import hashlib
from dataclasses import dataclass

from layersim.errors import ModelError
from layersim.model.digest import ChunkDigest, ContentDigest
from layersim.model.sizes import CompressionModel

# FastCDC(avg_size=65536) of pyfastcdc and fastcdc-rs: min = avg / 4, max = avg * 4.
DEFAULT_CDC_MIN_BYTES = 16 << 10
DEFAULT_CDC_AVG_BYTES = 64 << 10
DEFAULT_CDC_MAX_BYTES = 256 << 10
DEFAULT_FIXED_CHUNK_BYTES = 1 << 20  # Nydus RAFS's default chunk size
# pyfastcdc's accepted ranges (FastCDC 2020 as fastcdc-rs implements it)
CDC_MIN_RANGE = (64, 1 << 20)
CDC_AVG_RANGE = (256, 4 << 20)
CDC_MAX_RANGE = (1024, 16 << 20)


@dataclass(frozen=True, slots=True)
class ChunkSizes:
    """The two chunkers' parameters, checked once: FastCDC's minimum, average and maximum chunk
    bytes (`min <= avg <= max`, each within pyfastcdc's range) and the fixed chunk bytes
    (positive)."""

    cdc_min_bytes: int = DEFAULT_CDC_MIN_BYTES
    cdc_avg_bytes: int = DEFAULT_CDC_AVG_BYTES
    cdc_max_bytes: int = DEFAULT_CDC_MAX_BYTES
    fixed_bytes: int = DEFAULT_FIXED_CHUNK_BYTES

    def __post_init__(self) -> None:
        for name, value in (
            ("CDC minimum chunk size", self.cdc_min_bytes),
            ("CDC average chunk size", self.cdc_avg_bytes),
            ("CDC maximum chunk size", self.cdc_max_bytes),
            ("fixed chunk size", self.fixed_bytes),
        ):
            if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
                raise ModelError(f"{name} must be a positive number of bytes, got {value!r}")
        for name, value, (low, high) in (
            ("CDC minimum chunk size", self.cdc_min_bytes, CDC_MIN_RANGE),
            ("CDC average chunk size", self.cdc_avg_bytes, CDC_AVG_RANGE),
            ("CDC maximum chunk size", self.cdc_max_bytes, CDC_MAX_RANGE),
        ):
            if not low <= value <= high:
                raise ModelError(f"{name} must be within {low}..{high} bytes, got {value}")
        if not self.cdc_min_bytes <= self.cdc_avg_bytes <= self.cdc_max_bytes:
            raise ModelError(
                "CDC chunk sizes must satisfy min <= avg <= max, got "
                f"{self.cdc_min_bytes} / {self.cdc_avg_bytes} / {self.cdc_max_bytes}"
            )


@dataclass(frozen=True, slots=True)
class Chunk:
    """One chunk of a file's bytes: its identity, its length (file bytes) and what it costs
    compressed on its own (compressed bytes)."""

    digest: ChunkDigest
    file_bytes: int
    compressed_bytes: int


@dataclass(frozen=True, slots=True)
class ContentChunks:
    """A file content's chunks under each chunker, in file order; each list's file bytes add up
    to the content's (an empty file has no chunks)."""

    cdc: tuple[Chunk, ...]
    fixed: tuple[Chunk, ...]

    def __post_init__(self) -> None:
        if sum(c.file_bytes for c in self.cdc) != sum(c.file_bytes for c in self.fixed):
            raise ModelError("a content's CDC and fixed-size chunks cover different lengths")

    @property
    def file_bytes(self) -> int:
        return sum(c.file_bytes for c in self.fixed)


def even_cuts(file_bytes: int, chunk_bytes: int) -> list[int]:
    """Lengths of `file_bytes` cut every `chunk_bytes`, the last piece shorter (none if empty)."""
    full, rest = divmod(file_bytes, chunk_bytes)
    return [chunk_bytes] * full + ([rest] if rest else [])


# At most this many modelled chunks per content: a content beyond MAX_MODELLED_CHUNKS x the chunk
# size (1 TiB at 1 MiB) is cut into that many equal, larger pieces instead. Modelled chunks are
# never shared, so this changes no stored file bytes, only per-chunk compression rounding and
# block padding, and keeps a hand-written 10^18-byte file from needing 10^12 chunk objects.
MAX_MODELLED_CHUNKS = 1 << 20


def _modelled_cuts(file_bytes: int, chunk_bytes: int) -> list[int]:
    """`even_cuts`, with pieces widened so that there are at most `MAX_MODELLED_CHUNKS`."""
    return even_cuts(file_bytes, max(chunk_bytes, -(-file_bytes // MAX_MODELLED_CHUNKS)))


@functools.lru_cache(maxsize=1 << 14)
def _modelled_digests(chunker: str, content: ContentDigest, count: int) -> tuple[ChunkDigest, ...]:
    """The identities of a modelled content's chunks: sha256 of ("chunk", chunker, content),
    then the chunk's place. Kept once per content: every store holding the content (and the
    reference, for every image) asks again, and hashing is the cost of modelled chunks."""
    prefix = hashlib.sha256(f"chunk\0{chunker}\0{content}".encode())
    out = []
    for k in range(count):
        h = prefix.copy()
        h.update(b"\0%d" % k)
        out.append(ChunkDigest("sha256:" + h.hexdigest()))
    return tuple(out)


def modelled_chunks(
    content: ContentDigest,
    file_bytes: int,
    content_class: str,
    sizes: ChunkSizes,
    compression: CompressionModel,
) -> ContentChunks:
    """The chunks of a content nobody has the bytes of (see the module docstring): fixed-size
    cuts exact, content-defined cuts at the average size; identities derived from the content
    and the chunk's place, compressed bytes from the content class's ratio; at most
    `MAX_MODELLED_CHUNKS` pieces (larger ones beyond that)."""

    def chunks(chunker: str, lengths: list[int]) -> tuple[Chunk, ...]:
        compressed = {n: compression.content_bytes(n, content_class) for n in set(lengths)}
        digests = _modelled_digests(chunker, content, len(lengths))
        return tuple(Chunk(d, n, compressed[n]) for d, n in zip(digests, lengths, strict=True))

    return ContentChunks(
        cdc=chunks("cdc", _modelled_cuts(file_bytes, sizes.cdc_avg_bytes)),
        fixed=chunks("fixed", _modelled_cuts(file_bytes, sizes.fixed_bytes)),
    )
