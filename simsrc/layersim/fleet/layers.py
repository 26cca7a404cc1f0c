"""The layers every build makes, before they are numbered by first use in an image.

A build's layer is an *instance*: a list of segments (tree, version), laid side by side in
path order. Bases make one instance per version, runtimes one per (version, layer), an app
build its dependency layers (the ecosystem's prefix tree plus each package at its resolved
version, plus the rebuild noise if its builds are not reproducible), the archive layer if it has one, and its code layers (the first with the archive's
whiteout). A build makes new layers unless the app's builds are reproducible: then an
unchanged dependency layer is the *same* layer as the first instance with the same ecosystem,
packages and versions (`rep`), shared by every such app, and the archive layer is the app's
first one. Images (which instances they stack, in which order) are images.py's; the entries of
a layer are entries.py's.
"""

from __future__ import annotations

from dataclasses import dataclass, field

import numpy as np

from layersim.accounting.arrays import I64, Bool, csr_offsets
from layersim.accounting.sortops import ranges
from layersim.fleet.apps import Apps, Builds, Dependencies
from layersim.fleet.code import AppTrees
from layersim.fleet.groups import local_index
from layersim.fleet.packages import Packages
from layersim.fleet.parents import Bases, Runtimes
from layersim.fleet.presets import LayerKind
from layersim.fleet.trees import TreeTable


@dataclass(frozen=True, eq=False)
class Layers:
    """Every instance: its segments (CSR `seg_offsets` into `seg_tree`, `seg_version`), kind,
    owner (family, runtime or app) and version (release or build number), and `rep`, the
    instance it is the same layer as (itself unless reused). `base[f][v]` and
    `runtime[r][u, i]` are the parents' instances; `own_offsets` / `own_layers` (CSR by
    build) every app build's own layers in stack order (dependencies, archive, code), as `rep`."""

    seg_offsets: I64
    seg_tree: I64
    seg_version: I64
    kind: I64
    owner: I64
    version: I64
    rep: I64
    base: tuple[I64, ...]
    runtime: tuple[I64, ...]
    own_offsets: I64
    own_layers: I64

    def segments(self, instances: I64) -> Segments:
        """The segments of the layers `instances`, layer by layer in that order."""
        seg_count = np.diff(self.seg_offsets)[instances]
        segs = ranges(self.seg_offsets[:-1][instances], seg_count)
        layer = np.repeat(np.arange(instances.size, dtype=np.int64), seg_count)
        return Segments(layer, self.seg_tree[segs], self.seg_version[segs], int(instances.size))


@dataclass(frozen=True, eq=False)
class Segments:
    """The segments of a list of layers, in order: each one's layer (index in the list), tree
    and tree version."""

    layer: I64
    tree: I64
    version: I64
    n_layers: int


@dataclass
class _Made:
    """The instances made so far (local to `build_layers`), concatenated at the end."""

    parts: list[tuple[I64, I64, I64, I64, I64, I64]] = field(default_factory=list)
    count: int = 0

    def add(
        self, seg_tree: I64, seg_version: I64, nseg: I64, kind: int, owner: I64, version: I64
    ) -> I64:
        """Instances of `kind` with `nseg` segments each (their trees and tree versions
        concatenated), each with its owner and version; returns their ids."""
        nseg = np.asarray(nseg, np.int64)
        self.parts.append(
            (
                np.asarray(seg_tree, np.int64),
                np.asarray(seg_version, np.int64),
                nseg,
                np.full(nseg.size, kind, np.int64),
                np.asarray(owner, np.int64),
                np.asarray(version, np.int64),
            )
        )
        start, self.count = self.count, self.count + nseg.size
        return np.arange(start, self.count, dtype=np.int64)


def build_layers(
    bases: Bases,
    runtimes: Runtimes,
    packages: Packages,
    apps: Apps,
    builds: Builds,
    deps: Dependencies,
    app_trees: AppTrees,
    trees: TreeTable,
    code_layers: int,
    rng: np.random.Generator,
) -> Layers:
    """Make every build's instances; draw the hashes that find reproducible reuse."""
    # Canonical entry order comes from the segment order made here: within a layer the trees
    # lie in disjoint subtrees in path order (an ecosystem's prefix directories, its
    # ancestors, first; packages by id; app code before /tmp), each tree sorted by path.
    first_path = trees.path[trees.entry_offsets[:-1]]
    assert first_path[app_trees.code_tree[0]] < first_path[app_trees.whiteout_tree]
    made = _Made()
    base_inst, runtime_inst = _parent_instances(made, bases, runtimes)
    dep_inst, same_deps = _dependency_instances(
        made, packages, apps, builds, deps, app_trees.noise_tree, trees, rng
    )
    waste_inst, b_waste, first_waste = _waste_instances(made, apps, builds, app_trees)
    code_inst = _code_instances(made, apps, builds, app_trees, code_layers)
    rep = np.arange(made.count, dtype=np.int64)
    rep[dep_inst] = dep_inst[same_deps]
    w_app = builds.app[b_waste]
    w_repro = apps.reproducible[w_app]
    rep[waste_inst[w_repro]] = first_waste[w_app[w_repro]]

    # own layers of every build, in stack order: deps (slot order), waste, code
    n_builds, C = builds.count, code_layers
    has_w = apps.waste[builds.app]
    n_dep = np.bincount(deps.pair_build, minlength=n_builds)
    own_offsets = csr_offsets(n_dep + has_w + C)
    own = np.empty(int(own_offsets[-1]), np.int64)
    # the (slot, build) pairs are build-major already
    own[own_offsets[deps.pair_build] + local_index(n_dep)] = rep[dep_inst]
    own[own_offsets[b_waste] + n_dep[b_waste]] = rep[waste_inst]
    own[np.repeat(own_offsets[1:] - C, C) + np.tile(np.arange(C), n_builds)] = rep[code_inst]

    seg_tree, seg_version, nseg, kind, owner, version = (
        np.concatenate(x) for x in zip(*made.parts, strict=True)
    )
    return Layers(
        seg_offsets=csr_offsets(nseg),
        seg_tree=seg_tree,
        seg_version=seg_version,
        kind=kind,
        owner=owner,
        version=version,
        rep=rep,
        base=base_inst,
        runtime=runtime_inst,
        own_offsets=own_offsets,
        own_layers=own,
    )


def _parent_instances(
    made: _Made, bases: Bases, runtimes: Runtimes
) -> tuple[tuple[I64, ...], tuple[I64, ...]]:
    """One instance per base version; one per (runtime version, layer), as a (versions x
    layers) array per runtime."""
    base_inst = []
    for f, rel in enumerate(bases.release_epochs):
        v = np.arange(len(rel), dtype=np.int64)
        ones = np.ones(v.size, np.int64)
        tree = np.full(v.size, bases.tree[f])
        base_inst.append(made.add(tree, v, ones, LayerKind.BASE, np.full(v.size, f), v))
    runtime_inst = []
    for r, rel in enumerate(runtimes.release_epochs):
        layer_trees = runtimes.trees[r]
        n_v, n_l = len(rel), layer_trees.size
        v = np.repeat(np.arange(n_v, dtype=np.int64), n_l)
        t = np.tile(layer_trees, n_v)
        ones = np.ones(v.size, np.int64)
        inst = made.add(t, v, ones, LayerKind.RUNTIME, np.full(v.size, r), v)
        runtime_inst.append(inst.reshape(n_v, n_l))
    return tuple(base_inst), tuple(runtime_inst)


def _dependency_instances(
    made: _Made,
    packages: Packages,
    apps: Apps,
    builds: Builds,
    deps: Dependencies,
    noise_tree: I64,
    trees: TreeTable,
    rng: np.random.Generator,
) -> tuple[I64, I64]:
    """One instance per (slot, build) pair: the prefix tree, then the slot's packages at their
    resolved versions, then (builds that are not reproducible) the slot's noise tree at the
    build's version. Returns (instances, for each the position among them of the instance it
    is the same layer as)."""
    sb = deps.pair_slot
    npk = np.diff(deps.package_offsets)[sb]
    pkg = deps.slot_package[ranges(deps.package_offsets[sb], npk)]
    pkg_version = packages.version_at[pkg, np.repeat(deps.pair_resolved_epoch, npk)]
    noise = noise_tree[sb]
    has_noise = (noise >= 0).astype(np.int64)
    nseg = npk + 1 + has_noise
    first = csr_offsets(nseg)[:-1]
    d_tree = np.empty(int(nseg.sum()), np.int64)
    d_version = np.zeros_like(d_tree)
    is_package = np.ones(d_tree.size, np.bool_)
    is_package[first] = False
    last = first + nseg - 1
    noisy = has_noise > 0
    is_package[last[noisy]] = False
    sb_app = deps.slot_app[sb]
    build_version = builds.version[deps.pair_build]
    d_tree[first] = packages.prefix_tree[deps.slot_eco[sb]]
    d_tree[is_package] = packages.package_tree[pkg]
    d_version[is_package] = pkg_version
    # the rebuild noise last (its directory follows the packages in path order)
    d_tree[last[noisy]] = noise[noisy]
    d_version[last[noisy]] = build_version[noisy]
    dep_inst = made.add(d_tree, d_version, nseg, LayerKind.DEPS, sb_app, build_version)
    # reproducible dependency layers: same ecosystem, packages and versions -> same layer. A
    # layer's key is the sum of random 63-bit hashes of its (package tree, version) pairs and
    # of its ecosystem: equal keys for different sets are vanishingly unlikely.
    tv_offsets = csr_offsets(trees.versions)
    hashes = rng.integers(0, 2**63, size=int(tv_offsets[-1]), dtype=np.int64).view(np.uint64)
    salt = rng.integers(0, 2**63, size=len(packages.ecosystems), dtype=np.int64).view(np.uint64)
    pkg_hash = hashes[tv_offsets[packages.package_tree[pkg]] + pkg_version]
    key = np.add.reduceat(pkg_hash, csr_offsets(npk)[:-1]) if pkg.size else pkg_hash
    key = key + salt[deps.slot_eco[sb]]
    return dep_inst, _first_with_same_key(key, apps.reproducible[sb_app])


def _first_with_same_key(key: I64, reproducible: Bool) -> I64:
    """For each position, the first reproducible position with the same key if it is
    reproducible itself, else its own position."""
    same = np.arange(key.size, dtype=np.int64)
    repro = np.flatnonzero(reproducible)
    if repro.size:
        k = key[repro]
        order = np.argsort(k, kind="stable")
        ks = k[order]
        starts = np.ones(ks.size, np.bool_)
        starts[1:] = ks[1:] != ks[:-1]
        same[repro[order]] = repro[order][starts][np.cumsum(starts) - 1]
    return same


def _waste_instances(
    made: _Made, apps: Apps, builds: Builds, app_trees: AppTrees
) -> tuple[I64, I64, I64]:
    """One archive instance per build of an app with the pattern. Returns (instances, their
    builds, per app its first build's instance, -1 for none)."""
    b_waste = np.flatnonzero(apps.waste[builds.app])
    w_app = builds.app[b_waste]
    ones = np.ones(b_waste.size, np.int64)
    waste_tree = app_trees.waste_tree[w_app]
    zeros = np.zeros(b_waste.size, np.int64)
    waste_inst = made.add(waste_tree, zeros, ones, LayerKind.WASTE, w_app, builds.version[b_waste])
    first_waste = np.full(apps.count, -1, np.int64)
    k0 = builds.version[b_waste] == 0
    first_waste[w_app[k0]] = waste_inst[k0]
    return waste_inst, b_waste, first_waste


def _code_instances(
    made: _Made, apps: Apps, builds: Builds, app_trees: AppTrees, code_layers: int
) -> I64:
    """`code_layers` instances per build (build-major): the app's code trees at the build's
    version, the first one followed by the archive's whiteout if the app has the pattern."""
    C, n_builds = code_layers, builds.count
    has_w = apps.waste[builds.app]
    ci_build = np.repeat(np.arange(n_builds, dtype=np.int64), C)
    ci_block = np.tile(np.arange(C, dtype=np.int64), n_builds)
    ci_app = builds.app[ci_build]
    nseg = 1 + (has_w[ci_build] & (ci_block == 0)).astype(np.int64)
    c_first = csr_offsets(nseg)[:-1]
    c_tree = np.full(int(nseg.sum()), app_trees.whiteout_tree, np.int64)
    c_version = np.zeros_like(c_tree)
    c_tree[c_first] = app_trees.code_tree[ci_app * C + ci_block]
    c_version[c_first] = builds.version[ci_build]
    return made.add(c_tree, c_version, nseg, LayerKind.CODE, ci_app, builds.version[ci_build])
