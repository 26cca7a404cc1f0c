"""Fleet-shaped synthetic populations for the benchmarks, built straight into arrays.

`build(SyntheticSpec(n_images=...))` returns a `PopulationArrays` of exactly `n_images` images
that looks like a fleet (DESIGN.md §8) without going through the object model, so that it can
reach tens of millions of file entries in seconds:

- **base families**, one layer per version; each version rewrites a fraction of the files
  (new contents at the same paths: a new layer, mostly the same file contents);
- **runtimes** on a base family: a dependency layer per base version (it also overwrites a
  few base files), the runtime layer rebuilt on every base version (same files, another tar),
  and a small config layer that is reproducible: one layer on several parents;
- **apps** on a runtime or a bare base, chosen by popularity, with versions that move to newer
  parents with a lag. Their steps: dependency layers made of packages from a shared universe
  (same files, another tar per rebuild on a new parent, or on every build for apps built
  without a layer cache; one tar for all if the build is reproducible), which sometimes
  overwrite base files; sometimes the wasteful fetch / unpack / delete-in-a-later-step pattern
  (file or directory whiteouts, plus whiteouts of base files); the app's code on top, partly
  rewritten in every version, its directory sometimes marked opaque;
- **nodes** pulling the last versions of the apps they run, in rollout order, and a few
  **containers** with writes, copy-ups and deletes.

Every layer lists its directories as DIR entries. Entry sizes follow `layersim.model.make_entry`
for names that fit a USTAR header (all names here do): tar = 512 + pad512(file bytes),
compressed = `CompressionModel().entry_bytes(512, file_bytes, class)`; layers add the end
blocks and the blob overhead, as `make_layer` does. Path names, content classes and layer
labels are filled in only for small populations (`SyntheticSpec.names_limit`).

This is the benchmarks' own population, independent of `layersim.fleet.generate`: the engine's
cost can be measured at any size while the fleet generator is written and tuned. It is
deterministic: one seeded `numpy.random.Generator`, drawn in a fixed order.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

from layersim.accounting.arrays import I64, PopulationArrays, csr_offsets, csr_rows
from layersim.accounting.sortops import combine, forest_preorder, lookup, ranges, stable_order
from layersim.model import EntryKind, StorageOptions
from layersim.model.sizes import (
    DEFAULT_CLASS_RATIOS_PERMILLE,
    TAR_BLOCK_BYTES,
    TAR_END_BYTES,
    CompressionModel,
)

FILE = int(EntryKind.FILE)
DIR = int(EntryKind.DIR)
SYMLINK = int(EntryKind.SYMLINK)
HARDLINK = int(EntryKind.HARDLINK)
WHITEOUT = int(EntryKind.WHITEOUT)
OPAQUE = int(EntryKind.OPAQUE)
CLASSES = ("text", "binary", "archive")
HEADER_BYTES = TAR_BLOCK_BYTES  # every synthetic name fits a USTAR header
FILES_PER_DIR = 16


@dataclass(frozen=True)
class SyntheticSpec:
    """What to build. Sizes are means; everything else is drawn from `seed`."""

    n_images: int
    files_per_layer: float = 20.0  # mean file entries of an app layer
    seed: int = 20_240_601
    n_nodes: int | None = None  # default: n_images // 50, at least 2
    apps_per_node: float = 6.0
    base_families: int = 3
    base_versions: int = 6
    runtime_families: int = 3
    runtime_releases: int = 2
    base_scale: float = 10.0  # files of a base layer, in files_per_layer
    rebase_every: tuple[int, int] = (2, 5)  # app versions per parent version: [low, high)
    rewrite_fraction: float = 0.1  # base and runtime files rewritten per version
    code_rewrite_fraction: float = 0.3  # app code files rewritten per app version
    runtime_parent_probability: float = 0.7
    wasteful_probability: float = 0.2
    reproducible_probability: float = 0.1
    uncached_probability: float = 0.0  # apps built without a layer cache: new deps every build
    opaque_probability: float = 0.05
    max_containers: int = 200
    names_limit: int = 200_000  # path names and content classes only up to this many paths
    options: StorageOptions = field(default_factory=StorageOptions)

    @property
    def infra_images(self) -> int:
        """Base and runtime images (the rest are app images)."""
        return self.base_families * self.base_versions + (
            self.runtime_families * self.base_versions * self.runtime_releases
        )


# --------------------------------------------------------------------------- builders


class _Paths:
    """Path ids allocated in chunks; names are made (from parents) only when asked."""

    def __init__(self) -> None:
        self._parents: list[I64] = []
        self._chunks: list[tuple[int, int, str, bool]] = []
        self.size = 0

    def add(self, parents: I64, label: str, *, fixed: bool = False) -> I64:
        """New paths below `parents` (-1: top level). A `fixed` chunk of one path is named
        `label`; otherwise the i-th path of the chunk is named `label` + i."""
        parents = np.asarray(parents, dtype=np.int64)
        start = self.size
        self._parents.append(parents)
        self._chunks.append((start, parents.size, label, fixed))
        self.size += parents.size
        return np.arange(start, self.size, dtype=np.int64)

    def parent(self) -> I64:
        return np.concatenate(self._parents) if self._parents else np.zeros(0, np.int64)

    def names(self) -> tuple[str, ...]:
        parent = self.parent().tolist()
        names = [""] * self.size
        for start, count, label, fixed in self._chunks:
            for i in range(count):
                p = parent[start + i]
                own = label if fixed else f"{label}{i}"
                names[start + i] = own if p < 0 else f"{names[p]}/{own}"
        return tuple(names)


class _Table:
    """Rows (path, kind, content) that layers are assembled from, as (start, count) slices."""

    def __init__(self) -> None:
        self.path: list[I64] = []
        self.kind: list[I64] = []
        self.content: list[I64] = []
        self.size = 0

    def add(self, path: I64, kind: I64 | int, content: I64 | int = -1) -> int:
        path = np.asarray(path, dtype=np.int64)
        self.path.append(path)
        self.kind.append(np.broadcast_to(np.asarray(kind, dtype=np.int64), path.shape))
        self.content.append(np.broadcast_to(np.asarray(content, dtype=np.int64), path.shape))
        start = self.size
        self.size += path.size
        return start


class _Contents:
    """File contents: file bytes and class per content id."""

    def __init__(self, rng: np.random.Generator) -> None:
        self.rng = rng
        self.file_bytes: list[I64] = []
        self.klass: list[I64] = []
        self.size = 0

    def add(self, n: int, median_bytes: float, sigma: float, class_p: tuple[float, ...]) -> int:
        """`n` new contents with log-normal sizes; returns the first id."""
        sizes = np.exp(self.rng.normal(np.log(median_bytes), sigma, n)).astype(np.int64)
        self.file_bytes.append(sizes)
        self.klass.append(self.rng.choice(len(CLASSES), n, p=class_p).astype(np.int64))
        start = self.size
        self.size += n
        return start


@dataclass(frozen=True)
class _Pools:
    """Groups of files with versions: block (k, v) = the pool's directories, each followed by
    its files (preorder), at version v: contiguous table rows from `block(k, v)` of length
    `block_len[k]`. A pool's paths are one contiguous range of the preorder."""

    dir_start: I64
    file_start: I64
    size: I64
    versions: I64
    block_start: I64
    block_len: I64

    def block(self, k: I64, v: I64 | int) -> I64:
        return self.block_start[k] + np.asarray(v, dtype=np.int64) * self.block_len[k]


@dataclass(frozen=True)
class _FileKind:
    median_bytes: float
    sigma: float
    class_p: tuple[float, float, float]  # text, binary, archive


BASE_FILES = _FileKind(8_000, 1.6, (0.35, 0.65, 0.0))
RUNTIME_FILES = _FileKind(12_000, 1.6, (0.4, 0.55, 0.05))
PACKAGE_FILES = _FileKind(6_000, 1.5, (0.6, 0.35, 0.05))
CODE_FILES = _FileKind(3_000, 1.2, (0.95, 0.05, 0.0))
UNPACKED_FILES = _FileKind(20_000, 1.5, (0.3, 0.7, 0.0))
ARCHIVE_FILES = _FileKind(20_000_000, 0.6, (0.0, 0.0, 1.0))
CONFIG_FILES = _FileKind(1_000, 0.8, (1.0, 0.0, 0.0))


def _pools(
    rng: np.random.Generator,
    paths: _Paths,
    table: _Table,
    contents: _Contents,
    parent_dir: I64,
    sizes: I64,
    versions: I64,
    rewrite_fraction: float,
    kind: _FileKind,
    label: str,
) -> _Pools:
    """Pools of files under `parent_dir` (one per pool), `FILES_PER_DIR` files a directory.

    A file keeps its content from one version to the next unless rewritten (probability
    `rewrite_fraction`); version 0 writes every file."""
    sizes = np.maximum(np.asarray(sizes, dtype=np.int64), 1)
    versions = np.asarray(versions, dtype=np.int64)
    n_dirs = -(-sizes // FILES_PER_DIR)
    dir_ids = paths.add(np.repeat(parent_dir, n_dirs), f"{label}d")
    dir_start = dir_ids[0] + csr_offsets(n_dirs)[:-1]
    local = ranges(np.zeros(sizes.size, np.int64), sizes)  # file index within its pool
    pool_of_file = csr_rows(csr_offsets(sizes))
    file_ids = paths.add(dir_start[pool_of_file] + local // FILES_PER_DIR, f"{label}f")
    file_start = file_ids[0] + csr_offsets(sizes)[:-1]

    # contents enumerated (pool, file, version), version fastest: the content of a file at
    # version v is the one written at its last rewrite at or before v
    per_file_versions = versions[pool_of_file]
    n_rows = int(per_file_versions.sum())
    version_of_row = ranges(np.zeros(per_file_versions.size, np.int64), per_file_versions)
    rewritten = (version_of_row == 0) | (rng.random(n_rows) < rewrite_fraction)
    written = np.cumsum(rewritten) - 1  # content id (from first_content) of each write
    last = written[np.maximum.accumulate(np.where(rewritten, np.arange(n_rows), 0))]
    first_content = contents.add(int(written[-1]) + 1, kind.median_bytes, kind.sigma, kind.class_p)
    file_row_start = csr_offsets(per_file_versions)[:-1]  # content row of (file, version 0)

    # blocks (pool, version): directories, then files at that version
    block_len = n_dirs + sizes
    block_pool = csr_rows(csr_offsets(versions))
    block_version = ranges(np.zeros(versions.size, np.int64), versions)
    lengths = block_len[block_pool]
    q = ranges(np.zeros(block_pool.size, np.int64), lengths)  # row within the block
    row_pool = np.repeat(block_pool, lengths)
    row_version = np.repeat(block_version, lengths)
    # in preorder: directory j, then its files (every directory but the last is full)
    is_dir = q % (FILES_PER_DIR + 1) == 0
    file_local = (q // (FILES_PER_DIR + 1)) * FILES_PER_DIR + q % (FILES_PER_DIR + 1) - 1
    path = np.where(
        is_dir, dir_start[row_pool] + q // (FILES_PER_DIR + 1), file_start[row_pool] + file_local
    )
    file_global = csr_offsets(sizes)[:-1][row_pool] + file_local
    content_row = file_row_start[np.where(is_dir, 0, file_global)] + row_version
    content = np.where(is_dir, -1, first_content + last[np.where(is_dir, 0, content_row)])
    start = table.add(path, np.where(is_dir, DIR, FILE), content)
    block_start = start + csr_offsets(lengths)[:-1][csr_offsets(versions)[:-1]]
    return _Pools(dir_start, file_start, sizes, versions, block_start, block_len)


class _Templates:
    """Layer contents as lists of table slices; several layers may share one (rebuilds)."""

    def __init__(self) -> None:
        self.template: list[I64] = []
        self.start: list[I64] = []
        self.count: list[I64] = []
        self.size = 0

    def new(self, n: int) -> I64:
        ids = np.arange(self.size, self.size + n, dtype=np.int64)
        self.size += n
        return ids

    def add(self, template: I64, start: I64 | int, count: I64 | int) -> None:
        template = np.asarray(template, dtype=np.int64)
        self.template.append(template)
        self.start.append(np.broadcast_to(np.asarray(start, dtype=np.int64), template.shape))
        self.count.append(np.broadcast_to(np.asarray(count, dtype=np.int64), template.shape))

    def slices(self, first_key: I64) -> tuple[I64, I64, I64]:
        """CSR by template: (offsets, starts, counts); within a template, slices in order of
        `first_key[start]` (the key of their first row), so that concatenated they are sorted."""
        template = np.concatenate(self.template)
        start = np.concatenate(self.start)
        count = np.concatenate(self.count)
        key = first_key[np.minimum(start, first_key.size - 1)]
        order = np.lexsort((key, template))
        offsets = csr_offsets(np.bincount(template, minlength=self.size))
        return offsets, start[order], count[order]


def _zipf(rng: np.random.Generator, n: int, size: int, exponent: float = 1.1) -> I64:
    """`size` draws of ranks in [0, n), rank r with weight 1 / (r + 1) ** exponent."""
    weights = 1.0 / np.arange(1, n + 1, dtype=np.float64) ** exponent
    return rng.choice(n, size, p=weights / weights.sum()).astype(np.int64)


def _distinct_draws(rng: np.random.Generator, n_choices: I64, n_max: int) -> I64:
    """Per row, `n_max` random indices in [0, n_choices[row]), -1 where a draw repeats an
    earlier one of the same row: distinct picks, at most `n_max` of them."""
    draws = (rng.random((n_choices.size, n_max)) * n_choices[:, None]).astype(np.int64)
    for j in range(1, n_max):
        repeat = np.any(draws[:, j : j + 1] == draws[:, :j], axis=1)
        draws[repeat, j] = -1
    return draws


# --------------------------------------------------------------------------- the population


def build(spec: SyntheticSpec) -> PopulationArrays:
    """A deterministic fleet-shaped population of exactly `spec.n_images` images."""
    rng = np.random.default_rng(spec.seed)
    n_f, n_v, n_r, n_u = (
        spec.base_families,
        spec.base_versions,
        spec.runtime_families,
        spec.runtime_releases,
    )
    n_app_images = spec.n_images - spec.infra_images
    if n_app_images < 1:
        raise ValueError(
            f"n_images={spec.n_images} leaves no app images: base and runtime images alone "
            f"are {spec.infra_images}; ask for more images or fewer families"
        )
    fpl = spec.files_per_layer
    paths, table, contents, templates = _Paths(), _Table(), _Contents(rng), _Templates()

    # ---- directories every layer type starts from, as table rows
    usr = paths.add(np.array([-1]), "usr", fixed=True)
    usr_lib = paths.add(usr, "lib", fixed=True)
    tmp = paths.add(np.array([-1]), "tmp", fixed=True)
    opt = paths.add(np.array([-1]), "opt", fixed=True)
    srv = paths.add(np.array([-1]), "srv", fixed=True)
    region_usr = table.add(np.concatenate([usr, usr_lib]), DIR)
    region_tmp = table.add(tmp, DIR)
    region_opt = table.add(opt, DIR)
    region_srv = table.add(srv, DIR)

    # ---- apps: how many, their versions, parents and build habits
    versions = 1 + rng.poisson(3.0, size=n_app_images)  # more than enough apps
    versions = np.minimum(versions, 12)
    n_apps = int(np.searchsorted(np.cumsum(versions), n_app_images)) + 1
    versions = versions[:n_apps].copy()
    versions[-1] -= int(versions.sum()) - n_app_images
    on_runtime = rng.random(n_apps) < spec.runtime_parent_probability
    app_family = np.where(on_runtime, _zipf(rng, n_r, n_apps), _zipf(rng, n_f, n_apps))
    app_base = np.where(on_runtime, app_family % n_f, app_family)
    app_release = rng.integers(0, n_u, n_apps)
    lag = np.minimum(rng.geometric(0.45, n_apps) - 1, n_v - 1)
    app_start = n_v - 1 - lag
    rebase_every = rng.integers(*spec.rebase_every, n_apps)
    reproducible = rng.random(n_apps) < spec.reproducible_probability
    uncached = rng.random(n_apps) < spec.uncached_probability
    wasteful = rng.random(n_apps) < spec.wasteful_probability
    opaque_code = rng.random(n_apps) < spec.opaque_probability
    slots = 1 + (rng.random(n_apps) < 0.5).astype(np.int64)  # dependency layers per app

    # ---- pools of files
    base = _pools(
        rng,
        paths,
        table,
        contents,
        np.repeat(usr_lib, n_f),
        np.maximum(rng.poisson(spec.base_scale * fpl, n_f), 4),
        np.full(n_f, n_v),
        spec.rewrite_fraction,
        BASE_FILES,
        "b",
    )
    rtdeps = _pools(
        rng,
        paths,
        table,
        contents,
        np.repeat(usr_lib, n_r),
        np.maximum(rng.poisson(3 * fpl, n_r), 2),
        np.full(n_r, n_v),
        spec.rewrite_fraction,
        RUNTIME_FILES,
        "rd",
    )
    runtime = _pools(
        rng,
        paths,
        table,
        contents,
        np.repeat(usr_lib, n_r),
        np.maximum(rng.poisson(5 * fpl, n_r), 2),
        np.full(n_r, n_u),
        0.5,
        RUNTIME_FILES,
        "rt",
    )
    config = _pools(
        rng,
        paths,
        table,
        contents,
        np.repeat(usr_lib, n_r),
        np.full(n_r, 3),
        np.full(n_r, n_u),
        1.0,
        CONFIG_FILES,
        "rc",
    )
    n_packages = max(20, n_apps // 5)
    packages = _pools(
        rng,
        paths,
        table,
        contents,
        np.repeat(usr_lib, n_packages),
        np.maximum(rng.poisson(fpl / 2.5, n_packages), 1),
        1 + rng.integers(0, 3, n_packages),
        0.3,
        PACKAGE_FILES,
        "pk",
    )
    code = _pools(
        rng,
        paths,
        table,
        contents,
        np.repeat(srv, n_apps),
        np.maximum(rng.poisson(fpl, n_apps), 2),
        versions,
        spec.code_rewrite_fraction,
        CODE_FILES,
        "a",
    )
    waste_apps = np.flatnonzero(wasteful)
    n_w = waste_apps.size
    unpacked = _pools(
        rng,
        paths,
        table,
        contents,
        np.repeat(opt, n_w),
        np.maximum(rng.poisson(2 * fpl, n_w), 1),
        np.ones(n_w, np.int64),
        0.0,
        UNPACKED_FILES,
        "u",
    )
    archive = _pools(
        rng,
        paths,
        table,
        contents,
        np.repeat(tmp, n_w),
        np.ones(n_w, np.int64),
        np.ones(n_w, np.int64),
        0.0,
        ARCHIVE_FILES,
        "x",
    )

    def base_file(family: I64, index: I64) -> I64:
        return base.file_start[family] + index

    # ---- templates: what a layer holds (table slices), shared by its rebuilds
    t_base = templates.new(n_f * n_v)  # (f, v)
    fam_v = (np.repeat(np.arange(n_f), n_v), np.tile(np.arange(n_v), n_f))
    templates.add(t_base, region_usr, 2)
    templates.add(t_base, base.block(fam_v[0], fam_v[1]), base.block_len[fam_v[0]])

    t_rtdeps = templates.new(n_r * n_v)  # (r, v): apt-get on base version v
    rt_v = (np.repeat(np.arange(n_r), n_v), np.tile(np.arange(n_v), n_r))
    templates.add(t_rtdeps, region_usr, 2)
    templates.add(t_rtdeps, rtdeps.block(rt_v[0], rt_v[1]), rtdeps.block_len[rt_v[0]])
    fam_of_rt = rt_v[0] % n_f
    ow = _distinct_draws(rng, base.size[fam_of_rt], 2)  # upgrades base files
    _overwrites(rng, table, contents, templates, t_rtdeps, fam_of_rt, ow, base_file)

    t_runtime = templates.new(n_r * n_u)  # (r, u)
    rt_u = (np.repeat(np.arange(n_r), n_u), np.tile(np.arange(n_u), n_r))
    templates.add(t_runtime, region_usr, 2)
    templates.add(t_runtime, runtime.block(rt_u[0], rt_u[1]), runtime.block_len[rt_u[0]])
    t_config = templates.new(n_r * n_u)  # (r, u): reproducible
    templates.add(t_config, region_usr, 2)
    templates.add(t_config, config.block(rt_u[0], rt_u[1]), config.block_len[rt_u[0]])

    # dependency layers (app, slot): packages, and base files overwritten in slot 0
    dep_offsets = csr_offsets(slots)
    t_deps = templates.new(int(dep_offsets[-1]))
    dep_app = csr_rows(dep_offsets)
    dep_slot = ranges(np.zeros(n_apps, np.int64), slots)
    templates.add(t_deps, region_usr, 2)
    n_pick = np.minimum(1 + rng.poisson(1.5, t_deps.size), 6)
    pick_template = np.repeat(t_deps, n_pick)
    pick = _zipf(rng, n_packages, pick_template.size, 0.9)
    once = np.ones(pick.size, np.bool_)
    order = stable_order(combine(pick_template, pick, n_packages))
    key = combine(pick_template, pick, n_packages)[order]
    once[order[1:]] = key[1:] != key[:-1]
    pick_template, pick = pick_template[once], pick[once]
    release = (rng.random(pick.size) * packages.versions[pick]).astype(np.int64)
    templates.add(pick_template, packages.block(pick, release), packages.block_len[pick])
    first_slot = t_deps[dep_slot == 0]
    overwriting = rng.random(first_slot.size) < 0.4
    ow_app = dep_app[dep_slot == 0][overwriting]
    ow = _distinct_draws(rng, base.size[app_base[ow_app]], 2)
    _overwrites(
        rng, table, contents, templates, first_slot[overwriting], app_base[ow_app], ow, base_file
    )

    # the wasteful pattern: fetch an archive, unpack it, delete it in a later step
    t_fetch = templates.new(n_w)
    templates.add(t_fetch, region_tmp, 1)
    templates.add(t_fetch, archive.block(np.arange(n_w), 0), archive.block_len)
    t_unpack = templates.new(n_w)
    templates.add(t_unpack, region_opt, 1)
    templates.add(t_unpack, unpacked.block(np.arange(n_w), 0), unpacked.block_len)
    t_clean = templates.new(n_w)
    templates.add(t_clean, region_tmp, 1)
    whole_dir = rng.random(n_w) < 0.5  # `rm -rf /tmp/x` (dir whiteout) or `rm /tmp/x/a.tgz`
    templates.add(t_clean, archive.block(np.arange(n_w), 0), np.where(whole_dir, 0, 1))
    gone = np.where(whole_dir, archive.dir_start, archive.file_start)
    templates.add(t_clean, table.add(gone, WHITEOUT), 1)
    wo = _distinct_draws(rng, base.size[app_base[waste_apps]], 2)
    wo[rng.random(n_w) >= 0.5] = -1  # half of them also delete base files
    keep = wo >= 0
    n_wo = keep.sum(axis=1)
    wo_paths = base_file(np.repeat(app_base[waste_apps], n_wo), wo[keep])
    wo_start = table.add(wo_paths, WHITEOUT)
    templates.add(np.repeat(t_clean, n_wo), wo_start + np.arange(wo_paths.size), 1)

    # app code, one template per app version
    code_offsets = csr_offsets(versions)
    t_code = templates.new(int(code_offsets[-1]))
    code_app = csr_rows(code_offsets)
    code_version = ranges(np.zeros(n_apps, np.int64), versions)
    templates.add(t_code, region_srv, 1)
    code_block = code.block(code_app, code_version)
    templates.add(t_code, code_block, 1)  # its first directory: an opaque marker may follow
    templates.add(t_code, code_block + 1, code.block_len[code_app] - 1)
    opaque_row = table.add(code.dir_start, OPAQUE)  # one marker per app, used if opaque
    templates.add(t_code, opaque_row + code_app, opaque_code[code_app].astype(np.int64))

    # ---- layers: infra first, then app layers per build group (app, parent version)
    layer_template: list[I64] = []
    n_layers = 0

    def new_layers(of_template: I64) -> I64:
        nonlocal n_layers
        layer_template.append(of_template)
        ids = np.arange(n_layers, n_layers + of_template.size, dtype=np.int64)
        n_layers += of_template.size
        return ids

    l_base = new_layers(t_base)
    l_rtdeps = new_layers(t_rtdeps)
    rvu = np.arange(n_r * n_v * n_u)
    rvu_r, rvu_v, rvu_u = rvu // (n_v * n_u), (rvu // n_u) % n_v, rvu % n_u
    l_runtime = new_layers(t_runtime[rvu_r * n_u + rvu_u])  # rebuilt on every base version
    l_config = new_layers(t_config)  # one layer on every base version

    infra_counts = np.concatenate([np.ones(n_f * n_v, np.int64), np.full(rvu.size, 4)])
    infra_layers = np.concatenate(
        [
            l_base,
            np.stack(
                [
                    l_base[(rvu_r % n_f) * n_v + rvu_v],
                    l_rtdeps[rvu_r * n_v + rvu_v],
                    l_runtime,
                    l_config[rvu_r * n_u + rvu_u],
                ],
                axis=1,
            ).ravel(),
        ]
    )
    infra_offsets = csr_offsets(infra_counts)

    image_app = code_app  # app image k is version code_version[k] of app code_app[k]
    parent_version = np.minimum(
        app_start[image_app] + code_version // rebase_every[image_app], n_v - 1
    )
    parent_image = np.where(
        on_runtime[image_app],
        n_f * n_v + (app_family[image_app] * n_v + parent_version) * n_u + app_release[image_app],
        app_family[image_app] * n_v + parent_version,
    )
    # a build group shares its dependency layers: same app and parent version (cached builds),
    # every version its own (uncached), or one for all versions (reproducible: same tars)
    build_key = np.where(uncached[image_app], n_v + code_version, parent_version)
    build_key = np.where(reproducible[image_app], 0, build_key)
    group_key = combine(image_app, build_key, n_v + int(versions.max()))
    new_group = np.ones(group_key.size, np.bool_)
    new_group[1:] = group_key[1:] != group_key[:-1]  # images of an app are contiguous
    group_of_image = np.cumsum(new_group) - 1
    group_app = image_app[new_group]

    g_slots = slots[group_app]
    dep_layers = new_layers(t_deps[ranges(dep_offsets[group_app], g_slots)])
    g_dep_first = dep_layers[csr_offsets(g_slots)[:-1]]
    w_index = np.cumsum(wasteful) - 1  # wasteful app -> its index among wasteful apps
    g_waste = wasteful[group_app]
    g_w = w_index[group_app][g_waste]
    waste_layers = new_layers(np.stack([t_fetch[g_w], t_unpack[g_w], t_clean[g_w]], 1).ravel())
    g_waste_first = np.full(group_app.size, -1, np.int64)
    g_waste_first[g_waste] = waste_layers[::3]
    l_code = new_layers(t_code)

    # app image stacks: the parent's layers, deps, waste, code
    own_counts = slots[image_app] + 3 * wasteful[image_app] + 1
    own_offsets = csr_offsets(own_counts)
    own = np.empty(int(own_offsets[-1]), np.int64)
    g = group_of_image
    own[ranges(own_offsets[:-1], slots[image_app])] = ranges(g_dep_first[g], slots[image_app])
    w3 = 3 * wasteful[image_app].astype(np.int64)
    own[ranges(own_offsets[:-1] + slots[image_app], w3)] = ranges(
        np.maximum(g_waste_first[g], 0), w3
    )
    own[own_offsets[1:] - 1] = l_code
    parent_counts = infra_counts[parent_image]
    app_counts = parent_counts + own_counts
    counts = np.concatenate([infra_counts, app_counts])
    image_offsets = csr_offsets(counts)
    image_layers = np.empty(int(image_offsets[-1]), np.int64)
    image_layers[: infra_layers.size] = infra_layers
    app_off = image_offsets[infra_counts.size : -1]
    image_layers[ranges(app_off, parent_counts)] = infra_layers[
        ranges(infra_offsets[parent_image], parent_counts)
    ]
    image_layers[ranges(app_off + parent_counts, own_counts)] = own[
        ranges(own_offsets[:-1], own_counts)
    ]

    # ---- entries: each layer's template slices, gathered from the table
    # canonical arrays (what the engine's fast path expects, as the generator's are): path
    # ids in preorder, each layer's entries sorted by (path, kind)
    old_parent = paths.parent()
    preorder, _, _ = forest_preorder(old_parent)
    path_parent = np.full(paths.size, -1, np.int64)
    has_parent = old_parent >= 0
    path_parent[preorder[has_parent]] = preorder[old_parent[has_parent]]
    tb_path = preorder[np.concatenate(table.path)]
    tb_kind = np.concatenate(table.kind).astype(np.int8)

    layer_t = np.concatenate(layer_template)
    t_offsets, t_start, t_count = templates.slices(tb_path * 8 + tb_kind)
    t_entries = np.bincount(
        np.repeat(np.arange(templates.size), np.diff(t_offsets)),
        weights=t_count,
        minlength=templates.size,
    ).astype(np.int64)
    slice_rows = ranges(t_offsets[layer_t], np.diff(t_offsets)[layer_t])
    rows = ranges(t_start[slice_rows], t_count[slice_rows])
    layer_offsets = csr_offsets(t_entries[layer_t])

    entry_path, entry_kind = tb_path[rows], tb_kind[rows]
    entry_content = np.concatenate(table.content)[rows]
    del rows, tb_path, tb_kind, table  # the population is what stays; keep the peak low
    content_file = np.concatenate(contents.file_bytes)
    content_class = np.concatenate(contents.klass)
    compression = CompressionModel()
    ratio = np.array([DEFAULT_CLASS_RATIOS_PERMILLE[c] for c in CLASSES], np.int64)
    content_comp = -(-content_file * 1000 // ratio[content_class])
    has_content = entry_content >= 0
    content_or_0 = np.maximum(entry_content, 0)
    entry_file = np.where(has_content, content_file[content_or_0], 0)
    header_comp = -(-HEADER_BYTES * 1000 // compression.metadata_ratio_permille)
    entry_comp = header_comp + np.where(has_content, content_comp[content_or_0], 0)
    del has_content, content_or_0
    entry_tar = HEADER_BYTES + -(-entry_file // TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES
    # every layer has entries (its directories at least): segment sums by reduceat
    layer_tar = np.add.reduceat(entry_tar, layer_offsets[:-1]) + TAR_END_BYTES
    layer_comp = np.add.reduceat(entry_comp, layer_offsets[:-1]) + compression.blob_overhead_bytes()

    # ---- names, repositories, registry
    n_img = spec.n_images
    names = [f"base{f}:{v}" for f in range(n_f) for v in range(n_v)]
    names += [f"rt{r}:{v}.{u}" for r, v, u in zip(rvu_r, rvu_v, rvu_u, strict=True)]
    names += [f"app{a}:{j}" for a, j in zip(image_app.tolist(), code_version.tolist(), strict=True)]
    repository = np.concatenate([fam_v[0], n_f + rvu_r, n_f + n_r + image_app]).astype(np.int64)
    infra = n_f * n_v + rvu.size
    push_order = np.concatenate(
        [np.arange(infra), infra + stable_order(combine(code_version, image_app, n_apps))]
    )

    # ---- nodes: the last versions of the apps each runs, in rollout order
    n_nodes = spec.n_nodes if spec.n_nodes is not None else max(2, n_img // 50)
    hosted = 1 + rng.poisson(max(spec.apps_per_node - 1, 0), n_nodes)
    host_node = np.repeat(np.arange(n_nodes), hosted)
    host_app = _zipf(rng, n_apps, host_node.size, 0.8)
    k = combine(host_node, host_app, n_apps)
    order = stable_order(k)
    distinct = np.ones(k.size, np.bool_)
    distinct[order[1:]] = k[order][1:] != k[order][:-1]
    host_node, host_app = host_node[distinct], host_app[distinct]
    pulled = np.minimum(versions[host_app], 1 + rng.binomial(2, 0.35, host_node.size))
    pull_node = np.repeat(host_node, pulled)
    pull_app = np.repeat(host_app, pulled)
    step = ranges(np.zeros(pulled.size, np.int64), pulled)
    pull_version = versions[pull_app] - np.repeat(pulled, pulled) + step
    order = stable_order(combine(combine(pull_node, step, 3), pull_app, n_apps))
    pull_node, pull_app, pull_version = pull_node[order], pull_app[order], pull_version[order]
    node_images = infra + code_offsets[pull_app] + pull_version
    node_offsets = csr_offsets(np.bincount(pull_node, minlength=n_nodes))

    # ---- a few containers: writes, a copy-up and a delete of the app's own code files
    n_c = min(spec.max_containers, 2 * n_nodes)
    c_node = np.sort(rng.integers(0, n_nodes, n_c))
    per_node = np.diff(node_offsets)[c_node]
    c_image = node_images[node_offsets[c_node] + (rng.random(n_c) * per_node).astype(np.int64)]
    c_app = image_app[c_image - infra]
    n_writes = rng.integers(0, 4, n_c)
    writes = np.exp(rng.normal(np.log(64_000), 1.5, int(n_writes.sum()))).astype(np.int64)
    modifies = rng.random(n_c) < 0.5
    changed = np.where(rng.random(n_c) < 0.5, -1, rng.integers(1, 20_000, n_c))
    deletes = rng.random(n_c) < 0.3
    running = rng.random(n_c) < 0.8

    small = paths.size <= spec.names_limit
    path_names = None
    if small:
        by_old = paths.names()
        ordered = [""] * paths.size
        for old_id, new_id in enumerate(preorder.tolist()):
            ordered[new_id] = by_old[old_id]
        path_names = tuple(ordered)
    arrays = PopulationArrays(
        path_parent=path_parent,
        content_file_bytes=content_file,
        content_compressed_bytes=content_comp,
        layer_offsets=layer_offsets,
        entry_path=entry_path,
        entry_kind=entry_kind,
        entry_content=entry_content,
        entry_file_bytes=entry_file,
        entry_tar_bytes=entry_tar,
        entry_compressed_bytes=entry_comp,
        layer_blob=np.arange(n_layers, dtype=np.int64),
        layer_tar_bytes=layer_tar,
        layer_compressed_bytes=layer_comp,
        image_offsets=image_offsets,
        image_layers=image_layers,
        image_repository=repository,
        image_names=tuple(names),
        push_order=push_order,
        node_names=tuple(f"node{n}" for n in range(n_nodes)),
        node_offsets=node_offsets,
        node_images=node_images,
        container_names=tuple(f"c{k}" for k in range(n_c)),
        container_node=c_node,
        container_image=c_image,
        container_running=running,
        write_offsets=csr_offsets(n_writes),
        write_file_bytes=writes,
        modify_offsets=csr_offsets(modifies.astype(np.int64)),
        modify_path=preorder[code.file_start[c_app[modifies]]],
        modify_changed_bytes=changed[modifies],
        delete_offsets=csr_offsets(deletes.astype(np.int64)),
        delete_path=preorder[code.file_start[c_app[deletes]] + 1],
        options=spec.options,
        blob_overhead_bytes=compression.blob_overhead_bytes(),
        path_names=path_names,
        content_classes=tuple(CLASSES[c] for c in content_class.tolist()) if small else None,
    )
    return arrays


def _overwrites(
    rng: np.random.Generator,
    table: _Table,
    contents: _Contents,
    templates: _Templates,
    template: I64,
    family: I64,
    draws: I64,
    base_file: Callable[[I64, I64], I64],
) -> None:
    """Rows that overwrite base files with new contents, added to their templates."""
    keep = draws >= 0
    n = keep.sum(axis=1)
    owner = np.repeat(template, n)
    path = base_file(np.repeat(family, n), draws[keep])
    first = contents.add(path.size, BASE_FILES.median_bytes, BASE_FILES.sigma, BASE_FILES.class_p)
    start = table.add(path, FILE, first + np.arange(path.size))
    templates.add(owner, start + np.arange(path.size), 1)


# --------------------------------------------------------------------------- checks


def check(arrays: PopulationArrays) -> None:
    """Raise AssertionError unless every layer is one a real tar could be (as
    `model.check_layer_entries` requires) and every size follows `model.make_entry`."""
    arrays.validate()
    n_paths = max(arrays.n_paths, 1)
    layer = csr_rows(arrays.layer_offsets)
    kind = arrays.entry_kind.astype(np.int64)
    keys = combine(layer, arrays.entry_path, n_paths)
    order = stable_order(combine(keys, kind, 8))
    k, kk = keys[order], kind[order]
    twice = k[1:] == k[:-1]
    assert np.all((kk[:-1][twice] == DIR) & (kk[1:][twice] == OPAQUE)), "a path twice in a layer"
    leaf_kinds = (kind == FILE) | (kind == SYMLINK) | (kind == HARDLINK) | (kind == WHITEOUT)
    leaf_keys = np.sort(keys[leaf_kinds])
    cursor = arrays.path_parent[arrays.entry_path]
    rows = np.arange(kind.size)
    while rows.size:
        alive = cursor >= 0
        rows, cursor = rows[alive], cursor[alive]
        hit = lookup(leaf_keys, combine(layer[rows], cursor, n_paths))
        assert np.all(hit < 0), "an entry below a non-directory of its own layer"
        cursor = arrays.path_parent[cursor]
    assert np.all(arrays.path_parent < np.arange(arrays.n_paths)), "path ids not a preorder"
    step = np.diff(combine(arrays.entry_path, kind, 8))
    same_layer = layer[1:] == layer[:-1]
    assert np.all(step[same_layer] > 0), "a layer's entries not sorted by (path, kind)"
    file_bytes = arrays.entry_file_bytes
    assert np.array_equal(
        arrays.entry_tar_bytes, HEADER_BYTES + -(-file_bytes // TAR_BLOCK_BYTES) * TAR_BLOCK_BYTES
    )
    sums = np.bincount(layer, arrays.entry_tar_bytes, arrays.n_layers) + TAR_END_BYTES
    assert np.array_equal(arrays.layer_tar_bytes, sums.astype(np.int64))
    is_file = kind == FILE
    assert np.array_equal(
        file_bytes[is_file], arrays.content_file_bytes[arrays.entry_content[is_file]]
    )
