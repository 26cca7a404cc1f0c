"""Retention: when the registry and the nodes garbage-collect an image, and a container.

The policy (docs/design.md §8): the registry keeps the last `registry.retention` versions of each
repository, a node the last `nodes.retention` versions of each app it runs. An image falls out
at the end of the epoch that pushes the version `keep` places after it; with it go the stopped
containers that lingered on it. These functions compute those epochs for a whole fleet at once
(vectorized over images and containers) as part of the fleet's time plan, beside the build and
stop epochs they depend on; `simulation` replays the plan epoch by epoch. They draw nothing:
which containers linger is drawn by `placement`.

An epoch equal to the horizon (`epochs`) means "not within the horizon".
"""

from __future__ import annotations

import numpy as np

from layersim.accounting.arrays import I64, Bool


def gc_epochs(repository: I64, version: I64, epoch: I64, keep: int, epochs: int) -> I64:
    """Per image: the epoch at whose end a store keeping the last `keep` versions of each
    repository drops it, the build epoch of the version `keep` places later in its repository
    (versions numbered in build order), or `epochs` if there is none.

    Example: one repository with versions 0..3 built at epochs 0, 2, 3, 5, `keep` 2, horizon 8:
    version 0 goes at the end of epoch 3 (version 2 is pushed), version 1 at the end of 5,
    versions 2 and 3 stay (8)."""
    order = np.lexsort((version, repository))
    r, e = repository[order], epoch[order]
    later = np.arange(order.size) + keep
    ok = later < order.size
    ok[ok] = r[later[ok]] == r[ok]
    out_sorted = np.full(order.size, epochs, np.int64)
    out_sorted[ok] = e[later[ok]]
    out = np.empty_like(out_sorted)
    out[order] = out_sorted
    return out


def node_gc_epochs(
    repository: I64, version: I64, epoch: I64, on_nodes: Bool, keep: int, epochs: int
) -> I64:
    """`gc_epochs` for the images nodes run (`on_nodes`, the app images); `epochs` for the
    others, which no node pulls."""
    return np.where(on_nodes, gc_epochs(repository, version, epoch, keep, epochs), epochs)


def container_remove_epochs(
    stop_epoch: I64, still_running: Bool, lingers: Bool, image_gc_epoch: I64, epochs: int
) -> I64:
    """Per container: the epoch at whose end its node removes it. A stopped container is
    removed when it stops, or, if it `lingers`, when the node drops its image
    (`image_gc_epoch`, per container), never before it stops; one still running at the end of
    the horizon is never removed (`epochs`)."""
    remove = np.where(lingers, image_gc_epoch, stop_epoch)
    return np.where(still_running, epochs, np.maximum(remove, stop_epoch))
