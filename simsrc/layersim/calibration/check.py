"""The check of a fit: the fitted config generated and its apps measured as the analyzed ones.

    generated_statistics(config, seeds) -> the mean `ImageSetStatistics` of `seeds` fleets
    compare(analyzed, generated) -> one `StatisticCheck` per statistic, within `TOLERANCES`?

The seeds follow one another from the config's (`config.seed`, `+1`, ...), each generating a
fleet with its own `numpy.random.Generator`. Formatting the comparison is `report.calibration`'s.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, replace

import numpy as np

from layersim.accounting.arrays import to_population
from layersim.calibration.set_statistics import (
    ImageSetStatistics,
    mean_statistics,
    set_statistics,
)
from layersim.config import ExperimentConfig
from layersim.fleet import generate
from layersim.progress import Progress

# How far a generated statistic may be from the analyzed one, relative
# (|generated - analyzed| / analyzed; version churn: absolute, in share of files). These hold
# for image sets the model can express (docs/analyze.md); the file's header shows the rest.
TOLERANCES: Mapping[str, float] = {
    "layers_per_image": 0.10,
    "compressed_bytes_per_layer": 0.25,
    "compression_ratio": 0.15,
    "files_per_layer": 0.25,
    "layer_dedup_ratio": 0.15,
    "version_churn": 0.05,
}
ABSOLUTE = frozenset({"version_churn"})


def difference(statistic: str, analyzed: float, generated: float) -> float:
    """How far `generated` is from `analyzed`: relative, or absolute for `ABSOLUTE` ones."""
    if statistic in ABSOLUTE:
        return generated - analyzed
    return (generated - analyzed) / analyzed if analyzed else (0.0 if not generated else math.inf)


def within_tolerance(statistic: str, analyzed: float, generated: float) -> bool:
    """Whether `difference` is within the statistic's `TOLERANCES` either way."""
    return abs(difference(statistic, analyzed, generated)) <= TOLERANCES[statistic]


@dataclass(frozen=True)
class StatisticCheck:
    """One statistic of the analyzed apps beside the generated config's: `generated`,
    `difference` and `within` are None when not checked (or not measured there)."""

    statistic: str
    analyzed: float
    generated: float | None = None
    difference: float | None = None
    within: bool | None = None


def compare(
    analyzed: ImageSetStatistics, generated: ImageSetStatistics | None
) -> list[StatisticCheck]:
    """Per statistic the analyzed set measures (`ImageSetStatistics.STATISTICS` order; a
    churn of None is left out), the generated value and whether it is within tolerance."""
    rows = []
    for name in ImageSetStatistics.STATISTICS:
        value = getattr(analyzed, name)
        if value is None:
            continue
        other = getattr(generated, name) if generated else None
        if other is None:
            rows.append(StatisticCheck(name, value))
            continue
        rows.append(
            StatisticCheck(
                name,
                value,
                other,
                difference(name, value, other),
                within_tolerance(name, value, other),
            )
        )
    return rows


def generated_statistics(
    config: ExperimentConfig, seeds: int, progress: Progress | None = None
) -> ImageSetStatistics:
    """The mean `ImageSetStatistics` of `config` generated with `seeds` seeds from
    `config.seed`."""
    report = progress or (lambda stage, fraction: None)
    measured = []
    for k in range(seeds):
        report("calibrate: check", k / seeds)
        seeded = replace(config, seed=config.seed + k)
        fleet = generate(seeded, np.random.default_rng(seeded.seed))
        measured.append(set_statistics(to_population(fleet.arrays).images))
    return mean_statistics(measured)
