"""Parameter sweeps: a run's metrics (by default the headline savings and the byte counts they
come from) over a grid of one or two config keys, several seeds.

A sweep is planned, then run:

- `parse_param("apps.count=50,100,200")` reads one axis of the grid: a `section.key` of the
  experiment config and its values, each read as a TOML value like a `--set` value (commas
  inside brackets or quotes do not split: `bases.families=["alpine"],["alpine","debian"]`).
- `plan_sweep(params, seeds, ...)` builds and validates the config of every grid point and seed
  before anything runs, so a bad value fails at once with the key in its message. Every point
  runs with the *same* seeds (common random numbers): the fleets of two points differ by the
  parameter, not by the luck of the draw, and the plan does not depend on `--jobs`.
- `run_sweep(plan, jobs, metrics=STANDARD_METRICS)` runs every point x seed
  (`experiment.run_experiment`), in this process (`jobs=1`) or in a local process pool, records
  the `metrics` of each run (`simulation.metrics`, as Mesa's batch runner takes reporters) and
  returns the runs in grid order, seed order within a point, whatever order they finished in.
  Same plan, same figures, for any `jobs`.
- The pieces every backend shares: `sweep_tasks(plan)` (the point x seed runs, numbered in
  the plan's order), `run_one(config, metrics)` (what a worker runs) and
  `collect_runs(plan, metrics, outcomes)` (the outcomes keyed by run number, put back in
  order). `layersim.distributed.sweep` runs the same tasks on a Dask cluster.

A sweep measures stored bytes at the last epoch only (`time.storage_every` set to the horizon):
its figures are final-epoch figures, equal to those of `layersim run` with the same config and
seed, and the epochs in between would cost most of the time.

Pure: no printing, no files; progress goes out through the callback as runs complete.
"""

from __future__ import annotations

import itertools
import multiprocessing
import time
from collections.abc import Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any

from layersim.config import SECTIONS, ExperimentConfig, load_config, parse_override
from layersim.errors import ConfigError, RunError
from layersim.experiment.run import run_experiment
from layersim.progress import Progress
from layersim.simulation.metrics import STANDARD_METRICS, Figure, Metric, measure

MAX_PARAMS = 2
SWEEP_STAGE = "sweep: runs"  # the progress stage of a sweep's runs, whatever runs them


# --------------------------------------------------------------------------- the plan


@dataclass(frozen=True)
class SweepParam:
    """One axis of the grid: a config key and its values, as written (`labels`) and as read
    (`values`, TOML values)."""

    key: str
    labels: tuple[str, ...]
    values: tuple[Any, ...]

    @property
    def numeric(self) -> bool:
        """Whether every value is a number (plotted on a numeric axis, else as categories)."""
        return all(isinstance(v, int | float) and not isinstance(v, bool) for v in self.values)


def _split_values(raw: str) -> list[str]:
    """`raw` split at the commas outside brackets and quotes, each part stripped."""
    parts: list[str] = []
    depth, quote, start = 0, "", 0
    for i, ch in enumerate(raw):
        if quote:
            if ch == quote:
                quote = ""
        elif ch in "\"'":
            quote = ch
        elif ch in "[{":
            depth += 1
        elif ch in "]}":
            depth -= 1
        elif ch == "," and depth == 0:
            parts.append(raw[start:i].strip())
            start = i + 1
    parts.append(raw[start:].strip())
    return parts


def parse_param(text: str) -> SweepParam:
    """One `--param section.key=V1,V2,...` as a `SweepParam`. Raises `ConfigError` naming the
    option for a malformed one; the values are checked against the key by `plan_sweep`."""
    key, sep, raw = text.partition("=")
    key = key.strip()
    where = f"--param {text}"
    parts = key.split(".")
    if not sep or len(parts) != 2 or not all(parts) or not raw.strip():
        raise ConfigError(f"{where}: expected section.key=V1,V2,... (e.g. apps.count=50,100,200)")
    if parts[0] not in SECTIONS:
        known = ", ".join(SECTIONS)
        raise ConfigError(f"{key}: unknown section {parts[0]!r} (known: {known})")
    labels = _split_values(raw)
    if any(not label for label in labels):
        raise ConfigError(f"{where}: empty value in the list")
    if len(set(labels)) != len(labels):
        raise ConfigError(f"{where}: a value is listed twice")
    values = tuple(parse_override(f"{key}={label}")[parts[0]][parts[1]] for label in labels)
    return SweepParam(key=key, labels=tuple(labels), values=values)


@dataclass(frozen=True)
class SweepPoint:
    """A grid point: its position, the value label of each param, one config per seed."""

    index: int
    labels: tuple[str, ...]
    configs: tuple[ExperimentConfig, ...]


@dataclass(frozen=True)
class SweepPlan:
    """Every run of a sweep, validated. `base` is the config without the params (its seed is
    the first seed)."""

    params: tuple[SweepParam, ...]
    seeds: tuple[int, ...]
    base: ExperimentConfig
    points: tuple[SweepPoint, ...]

    @property
    def n_runs(self) -> int:
        return len(self.points) * len(self.seeds)


def default_seeds(first: int, count: int) -> tuple[int, ...]:
    """`count` consecutive seeds from `first`: the seeds of a sweep given `--seeds N`."""
    if count < 1:
        raise ConfigError(f"--seeds: must be a positive integer, got {count}")
    return tuple(first + k for k in range(count))


def _for_sweep(config: ExperimentConfig, seed: int) -> ExperimentConfig:
    # final-epoch figures only: stored bytes at the last epoch (module docstring)
    return replace(config, seed=seed, time=replace(config.time, storage_every=config.time.epochs))


def plan_sweep(
    params: Sequence[SweepParam],
    seeds: Sequence[int],
    *,
    path: str | Path | None = None,
    scenario: str | None = None,
    overrides: Sequence[str] = (),
) -> SweepPlan:
    """The configs of the grid `params` (first param outermost) x `seeds`, each loaded like
    `load_config(path, scenario, [*overrides, "key=value", ...])` and checked. Raises
    `ConfigError` (one line, naming the key) for any bad param, value or seed."""
    if not 1 <= len(params) <= MAX_PARAMS:
        raise ConfigError(f"--param: give one or two parameters, got {len(params)}")
    keys = [p.key for p in params]
    if len(set(keys)) != len(keys):
        raise ConfigError(f"--param {keys[0]}: the same key is given twice")
    if not seeds:
        raise ConfigError("--seed-list: give at least one seed")
    if len(set(seeds)) != len(seeds):
        raise ConfigError("--seed-list: a seed is listed twice")
    base = load_config(path, scenario, overrides)
    checked = [
        load_config(path, scenario, [*overrides, f"seed={s}"]).seed  # range check of each seed
        for s in seeds
    ]
    points = []
    grid = itertools.product(*(p.labels for p in params))
    for index, labels in enumerate(grid):
        sets = [f"{p.key}={label}" for p, label in zip(params, labels, strict=True)]
        config = load_config(path, scenario, [*overrides, *sets])
        points.append(
            SweepPoint(
                index=index,
                labels=tuple(labels),
                configs=tuple(_for_sweep(config, s) for s in checked),
            )
        )
    return SweepPlan(
        params=tuple(params),
        seeds=tuple(checked),
        base=replace(base, seed=checked[0]),
        points=tuple(points),
    )


# --------------------------------------------------------------------------- the runs


@dataclass(frozen=True)
class SweepRun:
    """One point x seed: its figures (`metrics.measure`, by metric name) and wall time
    (seconds; not a figure)."""

    point: int
    seed: int
    figures: dict[str, Figure]
    seconds: float


@dataclass(frozen=True)
class MetricStats:
    """A metric over the seeds of one grid point."""

    mean: float
    min: float
    max: float


@dataclass(frozen=True)
class SweepResult:
    """The runs of a plan and the metrics each recorded."""

    plan: SweepPlan
    metrics: tuple[Metric, ...]
    runs: tuple[SweepRun, ...]  # grid order, then seed order

    @property
    def aggregated(self) -> tuple[Metric, ...]:
        """The metrics whose mean, min and max over seeds `stats` gives (`Metric.aggregated`)."""
        return tuple(m for m in self.metrics if m.aggregated)

    def point_runs(self, point: int) -> tuple[SweepRun, ...]:
        return tuple(r for r in self.runs if r.point == point)

    def stats(self, point: int) -> dict[str, MetricStats]:
        """Per aggregated metric: mean, min and max over the point's seeds."""
        runs = self.point_runs(point)
        out = {}
        for metric in self.aggregated:
            values = [float(r.figures[metric.name]) for r in runs]
            out[metric.name] = MetricStats(sum(values) / len(values), min(values), max(values))
        return out


@dataclass(frozen=True)
class SweepTask:
    """One run of a plan: its position `k` in the plan's run order (grid order, then seed
    order), its grid point and seed, and the config it runs."""

    k: int
    point: int
    seed: int
    config: ExperimentConfig


def sweep_tasks(plan: SweepPlan) -> tuple[SweepTask, ...]:
    """Every point x seed of `plan`, in the plan's run order: the unit of work of every
    backend (this process, a process pool, a Dask cluster)."""
    pairs = (
        (point.index, seed, config)
        for point in plan.points
        for seed, config in zip(plan.seeds, point.configs, strict=True)
    )
    return tuple(
        SweepTask(k=k, point=point, seed=seed, config=config)
        for k, (point, seed, config) in enumerate(pairs)
    )


RunOutcome = tuple[dict[str, Figure], float]
"""What a run sends back: its figures by metric name and its wall time (seconds)."""


def run_one(config: ExperimentConfig, metrics: tuple[Metric, ...]) -> RunOutcome:
    """Run `config` and measure `metrics` of it: the function a worker process calls."""
    started = time.perf_counter()
    outcome = run_experiment(config)
    return measure(outcome.result, metrics), time.perf_counter() - started


def collect_runs(
    plan: SweepPlan, metrics: tuple[Metric, ...], outcomes: dict[int, RunOutcome]
) -> SweepResult:
    """The result of `plan` from the outcome of each run, keyed by `SweepTask.k`: the runs in
    the plan's order whatever order they finished in. Raises `RunError` if a run is missing."""
    tasks = sweep_tasks(plan)
    missing = [t.k for t in tasks if t.k not in outcomes]
    if missing or len(outcomes) != len(tasks):
        raise RunError(f"a sweep lost runs: {len(missing)} of {len(tasks)} came back empty")
    runs = tuple(
        SweepRun(point=t.point, seed=t.seed, figures=outcomes[t.k][0], seconds=outcomes[t.k][1])
        for t in tasks
    )
    return SweepResult(plan=plan, metrics=metrics, runs=runs)


def run_sweep(
    plan: SweepPlan,
    jobs: int = 1,
    progress: Progress | None = None,
    metrics: Sequence[Metric] = STANDARD_METRICS,
) -> SweepResult:
    """Run every point x seed of `plan` and record `metrics` of each run: in this process if
    `jobs` is 1, else in a pool of `jobs` worker processes (each metric's function must then
    pickle, `Metric`). Raises `RunError` if a worker process dies (e.g. out of memory)."""
    report = progress or (lambda stage, fraction: None)
    recorded = tuple(metrics)
    tasks = sweep_tasks(plan)
    results: dict[int, RunOutcome] = {}
    report(SWEEP_STAGE, 0.0)
    if jobs <= 1 or len(tasks) == 1:
        for task in tasks:
            results[task.k] = run_one(task.config, recorded)
            report(SWEEP_STAGE, len(results) / len(tasks))
    else:
        # spawn, not fork: the caller may run threads (a progress bar) that fork would copy
        context = multiprocessing.get_context("spawn")
        workers = min(jobs, len(tasks))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending: dict[Future[Any], int] = {
                pool.submit(run_one, task.config, recorded): task.k for task in tasks
            }
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        results[pending.pop(future)] = future.result()
                    report(SWEEP_STAGE, len(results) / len(tasks))
            except BrokenProcessPool:
                raise RunError(
                    "a sweep worker process died (out of memory?); try fewer --jobs"
                ) from None
            finally:
                for future in pending:
                    future.cancel()
    return collect_runs(plan, recorded, results)
