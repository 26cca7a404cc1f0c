"""Nodes: where deployed apps' replicas run, what each node pulls, and every container.

Replicas are placed `spread` (round robin over nodes in app order: the least-loaded node, ties
to the lowest id) or `binpack` (apps sorted by their parent family and version, i.e. by the
layers they share, filled node by node). Every app build rolls out to the nodes running the
app; each replica of each version is a container with a writable layer (files written; image
files modified, copied up), stopped at the next rollout; a stopped container lingers with
some probability until its image is garbage-collected (this module draws which; when that is,
is retention.py's).
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I64, Bool, csr_offsets
from layersim.accounting.sortops import first_occurrence, ranges, stable_order
from layersim.config import NodesConfig
from layersim.fleet.apps import Apps, Builds
from layersim.fleet.code import AppTrees
from layersim.fleet.draws import lognormal_bytes
from layersim.fleet.groups import local_index
from layersim.fleet.images import Images
from layersim.fleet.paths import Paths
from layersim.fleet.presets import CHANGED_BYTES_MEDIAN, CHANGED_BYTES_SIGMA, WRITE_SIGMA


@dataclass(frozen=True, eq=False)
class Replicas:
    """Every replica's app and node, ordered by (node, app)."""

    app: I64
    node: I64


@dataclass(frozen=True, eq=False)
class Placement:
    """Each node's pulls (CSR `node_offsets` into `node_images`, image ids in build order) and
    every container (replica by replica, a replica's containers in build order): its name,
    node, image, writable layer (writes, modifies; no deletes), start and stop epochs (`epochs`:
    still running at the end) and whether it lingers once stopped."""

    node_offsets: I64
    node_images: I64
    container_names: tuple[str, ...]
    container_node: I64
    container_image: I64
    container_running: Bool
    write_offsets: I64
    write_file_bytes: I64
    modify_offsets: I64
    modify_path: I64
    modify_changed_bytes: I64
    delete_offsets: I64
    container_start_epoch: I64
    container_stop_epoch: I64
    container_lingers: Bool


def place_replicas(config: NodesConfig, apps: Apps, builds: Builds, replicas: I64) -> Replicas:
    """Place every deployed app's `replicas` on the nodes by `config.placement`."""
    N = config.count
    deployed = np.flatnonzero(replicas > 0)
    if config.placement == "binpack":
        first_build = builds.offsets[:-1][deployed]
        key_parent = apps.parent[deployed]
        key_version = builds.parent_version[first_build]
        order = np.lexsort((deployed, key_version, key_parent))
        apps_in_order = deployed[order]
    else:
        apps_in_order = deployed
    rep_app = np.repeat(apps_in_order, replicas[apps_in_order])
    position = np.arange(rep_app.size, dtype=np.int64)
    if config.placement == "binpack":
        capacity = max(1, -(-rep_app.size // N))
        rep_node = position // capacity
    else:
        rep_node = position % N
    # order replicas by (node, app) for readable container lists
    order = np.lexsort((rep_app, rep_node))
    return Replicas(rep_app[order], rep_node[order])


def place(
    config: NodesConfig,
    apps: Apps,
    builds: Builds,
    replicas: I64,
    app_trees: AppTrees,
    paths: Paths,
    images: Images,
    epochs: int,
    rng: np.random.Generator,
) -> Placement:
    """Place the replicas, plan each node's pulls and every container: start at its build's
    epoch, stop at the next build's, whether it lingers once stopped, then its writable layer,
    whose modifies touch the app's code files."""
    N, A = config.count, apps.count
    image_of_build = images.of_build
    placed = place_replicas(config, apps, builds, replicas)
    rep_app, rep_node = placed.app, placed.node

    # node pulls: every build of every app the node runs, in build (image id) order
    pair_first = first_occurrence(rep_node * A + rep_app)
    na_node, na_app = rep_node[pair_first], rep_app[pair_first]
    nb = apps.n_builds[na_app]
    pull_node = np.repeat(na_node, nb)
    pull_image = image_of_build[ranges(builds.offsets[:-1][na_app], nb)]
    order = stable_order(pull_node * max(images.count, 1) + pull_image)
    pull_node, pull_image = pull_node[order], pull_image[order]

    # containers: one per replica per build of its app
    nb_rep = apps.n_builds[rep_app]
    c_rep = np.repeat(np.arange(rep_app.size, dtype=np.int64), nb_rep)
    c_app = rep_app[c_rep]
    c_k = local_index(nb_rep)
    c_build = builds.offsets[:-1][c_app] + c_k
    c_image = image_of_build[c_build]
    start = builds.epoch[c_build]
    last = c_k == nb_rep[c_rep] - 1
    stop = np.where(last, epochs, builds.epoch[np.minimum(c_build + 1, builds.epoch.size - 1)])
    linger = rng.random(c_rep.size) < config.linger_probability
    n_c = c_rep.size
    # writable layers: files written, then code files modified (a run of consecutive files
    # from a random one, wrapping around)
    n_writes = rng.poisson(config.writes_mean, n_c).astype(np.int64)
    write_bytes = lognormal_bytes(rng, int(n_writes.sum()), config.write_bytes, WRITE_SIGMA)
    F = app_trees.code_files[c_app]
    n_mod = np.minimum(rng.poisson(config.modifies_mean, n_c), F).astype(np.int64)
    first_file = (rng.random(n_c) * F).astype(np.int64)
    m_c = np.repeat(np.arange(n_c, dtype=np.int64), n_mod)
    m_file = (first_file[m_c] + local_index(n_mod)) % F[m_c]
    changed = lognormal_bytes(rng, m_c.size, CHANGED_BYTES_MEDIAN, CHANGED_BYTES_SIGMA)
    rep_ordinal = np.empty(rep_app.size, np.int64)
    rep_ordinal[stable_order(rep_app)] = local_index(np.bincount(rep_app, minlength=A))
    names = container_names(rep_node[c_rep], c_app, rep_ordinal[c_rep], c_k)
    return Placement(
        node_offsets=csr_offsets(np.bincount(pull_node, minlength=N)),
        node_images=pull_image,
        container_names=names,
        container_node=rep_node[c_rep],
        container_image=c_image,
        container_running=stop >= epochs,
        write_offsets=csr_offsets(n_writes),
        write_file_bytes=write_bytes,
        modify_offsets=csr_offsets(n_mod),
        modify_path=paths.renumber(app_trees.pool_files)[m_file],
        modify_changed_bytes=changed,
        delete_offsets=np.zeros(n_c + 1, np.int64),
        container_start_epoch=start,
        container_stop_epoch=stop,
        container_lingers=linger,
    )


def container_names(node: I64, app: I64, replica: I64, build: I64) -> tuple[str, ...]:
    """`node<n>/app<a>-r<replica of the app>-b<build of the app>` per container."""
    return tuple(
        f"node{n:05d}/app{a:05d}-r{j}-b{k}"
        for n, a, j, k in zip(
            node.tolist(), app.tolist(), replica.tolist(), build.tolist(), strict=True
        )
    )
