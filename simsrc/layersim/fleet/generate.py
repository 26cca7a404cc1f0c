"""The discrete fleet model (DESIGN.md §8): generate every image a fleet builds over time.

`generate(config, rng)` returns a `Fleet`: the `PopulationArrays` of every image ever built in
the simulated horizon (base releases, runtime rebuilds, app builds), every node's pulls and
every container, plus the time plan `simulate` replays (when each image is built, when the
registry and the nodes drop it, when each container starts, stops and is removed).

The model, in the order things are built:

- **Base families** (alpine-, debian-, ubuntu-like; sizes from ANCHORS "Real images", scaled by
  `bases.bytes_scale`, compressibility overridable by `bases.compression_ratio`): one layer
  per version. Version 0 at epoch 0, then a patch release every `bases.release_every` epochs
  (random phase per family). Each release rewrites `bases.rewrite_fraction` of the files (new
  contents, same paths and sizes) and is a new tar: a new DiffID, mostly the same file contents.
- **Runtimes** (python-, node-, jvm-like; layer sizes from the python:3.12 / node:24 rows): the
  newest base version at build time plus several layers, rebuilt every `runtimes.rebuild_every`
  epochs (own phase: not in lockstep with the base), each layer a new tar with a share of its
  files rewritten.
- **Packages**: per ecosystem (system packages, python, node, jvm) a universe of packages with
  Zipf popularity, each a small file tree that releases new versions now and then.
- **Apps**: a parent (runtimes then bases, Zipf by that rank), a lag (most track the newest
  parent version, a tail stays behind), a rebuild cadence, then per build: dependency layers
  (a system-packages layer and/or the runtime's ecosystem layer: a fixed set of packages at the
  versions of the last dependency refresh), the add-then-delete archive (with some probability:
  an archive added in one layer, a whiteout for it in the (first) code layer), and the code
  layer(s) (unique contents split in order over `apps.code_layers` layers; each rebuild changes
  a share of each one's files, at least one). A build makes new layers
  (new tars) unless the app's builds are reproducible: then an unchanged dependency layer is
  the *same* layer (same DiffID; on a newer parent it is still another ChainID), shared by
  every app that resolved the same packages at the same versions.
- **Nodes**: deployed apps' replicas placed `spread` (round robin over nodes in app order: the
  least-loaded node, ties to the lowest id) or `binpack` (apps sorted by their parent family and
  version, i.e. by the layers they share, filled node by node). Every app build rolls out to the
  nodes running the app; each replica of each version is a container with a writable layer
  (files written; image files modified, copied up), stopped at the next rollout; a stopped
  container lingers with some probability until its image is garbage-collected.
- **Retention**: the registry keeps the last `registry.retention` versions of each repository,
  a node the last `nodes.retention` versions of each app it runs.

Content classes (text, binary, archive) carry the compressibility of `sizes`. Sizes use the
formulas of `model.make_entry` (paths are short, so every tar header is 512 bytes).

Everything is vectorized over layers and entries (numpy, no Python object per entry; loops only
over families, epochs and chunks). One `numpy.random.Generator` is passed in; draws happen in a
fixed order, so the same config and seed give identical arrays.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import ClassVar

import numpy as np
import numpy.typing as npt

from layersim.accounting.arrays import I8, I64, Bool, PopulationArrays, csr_offsets, csr_rows
from layersim.accounting.sortops import first_occurrence, forest_preorder, ranges, stable_order
from layersim.config import RUNTIME_BASE, ExperimentConfig
from layersim.fleet.presets import (
    ARCHIVE,
    BASE_PRESETS,
    BINARY,
    CHANGED_BYTES_MEDIAN,
    CLASS_NAMES,
    CODE_CLASS_MIX,
    CODE_COUNT_SIGMA,
    CODE_FILE_SIGMA,
    ECOSYSTEMS,
    RUNTIME_PRESETS,
    TEXT,
    WASTE_SIGMA,
    WRITE_SIGMA,
    ImageKind,
    LayerKind,
    class_mix_for_ratio,
)
from layersim.model import EntryKind, StorageDriver, StorageOptions
from layersim.model.sizes import (
    DEFAULT_CLASS_RATIOS_PERMILLE,
    DEFAULT_METADATA_RATIO_PERMILLE,
    TAR_BLOCK_BYTES,
    TAR_END_BYTES,
    USTAR_NAME_BYTES,
    CompressionModel,
)
from layersim.progress import Progress

F64 = npt.NDArray[np.float64]

_CLASS_RATIO = np.array([DEFAULT_CLASS_RATIOS_PERMILLE[c] for c in CLASS_NAMES], dtype=np.int64)
# Compressed bytes of one 512-byte tar header (CompressionModel.entry_bytes with no data).
_HEADER_COMPRESSED = -(-TAR_BLOCK_BYTES * 1000 // DEFAULT_METADATA_RATIO_PERMILLE)
# Longest path whose tar names (`path/` for a directory, `dir/.wh.name` for a whiteout) still
# fit a USTAR header, so that every header is 512 bytes (sizes.tar_header_bytes).
MAX_PATH_CHARS = USTAR_NAME_BYTES - len(".wh.")
# Path names, layer labels and content classes are stored up to this many items; above it the
# arrays carry None and `arrays.path_strings` makes synthetic names.
NAMED_LIMIT = 200_000
FILES_PER_DIR = 16
DIRS_PER_GROUP = 16
# Where the add-then-delete archive goes (one path for every app; contents differ).
WASTE_DIR = "tmp"
WASTE_FILE = "fetch.tar.gz"


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True, eq=False)
class Fleet:
    """Every image a fleet builds over `epochs`, as arrays, and the time plan.

    `arrays` holds all images (id order = build order: by epoch, then bases, runtimes, apps),
    `push_order` = every image in build order, each node's `node_images` = every image it ever
    pulled in pull order, and every container that ever ran. The per-image `*_gc_epoch` say at
    the end of which epoch the registry (resp. a node) drops the image (`epochs`: never within
    the horizon); `simulate` derives every epoch's state from them.
    """

    config: ExperimentConfig
    arrays: PopulationArrays
    epochs: int
    base_families: tuple[str, ...]
    runtime_families: tuple[str, ...]
    parent_names: tuple[str, ...]  # runtimes then bases: `app_parent` indexes this
    # per image
    image_kind: I8
    image_owner: I64  # base family index, runtime family index, or app id
    image_version: I64  # version within its repository (0 = first)
    image_epoch: I64
    image_registry_gc_epoch: I64
    image_node_gc_epoch: I64
    # per layer
    layer_kind: I8
    layer_owner: I64
    layer_version: I64
    # per content
    content_class: I8
    # per app
    app_parent: I64
    app_lag: I64
    app_reproducible: Bool
    app_waste: Bool
    app_replicas: I64  # 0: not deployed
    # per container (parallel to arrays.container_*)
    container_start_epoch: I64
    container_stop_epoch: I64  # epochs: still running at the end
    container_remove_epoch: I64  # epochs: never removed within the horizon

    @property
    def n_apps(self) -> int:
        return int(self.app_parent.size)

    def layer_description(self, layer: int) -> str:
        """A readable name for a layer (its label if stored, else kind, owner and version)."""
        if self.arrays.layer_labels is not None:
            return self.arrays.layer_labels[layer]
        kind = LayerKind(int(self.layer_kind[layer]))
        owner, version = int(self.layer_owner[layer]), int(self.layer_version[layer])
        if kind is LayerKind.BASE:
            return f"{self.base_families[owner]}:v{version}"
        if kind is LayerKind.RUNTIME:
            return f"{self.runtime_families[owner]}:v{version} layer"
        return f"{_app_name(owner)}:b{version}/{kind.name.lower()}"


def _app_name(app: int) -> str:
    return f"apps/app{app:05d}"


# --------------------------------------------------------------------------- small helpers


def _local_index(counts: I64) -> I64:
    """`arange(c)` for every count, concatenated."""
    return ranges(np.zeros(counts.size, dtype=np.int64), counts)


def _lognormal_bytes(rng: np.random.Generator, n: int, median: float, sigma: float) -> I64:
    return np.floor(median * np.exp(sigma * rng.standard_normal(n))).astype(np.int64)


def _draw_classes(rng: np.random.Generator, n: int, mix: Sequence[float]) -> I8:
    cdf = np.cumsum(np.asarray(mix, dtype=np.float64))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), len(mix) - 1).astype(
        np.int8
    )


def _classes_by_bytes(file_bytes: I64, mix: Sequence[float]) -> I8:
    """Classes assigned along the (random) file order so that byte shares follow `mix`
    closely (a calibration: the layer then compresses about as the preset says)."""
    total = max(int(file_bytes.sum()), 1)
    middle = (np.cumsum(file_bytes) - file_bytes / 2) / total
    cdf = np.cumsum(np.asarray(mix, dtype=np.float64))
    cdf /= cdf[-1]
    return np.minimum(np.searchsorted(cdf, middle, side="right"), len(mix) - 1).astype(np.int8)


def _zipf_cdf(n: int, exponent: float) -> F64:
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    cdf = np.cumsum(weights)
    return cdf / cdf[-1]


def _draw_ranks(rng: np.random.Generator, cdf: F64, n: int) -> I64:
    return np.minimum(np.searchsorted(cdf, rng.random(n), side="right"), cdf.size - 1).astype(
        np.int64
    )


def _geometric(rng: np.random.Generator, mean: float, n: int) -> I64:
    """Draws >= 1 with the given mean (1.0: always 1)."""
    if mean <= 1.0:
        return np.ones(n, dtype=np.int64)
    return rng.geometric(1.0 / mean, n).astype(np.int64)


def _distinct_per_row(
    rng: np.random.Generator, values: I64, row: I64, limit: I64, max_rounds: int = 1000
) -> I64:
    """Make the values of each row distinct by redrawing repeats uniformly in [0, limit[row])
    (rows must have at most `limit` values). Deterministic: repeats are found by sorting."""
    values = values.copy()
    if values.size == 0:
        return values
    span = int(limit.max()) + 1
    for _ in range(max_rounds):
        key = row * span + values
        repeat = ~first_occurrence(key)
        if not repeat.any():
            return values
        where = np.flatnonzero(repeat)
        values[where] = (rng.random(where.size) * limit[row[where]]).astype(np.int64)
    raise AssertionError("could not draw distinct packages")  # pragma: no cover


def _forward_fill_position(changed: Bool) -> I64:
    """For each position, the last position at or before it where `changed` holds (groups must
    start with `changed` true)."""
    src = np.where(changed, np.arange(changed.size, dtype=np.int64), 0)
    np.maximum.accumulate(src, out=src)
    return src


# --------------------------------------------------------------------------- paths


class _PathTable:
    """The synthetic path universe: ids allocated parents first, with explicit names for the
    directories a human would recognise and `d<id>`/`f<id>.<ext>` below them."""

    _EXT: ClassVar[dict[int, str]] = {TEXT: "txt", BINARY: "so", ARCHIVE: "gz"}

    def __init__(self) -> None:
        self.parents: list[I64] = []
        self.kinds: list[I8] = []  # -1: directory, else the file's class (names only)
        self.n = 0
        self.names: dict[int, str] = {}
        self._memo: dict[tuple[int, str], int] = {}

    def add(self, parents: I64, kinds: I8, names: Sequence[str] | None = None) -> I64:
        ids = np.arange(self.n, self.n + parents.size, dtype=np.int64)
        self.parents.append(np.asarray(parents, dtype=np.int64))
        self.kinds.append(np.asarray(kinds, dtype=np.int8))
        if names is not None:
            self.names.update(zip(ids.tolist(), names, strict=True))
        self.n += parents.size
        return ids

    def chain(self, path: str) -> list[int]:
        """Ids of every directory of `path` ('usr/lib' -> [usr, usr/lib]), created once."""
        ids: list[int] = []
        parent = -1
        for part in path.split("/"):
            key = (parent, part)
            found = self._memo.get(key)
            if found is None:
                found = int(self.add(np.array([parent]), np.array([-1]), [part])[0])
                self._memo[key] = found
            ids.append(found)
            parent = found
        return ids

    def file(self, directory: int, name: str, file_class: int) -> int:
        key = (directory, name)
        found = self._memo.get(key)
        if found is None:
            found = int(self.add(np.array([directory]), np.array([file_class]), [name])[0])
            self._memo[key] = found
        return found

    def subtree(self, roots: I64, n_files: I64, file_class: I8) -> tuple[I64, I64, I64, I64]:
        """Directories and files below each root: files 16 to a directory, directories 16 to a
        group directory when there are more than 16. Returns (dir ids, dir part, file ids,
        file leaf index): dirs per part in order groups then leaves; files in part order."""
        n_files = np.asarray(n_files, dtype=np.int64)
        n_leaves = -(-n_files // FILES_PER_DIR)
        n_groups = np.where(n_leaves > DIRS_PER_GROUP, -(-n_leaves // DIRS_PER_GROUP), 0)
        parts = np.arange(roots.size, dtype=np.int64)
        group_part = np.repeat(parts, n_groups)
        group_ids = self.add(roots[group_part], np.full(group_part.size, -1, np.int8))
        group_start = csr_offsets(n_groups)[:-1] + (group_ids[0] if group_ids.size else 0)
        leaf_part = np.repeat(parts, n_leaves)
        leaf_local = _local_index(n_leaves)
        leaf_parent = np.where(
            n_groups[leaf_part] > 0,
            group_start[leaf_part] + leaf_local // DIRS_PER_GROUP,
            roots[leaf_part],
        )
        leaf_ids = self.add(leaf_parent, np.full(leaf_part.size, -1, np.int8))
        leaf_start = csr_offsets(n_leaves)[:-1] + (leaf_ids[0] if leaf_ids.size else 0)
        file_part = np.repeat(parts, n_files)
        file_leaf = leaf_start[file_part] + _local_index(n_files) // FILES_PER_DIR
        file_ids = self.add(file_leaf, file_class)
        dir_ids = np.concatenate([group_ids, leaf_ids])
        dir_part = np.concatenate([group_part, leaf_part])
        order = stable_order(dir_part)
        return dir_ids[order], dir_part[order], file_ids, file_leaf

    def finish(self, want_names: bool) -> tuple[I64, tuple[str, ...] | None, I64]:
        """Renumber the paths in preorder (each subtree a contiguous id range, siblings in
        creation order: the canonical order the engine wants) and return (path_parent, names or
        None, new id of every old id). Asserts that every tar name fits a 512-byte header."""
        parent = np.concatenate(self.parents) if self.parents else np.zeros(0, np.int64)
        kinds = np.concatenate(self.kinds) if self.kinds else np.zeros(0, np.int8)
        tin, _, _ = forest_preorder(parent)
        new_parent = np.full(self.n, -1, dtype=np.int64)
        has = parent >= 0
        new_parent[tin[has]] = tin[parent[has]]
        if want_names and self.n <= NAMED_LIMIT:
            ext, explicit = self._EXT, self.names
            own = [
                explicit.get(p) or (f"d{p}" if k < 0 else f"f{p}.{ext[k]}")
                for p, k in enumerate(kinds.tolist())
            ]
            names = own[:]
            for p, par in enumerate(parent.tolist()):
                if par >= 0:
                    names[p] = f"{names[par]}/{own[p]}"
            longest = max(map(len, names), default=0)
            assert longest <= MAX_PATH_CHARS, f"a generated path has {longest} characters"
            by_new_id = np.argsort(tin).tolist()
            return new_parent, tuple([names[old] for old in by_new_id]), tin
        # synthetic names `p<id>/p<id>/...` (arrays.path_strings): check their length bound
        digits = np.floor(np.log10(np.maximum(np.arange(self.n), 1))).astype(np.int64) + 2
        length = digits.copy()
        cursor = new_parent.copy()
        alive = cursor >= 0
        while alive.any():
            length[alive] += digits[cursor[alive]] + 1
            cursor[alive] = new_parent[cursor[alive]]
            alive = cursor >= 0
        longest = int(length.max()) if self.n else 0
        assert longest <= MAX_PATH_CHARS, f"a synthetic path has {longest} characters"
        return new_parent, None, tin


# --------------------------------------------------------------------------- file trees


@dataclass(frozen=True, eq=False)
class _TreeTable:
    """Versioned file trees: a tree is a fixed list of entries (directories, files, whiteouts);
    a version gives each file a content. Version v rewrites a share of the files of v-1."""

    entry_offsets: I64  # CSR by tree
    path: I64
    kind: I8
    file_bytes: I64
    file_class: I8
    file_index: I64  # index among the tree's files, -1 for other entries
    compressed_bytes: I64
    n_files: I64  # per tree
    versions: I64  # per tree
    tar_sum: I64  # per tree: sum of the entries' tar bytes
    compressed_sum: I64

    @property
    def n_trees(self) -> int:
        return int(self.versions.size)


class _TreeBuilder:
    def __init__(self) -> None:
        self.pieces: list[tuple[I64, I64, I8, I64, I8]] = []
        self.versions: list[I64] = []
        self.change: list[F64] = []
        self.force: list[Bool] = []
        self.n = 0

    def new(self, count: int, versions: I64, change: float, force: bool) -> I64:
        ids = np.arange(self.n, self.n + count, dtype=np.int64)
        self.versions.append(np.broadcast_to(np.asarray(versions, np.int64), (count,)).copy())
        self.change.append(np.full(count, change, dtype=np.float64))
        self.force.append(np.full(count, force, dtype=np.bool_))
        self.n += count
        return ids

    def entries(
        self,
        tree: I64,
        path: I64,
        kind: int | I8,
        file_bytes: I64 | int = 0,
        file_class: I8 | int = BINARY,
    ) -> None:
        n = np.asarray(path).size
        self.pieces.append(
            (
                np.broadcast_to(np.asarray(tree, np.int64), (n,)),
                np.asarray(path, np.int64),
                np.broadcast_to(np.asarray(kind, np.int8), (n,)),
                np.broadcast_to(np.asarray(file_bytes, np.int64), (n,)),
                np.broadcast_to(np.asarray(file_class, np.int8), (n,)),
            )
        )

    def dirs(self, tree: int, dir_ids: Sequence[int]) -> None:
        self.entries(np.int64(tree), np.asarray(dir_ids, np.int64), EntryKind.DIR)

    def finish(self, new_path_id: I64) -> tuple[_TreeTable, F64, Bool]:
        """The table, with paths renumbered and each tree's entries sorted by path id."""
        tree, path, kind, fb, cls = (np.concatenate(x) for x in zip(*self.pieces, strict=True))
        path = new_path_id[path]
        order = stable_order(tree * max(new_path_id.size, 1) + path)
        tree, path, kind, fb, cls = tree[order], path[order], kind[order], fb[order], cls[order]
        counts = np.bincount(tree, minlength=self.n).astype(np.int64)
        offsets = csr_offsets(counts)
        is_file = kind == EntryKind.FILE
        file_rank = np.cumsum(is_file) - 1
        files_before = np.concatenate([[0], np.cumsum(is_file)])[offsets[:-1]]
        file_index = np.where(is_file, file_rank - np.repeat(files_before, counts), -1)
        n_files = np.bincount(tree, weights=is_file, minlength=self.n).astype(np.int64)
        fb = np.where(is_file, fb, 0)
        tar = TAR_BLOCK_BYTES + -(-fb // TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES
        ratio = _CLASS_RATIO[cls]
        comp = _HEADER_COMPRESSED + np.where(fb > 0, -(-fb * 1000 // ratio), 0)
        tar_sum = np.bincount(tree, weights=tar, minlength=self.n)
        comp_sum = np.bincount(tree, weights=comp, minlength=self.n)
        table = _TreeTable(
            entry_offsets=offsets,
            path=path,
            kind=kind.astype(np.int8),
            file_bytes=fb.astype(np.int64),
            file_class=cls.astype(np.int8),
            file_index=file_index.astype(np.int64),
            compressed_bytes=comp.astype(np.int64),
            n_files=n_files,
            versions=np.concatenate(self.versions),
            tar_sum=np.rint(tar_sum).astype(np.int64),
            compressed_sum=np.rint(comp_sum).astype(np.int64),
        )
        return table, np.concatenate(self.change), np.concatenate(self.force)


@dataclass(frozen=True, eq=False)
class _Contents:
    """Contents of every (tree, file, version), laid out tree by tree, file-major:
    position `tfv_offsets[t] + j * versions[t] + v`; `content` is the compacted content id
    (-1 where no layer uses that version)."""

    tfv_offsets: I64
    content: I64
    content_file_bytes: I64
    content_compressed_bytes: I64
    content_class: I8


def _birth_positions(
    rng: np.random.Generator, trees: _TreeTable, change: F64, force: Bool
) -> tuple[I64, I64]:
    """Where each (tree, file, version)'s content was born: version 0 always, later versions
    with the tree's change probability (and, for `force` trees, at least one file per
    version). Returns (tfv_offsets, birth position per position)."""
    F, V = trees.n_files, trees.versions
    sizes = F * V
    tfv_offsets = csr_offsets(sizes)
    total = int(tfv_offsets[-1])
    tree = csr_rows(tfv_offsets)
    local = np.arange(total, dtype=np.int64) - tfv_offsets[:-1][tree]
    version = local % V[tree]
    changed = version == 0
    changed |= rng.random(total) < change[tree]
    forced = np.flatnonzero(force & (V > 1) & (F > 0))
    if forced.size:
        n_forced = V[forced] - 1
        f_tree = np.repeat(forced, n_forced)
        f_version = _local_index(n_forced) + 1
        f_file = (rng.random(f_tree.size) * F[f_tree]).astype(np.int64)
        changed[tfv_offsets[f_tree] + f_file * V[f_tree] + f_version] = True
    return tfv_offsets, _forward_fill_position(changed)


def _compact_contents(
    trees: _TreeTable, tfv_offsets: I64, birth: I64, used_tree: I64, used_version: I64
) -> _Contents:
    """Content ids for the contents some layer uses, numbered in birth-position order."""
    total = birth.size
    tv_offsets = csr_offsets(trees.versions)
    used_tv = np.zeros(int(tv_offsets[-1]), dtype=np.bool_)
    used_tv[tv_offsets[used_tree] + used_version] = True
    tree = csr_rows(tfv_offsets)
    local = np.arange(total, dtype=np.int64) - tfv_offsets[:-1][tree]
    V = trees.versions[tree]
    used_pos = used_tv[tv_offsets[:-1][tree] + local % V]
    born = np.zeros(total, dtype=np.bool_)
    born[birth[used_pos]] = True
    rank = np.cumsum(born) - 1
    content = np.where(used_pos, rank[birth], -1)
    births = np.flatnonzero(born)
    b_tree = tree[births]
    b_file = (births - tfv_offsets[:-1][b_tree]) // trees.versions[b_tree]
    files_of_tree = trees.entry_offsets  # file j of tree t: the j-th FILE entry
    file_entries = np.flatnonzero(trees.file_index >= 0)
    file_start = np.searchsorted(file_entries, files_of_tree[:-1])
    entry = file_entries[file_start[b_tree] + b_file]
    fb = trees.file_bytes[entry]
    cls = trees.file_class[entry]
    ratio = _CLASS_RATIO[cls]
    return _Contents(
        tfv_offsets=tfv_offsets,
        content=content,
        content_file_bytes=fb,
        content_compressed_bytes=np.where(fb > 0, -(-fb * 1000 // ratio), 0),
        content_class=cls,
    )


# --------------------------------------------------------------------------- schedules


def _release_epochs(rng: np.random.Generator, every: int, epochs: int) -> list[int]:
    """Version 0 at epoch 0, then one every `every` epochs from a random phase in [1, every]."""
    phase = int(rng.integers(1, every + 1))
    return [0, *range(phase, epochs, every)]


def _count_released(release_epochs: Sequence[int], epochs: int) -> I64:
    """Versions released by the end of each epoch."""
    counts = np.zeros(epochs, dtype=np.int64)
    np.add.at(counts, np.asarray(release_epochs, dtype=np.int64), 1)
    return np.cumsum(counts)


# --------------------------------------------------------------------------- the generator


def generate(
    config: ExperimentConfig,
    rng: np.random.Generator,
    progress: Progress | None = None,
) -> Fleet:
    """Generate the fleet of `config` with `rng` (the run's only source of randomness)."""
    return _Generator(config, rng, progress).run()


class _Generator:
    def __init__(
        self, config: ExperimentConfig, rng: np.random.Generator, progress: Progress | None
    ) -> None:
        self.config = config
        self.rng = rng
        self.progress = progress or (lambda stage, fraction: None)
        self.T = config.time.epochs
        self.paths = _PathTable()
        self.trees = _TreeBuilder()

    # ---------------------------------------------------------------- bases and runtimes
    def bases(self) -> None:
        cfg, rng, T = self.config.bases, self.rng, self.T
        self.base_names = cfg.families
        self.base_releases = [_release_epochs(rng, cfg.release_every, T) for _ in cfg.families]
        self.base_tree = np.zeros(len(cfg.families), dtype=np.int64)
        for f, name in enumerate(cfg.families):
            preset = BASE_PRESETS[name]
            n_files = max(1, round(preset.files * cfg.file_scale))
            tree = int(self.trees.new(1, len(self.base_releases[f]), cfg.rewrite_fraction, True)[0])
            self.base_tree[f] = tree
            ratio = cfg.compression_ratio or preset.file_bytes / preset.compressed_bytes
            file_bytes = max(1, round(preset.file_bytes * cfg.bytes_scale))
            mix = class_mix_for_ratio(ratio)
            self._calibrated_tree(tree, preset.roots, n_files, file_bytes, mix, sigma=2.0)

    def _calibrated_tree(
        self,
        tree: int,
        roots: Sequence[tuple[str, float]],
        n_files: int,
        file_bytes: int,
        mix: Sequence[float],
        sigma: float,
    ) -> None:
        """A tree of `n_files` files summing to `file_bytes`, spread over `roots` by weight."""
        weights = np.array([w for _, w in roots], dtype=np.float64)
        per_root = np.floor(weights / weights.sum() * n_files).astype(np.int64)
        per_root[np.argmax(weights)] += n_files - int(per_root.sum())
        dirs: list[int] = []
        root_ids = []
        for root, _ in roots:
            chain = self.paths.chain(root)
            dirs.extend(d for d in chain if d not in dirs)
            root_ids.append(chain[-1])
        raw = np.exp(sigma * self.rng.standard_normal(n_files))
        sizes = np.floor(raw * (file_bytes / raw.sum())).astype(np.int64)
        classes = _classes_by_bytes(sizes, mix)
        dir_ids, _, file_ids, _ = self.paths.subtree(
            np.asarray(root_ids, np.int64), per_root, classes
        )
        self.trees.dirs(tree, dirs)
        self.trees.entries(np.int64(tree), dir_ids, EntryKind.DIR)
        self.trees.entries(np.int64(tree), file_ids, EntryKind.FILE, sizes, classes)

    def runtimes(self) -> None:
        cfg, rng, T = self.config.runtimes, self.rng, self.T
        self.runtime_names = cfg.families
        self.runtime_releases = [_release_epochs(rng, cfg.rebuild_every, T) for _ in cfg.families]
        self.runtime_trees: list[I64] = []
        for r, name in enumerate(cfg.families):
            preset = RUNTIME_PRESETS[name]
            n_layers = len(preset.layer_compressed_bytes)
            trees = self.trees.new(
                n_layers, len(self.runtime_releases[r]), cfg.rewrite_fraction, True
            )
            self.runtime_trees.append(trees)
            mix = class_mix_for_ratio(cfg.compression_ratio or preset.ratio)
            for i in range(n_layers):
                n_files = max(1, round(preset.layer_files[i] * cfg.file_scale))
                file_bytes = max(
                    1, round(preset.layer_compressed_bytes[i] * preset.ratio * cfg.bytes_scale)
                )
                root = f"{preset.root}{i}"
                self._calibrated_tree(int(trees[i]), [(root, 1.0)], n_files, file_bytes, mix, 1.5)

    # ---------------------------------------------------------------- packages
    def packages(self) -> None:
        cfg, rng, T = self.config.packages, self.rng, self.T
        ecos = ["system"] + [
            RUNTIME_PRESETS[r].ecosystem
            for r in self.runtime_names
            if RUNTIME_PRESETS[r].ecosystem != "system"
        ]
        self.ecosystems = list(dict.fromkeys(ecos))
        P = cfg.count
        self.package_cdf = _zipf_cdf(P, cfg.zipf_exponent)
        n_eco = len(self.ecosystems)
        # releases: version_at[package, epoch]; package ids are eco * P + rank
        released = rng.random((n_eco * P, T)) < 1.0 / cfg.release_every
        released[:, 0] = False
        self.package_version_at = np.cumsum(released, axis=1, dtype=np.int64)
        versions = self.package_version_at[:, -1] + 1
        self.prefix_tree = self.trees.new(n_eco, 1, 0.0, False)
        self.package_tree = self.trees.new(n_eco * P, versions, cfg.rewrite_fraction, False)
        roots: list[I64] = []
        for e, eco in enumerate(self.ecosystems):
            preset = ECOSYSTEMS[eco]
            chain = self.paths.chain(preset.prefix)
            self.trees.dirs(int(self.prefix_tree[e]), chain)
            short = eco[0]
            names = [f"{short}pkg{k}" for k in range(P)]
            roots.append(self.paths.add(np.full(P, chain[-1]), np.full(P, -1, np.int8), names))
        root = np.concatenate(roots)
        factor = np.repeat([ECOSYSTEMS[e].files_factor for e in self.ecosystems], P)
        mean = np.maximum(cfg.files_mean * factor, 1.0)
        n_files = 1 + rng.poisson(mean - 1.0)
        eco_of_file = np.repeat(np.repeat(np.arange(n_eco), P), n_files)
        n_total = int(n_files.sum())
        medians = (
            np.array([ECOSYSTEMS[e].file_bytes_median for e in self.ecosystems])
            * cfg.file_bytes_scale
        )
        sigmas = np.array([ECOSYSTEMS[e].file_bytes_sigma for e in self.ecosystems])
        sizes = np.floor(
            medians[eco_of_file] * np.exp(sigmas[eco_of_file] * rng.standard_normal(n_total))
        ).astype(np.int64)
        u = rng.random(n_total)
        cdfs = np.array(
            [
                np.cumsum(ECOSYSTEMS[e].class_mix) / sum(ECOSYSTEMS[e].class_mix)
                for e in self.ecosystems
            ]
        )
        classes = np.minimum((u[:, None] >= cdfs[eco_of_file]).sum(axis=1), 2).astype(np.int8)
        dir_ids, dir_part, file_ids, _ = self.paths.subtree(root, n_files, classes)
        self.trees.entries(self.package_tree, root, EntryKind.DIR)
        self.trees.entries(self.package_tree[dir_part], dir_ids, EntryKind.DIR)
        file_tree = np.repeat(self.package_tree, n_files)
        self.trees.entries(file_tree, file_ids, EntryKind.FILE, sizes, classes)

    # ---------------------------------------------------------------- apps
    def apps(self) -> None:
        cfg, rng, T = self.config.apps, self.rng, self.T
        A = cfg.count
        n_rt, n_base = len(self.runtime_names), len(self.base_names)
        self.parent_names = tuple(self.runtime_names) + tuple(self.base_names)
        n_parents = n_rt + n_base
        parent = _draw_ranks(rng, _zipf_cdf(n_parents, cfg.parent_zipf_exponent), A)
        lagging = rng.random(A) >= cfg.latest_share
        lag = np.where(lagging, _geometric(rng, cfg.lag_mean, A), 0)
        cadence = _geometric(rng, cfg.rebuild_every, A)
        phase = (rng.random(A) * cadence).astype(np.int64) + 1
        n_builds = 1 + np.where(phase <= T - 1, (T - 1 - phase) // cadence + 1, 0)
        reproducible = rng.random(A) < cfg.reproducible_probability
        waste = rng.random(A) < cfg.waste_probability
        self.app_parent, self.app_lag = parent, lag
        self.app_reproducible, self.app_waste = reproducible, waste
        self.app_builds = n_builds

        # builds (app-major)
        build_app = np.repeat(np.arange(A, dtype=np.int64), n_builds)
        build_k = _local_index(n_builds)
        build_epoch = np.where(
            build_k == 0, 0, phase[build_app] + (build_k - 1) * cadence[build_app]
        )
        self.build_app, self.build_k, self.build_epoch = build_app, build_k, build_epoch
        self.build_offsets = csr_offsets(n_builds)

        # parent version of each build: the newest at build time, minus the app's lag
        released = np.stack(
            [_count_released(e, T) for e in self.runtime_releases]
            + [_count_released(e, T) for e in self.base_releases]
        )
        newest = released[parent[build_app], build_epoch] - 1
        self.build_parent_version = np.maximum(newest - lag[build_app], 0)

        # dependency slots: [system] and/or [the runtime's ecosystem]
        on_runtime = parent < n_rt
        has_system = ~on_runtime | (rng.random(A) < cfg.system_deps_probability)
        eco_index = {e: i for i, e in enumerate(self.ecosystems)}
        runtime_eco = np.array(
            [eco_index[RUNTIME_PRESETS[r].ecosystem] for r in self.runtime_names] or [0],
            dtype=np.int64,
        )
        n_slots = has_system.astype(np.int64) + on_runtime
        slot_app = np.repeat(np.arange(A, dtype=np.int64), n_slots)
        first_of_app = _local_index(n_slots) == 0
        slot_eco = np.where(
            first_of_app & has_system[slot_app],
            0,
            runtime_eco[np.minimum(parent[slot_app], max(n_rt - 1, 0))],
        )
        P = self.config.packages.count
        n_pkgs = np.minimum(1 + rng.poisson(cfg.packages_per_layer - 1.0, slot_app.size), P)
        pkg_slot = np.repeat(np.arange(slot_app.size, dtype=np.int64), n_pkgs)
        ranks = _draw_ranks(rng, self.package_cdf, pkg_slot.size)
        ranks = _distinct_per_row(rng, ranks, pkg_slot, np.full(slot_app.size, P, np.int64))
        self.slot_app, self.slot_eco, self.slot_offsets = slot_app, slot_eco, csr_offsets(n_pkgs)
        package = slot_eco[pkg_slot] * P + ranks
        # packages of a layer in id order: their subtrees' path order (canonical entry order)
        self.slot_package = package[stable_order(pkg_slot * (len(self.ecosystems) * P) + package)]
        self.app_slot_offsets = csr_offsets(n_slots)

        # (slot, build) pairs, slot-major within an app: when were dependencies last refreshed?
        sb_count = n_builds[slot_app]
        sb_slot = np.repeat(np.arange(slot_app.size, dtype=np.int64), sb_count)
        sb_k = _local_index(sb_count)
        sb_build = self.build_offsets[slot_app[sb_slot]] + sb_k
        refreshed = (sb_k == 0) | (rng.random(sb_slot.size) < cfg.dep_update_probability)
        resolved = build_epoch[sb_build[_forward_fill_position(refreshed)]]
        # reorder to build-major (build, slot): the order layers appear in an image
        order = stable_order(
            sb_build * (int(n_slots.max()) + 1)
            + (sb_slot - self.app_slot_offsets[slot_app[sb_slot]])
        )
        self.sb_slot, self.sb_build, self.sb_resolved = (
            sb_slot[order],
            sb_build[order],
            resolved[order],
        )

        # deployment
        deployed = rng.random(A) < cfg.deployed_fraction
        replicas = 1 + rng.poisson(cfg.replicas_mean - 1.0, A)
        self.app_replicas = np.where(deployed, replicas, 0).astype(np.int64)

    def code_and_waste_trees(self) -> None:
        cfg, rng = self.config.apps, self.rng
        A, C = cfg.count, cfg.code_layers
        # at least one code file per code layer
        n_code = np.maximum(
            C, np.round(cfg.code_files * np.exp(CODE_COUNT_SIGMA * rng.standard_normal(A)))
        )
        n_code = n_code.astype(np.int64)
        self.app_code_files = n_code
        # one pool of code paths shared by every app (apps all keep their code in app/src)
        chain = self.paths.chain("app/src")
        pool_n = int(n_code.max())
        pool_dirs, _, pool_files, _ = self.paths.subtree(
            np.array([chain[-1]]), np.array([pool_n]), np.full(pool_n, TEXT, np.int8)
        )
        self.code_pool_files = pool_files
        n_pool_groups = int(pool_dirs.size - (-(-pool_n // FILES_PER_DIR)))
        # one tree per (app, code layer), app-major: the code files of an app split in order
        # into `C` blocks, block c = files [ceil(c n / C), ceil((c + 1) n / C))
        self.code_tree = self.trees.new(
            A * C, np.repeat(self.app_builds, C), cfg.code_change_fraction, True
        )
        block_app = np.repeat(np.arange(A, dtype=np.int64), C)
        block = np.tile(np.arange(C, dtype=np.int64), A)
        first_file = -(-block * n_code[block_app] // C)
        last_file = -(-(block + 1) * n_code[block_app] // C) - 1
        # directories a block uses: the leaves holding its files, and their groups if the pool
        # has them
        first_leaf, last_leaf = first_file // FILES_PER_DIR, last_file // FILES_PER_DIR
        n_leaves = last_leaf - first_leaf + 1
        first_group = first_leaf // DIRS_PER_GROUP
        n_groups = np.where(n_pool_groups > 0, last_leaf // DIRS_PER_GROUP - first_group + 1, 0)
        for d in chain:
            self.trees.entries(self.code_tree, np.full(A * C, d), EntryKind.DIR)
        g_tree = np.repeat(self.code_tree, n_groups)
        g_dir = np.repeat(first_group, n_groups) + _local_index(n_groups)
        self.trees.entries(g_tree, pool_dirs[g_dir], EntryKind.DIR)
        l_tree = np.repeat(self.code_tree, n_leaves)
        l_dir = n_pool_groups + np.repeat(first_leaf, n_leaves) + _local_index(n_leaves)
        self.trees.entries(l_tree, pool_dirs[l_dir], EntryKind.DIR)
        file_app = np.repeat(np.arange(A, dtype=np.int64), n_code)
        file_block = _local_index(n_code) * C // n_code[file_app]
        f_tree = self.code_tree[file_app * C + file_block]
        sizes = _lognormal_bytes(rng, f_tree.size, cfg.code_file_bytes, CODE_FILE_SIGMA)
        classes = _draw_classes(rng, f_tree.size, CODE_CLASS_MIX)
        self.trees.entries(f_tree, pool_files[_local_index(n_code)], EntryKind.FILE, sizes, classes)

        # the add-then-delete archive: added in its own layer, whited out in the code layer
        tmp = self.paths.chain(WASTE_DIR)[-1]
        archive = self.paths.file(tmp, WASTE_FILE, ARCHIVE)
        wasters = np.flatnonzero(self.app_waste)
        self.waste_tree = np.full(A, -1, dtype=np.int64)
        self.waste_tree[wasters] = self.trees.new(wasters.size, 1, 0.0, False)
        self.trees.entries(self.waste_tree[wasters], np.full(wasters.size, tmp), EntryKind.DIR)
        waste_bytes = _lognormal_bytes(rng, wasters.size, cfg.waste_bytes, WASTE_SIGMA)
        self.trees.entries(
            self.waste_tree[wasters],
            np.full(wasters.size, archive),
            EntryKind.FILE,
            waste_bytes,
            ARCHIVE,
        )
        self.whiteout_tree = int(self.trees.new(1, 1, 0.0, False)[0])
        self.trees.dirs(self.whiteout_tree, [tmp])
        self.trees.entries(np.int64(self.whiteout_tree), np.array([archive]), EntryKind.WHITEOUT)

    # ---------------------------------------------------------------- layer instances, images
    def instances(self) -> None:
        """Every layer a build makes (an *instance*), as segments (tree, version); reproducible
        ones point to the first instance with the same contents (`rep`)."""
        seg_tree: list[I64] = []
        seg_version: list[I64] = []
        inst_nseg: list[I64] = []
        kinds: list[I64] = []
        owners: list[I64] = []
        versions: list[I64] = []

        def add(tree: I64, version: I64, nseg: I64, kind: int, owner: I64, ver: I64) -> I64:
            start = sum(x.size for x in inst_nseg)
            seg_tree.append(np.asarray(tree, np.int64))
            seg_version.append(np.asarray(version, np.int64))
            inst_nseg.append(np.asarray(nseg, np.int64))
            kinds.append(np.full(np.asarray(nseg).size, kind, np.int64))
            owners.append(np.asarray(owner, np.int64))
            versions.append(np.asarray(ver, np.int64))
            return np.arange(start, start + np.asarray(nseg).size, dtype=np.int64)

        # bases: one instance per version
        self.base_inst: list[I64] = []
        for f, rel in enumerate(self.base_releases):
            v = np.arange(len(rel), dtype=np.int64)
            self.base_inst.append(
                add(
                    np.full(v.size, self.base_tree[f]),
                    v,
                    np.ones(v.size, np.int64),
                    LayerKind.BASE,
                    np.full(v.size, f),
                    v,
                )
            )
        # runtimes: one instance per (version, layer)
        self.runtime_inst: list[I64] = []  # [r] -> (versions x layers) flattened version-major
        for r, rel in enumerate(self.runtime_releases):
            trees = self.runtime_trees[r]
            n_v, n_l = len(rel), trees.size
            v = np.repeat(np.arange(n_v, dtype=np.int64), n_l)
            t = np.tile(trees, n_v)
            self.runtime_inst.append(
                add(
                    t, v, np.ones(v.size, np.int64), LayerKind.RUNTIME, np.full(v.size, r), v
                ).reshape(n_v, n_l)
            )

        # apps: per build, dependency slots, waste, code
        n_builds = self.build_app.size
        # dependency instances: prefix tree + the slot's packages at their resolved versions
        sb = self.sb_slot
        npk = np.diff(self.slot_offsets)[sb]
        rows = ranges(self.slot_offsets[sb], npk)
        pkg = self.slot_package[rows]
        pkg_version = self.package_version_at[pkg, np.repeat(self.sb_resolved, npk)]
        first = csr_offsets(npk + 1)[:-1]
        d_tree = np.empty(int(npk.sum() + sb.size), np.int64)
        d_version = np.zeros_like(d_tree)
        is_prefix = np.zeros(d_tree.size, np.bool_)
        is_prefix[first] = True
        d_tree[first] = self.prefix_tree[self.slot_eco[sb]]
        d_tree[~is_prefix] = self.package_tree[pkg]
        d_version[~is_prefix] = pkg_version
        sb_app = self.slot_app[sb]
        dep_inst = add(
            d_tree, d_version, npk + 1, LayerKind.DEPS, sb_app, self.build_k[self.sb_build]
        )
        # reproducible dependency layers: same ecosystem, packages and versions -> same layer
        tv_offsets = csr_offsets(self.tree_versions_so_far())
        hashes = self.rng.integers(0, 2**63, size=int(tv_offsets[-1]), dtype=np.int64).view(
            np.uint64
        )
        salt = self.rng.integers(0, 2**63, size=len(self.ecosystems), dtype=np.int64).view(
            np.uint64
        )
        pkg_hash = hashes[tv_offsets[self.package_tree[pkg]] + pkg_version]
        key = np.add.reduceat(pkg_hash, csr_offsets(npk)[:-1]) if pkg.size else pkg_hash
        key = key + salt[self.slot_eco[sb]]
        rep = np.arange(sum(x.size for x in inst_nseg), dtype=np.int64)
        repro = np.flatnonzero(self.app_reproducible[sb_app])
        if repro.size:
            k = key[repro]
            order = np.argsort(k, kind="stable")
            ks = k[order]
            starts = np.ones(ks.size, np.bool_)
            starts[1:] = ks[1:] != ks[:-1]
            group_first = repro[order][starts][np.cumsum(starts) - 1]
            rep[dep_inst[repro[order]]] = dep_inst[group_first]

        # waste instances (the archive; a reproducible app's is the same layer every build)
        b_waste = np.flatnonzero(self.app_waste[self.build_app])
        w_app = self.build_app[b_waste]
        waste_inst = add(
            self.waste_tree[w_app],
            np.zeros(b_waste.size, np.int64),
            np.ones(b_waste.size, np.int64),
            LayerKind.WASTE,
            w_app,
            self.build_k[b_waste],
        )
        # code instances, `C` per build: the app's code trees at the build's version (the first
        # one with the whiteout of the archive)
        C = self.config.apps.code_layers
        has_w = self.app_waste[self.build_app]
        ci_build = np.repeat(np.arange(n_builds, dtype=np.int64), C)
        ci_block = np.tile(np.arange(C, dtype=np.int64), n_builds)
        ci_app = self.build_app[ci_build]
        nseg = 1 + (has_w[ci_build] & (ci_block == 0)).astype(np.int64)
        c_first = csr_offsets(nseg)[:-1]
        c_tree = np.full(int(nseg.sum()), self.whiteout_tree, np.int64)
        c_version = np.zeros_like(c_tree)
        c_tree[c_first] = self.code_tree[ci_app * C + ci_block]
        c_version[c_first] = self.build_k[ci_build]
        code_inst = add(c_tree, c_version, nseg, LayerKind.CODE, ci_app, self.build_k[ci_build])
        rep = np.concatenate(
            [rep, np.arange(rep.size, sum(x.size for x in inst_nseg), dtype=np.int64)]
        )
        w_repro = self.app_reproducible[w_app]
        if w_repro.any():
            first_waste = np.full(self.config.apps.count, -1, np.int64)
            k0 = self.build_k[b_waste] == 0
            first_waste[w_app[k0]] = waste_inst[k0]
            rep[waste_inst[w_repro]] = first_waste[w_app[w_repro]]

        self.inst_seg_offsets = csr_offsets(np.concatenate(inst_nseg))
        self.seg_tree = np.concatenate(seg_tree)
        self.seg_version = np.concatenate(seg_version)
        self.inst_kind = np.concatenate(kinds)
        self.inst_owner = np.concatenate(owners)
        self.inst_version = np.concatenate(versions)
        self.rep = rep

        # own layers of every build, in stack order: deps (slot order), waste, code
        own_count = np.bincount(self.sb_build, minlength=n_builds) + has_w + C
        own_offsets = csr_offsets(own_count)
        own = np.empty(int(own_offsets[-1]), np.int64)
        n_dep = np.bincount(self.sb_build, minlength=n_builds)
        # sb pairs are build-major already
        own[own_offsets[self.sb_build] + _local_index(n_dep)] = rep[dep_inst]
        own[own_offsets[b_waste] + n_dep[b_waste]] = rep[waste_inst]
        own[np.repeat(own_offsets[1:] - C, C) + ci_block] = rep[code_inst]
        self.own_offsets, self.own_layers = own_offsets, own

    def tree_versions_so_far(self) -> I64:
        return np.concatenate(self.trees.versions)

    def images(self) -> None:
        """All images with their layer instances; ids ordered by (epoch, kind, owner, version)."""
        T = self.T
        img_kind: list[int] = []
        img_owner: list[int] = []
        img_version: list[int] = []
        img_epoch: list[int] = []
        layer_lists: list[list[int]] = []
        # parent images: runtimes (r, u) then bases (f, v)
        self.parent_version_offsets = [0]
        parent_layers: list[list[int]] = []
        base_released = [_count_released(rel, T) for rel in self.base_releases]
        for f, rel in enumerate(self.base_releases):
            for v, epoch in enumerate(rel):
                img_kind.append(ImageKind.BASE)
                img_owner.append(f)
                img_version.append(v)
                img_epoch.append(epoch)
                layer_lists.append([int(self.rep[self.base_inst[f][v]])])
        runtime_layers: list[list[list[int]]] = []
        for r, rel in enumerate(self.runtime_releases):
            f = self.base_names.index(RUNTIME_BASE[self.runtime_names[r]])
            per_version = []
            for u, epoch in enumerate(rel):
                bv = int(base_released[f][epoch]) - 1
                layers = [int(self.base_inst[f][bv])] + [int(x) for x in self.runtime_inst[r][u]]
                per_version.append(layers)
                img_kind.append(ImageKind.RUNTIME)
                img_owner.append(r)
                img_version.append(u)
                img_epoch.append(epoch)
                layer_lists.append(layers)
            runtime_layers.append(per_version)
        for per_version in runtime_layers:
            parent_layers.extend(per_version)
            self.parent_version_offsets.append(len(parent_layers))
        for f in range(len(self.base_names)):
            parent_layers.extend(
                [[int(self.base_inst[f][v])] for v in range(len(self.base_releases[f]))]
            )
            self.parent_version_offsets.append(len(parent_layers))
        pv_offsets = np.asarray(self.parent_version_offsets, np.int64)
        pl_counts = np.array([len(x) for x in parent_layers], np.int64)
        pl_offsets = csr_offsets(pl_counts)
        pl_values = np.array([x for xs in parent_layers for x in xs], np.int64)

        # app images: parent layers then own layers
        parent_image = pv_offsets[self.app_parent[self.build_app]] + self.build_parent_version
        n_parent = pl_counts[parent_image]
        n_own = np.diff(self.own_offsets)
        app_offsets = csr_offsets(n_parent + n_own)
        app_layers = np.empty(int(app_offsets[-1]), np.int64)
        app_layers[np.repeat(app_offsets[:-1], n_parent) + _local_index(n_parent)] = pl_values[
            ranges(pl_offsets[parent_image], n_parent)
        ]
        app_layers[np.repeat(app_offsets[:-1] + n_parent, n_own) + _local_index(n_own)] = (
            self.own_layers
        )

        # all images, ordered
        n_fixed = len(layer_lists)
        kind = np.concatenate(
            [np.asarray(img_kind, np.int64), np.full(self.build_app.size, ImageKind.APP)]
        )
        owner = np.concatenate([np.asarray(img_owner, np.int64), self.build_app])
        version = np.concatenate([np.asarray(img_version, np.int64), self.build_k])
        epoch = np.concatenate([np.asarray(img_epoch, np.int64), self.build_epoch])
        order = np.lexsort((version, owner, kind, epoch))
        fixed_counts = np.array([len(x) for x in layer_lists], np.int64)
        counts = np.concatenate([fixed_counts, n_parent + n_own])
        offsets = csr_offsets(counts)
        values = np.concatenate(
            [np.array([x for xs in layer_lists for x in xs], np.int64), app_layers]
        )
        values = self.rep[values]
        sorted_counts = counts[order]
        image_inst = values[ranges(offsets[:-1][order], sorted_counts)]
        self.image_offsets = csr_offsets(sorted_counts)
        self.image_kind = kind[order].astype(np.int8)
        self.image_owner = owner[order]
        self.image_version = version[order]
        self.image_epoch = epoch[order]
        self.image_of_build = np.empty(self.build_app.size, np.int64)
        rank = np.empty(order.size, np.int64)
        rank[order] = np.arange(order.size)
        self.image_of_build = rank[n_fixed:]

        # layer ids: instances in order of first appearance
        first = first_occurrence(image_inst)
        layer_inst = image_inst[first]
        layer_of_inst = np.full(self.rep.size, -1, np.int64)
        layer_of_inst[layer_inst] = np.arange(layer_inst.size)
        self.image_layers = layer_of_inst[image_inst]
        self.layer_inst = layer_inst

    # ---------------------------------------------------------------- retention
    def retention(self) -> None:
        T = self.T
        n_base, n_rt = len(self.base_names), len(self.runtime_names)
        repo = np.where(
            self.image_kind == ImageKind.BASE,
            self.image_owner,
            np.where(
                self.image_kind == ImageKind.RUNTIME,
                n_base + self.image_owner,
                n_base + n_rt + self.image_owner,
            ),
        )
        self.image_repo = repo
        self.registry_gc = _gc_epochs(
            repo, self.image_version, self.image_epoch, self.config.registry.retention, T
        )
        node_gc = _gc_epochs(
            repo, self.image_version, self.image_epoch, self.config.nodes.retention, T
        )
        self.node_gc = np.where(self.image_kind == ImageKind.APP, node_gc, T)

    # ---------------------------------------------------------------- entries
    def entries(self) -> tuple[_TreeTable, _Contents, dict[str, I64]]:
        table, change, force = self.trees.finish(self.new_path_id)
        self.progress("generate: contents", 0.5)
        tfv_offsets, birth = _birth_positions(self.rng, table, change, force)
        L = self.layer_inst.size
        seg_count = np.diff(self.inst_seg_offsets)[self.layer_inst]
        segs = ranges(self.inst_seg_offsets[:-1][self.layer_inst], seg_count)
        seg_layer = np.repeat(np.arange(L, dtype=np.int64), seg_count)
        seg_tree, seg_version = self.seg_tree[segs], self.seg_version[segs]
        # Canonical entry order comes from the segment order of `instances`: within a layer the
        # trees lie in disjoint subtrees in path order (an ecosystem's prefix directories, its
        # ancestors, first; packages by id; app code before /tmp), each tree sorted by path.
        first_path = table.path[table.entry_offsets[:-1]]
        assert first_path[self.code_tree[0]] < first_path[self.whiteout_tree]
        contents = _compact_contents(table, tfv_offsets, birth, seg_tree, seg_version)
        del birth
        n_entries_seg = np.diff(table.entry_offsets)[seg_tree]
        layer_entries = np.bincount(seg_layer, weights=n_entries_seg, minlength=L).astype(np.int64)
        layer_offsets = csr_offsets(layer_entries)
        layer_tar = np.bincount(seg_layer, weights=table.tar_sum[seg_tree], minlength=L)
        layer_comp = np.bincount(seg_layer, weights=table.compressed_sum[seg_tree], minlength=L)
        E = int(layer_offsets[-1])
        out = {
            "entry_path": np.empty(E, np.int64),
            "entry_kind": np.empty(E, np.int8),
            "entry_content": np.empty(E, np.int64),
            "entry_file_bytes": np.empty(E, np.int64),
            "entry_tar_bytes": np.empty(E, np.int64),
            "entry_compressed_bytes": np.empty(E, np.int64),
        }
        tree_of_entry = csr_rows(table.entry_offsets)
        # position of (tree, file, version) = tfv_offsets[tree] + version + file_index * V[tree];
        # `step` = file_index * V[tree] + 1 (0 for entries that are not files). Path, kind and
        # step are packed into one word per tree entry: one gather per entry instead of three
        # (gathers, not arithmetic, bound this loop).
        step = np.where(
            table.file_index >= 0, table.file_index * table.versions[tree_of_entry] + 1, 0
        )
        del tree_of_entry
        path_bits = max(int(table.path.max(initial=0)).bit_length(), 1)
        step_bits = max(int(step.max(initial=0)).bit_length(), 1)
        assert path_bits + 3 + step_bits <= 63, "population too large to pack"
        packed = (step << (path_bits + 3)) | (table.kind.astype(np.int64) << path_bits) | table.path
        del step
        path_mask = (1 << path_bits) - 1
        seg_base = contents.tfv_offsets[:-1][seg_tree] + seg_version - 1
        sentinel = contents.content.size
        content_ext = np.append(contents.content, -1)
        seg_end = np.cumsum(n_entries_seg)
        chunk = 4_000_000
        start_seg, done = 0, 0
        n_seg = seg_tree.size
        while start_seg < n_seg:
            stop_seg = int(np.searchsorted(seg_end, done + chunk, side="right"))
            stop_seg = max(stop_seg, start_seg + 1)
            s = slice(start_seg, stop_seg)
            counts = n_entries_seg[s]
            te = ranges(table.entry_offsets[:-1][seg_tree[s]], counts)
            lo, hi = done, done + te.size
            word = packed[te]
            out["entry_path"][lo:hi] = word & path_mask
            out["entry_kind"][lo:hi] = (word >> path_bits) & 7
            word >>= path_bits + 3
            file_pos = word > 0
            word += np.repeat(seg_base[s], counts)
            word[~file_pos] = sentinel
            out["entry_content"][lo:hi] = content_ext[word]
            del word
            out["entry_file_bytes"][lo:hi] = table.file_bytes[te]
            out["entry_compressed_bytes"][lo:hi] = table.compressed_bytes[te]
            done = hi
            start_seg = stop_seg
            self.progress("generate: entries", done / max(E, 1))
        # tar bytes: a 512-byte header and the data padded to 512 (make_entry, short names)
        tar = out["entry_tar_bytes"]
        np.add(out["entry_file_bytes"], TAR_BLOCK_BYTES - 1, out=tar)
        np.right_shift(tar, 9, out=tar)
        np.left_shift(tar, 9, out=tar)
        tar += TAR_BLOCK_BYTES
        sizes = {
            "layer_offsets": layer_offsets,
            "layer_tar_bytes": np.rint(layer_tar).astype(np.int64) + TAR_END_BYTES,
            "layer_compressed_bytes": np.rint(layer_comp).astype(np.int64)
            + CompressionModel().blob_overhead_bytes(),
        }
        sizes.update(out)
        return table, contents, sizes

    # ---------------------------------------------------------------- nodes, containers
    def nodes(self) -> dict[str, object]:
        cfg, rng, T = self.config, self.rng, self.T
        N = cfg.nodes.count
        A = cfg.apps.count
        replicas = self.app_replicas
        deployed = np.flatnonzero(replicas > 0)
        if cfg.nodes.placement == "binpack":
            first_build = self.build_offsets[:-1][deployed]
            key_parent = self.app_parent[deployed]
            key_version = self.build_parent_version[first_build]
            order = np.lexsort((deployed, key_version, key_parent))
            apps_in_order = deployed[order]
        else:
            apps_in_order = deployed
        rep_app = np.repeat(apps_in_order, replicas[apps_in_order])
        position = np.arange(rep_app.size, dtype=np.int64)
        if cfg.nodes.placement == "binpack":
            capacity = max(1, -(-rep_app.size // N))
            rep_node = position // capacity
        else:
            rep_node = position % N
        # order replicas by (node, app) for readable container lists
        order = np.lexsort((rep_app, rep_node))
        rep_app, rep_node = rep_app[order], rep_node[order]

        # node pulls: every build of every app the node runs, in build (image id) order
        pair_first = first_occurrence(rep_node * A + rep_app)
        na_node, na_app = rep_node[pair_first], rep_app[pair_first]
        nb = self.app_builds[na_app]
        pull_node = np.repeat(na_node, nb)
        pull_image = self.image_of_build[ranges(self.build_offsets[:-1][na_app], nb)]
        order = stable_order(pull_node * max(self.image_kind.size, 1) + pull_image)
        pull_node, pull_image = pull_node[order], pull_image[order]
        node_offsets = csr_offsets(np.bincount(pull_node, minlength=N))

        # containers: one per replica per build of its app
        nb_rep = self.app_builds[rep_app]
        c_rep = np.repeat(np.arange(rep_app.size, dtype=np.int64), nb_rep)
        c_app = rep_app[c_rep]
        c_k = _local_index(nb_rep)
        c_build = self.build_offsets[:-1][c_app] + c_k
        c_image = self.image_of_build[c_build]
        start = self.build_epoch[c_build]
        last = c_k == nb_rep[c_rep] - 1
        stop = np.where(
            last, T, self.build_epoch[np.minimum(c_build + 1, self.build_epoch.size - 1)]
        )
        linger = rng.random(c_rep.size) < cfg.nodes.linger_probability
        remove = np.where(linger, self.node_gc[c_image], stop)
        remove = np.where(last, T, np.maximum(remove, stop))
        n_c = c_rep.size
        # writable layers
        n_writes = rng.poisson(cfg.nodes.writes_mean, n_c).astype(np.int64)
        write_bytes = _lognormal_bytes(rng, int(n_writes.sum()), cfg.nodes.write_bytes, WRITE_SIGMA)
        F = self.app_code_files[c_app]
        n_mod = np.minimum(rng.poisson(cfg.nodes.modifies_mean, n_c), F).astype(np.int64)
        first_file = (rng.random(n_c) * F).astype(np.int64)
        m_c = np.repeat(np.arange(n_c, dtype=np.int64), n_mod)
        m_file = (first_file[m_c] + _local_index(n_mod)) % F[m_c]
        modify_path = self.code_pool_files[m_file]
        changed = _lognormal_bytes(rng, m_c.size, CHANGED_BYTES_MEDIAN, 1.0)
        rep_ordinal = np.empty(rep_app.size, np.int64)
        rep_ordinal[stable_order(rep_app)] = _local_index(np.bincount(rep_app, minlength=A))
        names = tuple(
            f"node{n:05d}/app{a:05d}-r{j}-b{k}"
            for n, a, j, k in zip(
                rep_node[c_rep].tolist(),
                c_app.tolist(),
                rep_ordinal[c_rep].tolist(),
                c_k.tolist(),
                strict=True,
            )
        )
        return {
            "node_offsets": node_offsets,
            "node_images": pull_image,
            "container_names": names,
            "container_node": rep_node[c_rep],
            "container_image": c_image,
            "container_running": stop >= T,
            "write_offsets": csr_offsets(n_writes),
            "write_file_bytes": write_bytes,
            "modify_offsets": csr_offsets(n_mod),
            "modify_path": modify_path,
            "modify_changed_bytes": changed,
            "delete_offsets": np.zeros(n_c + 1, np.int64),
            "container_start_epoch": start,
            "container_stop_epoch": stop,
            "container_remove_epoch": remove,
        }

    # ---------------------------------------------------------------- labels
    def image_names(self) -> tuple[str, ...]:
        names = []
        for kind, owner, version in zip(
            self.image_kind.tolist(),
            self.image_owner.tolist(),
            self.image_version.tolist(),
            strict=True,
        ):
            if kind == ImageKind.BASE:
                names.append(f"{self.base_names[owner]}:v{version}")
            elif kind == ImageKind.RUNTIME:
                names.append(f"{self.runtime_names[owner]}:v{version}")
            else:
                names.append(f"{_app_name(owner)}:b{version}")
        return tuple(names)

    def layer_labels(self) -> tuple[str, ...] | None:
        if self.layer_inst.size > NAMED_LIMIT:
            return None
        tree_label: dict[int, str] = {}
        for trees in self.runtime_trees:
            for i, tree in enumerate(trees.tolist()):
                tree_label[tree] = f"layer{i}"
        for e, tree in enumerate(self.prefix_tree.tolist()):
            tree_label[tree] = f"deps-{self.ecosystems[e]}"
        n_code = self.config.apps.code_layers
        if n_code > 1:  # code1, code2, ...; a single code layer keeps the label `code`
            for i, tree in enumerate(self.code_tree.tolist()):
                tree_label[tree] = f"code{i % n_code + 1}"
        inst = self.layer_inst
        first_tree = self.seg_tree[self.inst_seg_offsets[:-1][inst]].tolist()
        labels = []
        for kind, owner, version, tree in zip(
            self.inst_kind[inst].tolist(),
            self.inst_owner[inst].tolist(),
            self.inst_version[inst].tolist(),
            first_tree,
            strict=True,
        ):
            if kind == LayerKind.BASE:
                labels.append(f"{self.base_names[owner]}:v{version}")
            elif kind == LayerKind.RUNTIME:
                labels.append(f"{self.runtime_names[owner]}:v{version}/{tree_label[tree]}")
            elif kind == LayerKind.DEPS:
                labels.append(f"{_app_name(owner)}:b{version}/{tree_label[tree]}")
            elif kind == LayerKind.WASTE:
                labels.append(f"{_app_name(owner)}:b{version}/fetch")
            else:
                labels.append(f"{_app_name(owner)}:b{version}/{tree_label.get(tree, 'code')}")
        return tuple(labels)

    # ---------------------------------------------------------------- all together
    def run(self) -> Fleet:
        cfg = self.config
        self.progress("generate: plan", 0.0)
        self.bases()
        self.runtimes()
        self.packages()
        self.apps()
        self.code_and_waste_trees()
        self.progress("generate: layers", 0.2)
        self.path_parent, self.path_names, self.new_path_id = self.paths.finish(want_names=True)
        self.code_pool_files = self.new_path_id[self.code_pool_files]
        self.instances()
        self.images()
        self.retention()
        self.progress("generate: contents", 0.3)
        _, contents, sizes = self.entries()
        self.progress("generate: nodes", 0.9)
        node_data = self.nodes()
        n_contents = contents.content_file_bytes.size
        small = n_contents <= NAMED_LIMIT
        options = StorageOptions(
            block_bytes=cfg.storage.block_bytes,
            driver=StorageDriver(cfg.storage.driver),
            keep_compressed_blobs=cfg.storage.keep_compressed_blobs,
        )
        n_images = self.image_kind.size
        n_layers = self.layer_inst.size
        arrays = PopulationArrays(
            path_parent=self.path_parent,
            content_file_bytes=contents.content_file_bytes,
            content_compressed_bytes=contents.content_compressed_bytes,
            layer_offsets=sizes["layer_offsets"],
            entry_path=sizes["entry_path"],
            entry_kind=sizes["entry_kind"],
            entry_content=sizes["entry_content"],
            entry_file_bytes=sizes["entry_file_bytes"],
            entry_tar_bytes=sizes["entry_tar_bytes"],
            entry_compressed_bytes=sizes["entry_compressed_bytes"],
            layer_blob=np.arange(n_layers, dtype=np.int64),
            layer_tar_bytes=sizes["layer_tar_bytes"],
            layer_compressed_bytes=sizes["layer_compressed_bytes"],
            image_offsets=self.image_offsets,
            image_layers=self.image_layers,
            image_repository=self.image_repo,
            image_names=self.image_names(),
            push_order=np.arange(n_images, dtype=np.int64),
            node_names=tuple(f"node{n:05d}" for n in range(cfg.nodes.count)),
            node_offsets=node_data["node_offsets"],
            node_images=node_data["node_images"],
            container_names=node_data["container_names"],
            container_node=node_data["container_node"],
            container_image=node_data["container_image"],
            container_running=node_data["container_running"],
            write_offsets=node_data["write_offsets"],
            write_file_bytes=node_data["write_file_bytes"],
            modify_offsets=node_data["modify_offsets"],
            modify_path=node_data["modify_path"],
            modify_changed_bytes=node_data["modify_changed_bytes"],
            delete_offsets=node_data["delete_offsets"],
            delete_path=np.zeros(0, np.int64),
            options=options,
            blob_overhead_bytes=CompressionModel().blob_overhead_bytes(),
            path_names=self.path_names,
            layer_labels=self.layer_labels(),
            content_classes=tuple(CLASS_NAMES[c] for c in contents.content_class.tolist())
            if small
            else None,
        )
        self.progress("generate: done", 1.0)
        return Fleet(
            config=cfg,
            arrays=arrays,
            epochs=self.T,
            base_families=tuple(self.base_names),
            runtime_families=tuple(self.runtime_names),
            parent_names=self.parent_names,
            image_kind=self.image_kind,
            image_owner=self.image_owner,
            image_version=self.image_version,
            image_epoch=self.image_epoch,
            image_registry_gc_epoch=self.registry_gc,
            image_node_gc_epoch=self.node_gc,
            layer_kind=self.inst_kind[self.layer_inst].astype(np.int8),
            layer_owner=self.inst_owner[self.layer_inst],
            layer_version=self.inst_version[self.layer_inst],
            content_class=contents.content_class,
            app_parent=self.app_parent,
            app_lag=self.app_lag,
            app_reproducible=self.app_reproducible,
            app_waste=self.app_waste,
            app_replicas=self.app_replicas,
            container_start_epoch=node_data["container_start_epoch"],
            container_stop_epoch=node_data["container_stop_epoch"],
            container_remove_epoch=node_data["container_remove_epoch"],
        )


def _gc_epochs(repo: I64, version: I64, epoch: I64, keep: int, epochs: int) -> I64:
    """Per image: the epoch of the version `keep` places later in its repository (whose push
    makes this one fall out of the last `keep`), or `epochs` if there is none."""
    order = np.lexsort((version, repo))
    r, e = repo[order], epoch[order]
    later = np.arange(order.size) + keep
    ok = later < order.size
    ok[ok] = r[later[ok]] == r[ok]
    out_sorted = np.full(order.size, epochs, np.int64)
    out_sorted[ok] = e[later[ok]]
    out = np.empty_like(out_sorted)
    out[order] = out_sorted
    return out
