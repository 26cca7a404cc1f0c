"""Fit the generator's settings to real images: the core of `layersim calibrate`.

    calibrate(images, sources=..., scenario=None, check_seeds=10) -> Calibration

The images are what `readers.read_images` returns, in the order read. Successive images of one
repository (`repo:1`, `repo:2`, ... in read order) are successive versions of it. The stages,
each a module:

1. **roles**: the leaf images (apps) cut into base, runtime and own layers (`roles.cut_apps`);
2. **statistics**: what the analyzed apps measure (`set_statistics`);
3. **fit**: each role's statistics set the keys that drive that role (`fit.fit_apps`),
   applied as typed values over the scenario's config (`config.apply_values`);
4. **check**: with `check_seeds > 0` the fitted config is generated (one seed after another
   from the config's) and its apps measured the same way (`check`).

Pure: no printing and no files; progress goes out through a callback. The experiment file that
`layersim calibrate` writes is `report.calibration.calibration_toml(result)`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, replace

from layersim.calibration.check import StatisticCheck, compare, generated_statistics
from layersim.calibration.fit import Fitted, fit_apps
from layersim.calibration.roles import cut_apps, leaf_indices
from layersim.calibration.set_statistics import ImageSetStatistics, set_statistics
from layersim.config import DEFAULT_SCENARIO, ExperimentConfig, apply_values, load_config
from layersim.errors import ModelError
from layersim.model import Image
from layersim.progress import Progress


@dataclass(frozen=True)
class Calibration:
    """A fit: the keys (`fitted`, `description` first), the config they give over the
    scenario's (`config`), the measured facts the config cannot express (`notes`), and the
    statistics of the analyzed apps beside those of the generated config (`generated`: the
    mean over `check_seeds` seeds, None if not checked)."""

    sources: tuple[str, ...]
    images: tuple[str, ...]
    apps: tuple[str, ...]
    scenario: str
    fitted: tuple[Fitted, ...]
    notes: tuple[str, ...]
    config: ExperimentConfig
    analyzed: ImageSetStatistics
    generated: ImageSetStatistics | None = None
    check_seeds: int = 0

    def comparison(self) -> list[StatisticCheck]:
        """Per statistic: analyzed, generated, difference, within tolerance (`check.compare`)."""
        return compare(self.analyzed, self.generated)


def calibrate(
    images: Sequence[Image],
    *,
    sources: Sequence[str] = (),
    scenario: str | None = None,
    check_seeds: int = 10,
    progress: Progress | None = None,
) -> Calibration:
    """Fit the experiment config to `images` (see the module docstring).

    `scenario` is the built-in scenario whose values the keys not fitted keep (default
    `company`, the documented defaults). `check_seeds` seeds of the fitted config are
    generated and measured (0: no check). Raises `ModelError` for an empty set and
    `ConfigError` for an unknown scenario."""
    if not images:
        raise ModelError("calibrate needs at least one image")
    report = progress or (lambda stage, fraction: None)
    name = scenario or DEFAULT_SCENARIO
    base = load_config(None, name)
    report("calibrate: measure", 0.0)
    leaves = leaf_indices(images)
    apps = cut_apps(images, leaves)
    fit = fit_apps(apps, base)
    result = Calibration(
        sources=tuple(sources),
        images=tuple(image.name for image in images),
        apps=tuple(images[i].name for i in leaves),
        scenario=name,
        fitted=fit.fitted,
        notes=fit.notes,
        config=apply_values(base, fit.values()),
        analyzed=set_statistics(
            images, {i: app.visible for i, app in zip(leaves, apps, strict=True)}
        ),
    )
    if check_seeds > 0:
        generated = generated_statistics(result.config, check_seeds, report)
        result = replace(result, generated=generated, check_seeds=check_seeds)
    report("calibrate: done", 1.0)
    return result
