"""The columnar form of a population: what the numpy engine runs on.

Digests are interned to dense integer ids and every one-to-many relation is a CSR pair
(`*_offsets` of length n+1 and a flat value array), so a population of millions of layers and
hundreds of millions of file entries fits in a few arrays. `from_population` converts the object
model (`layersim.model`) to this form at one boundary; `to_population` converts back, so that a
generated fleet small enough can be checked against the reference implementation.
`canonical` checks arrays and puts them in the order the engine reads entries in
(`CanonicalArrays`). No figure is computed here: that is the engine's (`images`, `transfers`,
`storage`, `containers`).

Ids:
- path id `p`: an interned path; `path_parent[p]` is its directory's id (-1 at top level). Every
  ancestor of an entry's path must itself be interned (ids need not be in any order).
- content id: a distinct file content (identity of the bytes).
- chunk id: a distinct chunk of one chunker (`ChunkArrays`, one per chunker: `cdc_chunks`,
  `fixed_chunks`); a content's chunks, in file order, are a CSR by content id. Chunks belong
  to contents, not to entries (`model.chunks`).
- layer id `l`: a distinct layer (DiffID); `layer_blob[l]` its blob id (same compressed blob,
  same id). Entries of layer `l` are `layer_offsets[l]:layer_offsets[l+1]`.
- image id: `image_offsets`/`image_layers` give its layers base first.
"""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np
import numpy.typing as npt

from layersim.accounting import kernels
from layersim.accounting.sortops import forest_preorder, ranges
from layersim.errors import ModelError
from layersim.model import (
    Container,
    ContainerState,
    Entry,
    EntryKind,
    FileModify,
    FileWrite,
    Image,
    Layer,
    Node,
    Population,
    StorageOptions,
)
from layersim.model.chunks import Chunk, ContentChunks
from layersim.model.digest import ChunkDigest, ContentDigest, DiffID
from layersim.model.sizes import CompressionModel

I64 = npt.NDArray[np.int64]
I8 = npt.NDArray[np.int8]
Bool = npt.NDArray[np.bool_]


def csr_offsets(counts: npt.ArrayLike) -> I64:
    """Offsets (length n+1) of a CSR relation from its per-row counts."""
    counts = np.asarray(counts, dtype=np.int64)
    offsets = np.zeros(counts.size + 1, dtype=np.int64)
    np.cumsum(counts, out=offsets[1:])
    return offsets


def csr_rows(offsets: I64) -> I64:
    """The row index of every value of a CSR relation."""
    return np.repeat(np.arange(offsets.size - 1, dtype=np.int64), np.diff(offsets))


@dataclass(frozen=True, eq=False)
class ChunkArrays:
    """One chunker's chunks: content id -> chunk ids in file order (CSR: `content_offsets` of
    length n_contents+1, `content_chunks`), and per chunk id its file bytes and its compressed
    bytes (compressed on its own)."""

    content_offsets: I64
    content_chunks: I64
    chunk_file_bytes: I64
    chunk_compressed_bytes: I64


@dataclass(frozen=True, eq=False)
class PopulationArrays:
    """A population as arrays. See the module docstring for the ids."""

    # paths
    path_parent: I64
    # file contents
    content_file_bytes: I64
    content_compressed_bytes: I64
    # entries, CSR by layer
    layer_offsets: I64
    entry_path: I64
    entry_kind: I8
    entry_content: I64  # -1 unless a regular file
    entry_file_bytes: I64
    entry_tar_bytes: I64
    entry_compressed_bytes: I64
    # layers
    layer_blob: I64
    layer_tar_bytes: I64
    layer_compressed_bytes: I64
    # images, CSR of layer ids, base first
    image_offsets: I64
    image_layers: I64
    image_repository: I64
    image_names: tuple[str, ...]
    # registry: image ids in push order (repeats allowed)
    push_order: I64
    # nodes: image ids in pull order, CSR by node
    node_names: tuple[str, ...] = ()
    node_offsets: I64 = field(default_factory=lambda: np.zeros(1, np.int64))
    node_images: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    # containers, and their writable-layer operations (CSR by container)
    container_names: tuple[str, ...] = ()
    container_node: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    container_image: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    container_running: Bool = field(default_factory=lambda: np.zeros(0, np.bool_))
    write_offsets: I64 = field(default_factory=lambda: np.zeros(1, np.int64))
    write_file_bytes: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    modify_offsets: I64 = field(default_factory=lambda: np.zeros(1, np.int64))
    modify_path: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    modify_changed_bytes: I64 = field(
        default_factory=lambda: np.zeros(0, np.int64)
    )  # -1: one block
    delete_offsets: I64 = field(default_factory=lambda: np.zeros(1, np.int64))
    delete_path: I64 = field(default_factory=lambda: np.zeros(0, np.int64))
    options: StorageOptions = field(default_factory=StorageOptions)
    blob_overhead_bytes: int = field(
        default_factory=lambda: CompressionModel().blob_overhead_bytes()
    )
    # optional labels, for reports and for converting back to objects
    path_names: tuple[str, ...] | None = None
    layer_labels: tuple[str, ...] | None = None  # one per layer id
    image_layer_labels: tuple[str, ...] | None = None  # parallel to image_layers
    content_classes: tuple[str, ...] | None = None  # one per content id
    # chunks of the contents (None: not known, as in generated fleets; see `model.chunks`)
    cdc_chunks: ChunkArrays | None = None
    fixed_chunks: ChunkArrays | None = None

    @property
    def n_paths(self) -> int:
        return int(self.path_parent.size)

    @property
    def n_layers(self) -> int:
        return int(self.layer_offsets.size - 1)

    @property
    def n_images(self) -> int:
        return int(self.image_offsets.size - 1)

    @property
    def n_nodes(self) -> int:
        return int(self.node_offsets.size - 1)

    @property
    def n_entries(self) -> int:
        return int(self.entry_path.size)

    def validate(self) -> bool:
        """Check shapes and id ranges; raise ModelError on the first inconsistency. Returns
        whether each layer's entries are sorted as `canonical` wants them, which the same pass
        over the entries finds (so that `canonical` need not read them again)."""
        n_l, n_e = self.n_layers, self.n_entries
        checks = [
            (self.layer_offsets[0] == 0 and self.layer_offsets[-1] == n_e, "layer_offsets"),
            (np.all(np.diff(self.layer_offsets) >= 0), "layer_offsets not monotone"),
            (self.layer_blob.size == n_l, "layer_blob size"),
            (self.image_offsets[-1] == self.image_layers.size, "image_offsets"),
            (np.all(np.diff(self.image_offsets) > 0), "an image has no layers"),
            (self.image_layers.size == 0 or self.image_layers.max() < n_l, "image layer id"),
            (len(self.image_names) == self.n_images, "image_names"),
            (self.node_offsets[-1] == self.node_images.size, "node_offsets"),
        ]
        for name, table in (("cdc_chunks", self.cdc_chunks), ("fixed_chunks", self.fixed_chunks)):
            if table is not None:
                checks.append((_chunks_cover(table, self.content_file_bytes), name))
        for ok, what in checks:
            if not ok:
                raise ModelError(f"inconsistent population arrays: {what}")
        problem, in_order = kernels.check_entries(
            self.layer_offsets,
            self.entry_path,
            self.entry_kind,
            self.entry_content,
            self.entry_file_bytes,
        )
        if problem:
            what = "content" if problem == 1 else "negative file bytes"
            raise ModelError(f"inconsistent population arrays: {what}")
        return bool(in_order)


def _chunks_cover(table: ChunkArrays, content_file_bytes: I64) -> bool:
    """Whether a chunker's CSR has a row per content and each content's chunks add up to its
    file bytes."""
    offsets = table.content_offsets
    if offsets.size != content_file_bytes.size + 1 or offsets[-1] != table.content_chunks.size:
        return False
    if table.content_chunks.size and table.content_chunks.max() >= table.chunk_file_bytes.size:
        return False
    # integer prefix sums, exact at any size (bincount's float weights are not past 2**53)
    running = np.concatenate(
        ([0], np.cumsum(table.chunk_file_bytes[table.content_chunks], dtype=np.int64))
    )
    covered = running[offsets[1:]] - running[offsets[:-1]]
    return bool(np.array_equal(covered, content_file_bytes))


def expand_images(arrays: PopulationArrays, image_ids: I64) -> tuple[I64, I64, I64]:
    """The layer rows of a sequence of images (repeats allowed), base first within each: (row
    offsets per sequence position, CSR; sequence position per row; index into `image_layers`
    per row)."""
    counts = np.diff(arrays.image_offsets)[image_ids]
    offsets = csr_offsets(counts)
    return offsets, csr_rows(offsets), ranges(arrays.image_offsets[image_ids], counts)


class _Interner:
    """Dense ids for keys, in first-seen order."""

    def __init__(self) -> None:
        self.ids: dict[object, int] = {}

    def __call__(self, key: object) -> int:
        found = self.ids.get(key)
        if found is None:
            found = self.ids[key] = len(self.ids)
        return found


class _PathInterner:
    """Path ids in first-seen order, a path's directory interned before it (so every ancestor
    of an interned path is interned), and each id's parent id (-1 at top level)."""

    def __init__(self) -> None:
        self.ids: dict[str, int] = {}
        self.parents: list[int] = []

    def __call__(self, path: str) -> int:
        known = self.ids.get(path)
        if known is not None:
            return known
        # a loop, not recursion: a path's depth is the input's to choose (up to PATH_MAX)
        missing: list[str] = []
        node = path
        while node not in self.ids:
            missing.append(node)
            if "/" not in node:
                break
            node = node.rsplit("/", 1)[0]
        for name in reversed(missing):  # ancestors first
            parent = self.ids[name.rsplit("/", 1)[0]] if "/" in name else -1
            self.ids[name] = len(self.ids)
            self.parents.append(parent)
        return self.ids[path]


def _ints(values: list[int] | list[bool], dtype: type = np.int64) -> npt.NDArray[Any]:
    return np.asarray(values, dtype=dtype)


def from_population(population: Population) -> PopulationArrays:
    """Intern an object population into arrays (the boundary between the two forms)."""
    paths = _PathInterner()
    layer_list, images = _image_fields(population)
    entries, chunks = _entry_fields(population, layer_list, paths)  # interns the entries'
    nodes = _node_fields(population, paths)  # paths, then those containers modify and delete
    arrays = PopulationArrays(
        path_parent=_ints(paths.parents),
        **entries,
        **images,
        **nodes,
        **chunks,
        options=population.options,
        blob_overhead_bytes=population.compression.blob_overhead_bytes(),
        path_names=tuple(paths.ids),  # insertion order == id order
    )
    return _in_canonical_order(arrays, _entries_sorted(arrays)).arrays


def _image_fields(population: Population) -> tuple[list[Layer], dict[str, Any]]:
    """The distinct layers (by DiffID, in first-use order) and the arrays of the layers and
    images: the CSR of each image's layer ids, blob and repository ids, labels."""
    layers: dict[DiffID, int] = {}
    layer_list: list[Layer] = []
    blobs = _Interner()
    repos = _Interner()
    image_layers: list[int] = []
    image_labels: list[str] = []
    image_counts: list[int] = []
    for image in population.images:
        image_counts.append(len(image.layers))
        for layer in image.layers:
            lid = layers.get(layer.diff_id)
            if lid is None:
                lid = layers[layer.diff_id] = len(layer_list)
                layer_list.append(layer)
            image_layers.append(lid)
            image_labels.append(layer.label)
    index = {image.name: i for i, image in enumerate(population.images)}
    return layer_list, {
        "layer_blob": _ints([blobs(layer.blob_digest) for layer in layer_list]),
        "layer_tar_bytes": _ints([layer.tar_bytes for layer in layer_list]),
        "layer_compressed_bytes": _ints([layer.compressed_bytes for layer in layer_list]),
        "image_offsets": csr_offsets(image_counts),
        "image_layers": _ints(image_layers),
        "image_repository": _ints([repos(image.repository) for image in population.images]),
        "image_names": tuple(image.name for image in population.images),
        "push_order": _ints([index[n] for n in population.push_order or ()]),
        "layer_labels": tuple(layer.label for layer in layer_list),
        "image_layer_labels": tuple(image_labels),
    }


def _entry_fields(
    population: Population, layer_list: list[Layer], paths: _PathInterner
) -> tuple[dict[str, Any], dict[str, ChunkArrays]]:
    """The entries of every layer, CSR by layer id, and the distinct file contents (by content
    digest, in first-seen order) they refer to, with their chunks (`chunk_fields`)."""
    contents = _Interner()
    content_bytes: list[tuple[int, int, str]] = []
    content_chunks: list[ContentChunks] = []
    e_path: list[int] = []
    e_kind: list[int] = []
    e_content: list[int] = []
    e_file: list[int] = []
    e_tar: list[int] = []
    e_comp: list[int] = []
    for layer in layer_list:
        for e in layer.entries:
            e_path.append(paths(e.path))
            e_kind.append(int(e.kind))
            if e.kind is EntryKind.FILE and e.content is not None:
                cid = contents(e.content)
                if cid == len(content_bytes):
                    content_bytes.append(
                        (e.file_bytes, e.content_compressed_bytes, e.content_class)
                    )
                    if population.chunks is not None:
                        content_chunks.append(population.content_chunks(e))
                e_content.append(cid)
            else:
                e_content.append(-1)
            e_file.append(e.file_bytes)
            e_tar.append(e.tar_bytes)
            e_comp.append(e.compressed_bytes)
    return {
        "content_file_bytes": _ints([c[0] for c in content_bytes]),
        "content_compressed_bytes": _ints([c[1] for c in content_bytes]),
        "content_classes": tuple(c[2] for c in content_bytes),
        "layer_offsets": csr_offsets([len(layer.entries) for layer in layer_list]),
        "entry_path": _ints(e_path),
        "entry_kind": _ints(e_kind, np.int8),
        "entry_content": _ints(e_content),
        "entry_file_bytes": _ints(e_file),
        "entry_tar_bytes": _ints(e_tar),
        "entry_compressed_bytes": _ints(e_comp),
    }, chunk_fields(content_chunks) if population.chunks is not None else {}


def _chunk_arrays(per_content: list[tuple[Chunk, ...]]) -> ChunkArrays:
    """One chunker's `ChunkArrays` from each content's chunks (chunk ids by first sight)."""
    ids = _Interner()
    file_bytes: list[int] = []
    compressed: list[int] = []
    flat: list[int] = []
    for chunks in per_content:
        for chunk in chunks:
            k = ids(chunk.digest)
            if k == len(file_bytes):
                file_bytes.append(chunk.file_bytes)
                compressed.append(chunk.compressed_bytes)
            flat.append(k)
    return ChunkArrays(
        content_offsets=csr_offsets([len(c) for c in per_content]),
        content_chunks=_ints(flat),
        chunk_file_bytes=_ints(file_bytes),
        chunk_compressed_bytes=_ints(compressed),
    )


def chunk_fields(content_chunks: list[ContentChunks]) -> dict[str, ChunkArrays]:
    """`cdc_chunks` and `fixed_chunks` of the contents' chunks, in content id order."""
    return {
        "cdc_chunks": _chunk_arrays([c.cdc for c in content_chunks]),
        "fixed_chunks": _chunk_arrays([c.fixed for c in content_chunks]),
    }


def _node_fields(population: Population, paths: _PathInterner) -> dict[str, Any]:
    """The nodes' pulls (image ids, CSR by node) and their containers with the writable-layer
    operations of each (CSR by container)."""
    index = {image.name: i for i, image in enumerate(population.images)}
    c_names: list[str] = []
    c_node: list[int] = []
    c_image: list[int] = []
    c_running: list[bool] = []
    writes: list[list[int]] = []
    modifies: list[list[tuple[int, int]]] = []
    deletes: list[list[int]] = []
    for n, node in enumerate(population.nodes):
        for c in node.containers:
            c_names.append(c.name)
            c_node.append(n)
            c_image.append(index[c.image])
            c_running.append(c.state is ContainerState.RUNNING)
            writes.append([w.file_bytes for w in c.writes])
            modifies.append(
                [
                    (paths(m.path), -1 if m.changed_bytes is None else m.changed_bytes)
                    for m in c.modifies
                ]
            )
            deletes.append([paths(p) for p in c.deletes])
    return {
        "node_names": tuple(node.name for node in population.nodes),
        "node_offsets": csr_offsets([len(node.images) for node in population.nodes]),
        "node_images": _ints([index[n] for node in population.nodes for n in node.images]),
        "container_names": tuple(c_names),
        "container_node": _ints(c_node),
        "container_image": _ints(c_image),
        "container_running": _ints(c_running, np.bool_),
        "write_offsets": csr_offsets([len(w) for w in writes]),
        "write_file_bytes": _ints([b for w in writes for b in w]),
        "modify_offsets": csr_offsets([len(m) for m in modifies]),
        "modify_path": _ints([p for m in modifies for p, _ in m]),
        "modify_changed_bytes": _ints([b for m in modifies for _, b in m]),
        "delete_offsets": csr_offsets([len(d) for d in deletes]),
        "delete_path": _ints([p for d in deletes for p in d]),
    }


def path_strings(arrays: PopulationArrays) -> tuple[str, ...]:
    """Path strings by id: the stored names, or synthetic `d<parent>/p<id>` ones."""
    if arrays.path_names is not None:
        return arrays.path_names
    names: list[str] = []
    for p, parent in enumerate(arrays.path_parent.tolist()):
        names.append(f"{names[parent]}/p{p}" if parent >= 0 else f"p{p}")
    return tuple(names)


def to_population(arrays: PopulationArrays) -> Population:
    """Objects for arrays (small populations only): the bridge to the reference implementation.

    Content identities become `sha256` names of their ids, layer identities are synthetic digests
    of their ids, so distinct ids stay distinct and equal ids equal.
    """
    from layersim.model.digest import BlobDigest, synthetic_digest

    paths = path_strings(arrays)
    classes = arrays.content_classes
    layer_objs: list[Layer] = []
    for lid in range(arrays.n_layers):
        lo, hi = int(arrays.layer_offsets[lid]), int(arrays.layer_offsets[lid + 1])
        entries = []
        for i in range(lo, hi):
            cid = int(arrays.entry_content[i])
            entries.append(
                Entry(
                    path=paths[int(arrays.entry_path[i])],
                    kind=EntryKind(int(arrays.entry_kind[i])),
                    file_bytes=int(arrays.entry_file_bytes[i]),
                    content=ContentDigest(synthetic_digest("content-id", cid))
                    if cid >= 0
                    else None,
                    content_class=(classes[cid] if classes and cid >= 0 else "binary"),
                    link_target="",
                    tar_bytes=int(arrays.entry_tar_bytes[i]),
                    compressed_bytes=int(arrays.entry_compressed_bytes[i]),
                    content_compressed_bytes=int(arrays.content_compressed_bytes[cid])
                    if cid >= 0
                    else 0,
                )
            )
        entries.sort(key=lambda e: (e.path, int(e.kind)))
        layer_objs.append(
            Layer(
                entries=tuple(entries),
                diff_id=DiffID(synthetic_digest("layer-id", lid)),
                blob_digest=BlobDigest(synthetic_digest("blob-id", int(arrays.layer_blob[lid]))),
                tar_bytes=int(arrays.layer_tar_bytes[lid]),
                compressed_bytes=int(arrays.layer_compressed_bytes[lid]),
                name=arrays.layer_labels[lid] if arrays.layer_labels else f"layer{lid}",
            )
        )
    images = []
    for i, name in enumerate(arrays.image_names):
        lo, hi = int(arrays.image_offsets[i]), int(arrays.image_offsets[i + 1])
        images.append(
            Image(name, tuple(layer_objs[int(lid)] for lid in arrays.image_layers[lo:hi]))
        )
    nodes = []
    containers_by_node: dict[int, list[Container]] = {}
    for k, cname in enumerate(arrays.container_names):
        w0, w1 = arrays.write_offsets[k], arrays.write_offsets[k + 1]
        m0, m1 = arrays.modify_offsets[k], arrays.modify_offsets[k + 1]
        d0, d1 = arrays.delete_offsets[k], arrays.delete_offsets[k + 1]
        container = Container(
            name=cname,
            image=arrays.image_names[int(arrays.container_image[k])],
            state=ContainerState.RUNNING if arrays.container_running[k] else ContainerState.STOPPED,
            writes=tuple(
                FileWrite(f"layersim-writes/{k}/{j}", int(b))
                for j, b in enumerate(arrays.write_file_bytes[w0:w1].tolist())
            ),
            modifies=tuple(
                FileModify(paths[int(p)], None if int(b) < 0 else int(b))
                for p, b in zip(
                    arrays.modify_path[m0:m1], arrays.modify_changed_bytes[m0:m1], strict=True
                )
            ),
            deletes=tuple(paths[int(p)] for p in arrays.delete_path[d0:d1]),
        )
        containers_by_node.setdefault(int(arrays.container_node[k]), []).append(container)
    for n, nname in enumerate(arrays.node_names):
        lo, hi = int(arrays.node_offsets[n]), int(arrays.node_offsets[n + 1])
        nodes.append(
            Node(
                nname,
                tuple(arrays.image_names[int(i)] for i in arrays.node_images[lo:hi]),
                tuple(containers_by_node.get(n, [])),
            )
        )
    return Population(
        images=tuple(images),
        nodes=tuple(nodes),
        push_order=tuple(arrays.image_names[int(i)] for i in arrays.push_order),
        options=arrays.options,
        chunks=_chunks_back(arrays),
    )


def _chunks_back(arrays: PopulationArrays) -> dict[ContentDigest, ContentChunks] | None:
    """`Population.chunks` for arrays that carry both chunkers' chunks (else None: unknown),
    chunk identities synthetic digests of their ids (as `to_population` names contents)."""
    from layersim.model.digest import synthetic_digest

    if arrays.cdc_chunks is None or arrays.fixed_chunks is None:
        return None

    def chunks_of(table: ChunkArrays, chunker: str, cid: int) -> tuple[Chunk, ...]:
        lo, hi = int(table.content_offsets[cid]), int(table.content_offsets[cid + 1])
        return tuple(
            Chunk(
                ChunkDigest(synthetic_digest("chunk-id", chunker, k)),
                int(table.chunk_file_bytes[k]),
                int(table.chunk_compressed_bytes[k]),
            )
            for k in table.content_chunks[lo:hi].tolist()
        )

    return {
        ContentDigest(synthetic_digest("content-id", cid)): ContentChunks(
            chunks_of(arrays.cdc_chunks, "cdc", cid), chunks_of(arrays.fixed_chunks, "fixed", cid)
        )
        for cid in range(arrays.content_file_bytes.size)
    }


# --------------------------------------------------------------------------- canonical order


@dataclass(frozen=True, eq=False)
class CanonicalArrays:
    """A population's arrays, checked (`PopulationArrays.validate`) and in the engine's
    canonical order: path ids a preorder of the path tree (each parent before its children,
    every subtree a contiguous id range, siblings in id order) and each layer's entries sorted
    by path id (a DIR before its opaque marker); with what that order gives, `path_end`: the
    exclusive end of every path's subtree.

    Made by `canonical`. The stages that read entries by path (`images`, `containers`) take it,
    so that an evaluation checks and orders its arrays once, whatever stages it runs."""

    arrays: PopulationArrays
    path_end: I64


def canonical(arrays: PopulationArrays) -> CanonicalArrays:
    """The arrays checked (raises `ModelError` as `validate` does) and in canonical order: the
    input itself when it already is (the fast path: `from_population` and the generator
    produce canonical arrays), else a reordered copy."""
    return _in_canonical_order(arrays, arrays.validate())


def preorder_subtree_end(path_parent: I64) -> I64 | None:
    """If path ids are a preorder of the path tree (each parent before its children, every
    subtree a contiguous id range, siblings in id order), the exclusive end of each path's
    subtree; else None (`kernels.preorder_subtree_end`)."""
    end, ok = kernels.preorder_subtree_end(np.ascontiguousarray(path_parent, dtype=np.int64))
    return end if ok else None


def _entries_sorted(arrays: PopulationArrays) -> bool:
    """Whether each layer's entries are sorted by path id (a DIR before its opaque marker)."""
    _, in_order = kernels.check_entries(
        arrays.layer_offsets,
        arrays.entry_path,
        arrays.entry_kind,
        arrays.entry_content,
        arrays.entry_file_bytes,
    )
    return bool(in_order)


def _in_canonical_order(arrays: PopulationArrays, entries_sorted: bool) -> CanonicalArrays:
    """The arrays in canonical order (unchecked), `entries_sorted` telling whether each
    layer's entries already are."""
    end = preorder_subtree_end(arrays.path_parent)
    if end is not None and entries_sorted:
        return CanonicalArrays(arrays, end)
    tin, tout, _ = forest_preorder(arrays.path_parent)
    n = arrays.n_paths
    new_parent = np.full(n, -1, dtype=np.int64)
    has = arrays.path_parent >= 0
    new_parent[tin[has]] = tin[arrays.path_parent[has]]
    new_path = tin[arrays.entry_path]
    layer = csr_rows(arrays.layer_offsets)
    order = np.lexsort((arrays.entry_kind, new_path, layer))
    names = None
    if arrays.path_names is not None:
        ordered = [""] * n
        for old, new in enumerate(tin.tolist()):
            ordered[new] = arrays.path_names[old]
        names = tuple(ordered)
    end = np.empty(n, dtype=np.int64)
    end[tin] = tout
    result = replace(
        arrays,
        path_parent=new_parent,
        entry_path=new_path[order],
        entry_kind=arrays.entry_kind[order],
        entry_content=arrays.entry_content[order],
        entry_file_bytes=arrays.entry_file_bytes[order],
        entry_tar_bytes=arrays.entry_tar_bytes[order],
        entry_compressed_bytes=arrays.entry_compressed_bytes[order],
        modify_path=tin[arrays.modify_path],
        delete_path=tin[arrays.delete_path],
        path_names=names,
    )
    return CanonicalArrays(result, end)
