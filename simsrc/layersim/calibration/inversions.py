"""The generator's draws inverted: the setting whose expected draw is a measured value.

A fit matches expected values exactly where the generator's draw is known: a log-normal's mean
is `median * exp(sigma**2 / 2)`, a code layer always changes at least one file per build, the
code files of an app are `max(layers, round(c * exp(sigma Z)))`. Each function here states the
draw it inverts; the spreads and class mixes are `fleet.presets`' constants, never restated.
Which measurement feeds which inversion is `fit`'s.
"""

from __future__ import annotations

import math
import statistics
from collections.abc import Callable, Sequence

import numpy as np

from layersim.config import MAX_CLASS_RATIO, MIN_CLASS_RATIO
from layersim.fleet.presets import CLASS_NAMES, CODE_COUNT_SIGMA
from layersim.model.sizes import DEFAULT_CLASS_RATIOS_PERMILLE

# Standard normal quantiles at the midpoints of 4000 equal-probability bins: an expectation over
# Z ~ N(0, 1) as a deterministic mean (no sampling noise in a fit).
_QUANTILES = np.array(
    [statistics.NormalDist().inv_cdf((k + 0.5) / 4000) for k in range(4000)], dtype=np.float64
)


def lognormal_median(mean: float, sigma: float) -> float:
    """The median of a log-normal with this mean (the generator floors draws: +0.5)."""
    return (mean + 0.5) / math.exp(sigma**2 / 2)


def expected_code_files(code_files: float, code_layers: int) -> float:
    """E[max(code_layers, round(code_files * exp(CODE_COUNT_SIGMA Z)))], as the generator draws
    an app's code files."""
    draws = np.round(code_files * np.exp(CODE_COUNT_SIGMA * _QUANTILES))
    return float(np.maximum(code_layers, draws).mean())


def forced_fraction(churn: float, files: float) -> float:
    """The rewrite fraction f whose expected churn is `churn` for a tree of `files` files that
    the generator forces to change at least one file per version: churn = (1 + (n-1) f) / n."""
    if files <= 1:
        return min(max(churn, 0.0), 1.0)
    return min(max((churn * files - 1) / (files - 1), 0.0), 1.0)


def mix_ratio(mix: Sequence[float]) -> float:
    """File bytes per compressed byte of files drawn with these class shares (text, binary,
    archive), as the generator draws them."""
    ratios = [DEFAULT_CLASS_RATIOS_PERMILLE[c] / 1000 for c in CLASS_NAMES]
    return 1 / sum(share / r for share, r in zip(mix, ratios, strict=True)) * sum(mix)


def clamped_ratio(ratio: float) -> float:
    """A compression ratio within what a generated layer can have (`config.MIN_CLASS_RATIO`
    to `MAX_CLASS_RATIO`)."""
    return min(max(ratio, MIN_CLASS_RATIO), MAX_CLASS_RATIO)


def solve_increasing(f: Callable[[float], float], target: float, low: float, high: float) -> float:
    """x in [low, high] with f(x) = target for an increasing f (clamped to the ends)."""
    if f(low) >= target:
        return low
    if f(high) <= target:
        return high
    for _ in range(100):
        mid = math.sqrt(low * high) if low > 0 else (low + high) / 2
        if f(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2
