"""Readers of real images: OCI image layouts and docker-archives into the core's model.

    read_images(paths, platform=None, progress=None) -> list[Image]
    read_population(paths, platform=None, progress=None) -> Population

Each path is an OCI layout (a directory with `oci-layout` and `index.json`, or such a directory
packed in a tar) or a docker-archive (a tar with `manifest.json`, or such a directory). Every
image each path holds is read, in order; several paths form one population: one registry that
receives every image in the order read, and one node that pulls them all in that order.

All manifests and configs are read and checked first; then every distinct layer blob is streamed
once (`layer_blob`; several blobs at a time, on a few threads: `blobs`), verified against its
descriptor digest and size and its config DiffID, and turned into a `Layer` whose entries carry
real tar bytes and file-content digests. Every bad input is an `ImageFormatError` naming the
file or blob; nothing is written anywhere.

What is *not* measured but apportioned (per-entry compressed bytes), and the other choices, are
documented in `entries` and docs/analyze.md.

The modules, in the order a read goes through them:

    source       the files an image comes in: a directory or a tar archive, opened safely
    oci, archive the two formats' JSON, checked, into plans (`plan`: what each layer must be)
    blobs        the distinct layer blobs, several at a time on a few threads
    layer_blob   one blob streamed: digests verified, a `Layer` built
    decompress   gzip / zstd / none, in bounded pieces with the stored bytes behind each
    tar_header   one tar header block (Go's rules), shared with `source`'s archives
    tar_stream   the members of a layer's tar as it streams, with exact offsets and digests
    chunking     every regular file cut into chunks as it streams (FastCDC and fixed-size)
    entries      members into model entries, compressed bytes apportioned

`spec` is the other way a population comes in: written by hand in TOML or JSON.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from contextlib import ExitStack
from pathlib import Path

from layersim.errors import ImageFormatError
from layersim.model import Image, Layer, Node, Population, StorageOptions
from layersim.model.chunks import ChunkSizes
from layersim.model.sizes import CompressionModel
from layersim.readers.archive import is_archive, plan_archive
from layersim.readers.blobs import read_layers
from layersim.readers.chunking import Chunking
from layersim.readers.oci import is_layout, plan_layout
from layersim.readers.plan import ImagePlan, LayerPlan, Platform
from layersim.readers.source import Source, open_source

__all__ = ["ProgressCallback", "read_images", "read_population"]

# progress(done_bytes, total_bytes): stored layer bytes streamed so far, of all to stream
ProgressCallback = Callable[[int, int], None]
DEFAULT_NODE = "node"


def plan_path(source: Source, path: Path, wanted: Platform | None) -> list[ImagePlan]:
    """The images at one path, by its format."""
    if is_archive(source):
        return plan_archive(source, path, wanted)
    if is_layout(source):
        return plan_layout(source, path, wanted)
    raise ImageFormatError(
        f"{path}: neither an OCI image layout (index.json) nor a docker-archive (manifest.json)"
    )


def _unique_names(plans: list[ImagePlan]) -> list[str]:
    """Image names, with `#2`, `#3`... appended to repeats (the same image read twice, e.g. from
    a layout and an archive, stays in its repository: only the tag part changes)."""
    taken: set[str] = set()
    names = []
    for plan in plans:
        name, count = plan.name, 1
        while name in taken:
            count += 1
            name = f"{plan.name}#{count}"
        taken.add(name)
        names.append(name)
    return names


def read_images(
    paths: Sequence[Path | str],
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    compression: CompressionModel | None = None,
    chunking: Chunking | None = None,
) -> list[Image]:
    """Every image at `paths`, in order, read from real layer blobs.

    `platform` (`os/arch[/variant]`) chooses within multi-platform indexes; by default
    linux/amd64, else the only platform there is. `progress(done, total)` is called on the
    calling thread as stored layer bytes are streamed. `compression` supplies the blob overhead
    kept out of the per-entry compressed bytes (see `entries.build_entries`). With `chunking`,
    every regular file is cut into chunks as it streams; its contents' chunks are collected in
    `chunking.contents`.
    """
    wanted = Platform.parse(platform) if platform else None
    compression = compression or CompressionModel()
    with ExitStack() as stack:
        plans: list[ImagePlan] = []
        for raw in paths:
            path = Path(raw)
            source = open_source(path)
            stack.callback(source.close)
            plans += plan_path(source, path, wanted)
        for plan in plans:
            if not plan.layers:
                raise ImageFormatError(
                    f"{plan.where}: image {plan.name} has no layers (layersim models images of "
                    "one or more layers)"
                )
        unique: dict[str, LayerPlan] = {}
        for plan in plans:
            for layer_plan in plan.layers:
                unique.setdefault(layer_plan.key, layer_plan)
        total = sum(p.blob.stored_bytes for p in unique.values())
        done = 0

        def advance(n_bytes: int) -> None:
            nonlocal done
            done += n_bytes
            if progress is not None:
                progress(done, total)

        if progress is not None:
            progress(0, total)
        read = read_layers(list(unique.values()), compression, advance, chunking=chunking)
        layers: dict[str, Layer] = dict(zip(unique, read, strict=True))
        return [
            Image(name=name, layers=tuple(layers[p.key] for p in plan.layers))
            for name, plan in zip(_unique_names(plans), plans, strict=True)
        ]


def read_population(
    paths: Sequence[Path | str],
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    *,
    node: str = DEFAULT_NODE,
    options: StorageOptions | None = None,
    compression: CompressionModel | None = None,
    chunk_sizes: ChunkSizes | None = None,
) -> Population:
    """The images at `paths` as one population: pushed to one registry in the order read, and
    pulled in that order by one node named `node` (no containers). Every regular file is cut
    into chunks with `chunk_sizes` (default `ChunkSizes()`) as it streams (`chunking`)."""
    compression = compression or CompressionModel()
    chunking = Chunking(chunk_sizes or ChunkSizes())
    images = read_images(paths, platform, progress, compression, chunking)
    names = tuple(image.name for image in images)
    return Population(
        images=tuple(images),
        nodes=(Node(name=node, images=names),),
        push_order=names,
        options=options or StorageOptions(),
        compression=compression,
        chunk_sizes=chunking.sizes,
        chunks=chunking.contents,
    )
