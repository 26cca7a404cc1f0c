"""Tests of `layersim.experiment.sweep`: parsing a grid axis, planning (validated configs, the
same seeds at every point), and running: the same figures in-process and in a process pool,
equal to a plain run's final-epoch figures, and the metrics recorded are the ones passed in."""

from __future__ import annotations

import pytest

from layersim.config import load_config
from layersim.errors import ConfigError
from layersim.experiment.run import run_experiment
from layersim.experiment.sweep import default_seeds, parse_param, plan_sweep, run_sweep
from layersim.simulation.metrics import (
    CHUNK_SAVINGS,
    LAZY_SAVINGS,
    SAVINGS,
    STANDARD_METRICS,
    HeadlineFigure,
    Metric,
    measure,
)

METRIC_NAMES = [m.name for m in SAVINGS + LAZY_SAVINGS + CHUNK_SAVINGS]

TINY = [
    "time.epochs=3",
    "apps.count=5",
    "nodes.count=2",
    "bases.file_scale=0.05",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "apps.code_files=5.0",
]


def test_parse_param_splits_outside_brackets():
    """Commas inside brackets and quotes do not split; values are read as TOML."""
    p = parse_param('bases.families=["alpine"], ["alpine","debian"]')
    assert p.key == "bases.families"
    assert p.labels == ('["alpine"]', '["alpine","debian"]')
    assert p.values == (["alpine"], ["alpine", "debian"])
    assert not p.numeric
    q = parse_param("apps.reproducible_probability=0,0.5,1")
    assert q.values == (0, 0.5, 1)
    assert q.numeric
    assert parse_param("nodes.placement=spread,binpack").values == ("spread", "binpack")


@pytest.mark.parametrize(
    "text", ["apps.count", "apps.count=", "count=1,2", "apps.count=1,,2", "apps.count=1,1", "x.y=1"]
)
def test_parse_param_rejects(text):
    """A param without a section, a value, or with an empty or repeated value is refused."""
    with pytest.raises(ConfigError):
        parse_param(text)


def test_plan_grid_order_and_common_seeds():
    """The first param is outermost; every point has one config per seed, the same seeds, and
    stored bytes measured at the last epoch only."""
    plan = plan_sweep(
        [parse_param("apps.count=3,4"), parse_param("nodes.count=1,2,3")],
        default_seeds(5, 2),
        scenario="small",
        overrides=TINY,
    )
    assert plan.n_runs == 12
    assert [p.labels for p in plan.points] == [
        ("3", "1"),
        ("3", "2"),
        ("3", "3"),
        ("4", "1"),
        ("4", "2"),
        ("4", "3"),
    ]
    for point in plan.points:
        assert [c.seed for c in point.configs] == [5, 6]
        assert all(c.apps.count == int(point.labels[0]) for c in point.configs)
        assert all(c.time.storage_every == c.time.epochs for c in point.configs)
    assert plan.base.seed == 5


def test_plan_rejects_bad_values_before_running():
    """A bad value, a bad seed, a repeated seed or no seeds fail at planning, naming the key."""
    with pytest.raises(ConfigError, match=r"^apps\.count: "):
        plan_sweep([parse_param("apps.count=2,-1")], [1], scenario="small")
    with pytest.raises(ConfigError, match="seed"):
        plan_sweep([parse_param("apps.count=2")], [-1], scenario="small")
    with pytest.raises(ConfigError):
        plan_sweep([parse_param("apps.count=2")], [1, 1], scenario="small")
    with pytest.raises(ConfigError):
        default_seeds(1, 0)


def test_same_figures_in_process_and_in_a_pool():
    """--jobs does not change any figure: the runs come back in grid order, seed order."""
    plan = plan_sweep(
        [parse_param("apps.reproducible_probability=0,1")], [3], scenario="small", overrides=TINY
    )
    one = run_sweep(plan, jobs=1)
    two = run_sweep(plan, jobs=2)
    assert [(r.point, r.seed, r.figures) for r in one.runs] == [
        (r.point, r.seed, r.figures) for r in two.runs
    ]
    stats = one.stats(0)
    assert set(stats) == set(METRIC_NAMES)
    assert (
        stats["registry_layer_saving_vs_flattened"].mean
        == one.runs[0].figures["registry_layer_saving_vs_flattened"]
    )


def test_sweep_figures_equal_a_plain_run():
    """Measuring stored bytes only at the last epoch leaves the final figures unchanged."""
    config = load_config(scenario="small", overrides=[*TINY, "seed=9", "apps.count=4"])
    plain = measure(run_experiment(config).result)
    plan = plan_sweep([parse_param("apps.count=4")], [9], scenario="small", overrides=TINY)
    assert run_sweep(plan).runs[0].figures == plain


def test_sweep_records_the_metrics_passed_in():
    """`run_sweep` records the metrics it is given (the standard set by default) in their
    order; `stats` aggregates only those marked `aggregated`."""
    plan = plan_sweep([parse_param("apps.count=3,4")], [2], scenario="small", overrides=TINY)
    pushed = Metric(
        "pushed_layer_bytes", "pushes (compressed bytes)", HeadlineFigure("pushed.layer")
    )
    own = run_sweep(plan, metrics=(pushed, SAVINGS[1]))
    assert own.metrics == (pushed, SAVINGS[1])
    assert [list(r.figures) for r in own.runs] == [
        ["pushed_layer_bytes", "nodes_layer_saving_vs_flattened"]
    ] * 2
    assert set(own.stats(1)) == {"nodes_layer_saving_vs_flattened"}
    standard = run_sweep(plan)
    assert standard.metrics == STANDARD_METRICS
    for mine, theirs in zip(own.runs, standard.runs, strict=True):
        assert (
            mine.figures["nodes_layer_saving_vs_flattened"]
            == (theirs.figures["nodes_layer_saving_vs_flattened"])
        )
        assert mine.figures["pushed_layer_bytes"] > 0
