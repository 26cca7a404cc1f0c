"""Containers, nodes and a population: who holds which images, and what containers write.

Immutable values with their invariants (every name a node pulls or a container runs exists);
what they cost is `accounting`'s.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from functools import cached_property

from layersim.errors import ModelError
from layersim.model.chunks import ChunkSizes, ContentChunks, modelled_chunks
from layersim.model.digest import ContentDigest, DiffID
from layersim.model.image import Entry, Image, Layer, normalize_path
from layersim.model.sizes import DEFAULT_BLOCK_BYTES, CompressionModel


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
    """Images, the nodes that pull them, and the order they are pushed to one registry.

    `chunks` holds the chunks of file contents whose bytes were read (real images), cut with
    `chunk_sizes`; a content it does not list is chunked by `model.chunks.modelled_chunks`
    (`content_chunks` gives either). `chunks=None`: chunks are not known and the chunk
    strategies not computed (a generated fleet's arrays converted to objects).
    """

    images: tuple[Image, ...]
    nodes: tuple[Node, ...] = ()
    push_order: tuple[str, ...] | None = None
    options: StorageOptions = field(default_factory=StorageOptions)
    compression: CompressionModel = field(default_factory=CompressionModel)
    chunk_sizes: ChunkSizes = field(default_factory=ChunkSizes)
    chunks: Mapping[ContentDigest, ContentChunks] | None = field(default_factory=dict)

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

    def content_chunks(self, entry: Entry) -> ContentChunks:
        """The chunks of a regular file entry's content: read ones if known, else modelled."""
        if self.chunks is None or entry.content is None:
            raise ModelError(f"{entry.path!r}: no chunks are known for this population")
        found = self.chunks.get(entry.content)
        if found is not None:
            if found.file_bytes != entry.file_bytes:
                raise ModelError(
                    f"the chunks of content {entry.content} cover {found.file_bytes} bytes, "
                    f"but {entry.path!r} has {entry.file_bytes}"
                )
            return found
        key = (entry.content, entry.file_bytes, entry.content_class)
        modelled = self._modelled_chunks.get(key)
        if modelled is None:
            modelled = self._modelled_chunks[key] = modelled_chunks(
                entry.content,
                entry.file_bytes,
                entry.content_class,
                self.chunk_sizes,
                self.compression,
            )
        return modelled

    @cached_property
    def _modelled_chunks(self) -> dict[tuple[ContentDigest, int, str], ContentChunks]:
        # A memo of a pure function of this (immutable) population's values: every store and
        # every image that holds a content asks for its modelled chunks again, and building a
        # large content's chunk objects is the reference's main cost.
        return {}

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
