"""The nodes' figures at the final epoch and over the steady state, and the saw-tooth the
release cadences draw in them (docs/semantics.md, "Steady state").

A run starts with empty stores: for its first epochs the nodes and the registry fill their
retention windows and every figure drifts. The **steady state** is the measured epochs of the
second half of the horizon (`t >= epochs // 2`): by then every cadence of the default and
built-in scenarios has run at least one full cycle and a node holds `nodes.retention` versions
of each app it runs (company: the nodes' layer saving drifts over the first ten epochs, then
alternates around a flat mean). A node figure is reported at the final epoch and as the mean
of its per-epoch values over the steady-state epochs.

A cadence of two epochs (a runtime rebuilt every other epoch, say) makes the node figures
alternate: the epoch after a release, nodes hold two versions of what was released; the next,
one. The final epoch then falls on a high or a low, and a reader of the final epoch alone sees
a crest or a trough. `saw_tooth` detects it from the rows: over consecutive measured epochs of
the steady state, every step changes direction and the mean step is over
`SAW_TOOTH_MIN_STEP`. Not here: the stored bytes themselves (`replay`, the engine).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from itertools import pairwise

from layersim.accounting.metrics import saving
from layersim.config import ExperimentConfig
from layersim.simulation.results import NodeEpoch

# A saw-tooth's mean step between consecutive epochs, at least (a fraction: 1 point)
SAW_TOOTH_MIN_STEP = 0.01
# Consecutive measured epochs of the steady state needed to call a saw-tooth (3 steps)
SAW_TOOTH_MIN_EPOCHS = 4


def steady_state_start(epochs: int) -> int:
    """The first epoch of the steady state: the second half of the horizon."""
    return epochs // 2


@dataclass(frozen=True, slots=True)
class SawTooth:
    """A period-2 alternation of a node figure over the steady state: the mean of its values
    on the high epochs and on the low ones, whether the final epoch is a low, and the
    cadences of the config that run every 2 epochs (its likely cause; empty if none)."""

    high_mean: float
    low_mean: float
    final_is_low: bool
    cadences: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class NodeFigure:
    """A node figure (a fraction) at the final measured epoch and its mean over the
    steady-state measured epochs (`steady_epochs` of them, from `steady_first_epoch`), with
    the saw-tooth it draws there (None: none detected, or too few consecutive epochs)."""

    figure: str
    final_epoch: int
    final: float
    steady_first_epoch: int
    steady_epochs: int
    steady_mean: float
    saw_tooth: SawTooth | None


# The node figures reported both ways: (name, per-epoch value)
NODE_FIGURES: tuple[tuple[str, Callable[[NodeEpoch], float]], ...] = (
    (
        "nodes: layer saving vs flattened (disk bytes, all nodes)",
        lambda r: saving(r.layer_bytes, r.flattened_bytes),
    ),
    (
        "nodes: file-level saving vs layers (disk bytes, all nodes)",
        lambda r: saving(r.file_bytes, r.layer_bytes),
    ),
)


def two_epoch_cadences(config: ExperimentConfig) -> tuple[str, ...]:
    """The config's fixed cadences of exactly 2 epochs (bases and runtimes release on a fixed
    period; apps and packages at random intervals of a given mean, which draw no saw-tooth)."""
    cadences = {
        "bases.release_every": config.bases.release_every,
        "runtimes.rebuild_every": config.runtimes.rebuild_every,
    }
    return tuple(name for name, every in cadences.items() if every == 2)


def saw_tooth(
    epochs: Sequence[int], values: Sequence[float], cadences: tuple[str, ...]
) -> SawTooth | None:
    """The period-2 alternation of `values` (per measured epoch, increasing), judged on the
    longest run of consecutive epochs at the end: every step reverses the previous one and
    the mean absolute step is at least `SAW_TOOTH_MIN_STEP`; None otherwise."""
    start = len(epochs) - 1
    while start > 0 and epochs[start - 1] == epochs[start] - 1:
        start -= 1
    run = list(values[start:])
    if len(run) < SAW_TOOTH_MIN_EPOCHS:
        return None
    steps = [b - a for a, b in pairwise(run)]
    alternates = all(s * t < 0 for s, t in pairwise(steps))
    if not alternates or sum(abs(s) for s in steps) / len(steps) < SAW_TOOTH_MIN_STEP:
        return None
    final_is_low = steps[-1] < 0
    # the final epoch's parity holds the lows when it is a low
    same, other = run[-1::-2], run[-2::-2]
    lows, highs = (same, other) if final_is_low else (other, same)
    return SawTooth(
        high_mean=sum(highs) / len(highs),
        low_mean=sum(lows) / len(lows),
        final_is_low=final_is_low,
        cadences=cadences,
    )


def node_figures(
    rows: Sequence[NodeEpoch], epochs: int, config: ExperimentConfig
) -> tuple[NodeFigure, ...]:
    """Each of `NODE_FIGURES` at the final measured epoch and over the steady state."""
    first = steady_state_start(epochs)
    steady = [r for r in rows if r.epoch >= first] or [rows[-1]]
    out = []
    for figure, value in NODE_FIGURES:
        values = [value(r) for r in steady]
        out.append(
            NodeFigure(
                figure=figure,
                final_epoch=rows[-1].epoch,
                final=value(rows[-1]),
                steady_first_epoch=steady[0].epoch,
                steady_epochs=len(steady),
                steady_mean=sum(values) / len(values),
                saw_tooth=saw_tooth([r.epoch for r in steady], values, two_epoch_cadences(config)),
            )
        )
    return tuple(out)
