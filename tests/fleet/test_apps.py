"""Tests of `layersim.fleet.apps`: build plans exact on a worked example, and the draws'
invariants on a seeded fleet."""

from __future__ import annotations

import numpy as np

from layersim.config import load_config
from layersim.fleet.apps import Apps, draw_apps, draw_replicas, plan_builds
from layersim.fleet.parents import released_by_epoch
from tests.fleet.stages import first_stages


def test_plan_builds_worked_example():
    """Six epochs. App 0 (cadence 2, phase 1, no lag) builds at 0, 1, 3, 5 on a parent
    released at 0, 2, 5: versions 0, 0, 1, 2. App 1 (cadence 3, phase 2, lag 1) builds at 0,
    2, 5 on a parent released at 0, 1, 4: newest 0, 1, 2, one behind (never below 0)."""
    apps = Apps(
        parent=np.array([0, 1]),
        lag=np.array([0, 1]),
        cadence=np.array([2, 3]),
        phase=np.array([1, 2]),
        n_builds=np.array([4, 3]),
        reproducible=np.array([False, True]),
        waste=np.array([True, False]),
    )
    released = np.stack([released_by_epoch((0, 2, 5), 6), released_by_epoch((0, 1, 4), 6)])
    builds = plan_builds(apps, released)
    assert builds.count == 7
    assert builds.app.tolist() == [0, 0, 0, 0, 1, 1, 1]
    assert builds.version.tolist() == [0, 1, 2, 3, 0, 1, 2]
    assert builds.epoch.tolist() == [0, 1, 3, 5, 0, 2, 5]
    assert builds.offsets.tolist() == [0, 4, 7]
    assert builds.parent_version.tolist() == [0, 0, 1, 2, 0, 0, 1]


def test_draw_apps_builds_fit_the_horizon():
    """Drawn apps: parents in range, lags only for the lagging share, and every build (one
    per cadence from the phase) inside the horizon."""
    config = load_config(scenario="small", overrides=["apps.count=200"])
    apps = draw_apps(config.apps, 5, 10, np.random.default_rng(11))
    assert apps.count == 200
    assert np.all((apps.parent >= 0) & (apps.parent < 5))
    assert np.all(apps.lag >= 0) and (apps.lag == 0).any()
    assert np.all((apps.phase >= 1) & (apps.phase <= apps.cadence))
    last_epoch = apps.phase + (apps.n_builds - 2) * apps.cadence
    assert np.all(np.where(apps.n_builds > 1, last_epoch, 0) <= 9)
    assert np.all(np.where(apps.n_builds > 1, last_epoch + apps.cadence, 10) >= 10)


def test_draw_replicas_zero_when_not_deployed():
    """With no app deployed every app has 0 replicas; with all deployed at least 1."""
    none = load_config(scenario="small", overrides=["apps.deployed_fraction=0"])
    every = load_config(scenario="small", overrides=["apps.deployed_fraction=1"])
    assert not draw_replicas(none.apps, np.random.default_rng(1)).any()
    assert np.all(draw_replicas(every.apps, np.random.default_rng(1)) >= 1)


def test_dependency_slots_hold_the_closure_of_their_packages():
    """Every slot's packages include the dependencies of each of them that is a direct pick
    (one level: each package in the slot either has its dependencies in the slot or is
    itself someone's dependency there), each package once, in id order, all in the slot's
    ecosystem."""
    s = first_stages("packages.dependencies_mean=2.0", "packages.core=4")
    deps, packages = s.deps, s.packages
    P = packages.count
    closed = 0
    for k in range(deps.slot_app.size):
        pkgs = deps.slot_package[deps.package_offsets[k] : deps.package_offsets[k + 1]]
        assert np.all(np.diff(pkgs) > 0)
        assert np.all(pkgs // P == deps.slot_eco[k])
        members = set(pkgs.tolist())
        dependency_of = {
            int(d)
            for p in pkgs.tolist()
            for d in packages.dep_package[packages.dep_offsets[p] : packages.dep_offsets[p + 1]]
        }
        for p in pkgs.tolist():
            own = packages.dep_package[packages.dep_offsets[p] : packages.dep_offsets[p + 1]]
            if set(own.tolist()) <= members:
                closed += 1
            else:
                assert p in dependency_of  # a dependency pulled in, not a direct pick
    assert closed > 0
