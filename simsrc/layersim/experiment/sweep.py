"""Parameter sweeps: the headline savings over a grid of one or two config keys, several seeds.

A sweep is planned, then run:

- `parse_param("apps.count=50,100,200")` reads one axis of the grid: a `section.key` of the
  experiment config and its values, each read as a TOML value like a `--set` value (commas
  inside brackets or quotes do not split: `bases.families=["alpine"],["alpine","debian"]`).
- `plan_sweep(params, seeds, ...)` builds and validates the config of every grid point and seed
  before anything runs, so a bad value fails at once with the key in its message. Every point
  runs with the *same* seeds (common random numbers): the fleets of two points differ by the
  parameter, not by the luck of the draw, and the plan does not depend on `--jobs`.
- `run_sweep(plan, jobs)` runs every point x seed (`experiment.run_experiment`), in this process
  (`jobs=1`) or in a local process pool, and returns the runs in grid order, seed order within
  a point, whatever order they finished in. Same plan, same figures, for any `jobs`.

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

from layersim.accounting.metrics import saving
from layersim.config import SECTIONS, ExperimentConfig, load_config, parse_override
from layersim.errors import ConfigError, RunError
from layersim.experiment.run import run_experiment
from layersim.progress import Progress
from layersim.simulation import SimulationResult

MAX_PARAMS = 2

# The savings a sweep aggregates (fractions, `metrics.saving`), in table order, with what each
# compares. Final-epoch stores; transfers summed over every epoch.
SWEEP_METRICS: tuple[tuple[str, str], ...] = (
    (
        "registry_layer_saving_vs_flattened",
        "registry at the end, layer store vs flattened exports (compressed bytes)",
    ),
    (
        "nodes_layer_saving_vs_flattened",
        "nodes at the end (sum), layer store vs flattened exports (disk bytes)",
    ),
    (
        "registry_file_saving_vs_layer",
        "registry at the end, file-level dedup vs layer store (compressed bytes)",
    ),
    (
        "nodes_file_saving_vs_layer",
        "nodes at the end (sum), file-level dedup vs layer store (disk bytes)",
    ),
    (
        "pull_layer_saving_vs_flattened",
        "pulls of every epoch, layered vs flattened images (compressed bytes)",
    ),
)
METRIC_NAMES: tuple[str, ...] = tuple(name for name, _ in SWEEP_METRICS)


# --------------------------------------------------------------------------- the figures


def run_figures(result: SimulationResult) -> dict[str, int | float]:
    """The figures one sweep run contributes: `SWEEP_METRICS` (fractions) and the byte counts
    they come from (registry: compressed bytes; nodes: disk bytes; pulls: compressed bytes)."""
    registry, nodes = result.registry[-1], result.nodes[-1]
    last = result.transfers[-1]
    figures: dict[str, int | float] = {
        "registry_layer_saving_vs_flattened": saving(
            registry.layer_bytes, registry.flattened_bytes
        ),
        "nodes_layer_saving_vs_flattened": saving(nodes.layer_bytes, nodes.flattened_bytes),
        "registry_file_saving_vs_layer": saving(registry.file_bytes, registry.layer_bytes),
        "nodes_file_saving_vs_layer": saving(nodes.file_bytes, nodes.layer_bytes),
        "pull_layer_saving_vs_flattened": saving(
            last.cumulative_pull_bytes, last.cumulative_pull_flattened_bytes
        ),
        "images": result.fleet.images,
        "file_entries": result.fleet.file_entries,
        "registry_flattened_compressed_bytes": registry.flattened_bytes,
        "registry_layer_compressed_bytes": registry.layer_bytes,
        "registry_file_compressed_bytes": registry.file_bytes,
        "nodes_flattened_disk_bytes": nodes.flattened_bytes,
        "nodes_layer_disk_bytes": nodes.layer_bytes,
        "nodes_file_disk_bytes": nodes.file_bytes,
        "pull_layered_compressed_bytes": last.cumulative_pull_bytes,
        "pull_flattened_compressed_bytes": last.cumulative_pull_flattened_bytes,
    }
    return figures


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
    """One point x seed: its figures (`run_figures`) and wall time (seconds; not a figure)."""

    point: int
    seed: int
    figures: dict[str, int | float]
    seconds: float


@dataclass(frozen=True)
class MetricStats:
    mean: float
    min: float
    max: float


@dataclass(frozen=True)
class SweepResult:
    plan: SweepPlan
    runs: tuple[SweepRun, ...]  # grid order, then seed order

    def point_runs(self, point: int) -> tuple[SweepRun, ...]:
        return tuple(r for r in self.runs if r.point == point)

    def stats(self, point: int) -> dict[str, MetricStats]:
        """Per metric of `SWEEP_METRICS`: mean, min and max over the point's seeds."""
        runs = self.point_runs(point)
        out = {}
        for name in METRIC_NAMES:
            values = [float(r.figures[name]) for r in runs]
            out[name] = MetricStats(sum(values) / len(values), min(values), max(values))
        return out


def _run_one(config: ExperimentConfig) -> tuple[dict[str, int | float], float]:
    started = time.perf_counter()
    outcome = run_experiment(config)
    return run_figures(outcome.result), time.perf_counter() - started


def run_sweep(plan: SweepPlan, jobs: int = 1, progress: Progress | None = None) -> SweepResult:
    """Run every point x seed of `plan`: in this process if `jobs` is 1, else in a pool of
    `jobs` worker processes. Raises `RunError` if a worker process dies (e.g. out of memory)."""
    report = progress or (lambda stage, fraction: None)
    tasks = [
        (point.index, seed, config)
        for point in plan.points
        for seed, config in zip(plan.seeds, point.configs, strict=True)
    ]
    results: dict[int, tuple[dict[str, int | float], float]] = {}
    report("sweep: runs", 0.0)
    if jobs <= 1 or len(tasks) == 1:
        for k, (_, _, config) in enumerate(tasks):
            results[k] = _run_one(config)
            report("sweep: runs", (k + 1) / len(tasks))
    else:
        # spawn, not fork: the caller may run threads (a progress bar) that fork would copy
        context = multiprocessing.get_context("spawn")
        workers = min(jobs, len(tasks))
        with ProcessPoolExecutor(max_workers=workers, mp_context=context) as pool:
            pending: dict[Future[Any], int] = {
                pool.submit(_run_one, config): k for k, (_, _, config) in enumerate(tasks)
            }
            try:
                while pending:
                    done, _ = wait(pending, return_when=FIRST_COMPLETED)
                    for future in done:
                        results[pending.pop(future)] = future.result()
                    report("sweep: runs", len(results) / len(tasks))
            except BrokenProcessPool:
                raise RunError(
                    "a sweep worker process died (out of memory?); try fewer --jobs"
                ) from None
            finally:
                for future in pending:
                    future.cancel()
    runs = tuple(
        SweepRun(point=point, seed=seed, figures=results[k][0], seconds=results[k][1])
        for k, (point, seed, _) in enumerate(tasks)
    )
    return SweepResult(plan=plan, runs=runs)
