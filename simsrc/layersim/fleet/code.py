"""The trees an app build writes itself: its code, the add-then-delete archive, and the
per-rebuild noise of its dependency layers.

Code: every app keeps its code in `app/src` (one pool of paths shared by every app: the first
n files are the same paths for every app with n files, with other contents). Its files split
in order over `apps.code_layers` layers, one versioned tree each; each rebuild changes a share
of each one's files, at least one. The archive: an app with the pattern adds `tmp/fetch.tar.gz`
in a layer of its own and whites it out in its (first) code layer. Noise: each dependency slot
of an app whose builds are not reproducible (in an ecosystem that writes at install time:
system, python) has a tree of a few files (`apps.rebuild_noise_files`
of the slot's files, 1 to 16, in `<prefix>/rebuild`, one pool of paths per ecosystem) holding
`apps.rebuild_noise_bytes` of the slot's file bytes, every file rewritten by every build: what a
rebuild changes when it installs the same packages (timestamps, .pyc, metadata). Boilerplate:
an app's first `apps.boilerplate_fraction` code files copy one of `apps.boilerplate_variants`
templates per file slot (Zipf), shared across apps (`SharedFiles`, read by contents.py). Which
tree versions a build stacks is layers.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I64
from layersim.config import AppsConfig
from layersim.fleet.apps import Apps, Dependencies
from layersim.fleet.draws import draw_classes, draw_ranks, lognormal_bytes, zipf_cdf
from layersim.fleet.groups import local_index
from layersim.fleet.packages import Packages
from layersim.fleet.paths import DIRS_PER_GROUP, FILES_PER_DIR, PathTable
from layersim.fleet.presets import (
    ARCHIVE,
    BINARY,
    CODE_CLASS_MIX,
    CODE_COUNT_SIGMA,
    CODE_FILE_SIGMA,
    ECOSYSTEMS,
    TEXT,
    WASTE_SIGMA,
)
from layersim.fleet.trees import TreeBuilder
from layersim.model import EntryKind

CODE_DIR = "app/src"
# Where the add-then-delete archive goes (one path for every app; contents differ).
WASTE_DIR = "tmp"
WASTE_FILE = "fetch.tar.gz"
# Where a dependency layer's rebuild noise goes, below its ecosystem's prefix (after the
# packages in path order: created after them); at most one leaf directory of files.
NOISE_DIR = "rebuild"
NOISE_MAX_FILES = FILES_PER_DIR


@dataclass(frozen=True, eq=False)
class SharedFiles:
    """Tree files whose version-0 content is a shared template's (contents.py): each one's
    tree, file index within the tree and template key (files with one key have one size and
    class)."""

    tree: I64
    file: I64
    key: I64


@dataclass(frozen=True, eq=False)
class AppTrees:
    """Per app its number of code files; the pool of code file paths (builder ids: pass them
    through `Paths.renumber`), app `a`'s files being the first `code_files[a]`; the code trees
    (`code_layers` per app, app-major); per app its archive tree (-1: none); the one tree
    holding the archive's whiteout; per dependency slot its noise tree (-1: none, the app's
    builds are reproducible)."""

    code_files: I64
    pool_files: I64
    code_tree: I64
    waste_tree: I64
    whiteout_tree: int
    noise_tree: I64
    shared: SharedFiles


def build_app_trees(
    config: AppsConfig,
    apps: Apps,
    deps: Dependencies,
    packages: Packages,
    rng: np.random.Generator,
    paths: PathTable,
    trees: TreeBuilder,
) -> AppTrees:
    """Draw every app's code files into its code trees, then the archives, then the noise
    trees of its dependency slots."""
    code_files, pool_files, code_tree, shared = _code_trees(config, apps, rng, paths, trees)
    waste_tree, whiteout_tree = _waste_trees(config, apps, rng, paths, trees)
    noise_tree = _noise_trees(config, apps, deps, packages, paths, trees)
    return AppTrees(
        code_files, pool_files, code_tree, waste_tree, whiteout_tree, noise_tree, shared
    )


def _code_trees(
    config: AppsConfig,
    apps: Apps,
    rng: np.random.Generator,
    paths: PathTable,
    trees: TreeBuilder,
) -> tuple[I64, I64, I64, SharedFiles]:
    """(code files per app, the pool's file paths, the code trees, the boilerplate files)."""
    A, C = config.count, config.code_layers
    # at least one code file per code layer
    n_code = np.maximum(
        C, np.round(config.code_files * np.exp(CODE_COUNT_SIGMA * rng.standard_normal(A)))
    )
    n_code = n_code.astype(np.int64)
    # one pool of code paths shared by every app (apps all keep their code in app/src)
    chain = paths.chain(CODE_DIR)
    pool_n = int(n_code.max())
    pool_dirs, _, pool_files, _ = paths.subtree(
        np.array([chain[-1]]), np.array([pool_n]), np.full(pool_n, TEXT, np.int8)
    )
    n_pool_groups = int(pool_dirs.size - (-(-pool_n // FILES_PER_DIR)))
    # one tree per (app, code layer), app-major: the code files of an app split in order
    # into `C` blocks, block c = files [ceil(c n / C), ceil((c + 1) n / C))
    code_tree = trees.new(A * C, np.repeat(apps.n_builds, C), config.code_change_fraction, True)
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
        trees.entries(code_tree, np.full(A * C, d), EntryKind.DIR)
    g_tree = np.repeat(code_tree, n_groups)
    g_dir = np.repeat(first_group, n_groups) + local_index(n_groups)
    trees.entries(g_tree, pool_dirs[g_dir], EntryKind.DIR)
    l_tree = np.repeat(code_tree, n_leaves)
    l_dir = n_pool_groups + np.repeat(first_leaf, n_leaves) + local_index(n_leaves)
    trees.entries(l_tree, pool_dirs[l_dir], EntryKind.DIR)
    file_app = np.repeat(np.arange(A, dtype=np.int64), n_code)
    file_block = local_index(n_code) * C // n_code[file_app]
    f_tree = code_tree[file_app * C + file_block]
    sizes = lognormal_bytes(rng, f_tree.size, config.code_file_bytes, CODE_FILE_SIGMA)
    classes = draw_classes(rng, f_tree.size, CODE_CLASS_MIX)
    # boilerplate: an app's first files copy a template (one size and class per template)
    pool_index = local_index(n_code)
    n_boiler = np.rint(config.boilerplate_fraction * n_code).astype(np.int64)
    boiler = np.flatnonzero(pool_index < n_boiler[file_app])
    V = config.boilerplate_variants
    variant = draw_ranks(rng, zipf_cdf(V, 1.0), boiler.size)
    key = pool_index[boiler] * V + variant
    n_keys = int(n_boiler.max(initial=0)) * V
    template_bytes = lognormal_bytes(rng, n_keys, config.code_file_bytes, CODE_FILE_SIGMA)
    sizes[boiler], classes[boiler] = template_bytes[key], TEXT
    trees.entries(f_tree, pool_files[pool_index], EntryKind.FILE, sizes, classes)
    # the file's index within its tree: its pool index less its block's first file
    first_of_block = -(-file_block * n_code[file_app] // C)
    shared = SharedFiles(tree=f_tree[boiler], file=(pool_index - first_of_block)[boiler], key=key)
    return n_code, pool_files, code_tree, shared


def _waste_trees(
    config: AppsConfig,
    apps: Apps,
    rng: np.random.Generator,
    paths: PathTable,
    trees: TreeBuilder,
) -> tuple[I64, int]:
    """(the archive tree per app, -1 for none; the whiteout tree)."""
    tmp = paths.chain(WASTE_DIR)[-1]
    archive = paths.file(tmp, WASTE_FILE, ARCHIVE)
    wasters = np.flatnonzero(apps.waste)
    waste_tree = np.full(config.count, -1, dtype=np.int64)
    waste_tree[wasters] = trees.new(wasters.size, 1, 0.0, False)
    trees.entries(waste_tree[wasters], np.full(wasters.size, tmp), EntryKind.DIR)
    waste_bytes = lognormal_bytes(rng, wasters.size, config.waste_bytes, WASTE_SIGMA)
    trees.entries(
        waste_tree[wasters], np.full(wasters.size, archive), EntryKind.FILE, waste_bytes, ARCHIVE
    )
    whiteout_tree = int(trees.new(1, 1, 0.0, False)[0])
    trees.dirs(whiteout_tree, [tmp])
    trees.entries(np.int64(whiteout_tree), np.array([archive]), EntryKind.WHITEOUT)
    return waste_tree, whiteout_tree


def _noise_trees(
    config: AppsConfig,
    apps: Apps,
    deps: Dependencies,
    packages: Packages,
    paths: PathTable,
    trees: TreeBuilder,
) -> I64:
    """The noise tree of every dependency slot (-1 for the slots of reproducible apps and of
    ecosystems without noise, `EcosystemPreset.rebuild_noise`): k =
    round(`rebuild_noise_files` x the slot's files), 1 to `NOISE_MAX_FILES`, files of equal
    size summing to `rebuild_noise_bytes` of the slot's file bytes, one version per build of
    the app, each version rewriting every file. Draws nothing."""
    n_pkgs = np.diff(deps.package_offsets)
    slot_of = np.repeat(np.arange(n_pkgs.size, dtype=np.int64), n_pkgs)
    files = np.bincount(slot_of, packages.package_files[deps.slot_package], n_pkgs.size)
    fbytes = np.bincount(slot_of, packages.package_file_bytes[deps.slot_package], n_pkgs.size)
    k = np.clip(np.rint(config.rebuild_noise_files * files), 1, NOISE_MAX_FILES).astype(np.int64)
    noisy_eco = np.array([ECOSYSTEMS[e].rebuild_noise for e in packages.ecosystems])
    noisy = np.flatnonzero(
        ~apps.reproducible[deps.slot_app]
        & noisy_eco[deps.slot_eco]
        & (config.rebuild_noise_bytes > 0)
    )
    noise_tree = np.full(n_pkgs.size, -1, dtype=np.int64)
    if noisy.size == 0:
        return noise_tree
    noise_tree[noisy] = trees.new(noisy.size, apps.n_builds[deps.slot_app[noisy]], 1.0, True)
    for e, eco in enumerate(packages.ecosystems):
        slots = noisy[deps.slot_eco[noisy] == e]
        if slots.size == 0:
            continue
        noise_dir = paths.chain(f"{ECOSYSTEMS[eco].prefix}/{NOISE_DIR}")[-1]
        dirs, _, pool, _ = paths.subtree(
            np.array([noise_dir]),
            np.array([NOISE_MAX_FILES]),
            np.full(NOISE_MAX_FILES, BINARY, np.int8),
        )
        trees.entries(noise_tree[slots], np.full(slots.size, noise_dir), EntryKind.DIR)
        trees.entries(noise_tree[slots], np.full(slots.size, dirs[0]), EntryKind.DIR)
        f_slot = np.repeat(slots, k[slots])
        size = np.floor(config.rebuild_noise_bytes * fbytes[f_slot] / k[f_slot]).astype(np.int64)
        trees.entries(noise_tree[f_slot], pool[local_index(k[slots])], EntryKind.FILE, size, BINARY)
    return noise_tree
