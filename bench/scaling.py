"""The scaling series: time and peak memory of generating and evaluating a hub-shaped population
of growing size, one fresh subprocess per size (so that each peak RSS is that size's own).

    python -m bench.scaling [--sizes 1000,3000,...,hub] [--budget-seconds 420] [--hub]
                            [--memory-limit-gib 16] [--out results/bench-scaling.json]

A size is a number of images (the `hub` scenario with its apps and nodes scaled to about that
many: `workloads.hub_shaped(n)`) or `hub`, the scenario itself (~570k images, ~100M entries:
the series' hub-sized point). Per size the child generates the population at its last epoch
(timed; the pilot that sizes it is not), evaluates it with the engine
(`workloads.evaluate_tables`, timed as a whole and per stage), sorts its floor keys (timed, same
process), checks the invariants, and reports `ru_maxrss` after the generation and at the end.
Sizes run in ascending order; a size is skipped when the time predicted for it from the last
two sizes (their log-log slope in apps) would overrun the remaining budget, or its predicted
peak memory (+10%) exceeds what the machine has available (`MemAvailable`) or the child's
limit.

`--hub` also runs the `hub` scenario end to end (generate, then simulate) in a child of its own
(about a minute and 7 GiB; scripts/bench.sh passes it unless LAYERSIM_BENCH_HUB=0). Children
run under an address-space limit (`--memory-limit-gib`) so that an oversized run fails with
MemoryError instead of exhausting a shared machine.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import resource
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

# The scenario the series scales, and the size token that stands for it unscaled.
SCENARIO = "hub"
DEFAULT_SIZES = ("1000", "3000", "10000", "30000", "100000", "300000", SCENARIO)
# The population whose evaluation loads the engine's compiled loops before the timed part.
WARM_UP_SCENARIO = "small"


def _images(size: str) -> int | None:
    """A size as `workloads.hub_shaped` takes it: images, or None for the scenario itself."""
    return None if size == SCENARIO else int(size)


def _current_rss_gib() -> float:
    """Resident set size now (Linux `/proc/self/statm`; 0.0 where unavailable)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**30


def _rss_gib() -> float:
    """Peak resident set size of this process so far (Linux reports KiB)."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 2**20


def child_generated(size: str) -> dict[str, Any]:
    """One point of the series (runs in the child process)."""
    import numpy as np

    from bench import workloads

    config = workloads.configure(workloads.hub_shaped(_images(size)))
    # load the engine's compiled loops first (from numba's cache on disk, compiled by the
    # benchmarks before): a fixed cost per process, not part of how time grows with the work
    workloads.evaluate_tables(workloads.build(workloads.Workload(WARM_UP_SCENARIO)))
    start = time.perf_counter()
    arrays = workloads.population(config)
    generate_s = time.perf_counter() - start
    generate_rss = _rss_gib()
    start_rss = _current_rss_gib()  # the population and the interpreter: the engine's start
    start = time.perf_counter()
    stages: dict[str, float] = {}
    tables = workloads.evaluate_tables(arrays, stages)
    engine_s = time.perf_counter() - start
    engine_rss = _rss_gib()
    keys = workloads.floor_keys(arrays)
    floor_s = math.inf
    for _ in range(3):  # the best of three: the floor is a lower bound
        start = time.perf_counter()
        np.sort(keys)
        floor_s = min(floor_s, time.perf_counter() - start)
    del keys
    workloads.check_tables(arrays, tables)
    return {
        "kind": "generated",
        "size": size,
        "apps": config.apps.count,
        **workloads.population_info(arrays),
        "generate_s": generate_s,
        "engine_s": engine_s,
        "floor_sort_s": floor_s,
        "stages_s": stages,
        "generate_peak_rss_gib": generate_rss,
        "engine_peak_rss_gib": engine_rss,
        "rss_before_engine_gib": start_rss,
        "peak_rss_gib": _rss_gib(),
    }


def child_hub() -> dict[str, Any]:
    """The `hub` scenario end to end: generate, then simulate, with the engine's time per
    function."""
    import numpy as np

    from bench import workloads
    from layersim.config import load_config
    from layersim.fleet import generate
    from layersim.simulation import simulate

    with workloads.engine_seconds() as engine_s:
        start = time.perf_counter()
        settings = load_config(scenario=SCENARIO)
        fleet = generate(settings, np.random.default_rng(settings.seed))
        generate_s = time.perf_counter() - start
        generate_rss = _rss_gib()
        start = time.perf_counter()
        simulate(fleet)
        simulate_s = time.perf_counter() - start
    return {
        "kind": "hub",
        **workloads.population_info(fleet.arrays),
        "generate_s": generate_s,
        "engine_s": simulate_s,
        "total_s": generate_s + simulate_s,
        "stages_s": dict(engine_s),
        "generate_peak_rss_gib": generate_rss,
        "peak_rss_gib": _rss_gib(),
    }


def _run_child(args: list[str], timeout_s: float, memory_limit_gib: float) -> dict[str, Any]:
    limit = int(memory_limit_gib * 2**30)

    def limit_memory() -> None:
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))

    command = [sys.executable, "-m", "bench.scaling", *args]
    start = time.perf_counter()
    try:
        done = subprocess.run(
            command,
            capture_output=True,
            text=True,
            timeout=max(timeout_s, 1.0),
            preexec_fn=limit_memory,
            cwd=Path(__file__).resolve().parent.parent,
            check=False,
        )
    except subprocess.TimeoutExpired:
        return {"error": f"timed out after {timeout_s:.0f} s", "wall_s": timeout_s}
    wall = time.perf_counter() - start
    if done.returncode != 0:
        tail = done.stderr.strip().splitlines()[-1:] or [f"exit code {done.returncode}"]
        return {"error": tail[0], "wall_s": wall}
    return {**json.loads(done.stdout.strip().splitlines()[-1]), "wall_s": wall}


def _summary(point: dict[str, Any]) -> str:
    if "error" in point:
        return f"failed: {point['error']}"
    shown = ("images", "entries", "generate_s", "engine_s", "floor_sort_s", "peak_rss_gib")
    return ", ".join(
        f"{k} {point[k]:.3g}" if isinstance(point[k], float) else f"{k} {point[k]}"
        for k in shown
        if k in point
    )


def _expected_apps(size: str, points: list[dict[str, Any]]) -> float:
    """Apps of the population `size` stands for: the scenario's own count, or the images
    asked for at the last point's images per app (0.0 before any point)."""
    if size == SCENARIO:
        from layersim.config import load_config

        return float(load_config(scenario=SCENARIO).apps.count)
    if not points:
        return 0.0
    return int(size) * points[-1]["apps"] / points[-1]["images"]


def _predict(points: list[dict[str, Any]], apps: float, key: str = "wall_s") -> float:
    """`key` (wall seconds, peak GiB) predicted for a population of `apps` apps from the last
    two points' log-log slope (at least linear)."""
    if len(points) < 2:
        return 0.0
    (n0, t0), (n1, t1) = [(p["apps"], p[key]) for p in points[-2:]]
    slope = max(1.0, math.log(t1 / t0) / math.log(n1 / n0)) if t1 > t0 > 0 and n1 > n0 else 1.0
    return t1 * (apps / n1) ** slope


def _available_gib() -> float:
    """Memory the kernel can give without swapping (`MemAvailable`; inf where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return math.inf


def _skip_reason(
    points: list[dict[str, Any]], size: str, remaining_s: float, memory_limit_gib: float
) -> dict[str, Any] | None:
    """Why `size` is not run (predicted to overrun the budget or the memory), or None."""
    apps = _expected_apps(size, points)
    predicted = _predict(points, apps)
    if predicted > remaining_s:
        return {"size": size, "predicted_s": predicted, "remaining_s": remaining_s}
    # a shared machine: never start a size that would take memory others are using
    memory = _predict(points, apps, "peak_rss_gib") * 1.1
    available = min(_available_gib(), memory_limit_gib)
    if memory > available:
        return {"size": size, "predicted_gib": memory, "available_gib": available}
    return None


def _why(skip: dict[str, Any]) -> str:
    if "predicted_gib" in skip:
        return f"predicted {skip['predicted_gib']:.1f} GiB > {skip['available_gib']:.1f} GiB"
    return f"predicted {skip['predicted_s']:.0f} s > {skip['remaining_s']:.0f} s left"


def _ascending(sizes: list[str]) -> list[str]:
    """Numbers of images in ascending order, then the scenario itself."""
    return sorted(sizes, key=lambda s: (s == SCENARIO, 0 if s == SCENARIO else int(s)))


def run_series(
    sizes: list[str], budget_s: float, memory_limit_gib: float, hub: bool, progress: Any
) -> dict[str, Any]:
    started = time.perf_counter()
    points: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for size in _ascending(sizes):
        remaining = budget_s - (time.perf_counter() - started)
        skip = _skip_reason(points, size, remaining, memory_limit_gib)
        if skip is not None:
            skipped.append(skip)
            progress(f"scaling: {size} skipped ({_why(skip)})")
            continue
        progress(f"scaling: {size} ...")
        point = _run_child(["--child", size], remaining, memory_limit_gib)
        progress(f"scaling: {size}: {_summary(point)}")
        if "error" in point:
            skipped.append({"size": size, "error": point["error"]})
            break
        points.append(point)
    result: dict[str, Any] = {
        "shape": "bench.workloads.hub_shaped",
        "budget_s": budget_s,
        "memory_limit_gib": memory_limit_gib,
        "points": points,
        "skipped": skipped,
        "cpu_count": os.cpu_count(),
    }
    if hub:
        progress("hub scenario ...")
        result["hub"] = _run_child(["--child-hub"], 3600.0, memory_limit_gib)
        progress(f"hub scenario: {_summary(result['hub'])}")
    return result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.scaling", description=__doc__)
    parser.add_argument(
        "--sizes",
        default=",".join(DEFAULT_SIZES),
        help=f"numbers of images, and `{SCENARIO}` for the scenario itself",
    )
    parser.add_argument("--budget-seconds", type=float, default=420.0)
    parser.add_argument("--memory-limit-gib", type=float, default=20.0)
    parser.add_argument("--hub", action="store_true", help="also run the hub scenario")
    parser.add_argument("--out", default="results/bench-scaling.json")
    parser.add_argument("--child", help=argparse.SUPPRESS)
    parser.add_argument("--child-hub", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child_generated(args.child)))
        return 0
    if args.child_hub:
        print(json.dumps(child_hub()))
        return 0

    from layersim.cli.atomic import atomic_write_text

    sizes = [s.strip() for s in args.sizes.split(",") if s.strip()]
    for size in sizes:
        if size != SCENARIO and not size.isdigit():
            parser.error(f"--sizes: {size!r} is neither a number of images nor {SCENARIO!r}")
    result = run_series(
        sizes,
        args.budget_seconds,
        args.memory_limit_gib,
        args.hub,
        lambda line: print(line, file=sys.stderr, flush=True),
    )
    out = Path(args.out)
    out.parent.mkdir(parents=True, exist_ok=True)
    atomic_write_text(out, json.dumps(result, indent=2) + "\n")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
