"""The reference implementation: every figure of `metrics`, computed the obvious way.

Small, slow and written to read like docs/design.md; it is the oracle the numpy engine is tested
against, never what the CLI runs on populations of any size.
"""

from __future__ import annotations

from layersim.accounting.metrics import (
    ContainerUsage,
    ImageDiskUsage,
    ImageMetrics,
    NodeMetrics,
    PopulationMetrics,
    PullRecord,
    PushRecord,
    StoredBytes,
    chunk_disk_bytes,
)
from layersim.errors import ModelError
from layersim.model import (
    Container,
    EntryKind,
    Image,
    Node,
    Population,
    StorageDriver,
    StorageOptions,
)
from layersim.model.chunks import Chunk
from layersim.model.digest import BlobDigest, ChainID, ChunkDigest, ContentDigest
from layersim.model.overlay import View, dive_leaves, merged_view, stack_layer, subtree_file_bytes
from layersim.model.sizes import TAR_END_BYTES, CompressionModel, pad_to_block


def flattened_id(image: Image) -> ChainID:
    """Identity of an image's export: its top ChainID (the same stack exports to one tar)."""
    return image.chain_ids[-1]


def image_metrics(
    image: Image, options: StorageOptions, compression: CompressionModel
) -> ImageMetrics:
    block = options.block_bytes
    view = merged_view(image.layers)
    visible = [entry for _, entry in view.values()]
    all_entries = [e for layer in image.layers for e in layer.entries if not e.is_whiteout]

    # dive: per path over the layers whose leaves name it; a whiteout is sized against dive's
    # own stacking of the layers below, in which opaque markers hide nothing
    cumulative: dict[str, int] = {}
    minimum: dict[str, int] = {}
    named: dict[str, int] = {}
    lower: View = {}
    for index, layer in enumerate(image.layers):
        for leaf in dive_leaves(layer):
            if leaf.kind is EntryKind.WHITEOUT:
                size = subtree_file_bytes(lower, leaf.path)
            else:
                size = leaf.file_bytes
            cumulative[leaf.path] = cumulative.get(leaf.path, 0) + size
            minimum[leaf.path] = min(minimum.get(leaf.path, size), size)
            named[leaf.path] = named.get(leaf.path, 0) + 1
        stack_layer(lower, layer, index, opaque=False)

    return ImageMetrics(
        name=image.name,
        layers=tuple(layer.label for layer in image.layers),
        layered_tar_bytes=sum(layer.tar_bytes for layer in image.layers),
        layered_compressed_bytes=sum(layer.compressed_bytes for layer in image.layers),
        layered_disk_bytes=sum(layer.disk_bytes(block) for layer in image.layers),
        flattened_tar_bytes=sum(e.tar_bytes for e in visible) + TAR_END_BYTES,
        flattened_compressed_bytes=sum(e.compressed_bytes for e in visible)
        + compression.blob_overhead_bytes(),
        flattened_disk_bytes=sum(e.disk_bytes(block) for e in visible),
        shadowed_file_bytes=sum(e.file_bytes for e in all_entries)
        - sum(e.file_bytes for e in visible),
        dive_min_bytes=sum(minimum.values()),
        dive_cumulative_bytes=sum(cumulative.values()),
        dive_wasted_bytes=sum(c for p, c in cumulative.items() if named[p] >= 2),
        dive_user_bytes=sum(layer.file_bytes for layer in image.layers[1:]),
    )


def _file_contents(images: list[Image]) -> dict[ContentDigest, tuple[int, int]]:
    """Distinct file contents of the images: content -> (file bytes, content compressed bytes)."""
    contents: dict[ContentDigest, tuple[int, int]] = {}
    for image in images:
        for layer in image.layers:
            for e in layer.entries:
                if e.kind is EntryKind.FILE and e.content is not None:
                    contents.setdefault(e.content, (e.file_bytes, e.content_compressed_bytes))
    return contents


def _distinct_chunks(
    population: Population, images: list[Image]
) -> tuple[list[Chunk], list[Chunk]] | None:
    """The distinct chunks (by chunk digest) of the distinct file contents of the images: the
    content-defined ones and the fixed-size ones (None if the population's chunks are not
    known)."""
    if population.chunks is None:
        return None
    contents: set[ContentDigest] = set()
    cdc: dict[ChunkDigest, Chunk] = {}
    fixed: dict[ChunkDigest, Chunk] = {}
    for image in images:
        for layer in image.layers:
            for e in layer.entries:
                if e.kind is not EntryKind.FILE or e.content is None or e.content in contents:
                    continue
                contents.add(e.content)
                chunks = population.content_chunks(e)
                for chunk in chunks.cdc:
                    cdc.setdefault(chunk.digest, chunk)
                for chunk in chunks.fixed:
                    fixed.setdefault(chunk.digest, chunk)
    return list(cdc.values()), list(fixed.values())


def push_all(
    population: Population, metrics: dict[str, ImageMetrics]
) -> tuple[list[PushRecord], StoredBytes]:
    """Push every image in push order to one empty registry (docs/design.md §7)."""
    blobs: dict[BlobDigest, int] = {}
    by_repository: dict[str, set[BlobDigest]] = {}
    exports: dict[ChainID, int] = {}
    pushed: dict[str, Image] = {}
    records: list[PushRecord] = []
    for name in population.push_order or ():
        image = population.image_by_name[name]
        pushed[name] = image
        in_repo = by_repository.setdefault(image.repository, set())
        uploaded: list[str] = []
        skipped: list[str] = []
        mounted: list[str] = []
        uploaded_bytes = 0
        for layer in image.layers:
            digest = layer.blob_digest
            if digest in in_repo:
                skipped.append(layer.label)
            elif digest in blobs:
                skipped.append(layer.label)
                mounted.append(layer.label)
            else:
                blobs[digest] = layer.compressed_bytes
                uploaded.append(layer.label)
                uploaded_bytes += layer.compressed_bytes
            in_repo.add(digest)
        export = flattened_id(image)
        flattened_bytes = 0
        if export not in exports:
            exports[export] = flattened_bytes = metrics[name].flattened_compressed_bytes
        records.append(
            PushRecord(
                image=name,
                uploaded_bytes=uploaded_bytes,
                uploaded_layers=tuple(uploaded),
                skipped_layers=tuple(skipped),
                mounted_layers=tuple(mounted),
                flattened_uploaded_bytes=flattened_bytes,
            )
        )
    chunks = _distinct_chunks(population, list(pushed.values()))
    stored = StoredBytes(
        logical=sum(metrics[n].layered_compressed_bytes for n in pushed),
        flattened=sum(exports.values()),
        layer=sum(blobs.values()),
        file=sum(c for _, c in _file_contents(list(pushed.values())).values()),
        chunk_cdc=None if chunks is None else sum(c.compressed_bytes for c in chunks[0]),
        chunk_fixed=None if chunks is None else sum(c.compressed_bytes for c in chunks[1]),
    )
    return records, stored


def container_usage(container: Container, image: Image, options: StorageOptions) -> ContainerUsage:
    """A container's writable-layer disk bytes (docs/design.md §3)."""
    block = options.block_bytes
    view = merged_view(image.layers)
    touched: set[str] = set()

    def once(path: str) -> None:
        if path in touched:
            raise ModelError(f"container {container.name!r} touches {path!r} twice")
        touched.add(path)

    writable = 0
    for write in container.writes:
        once(write.path)
        writable += pad_to_block(write.file_bytes, block)
    for modify in container.modifies:
        once(modify.path)
        lower = view.get(modify.path)
        if lower is None or lower[1].kind is not EntryKind.FILE:
            raise ModelError(
                f"container {container.name!r} modifies {modify.path!r}, "
                f"which is not a file of image {image.name!r}"
            )
        whole = pad_to_block(lower[1].file_bytes, block)
        if options.driver is StorageDriver.OVERLAY2:
            writable += whole
        else:
            changed = block if modify.changed_bytes is None else modify.changed_bytes
            writable += min(pad_to_block(changed, block), whole)
    for path in container.deletes:
        once(path)
        if path not in view:
            raise ModelError(
                f"container {container.name!r} deletes {path!r}, "
                f"which image {image.name!r} does not have"
            )
    return ContainerUsage(
        name=container.name,
        image=image.name,
        state=container.state.value,
        writable_bytes=writable,
    )


def node_metrics(
    node: Node, population: Population, metrics: dict[str, ImageMetrics]
) -> NodeMetrics:
    options = population.options
    block = options.block_bytes
    keep = options.keep_compressed_blobs
    chains: dict[ChainID, int] = {}
    blobs: dict[BlobDigest, int] = {}
    exports: dict[ChainID, int] = {}
    pulled: dict[str, Image] = {}
    pulls: list[PullRecord] = []
    for name in node.images:
        image = population.image_by_name[name]
        downloaded: list[str] = []
        skipped: list[str] = []
        downloaded_bytes = extracted = 0
        for layer, chain in zip(image.layers, image.chain_ids, strict=True):
            if chain in chains:
                skipped.append(layer.label)
                continue
            if keep and layer.blob_digest in blobs:
                skipped.append(layer.label)
            else:
                downloaded.append(layer.label)
                downloaded_bytes += layer.compressed_bytes
                blobs[layer.blob_digest] = layer.compressed_bytes
            chains[chain] = layer.disk_bytes(block)
            extracted += chains[chain]
        export = flattened_id(image)
        flattened_bytes = 0
        if export not in exports:
            exports[export] = metrics[name].flattened_disk_bytes
            flattened_bytes = metrics[name].flattened_compressed_bytes
            if keep:
                exports[export] += flattened_bytes
        pulled[name] = image
        pulls.append(
            PullRecord(
                image=name,
                downloaded_bytes=downloaded_bytes,
                extracted_disk_bytes=extracted,
                downloaded_layers=tuple(downloaded),
                skipped_layers=tuple(skipped),
                flattened_downloaded_bytes=flattened_bytes,
            )
        )

    def own_bytes(name: str) -> int:
        m = metrics[name]
        return m.layered_disk_bytes + (m.layered_compressed_bytes if keep else 0)

    chunks = _distinct_chunks(population, list(pulled.values()))
    stored = StoredBytes(
        logical=sum(own_bytes(n) for n in pulled),
        flattened=sum(exports.values()),
        layer=sum(chains.values()) + (sum(blobs.values()) if keep else 0),
        file=sum(pad_to_block(b, block) for b, _ in _file_contents(list(pulled.values())).values()),
        chunk_cdc=None
        if chunks is None
        else sum(chunk_disk_bytes(c.file_bytes, block) for c in chunks[0]),
        chunk_fixed=None
        if chunks is None
        else sum(chunk_disk_bytes(c.file_bytes, block) for c in chunks[1]),
    )

    references: dict[ChainID, int] = {}
    for image in pulled.values():
        for chain in set(image.chain_ids):
            references[chain] = references.get(chain, 0) + 1
    usage: list[ImageDiskUsage] = []
    for image in pulled.values():
        sizes = dict(
            zip(image.chain_ids, (layer.disk_bytes(block) for layer in image.layers), strict=True)
        )
        size = sum(sizes.values())
        shared = sum(b for chain, b in sizes.items() if references[chain] > 1)
        usage.append(ImageDiskUsage(image.name, size, shared, size - shared))

    containers = tuple(
        container_usage(c, population.image_by_name[c.image], options) for c in node.containers
    )
    return NodeMetrics(
        name=node.name,
        stored_bytes=stored,
        pulls=tuple(pulls),
        images=tuple(usage),
        containers=containers,
    )


def evaluate(population: Population) -> PopulationMetrics:
    """Every figure of `metrics` for a population, by the book."""
    metrics = {
        image.name: image_metrics(image, population.options, population.compression)
        for image in population.images
    }
    pushes, registry = push_all(population, metrics)
    nodes = tuple(node_metrics(node, population, metrics) for node in population.nodes)
    return PopulationMetrics(
        images=tuple(metrics[image.name] for image in population.images),
        registry_stored_bytes=registry,
        pushes=tuple(pushes),
        nodes=nodes,
    )
