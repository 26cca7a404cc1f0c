"""The generator's first stages (parents, packages, apps, dependencies, app trees) of a small
config, for tests that look at a stage's output before layers and contents exist."""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.config import load_config
from layersim.fleet.apps import (
    Apps,
    Dependencies,
    draw_apps,
    draw_dependencies,
    draw_replicas,
    plan_builds,
)
from layersim.fleet.code import AppTrees, build_app_trees
from layersim.fleet.packages import Packages, build_packages
from layersim.fleet.parents import build_bases, build_runtimes, parent_names, parent_released
from layersim.fleet.paths import PathTable
from layersim.fleet.trees import TreeBuilder, TreeTable
from tests.fleet.fleets import TINY


@dataclass(frozen=True, eq=False)
class Stages:
    """What the stages made: packages, apps, dependencies, app trees and the frozen trees."""

    packages: Packages
    apps: Apps
    deps: Dependencies
    app_trees: AppTrees
    trees: TreeTable


def first_stages(*overrides: str, seed: int = 42) -> Stages:
    """Run generate's stages 1-5 on the TINY config with `overrides`, as `generate` does."""
    config = load_config(scenario="small", overrides=[*TINY, *overrides])
    rng = np.random.default_rng(seed)
    epochs = config.time.epochs
    paths, builder = PathTable(), TreeBuilder()
    bases = build_bases(config.bases, epochs, rng, paths, builder)
    runtimes = build_runtimes(config.runtimes, epochs, rng, paths, builder)
    packages = build_packages(config.packages, runtimes.names, epochs, rng, paths, builder)
    apps = draw_apps(config.apps, len(parent_names(runtimes, bases)), epochs, rng)
    builds = plan_builds(apps, parent_released(runtimes, bases, epochs))
    deps = draw_dependencies(config.apps, apps, builds, packages, runtimes.names, rng)
    draw_replicas(config.apps, rng)
    app_trees = build_app_trees(config.apps, apps, deps, packages, rng, paths, builder)
    trees = builder.finish(paths.finish(want_names=False).new_id)
    return Stages(packages, apps, deps, app_trees, trees)
