"""The domain model: file entries, layers, images, containers, nodes, a population.

Everything here is an immutable value. A `Layer` is a changeset (DESIGN.md §1): the entries of
its tar, whiteouts and opaque-directory markers included, with its two identities kept apart —
`diff_id` (uncompressed tar) and `blob_digest` (compressed blob). A node keys layers by ChainID,
which depends on the layers below, so ChainIDs belong to an `Image`, not to a `Layer`.

This module holds values and their invariants only; what they cost is `reference` / `engine`.
"""

from __future__ import annotations

import posixpath
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import IntEnum, StrEnum
from functools import cached_property

from layersim.digest import (
    BlobDigest,
    ChainID,
    ContentDigest,
    DiffID,
    chain_ids,
    synthetic_digest,
)
from layersim.errors import ModelError
from layersim.sizes import (
    DEFAULT_BLOCK_BYTES,
    TAR_BLOCK_BYTES,
    TAR_END_BYTES,
    CompressionModel,
    pad_to_block,
    tar_header_bytes,
)

WHITEOUT_PREFIX = ".wh."
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
    return "/".join(parts)


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


class ContainerState(StrEnum):
    RUNNING = "running"
    STOPPED = "stopped"


class StorageDriver(StrEnum):
    """How a container's first write to a lower file is paid for."""

    OVERLAY2 = "overlay2"  # copy-up of the whole file
    BLOCK = "block"  # btrfs/zfs-like: only the changed blocks


def _check_bytes(what: str, value: int | None) -> None:
    if value is not None and (not isinstance(value, int) or isinstance(value, bool) or value < 0):
        raise ModelError(f"{what} must be a non-negative integer, got {value!r}")


@dataclass(frozen=True, slots=True)
class FileWrite:
    """A container writes a file of `file_bytes` at `path` (new or replacing a lower one)."""

    path: str
    file_bytes: int

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", normalize_path(self.path))
        _check_bytes(f"write of {self.path!r}", self.file_bytes)


@dataclass(frozen=True, slots=True)
class FileModify:
    """A container changes `changed_bytes` of a file its image has (`None`: one block)."""

    path: str
    changed_bytes: int | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "path", normalize_path(self.path))
        _check_bytes(f"change of {self.path!r}", self.changed_bytes)


@dataclass(frozen=True, slots=True)
class Container:
    """An instance of an image on a node: the image read-only plus its own writable layer."""

    name: str
    image: str
    state: ContainerState = ContainerState.RUNNING
    writes: tuple[FileWrite, ...] = ()
    modifies: tuple[FileModify, ...] = ()
    deletes: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        object.__setattr__(self, "deletes", tuple(normalize_path(p) for p in self.deletes))


@dataclass(frozen=True, slots=True)
class Node:
    """A machine with a layer store: the images it pulled, in pull order, and its containers."""

    name: str
    images: tuple[str, ...] = ()
    containers: tuple[Container, ...] = ()


@dataclass(frozen=True, slots=True)
class StorageOptions:
    """How nodes store what they pull.

    `keep_compressed_blobs`: containerd keeps each pulled blob in its content store beside the
    unpacked snapshot unless told to discard it; Docker's overlay2 store does not (default off).
    """

    block_bytes: int = DEFAULT_BLOCK_BYTES
    driver: StorageDriver = StorageDriver.OVERLAY2
    keep_compressed_blobs: bool = False

    def __post_init__(self) -> None:
        if self.block_bytes <= 0 or self.block_bytes & (self.block_bytes - 1):
            raise ModelError(f"block size must be a positive power of two, got {self.block_bytes}")


@dataclass(frozen=True)
class Population:
    """Images, the nodes that pull them, and the order they are pushed to one registry."""

    images: tuple[Image, ...]
    nodes: tuple[Node, ...] = ()
    push_order: tuple[str, ...] | None = None
    options: StorageOptions = field(default_factory=StorageOptions)
    compression: CompressionModel = field(default_factory=CompressionModel)

    def __post_init__(self) -> None:
        names = [image.name for image in self.images]
        for image in self.images:
            if not image.layers:
                raise ModelError(f"image {image.name!r} has no layers")
        duplicates = sorted({n for n in names if names.count(n) > 1})
        if duplicates:
            raise ModelError(f"image {duplicates[0]!r} is defined twice")
        if self.push_order is None:
            object.__setattr__(self, "push_order", tuple(names))
        known = set(names)
        for name in self.push_order or ():
            if name not in known:
                raise ModelError(f"registry push names unknown image {name!r}")
        node_names: set[str] = set()
        for node in self.nodes:
            if node.name in node_names:
                raise ModelError(f"node {node.name!r} is defined twice")
            node_names.add(node.name)
            on_node = set(node.images)
            for image in node.images:
                if image not in known:
                    raise ModelError(f"node {node.name!r} pulls unknown image {image!r}")
            for container in node.containers:
                if container.image not in on_node:
                    raise ModelError(
                        f"container {container.name!r} on node {node.name!r} runs image "
                        f"{container.image!r}, which the node has not pulled"
                    )

    @cached_property
    def image_by_name(self) -> dict[str, Image]:
        return {image.name: image for image in self.images}

    def layers(self) -> list[Layer]:
        """Distinct layers (by DiffID) in order of first appearance."""
        seen: dict[DiffID, Layer] = {}
        for image in self.images:
            for layer in image.layers:
                seen.setdefault(layer.diff_id, layer)
        return list(seen.values())


def images_in_order(population: Population, names: Sequence[str]) -> list[Image]:
    by_name = population.image_by_name
    return [by_name[n] for n in names]
