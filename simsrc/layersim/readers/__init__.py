"""Readers of real images: OCI image layouts, docker-archives and registries into the model.

    read_images(references, platform=None, progress=None) -> list[Image]
    read_population(references, platform=None, progress=None) -> Population

Each reference is in skopeo's syntax (`reference`): `oci:DIR[:REF]`, `oci-archive:PATH[:REF]`,
`docker-archive:PATH`, `docker://HOST/REPO:TAG` (`registry`), `docker://HOST` (every tag of
every repository), or a plain path: an OCI layout (a directory with `oci-layout` and
`index.json`, or such a directory packed in a tar) or a docker-archive (a tar with
`manifest.json`, or such a directory). Every image each reference names is read, in order;
several references form one population: one registry that receives every image in the order
read, and one node that pulls them all in that order.

All manifests and configs are read and checked first; then every distinct layer blob is streamed
once (`layer_blob`; several blobs at a time, on a few threads: `blobs`), verified against its
descriptor digest and size and its config DiffID, and turned into a `Layer` whose entries carry
real tar bytes and file-content digests. Every bad input is an `ImageFormatError` naming the
file or blob; nothing is written anywhere.

What is *not* measured but apportioned (per-entry compressed bytes), and the other choices, are
documented in `entries` and docs/analyze.md.

The modules, in the order a read goes through them:

    reference    image references in skopeo's transport syntax, parsed
    source       the files an image comes in: a directory or a tar archive, opened safely
    registry     a registry's repository as a layout: the distribution API, streamed
    cache        per-blob analysis kept in SQLite by digest: a blob read once is not read again
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
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from layersim.errors import ImageFormatError
from layersim.model import Image, Layer, Node, Population, StorageOptions
from layersim.model.chunks import ChunkSizes
from layersim.model.sizes import CompressionModel
from layersim.readers.archive import is_archive, plan_archive
from layersim.readers.blobs import read_layers
from layersim.readers.cache import CacheCounts, LayerCache
from layersim.readers.chunking import Chunking
from layersim.readers.oci import is_layout, plan_layout
from layersim.readers.plan import ImagePlan, LayerPlan, Platform
from layersim.readers.reference import ImageReference, Transport, parse_reference
from layersim.readers.registry import RegistryClient, RegistryOptions, RepositorySource
from layersim.readers.source import Source, open_source

__all__ = [
    "CacheCounts",
    "LayerCache",
    "ProgressCallback",
    "ReadResult",
    "RegistryOptions",
    "parse_reference",
    "population_of",
    "read",
    "read_images",
    "read_population",
]

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


def _plan_reference(
    reference: ImageReference,
    wanted: Platform | None,
    stack: ExitStack,
    clients: dict[str, RegistryClient],
    options: RegistryOptions,
) -> list[ImagePlan]:
    """The images one reference names, by its transport."""
    if reference.transport is Transport.DOCKER:
        return _plan_registry(reference, wanted, stack, clients, options)
    path = reference.path
    assert path is not None
    source = open_source(path)
    stack.callback(source.close)
    if reference.transport is Transport.PATH:
        return plan_path(source, path, wanted)
    if reference.transport is Transport.DOCKER_ARCHIVE:
        if not is_archive(source):
            raise ImageFormatError(f"{path}: not a docker-archive (no manifest.json)")
        return plan_archive(source, path, wanted)
    if not is_layout(source):
        raise ImageFormatError(f"{path}: not an OCI image layout (no index.json)")
    return plan_layout(source, path, wanted, reference.ref)


def _plan_registry(
    reference: ImageReference,
    wanted: Platform | None,
    stack: ExitStack,
    clients: dict[str, RegistryClient],
    options: RegistryOptions,
) -> list[ImagePlan]:
    """One image of a repository, or every tag of every repository of a catalog."""
    host = reference.host
    assert host is not None
    if host not in clients:
        clients[host] = RegistryClient(host, options)
        stack.callback(clients[host].close)
    client = clients[host]
    if reference.repository is not None:
        wanted_refs = [reference.digest or reference.tag or ""]
        repositories = {reference.repository: wanted_refs}
    else:
        repositories = {repo: client.tags(repo) for repo in client.repositories()}
    plans: list[ImagePlan] = []
    for repository, refs in repositories.items():
        if refs:  # a repository whose tags are all deleted holds no image to read
            source = RepositorySource(client, repository, refs)
            plans += plan_layout(source, Path(repository), wanted)
    if not plans:
        raise ImageFormatError(f"registry {host}: the catalog lists no tagged image")
    return plans


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


@dataclass(frozen=True, slots=True)
class ReadResult:
    """The images read, in order, what their reading took from the cache and the blobs, and
    when each image was created (its config's `created`; None where it says nothing usable)."""

    images: tuple[Image, ...]
    counts: CacheCounts
    created: tuple[datetime | None, ...] = ()


def read(
    references: Sequence[Path | str],
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    compression: CompressionModel | None = None,
    registry: RegistryOptions | None = None,
    cache: LayerCache | None = None,
    chunking: Chunking | None = None,
) -> ReadResult:
    """Every image `references` name (module docstring), in order, read from real layer blobs.

    `platform` (`os/arch[/variant]`) chooses within multi-platform indexes; by default
    linux/amd64, else the only platform there is. `progress(done, total)` is called on the
    calling thread as stored layer bytes are streamed. `compression` supplies the blob overhead
    kept out of the per-entry compressed bytes (see `entries.build_entries`). `registry`: how
    `docker://` references are reached (TLS, timeouts, retries, credentials). `cache`: where
    layer blobs analysed before are found, and the blobs read now kept (`cache`). With
    `chunking`, every regular file is cut into chunks as it streams; its contents' chunks are
    collected in `chunking.contents` (from the cache too, which keeps them per chunk sizes).
    """
    wanted = Platform.parse(platform) if platform else None
    compression = compression or CompressionModel()
    parsed = [
        ImageReference(Transport.PATH, str(raw), path=raw)
        if isinstance(raw, Path)
        else parse_reference(raw)
        for raw in references
    ]
    clients: dict[str, RegistryClient] = {}
    with ExitStack() as stack:
        plans: list[ImagePlan] = []
        for reference in parsed:
            plans += _plan_reference(
                reference, wanted, stack, clients, registry or RegistryOptions()
            )
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
        layers, counts = _read_unique(unique, compression, progress, cache, chunking)
        images = tuple(
            Image(name=name, layers=tuple(layers[p.key] for p in plan.layers))
            for name, plan in zip(_unique_names(plans), plans, strict=True)
        )
        return ReadResult(
            images=images, counts=counts, created=tuple(plan.created for plan in plans)
        )


def _cached(
    unique: dict[str, LayerPlan],
    overhead: int,
    cache: LayerCache,
    chunking: Chunking | None,
) -> dict[str, Layer]:
    """The layers the cache holds whole: their analysis, and with `chunking` their contents'
    chunks under the same chunk sizes (else the blob is read again)."""
    layers: dict[str, Layer] = {}
    for key, plan in unique.items():
        blob = plan.blob
        if blob.digest is None:
            continue
        name = blob.name or blob.diff_id[7:19]
        cached = cache.load(blob.digest, blob.diff_id, overhead, name)
        if cached is None:
            continue
        if chunking is not None:
            chunks = cache.load_chunks(blob.digest, blob.diff_id, chunking.sizes)
            if chunks is None:
                continue
            chunking.contents.update(chunks)
        layers[key] = cached
    return layers


def _read_unique(
    unique: dict[str, LayerPlan],
    compression: CompressionModel,
    progress: ProgressCallback | None,
    cache: LayerCache | None,
    chunking: Chunking | None,
) -> tuple[dict[str, Layer], CacheCounts]:
    """Every distinct blob's layer: from the cache where it holds the blob's analysis, else
    streamed (and then cached: only blobs read whole and verified get there)."""
    overhead = compression.blob_overhead_bytes()
    layers = {} if cache is None else _cached(unique, overhead, cache, chunking)
    to_read = [key for key in unique if key not in layers]
    total = sum(unique[key].blob.stored_bytes for key in to_read)
    done = 0

    def advance(n_bytes: int) -> None:
        nonlocal done
        done += n_bytes
        if progress is not None:
            progress(done, total)

    if progress is not None:
        progress(0, total)
    read = read_layers([unique[key] for key in to_read], compression, advance, chunking=chunking)
    if cache is not None:
        kept = [layer for k, layer in zip(to_read, read, strict=True) if unique[k].blob.digest]
        cache.store(kept, overhead)
        if chunking is not None:
            cache.store_chunks(kept, chunking.sizes, chunking.contents)
    layers.update(zip(to_read, read, strict=True))
    counts = CacheCounts(hits=len(unique) - len(to_read), blob_reads=len(to_read), bytes_read=total)
    return layers, counts


def read_images(
    references: Sequence[Path | str],
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    compression: CompressionModel | None = None,
    registry: RegistryOptions | None = None,
    chunking: Chunking | None = None,
) -> list[Image]:
    """Every image `references` name, in order (`read`, without a cache)."""
    return list(
        read(references, platform, progress, compression, registry, chunking=chunking).images
    )


def population_of(
    images: Sequence[Image],
    *,
    node: str = DEFAULT_NODE,
    options: StorageOptions | None = None,
    compression: CompressionModel | None = None,
    chunking: Chunking | None = None,
) -> Population:
    """Images as one population: pushed to one registry in their order, and pulled in that
    order by one node named `node` (no containers). With `chunking` (the read's), the
    population carries its contents' chunks as read; without, its contents are chunked by the
    model (`model.chunks.modelled_chunks`), as a hand-written spec's are."""
    names = tuple(image.name for image in images)
    return Population(
        images=tuple(images),
        nodes=(Node(name=node, images=names),),
        push_order=names,
        options=options or StorageOptions(),
        compression=compression or CompressionModel(),
        **(
            {} if chunking is None else {"chunk_sizes": chunking.sizes, "chunks": chunking.contents}
        ),
    )


def read_population(
    references: Sequence[Path | str],
    platform: str | None = None,
    progress: ProgressCallback | None = None,
    *,
    node: str = DEFAULT_NODE,
    options: StorageOptions | None = None,
    compression: CompressionModel | None = None,
    registry: RegistryOptions | None = None,
    chunk_sizes: ChunkSizes | None = None,
) -> Population:
    """The images `references` name as one population (`population_of`). Every regular file
    is cut into chunks with `chunk_sizes` (default `ChunkSizes()`) as it streams."""
    compression = compression or CompressionModel()
    chunking = Chunking(chunk_sizes or ChunkSizes())
    images = read_images(references, platform, progress, compression, registry, chunking)
    return population_of(
        images, node=node, options=options, compression=compression, chunking=chunking
    )
