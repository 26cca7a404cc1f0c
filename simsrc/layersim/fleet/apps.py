"""Apps: who builds on what, how often, and with which dependencies.

An app draws a parent (runtimes then bases, Zipf by that rank), a lag (most track the newest
parent version, a tail stays behind), a rebuild cadence with its own phase, whether its builds
are reproducible and whether it has the add-then-delete pattern. Its dependency slots are a
system-packages layer and/or its runtime's ecosystem layer, each a fixed set of direct packages
(Zipf by popularity) with their dependencies (packages.py: drawn from a core of popular
packages), taken at the versions of the last dependency refresh. Deployed apps run a
number of replicas. The app's own code trees are code.py's; the layers a build makes are
layers.py's.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I64, Bool, csr_offsets
from layersim.accounting.sortops import first_occurrence, ranges, stable_order
from layersim.config import AppsConfig
from layersim.fleet.draws import distinct_per_row, draw_ranks, geometric, zipf_cdf
from layersim.fleet.groups import forward_fill_position, local_index
from layersim.fleet.packages import Packages
from layersim.fleet.presets import RUNTIME_PRESETS


@dataclass(frozen=True, eq=False)
class Apps:
    """Per app: its parent (an index into `parents.parent_names`), lag in parent versions,
    rebuild cadence and phase (epochs), number of builds within the horizon, and two flags."""

    parent: I64
    lag: I64
    cadence: I64
    phase: I64
    n_builds: I64
    reproducible: Bool
    waste: Bool

    @property
    def count(self) -> int:
        return int(self.parent.size)


@dataclass(frozen=True, eq=False)
class Builds:
    """Every app build, app-major: its app, its version within the app (0 = the first, at
    epoch 0), its epoch, and the parent version it builds on; `offsets` is CSR by app."""

    app: I64
    version: I64
    epoch: I64
    offsets: I64
    parent_version: I64

    @property
    def count(self) -> int:
        return int(self.app.size)


@dataclass(frozen=True, eq=False)
class Dependencies:
    """The dependency slots of every app (app-major; `app_slot_offsets` is CSR by app), each
    slot's ecosystem and packages (CSR `package_offsets`, packages in id order), and every
    (slot, build) pair in build-major order with the epoch its packages were resolved at."""

    slot_app: I64
    slot_eco: I64
    package_offsets: I64
    slot_package: I64
    app_slot_offsets: I64
    pair_slot: I64
    pair_build: I64
    pair_resolved_epoch: I64


def draw_apps(config: AppsConfig, n_parents: int, epochs: int, rng: np.random.Generator) -> Apps:
    """Draw every app's parent, lag, cadence, phase and flags."""
    A = config.count
    parent = draw_ranks(rng, zipf_cdf(n_parents, config.parent_zipf_exponent), A)
    lagging = rng.random(A) >= config.latest_share
    lag = np.where(lagging, geometric(rng, config.lag_mean, A), 0)
    cadence = geometric(rng, config.rebuild_every, A)
    phase = (rng.random(A) * cadence).astype(np.int64) + 1
    n_builds = 1 + np.where(phase <= epochs - 1, (epochs - 1 - phase) // cadence + 1, 0)
    reproducible = rng.random(A) < config.reproducible_probability
    waste = rng.random(A) < config.waste_probability
    return Apps(parent, lag, cadence, phase, n_builds, reproducible, waste)


def plan_builds(apps: Apps, parent_released: I64) -> Builds:
    """Every build's epoch (the first at epoch 0, then one per cadence from the phase) and its
    parent version: the newest at build time (`parent_released[parent, epoch]` versions out),
    minus the app's lag."""
    build_app = np.repeat(np.arange(apps.count, dtype=np.int64), apps.n_builds)
    build_k = local_index(apps.n_builds)
    build_epoch = np.where(
        build_k == 0, 0, apps.phase[build_app] + (build_k - 1) * apps.cadence[build_app]
    )
    newest = parent_released[apps.parent[build_app], build_epoch] - 1
    parent_version = np.maximum(newest - apps.lag[build_app], 0)
    return Builds(build_app, build_k, build_epoch, csr_offsets(apps.n_builds), parent_version)


def draw_dependencies(
    config: AppsConfig,
    apps: Apps,
    builds: Builds,
    packages: Packages,
    runtime_names: tuple[str, ...],
    rng: np.random.Generator,
) -> Dependencies:
    """Draw each app's dependency slots and their packages, then when each build refreshed
    them (a first build always does)."""
    A, n_rt, P = apps.count, len(runtime_names), packages.count
    on_runtime = apps.parent < n_rt
    has_system = ~on_runtime | (rng.random(A) < config.system_deps_probability)
    eco_index = {e: i for i, e in enumerate(packages.ecosystems)}
    runtime_eco = np.array(
        [eco_index[RUNTIME_PRESETS[r].ecosystem] for r in runtime_names] or [0], dtype=np.int64
    )
    n_slots = has_system.astype(np.int64) + on_runtime
    slot_app = np.repeat(np.arange(A, dtype=np.int64), n_slots)
    first_of_app = local_index(n_slots) == 0
    slot_eco = np.where(
        first_of_app & has_system[slot_app],
        0,
        runtime_eco[np.minimum(apps.parent[slot_app], max(n_rt - 1, 0))],
    )
    n_pkgs = np.minimum(1 + rng.poisson(config.packages_per_layer - 1.0, slot_app.size), P)
    pkg_slot = np.repeat(np.arange(slot_app.size, dtype=np.int64), n_pkgs)
    ranks = draw_ranks(rng, packages.rank_cdf, pkg_slot.size)
    ranks = distinct_per_row(rng, ranks, pkg_slot, np.full(slot_app.size, P, np.int64))
    direct = slot_eco[pkg_slot] * P + ranks
    pkg_slot, package = _closure(packages, pkg_slot, direct)
    n_pkgs = np.bincount(pkg_slot, minlength=slot_app.size).astype(np.int64)
    # packages of a layer in id order: their subtrees' path order (canonical entry order)
    slot_package = package[stable_order(pkg_slot * (len(packages.ecosystems) * P) + package)]
    app_slot_offsets = csr_offsets(n_slots)

    # (slot, build) pairs, slot-major within an app: when were dependencies last refreshed?
    sb_count = apps.n_builds[slot_app]
    sb_slot = np.repeat(np.arange(slot_app.size, dtype=np.int64), sb_count)
    sb_k = local_index(sb_count)
    sb_build = builds.offsets[slot_app[sb_slot]] + sb_k
    refreshed = (sb_k == 0) | (rng.random(sb_slot.size) < config.dep_update_probability)
    resolved = builds.epoch[sb_build[forward_fill_position(refreshed)]]
    # reorder to build-major (build, slot): the order layers appear in an image
    order = stable_order(
        sb_build * (int(n_slots.max()) + 1) + (sb_slot - app_slot_offsets[slot_app[sb_slot]])
    )
    return Dependencies(
        slot_app=slot_app,
        slot_eco=slot_eco,
        package_offsets=csr_offsets(n_pkgs),
        slot_package=slot_package,
        app_slot_offsets=app_slot_offsets,
        pair_slot=sb_slot[order],
        pair_build=sb_build[order],
        pair_resolved_epoch=resolved[order],
    )


def _closure(packages: Packages, pkg_slot: I64, direct: I64) -> tuple[I64, I64]:
    """The packages each slot installs: its `direct` packages and their dependencies
    (`Packages.dep_package`, one level: the dependencies are core packages, whose own
    dependencies are core packages too, mostly drawn already), each once. Returns (slot,
    package) pairs, the direct ones first."""
    n_dep = np.diff(packages.dep_offsets)[direct]
    dep = packages.dep_package[ranges(packages.dep_offsets[:-1][direct], n_dep)]
    slot = np.concatenate([pkg_slot, np.repeat(pkg_slot, n_dep)])
    package = np.concatenate([direct, dep])
    keep = first_occurrence(slot * (int(package.max(initial=0)) + 1) + package)
    return slot[keep], package[keep]


def draw_replicas(config: AppsConfig, rng: np.random.Generator) -> I64:
    """Per app, how many replicas run it (0: not deployed)."""
    A = config.count
    deployed = rng.random(A) < config.deployed_fraction
    replicas = 1 + rng.poisson(config.replicas_mean - 1.0, A)
    return np.where(deployed, replicas, 0).astype(np.int64)
