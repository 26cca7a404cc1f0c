"""File entries, layers and images: the changesets and the stacks they form.

Everything here is an immutable value. A `Layer` is a changeset (docs/design.md §1): the entries
of its tar, whiteouts and opaque-directory markers included, with its two identities kept apart —
`diff_id` (uncompressed tar) and `blob_digest` (compressed blob). A node keys layers by ChainID,
which depends on the layers below, so ChainIDs belong to an `Image`, not to a `Layer`.

This module holds values and their invariants only; what they cost is `accounting`'s.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable
from dataclasses import dataclass, field
from enum import IntEnum

from layersim.errors import ModelError
from layersim.model.digest import (
    BlobDigest,
    ChainID,
    ContentDigest,
    DiffID,
    chain_ids,
    synthetic_digest,
)
from layersim.model.sizes import (
    DEFAULT_BLOCK_BYTES,
    TAR_BLOCK_BYTES,
    TAR_END_BYTES,
    CompressionModel,
    pad_to_block,
    tar_header_bytes,
)

WHITEOUT_PREFIX = ".wh."
# Linux's PATH_MAX: no longer path can be created when an image is unpacked, so none is accepted
# (and no code below has to cope with one).
PATH_MAX_BYTES = 4096
OPAQUE_MARKER = ".wh..wh..opq"


class EntryKind(IntEnum):
    """What a tar entry is. The integer values are the engine's codes."""

    FILE = 0
    DIR = 1
    SYMLINK = 2
    HARDLINK = 3
    WHITEOUT = 4  # `dir/.wh.name`: deletes `dir/name` and its subtree from lower layers
    OPAQUE = 5  # `dir/.wh..wh..opq`: hides everything below `dir` in lower layers


def normalize_path(path: str) -> str:
    """A path inside an image: no leading `/` or `./`, no trailing `/`, no `.`/`..` parts.

    Raises `ModelError` for an empty path or one that climbs out of the root.
    """
    if not isinstance(path, str):
        raise ModelError(f"path must be a string, got {path!r}")
    raw = path.strip("/")
    parts = [p for p in raw.split("/") if p not in ("", ".")]
    if not parts:
        raise ModelError(f"empty path {path!r}")
    if ".." in parts:
        raise ModelError(f"path {path!r} climbs out of the image root")
    if "\0" in path:
        raise ModelError(f"path {path!r} contains NUL")
    normal = "/".join(parts)
    if len(normal.encode("utf-8", "surrogateescape")) > PATH_MAX_BYTES:
        raise ModelError(
            f"path {normal[:40]!r}... is {len(normal.encode('utf-8', 'surrogateescape'))} bytes "
            f"long; the limit is {PATH_MAX_BYTES} (PATH_MAX)"
        )
    return normal


def parent_path(path: str) -> str:
    """The directory holding `path` ('' for a top-level entry)."""
    return posixpath.dirname(path)


def tar_name(path: str, kind: EntryKind) -> str:
    """The name an entry carries in a layer tar, as Docker and containerd write it."""
    if kind is EntryKind.DIR:
        return path + "/"
    if kind is EntryKind.WHITEOUT:
        head, tail = posixpath.split(path)
        return posixpath.join(head, WHITEOUT_PREFIX + tail)
    if kind is EntryKind.OPAQUE:
        return posixpath.join(path, OPAQUE_MARKER)
    return path


@dataclass(frozen=True, slots=True)
class Entry:
    """One entry of a layer tar.

    `path` is the path the entry affects: for a whiteout the deleted path, for an opaque marker
    the directory it makes opaque. `file_bytes` is non-zero only for regular files. `content`
    identifies a regular file's bytes (file-level dedup); `content_class` sets its modelled
    compressibility. `tar_bytes` (header(s) + padded data) and `compressed_bytes` (this entry's
    share of the compressed blob) are computed by `make_entry` for modelled layers and measured
    or estimated by the readers of real images. `content_compressed_bytes` is what the file's
    bytes alone cost compressed (what a file-level registry store keeps).
    """

    path: str
    kind: EntryKind
    file_bytes: int
    content: ContentDigest | None
    content_class: str
    link_target: str
    tar_bytes: int
    compressed_bytes: int
    content_compressed_bytes: int

    def disk_bytes(self, block_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
        """Disk bytes once extracted: regular files block-rounded, a block per directory."""
        if self.kind is EntryKind.FILE:
            return pad_to_block(self.file_bytes, block_bytes)
        if self.kind is EntryKind.DIR:
            return block_bytes
        return 0

    @property
    def is_whiteout(self) -> bool:
        return self.kind is EntryKind.WHITEOUT or self.kind is EntryKind.OPAQUE


def make_entry(
    path: str,
    kind: EntryKind = EntryKind.FILE,
    file_bytes: int = 0,
    content: ContentDigest | None = None,
    content_class: str | None = None,
    link_target: str = "",
    compression: CompressionModel | None = None,
) -> Entry:
    """Build a modelled entry, computing its tar and compressed bytes from the size model."""
    compression = compression or CompressionModel()
    path = normalize_path(path)
    if not isinstance(file_bytes, int) or isinstance(file_bytes, bool) or file_bytes < 0:
        raise ModelError(f"{path}: size must be a non-negative integer, got {file_bytes!r}")
    if kind is not EntryKind.FILE:
        if file_bytes:
            raise ModelError(f"{path}: only regular files carry bytes")
        content = None
    elif content is None:
        raise ModelError(f"{path}: a regular file needs a content identity")
    content_class = content_class or compression.default_class
    compression.ratio(content_class)  # validates the class
    header = tar_header_bytes(tar_name(path, kind), link_target, file_bytes)
    return Entry(
        path=path,
        kind=kind,
        file_bytes=file_bytes,
        content=content,
        content_class=content_class,
        link_target=link_target,
        tar_bytes=header + pad_to_block(file_bytes, TAR_BLOCK_BYTES),
        compressed_bytes=compression.entry_bytes(header, file_bytes, content_class),
        content_compressed_bytes=compression.content_bytes(file_bytes, content_class),
    )


def _entry_sort_key(entry: Entry) -> tuple[str, int]:
    return (entry.path, int(entry.kind))


@dataclass(frozen=True, slots=True)
class Layer:
    """A changeset: its entries in canonical order and its identities and sizes.

    `name` is a label for reports (the spec's layer name) and takes no part in identity:
    two layers with the same DiffID are one layer however they are named.
    """

    entries: tuple[Entry, ...]
    diff_id: DiffID
    blob_digest: BlobDigest
    tar_bytes: int
    compressed_bytes: int
    name: str = field(default="", compare=False)

    @property
    def file_bytes(self) -> int:
        return sum(e.file_bytes for e in self.entries)

    def disk_bytes(self, block_bytes: int = DEFAULT_BLOCK_BYTES) -> int:
        return sum(e.disk_bytes(block_bytes) for e in self.entries)

    @property
    def label(self) -> str:
        return self.name or self.diff_id


def check_layer_entries(entries: Iterable[Entry]) -> tuple[Entry, ...]:
    """Sort entries canonically and enforce what a real layer tar can hold: one entry per path
    (an opaque marker may sit beside its directory's own entry), and nothing below a path the
    same layer makes a non-directory (a file, link or whiteout has no children)."""
    ordered = tuple(sorted(entries, key=_entry_sort_key))
    seen: dict[str, EntryKind] = {}
    for entry in ordered:
        previous = seen.get(entry.path)
        if previous is not None and not (
            previous is EntryKind.DIR and entry.kind is EntryKind.OPAQUE
        ):
            raise ModelError(f"path {entry.path!r} appears twice in one layer")
        seen[entry.path] = entry.kind
    leaves_only = {EntryKind.FILE, EntryKind.SYMLINK, EntryKind.HARDLINK, EntryKind.WHITEOUT}
    for entry in ordered:
        parent = parent_path(entry.path)
        while parent:
            if seen.get(parent) in leaves_only:
                raise ModelError(
                    f"path {entry.path!r} lies below {parent!r}, which the same layer makes "
                    f"a {seen[parent].name.lower()}"
                )
            parent = parent_path(parent)
    return ordered


def make_layer(
    entries: Iterable[Entry],
    mtime: int = 0,
    name: str = "",
    compression: CompressionModel | None = None,
) -> Layer:
    """Build a modelled layer; its DiffID hashes its canonical entries and build time.

    Content addressing is real: the same entries built at the same time are the same layer;
    the same entries built at another `mtime` are another layer (another tar), as in a build
    that is not reproducible.
    """
    compression = compression or CompressionModel()
    ordered = check_layer_entries(entries)
    parts: list[str | int] = ["layer", mtime]
    for e in ordered:
        # the class is part of what the bytes are: one DiffID must mean one compressed size
        parts += [
            int(e.kind),
            e.path,
            e.content or "",
            e.file_bytes,
            e.content_class,
            e.link_target,
        ]
    diff_id = DiffID(synthetic_digest(*parts))
    return Layer(
        entries=ordered,
        diff_id=diff_id,
        blob_digest=BlobDigest(synthetic_digest("gzip", diff_id)),
        tar_bytes=sum(e.tar_bytes for e in ordered) + TAR_END_BYTES,
        compressed_bytes=compression.blob_overhead_bytes()
        + sum(e.compressed_bytes for e in ordered),
        name=name,
    )


def repository_of(image_name: str) -> str:
    """The repository part of an image reference: `reg:5000/team/app:1.2` -> `reg:5000/team/app`."""
    name = image_name.split("@", 1)[0]
    slash = name.rfind("/")
    colon = name.rfind(":")
    return name[:colon] if colon > slash else name


@dataclass(frozen=True, slots=True)
class Image:
    """An ordered stack of layers, base first, under a reference name `repo:tag`."""

    name: str
    layers: tuple[Layer, ...]

    @property
    def repository(self) -> str:
        return repository_of(self.name)

    @property
    def diff_ids(self) -> list[DiffID]:
        return [layer.diff_id for layer in self.layers]

    @property
    def chain_ids(self) -> list[ChainID]:
        return chain_ids(self.diff_ids)
