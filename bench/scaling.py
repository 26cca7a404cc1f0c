"""The scaling series: time and peak memory of building and evaluating a hub-shaped population
of growing size, one fresh subprocess per size (so that each peak RSS is that size's own).

    python -m bench.scaling [--sizes 1000,3000,...] [--budget-seconds 420] [--hub]
                            [--memory-limit-gib 16] [--out results/bench-scaling.json]

Per size the child builds `workloads.hub_shaped(n)` (timed), evaluates it with the engine
(`workloads.evaluate_tables`, timed as a whole and per stage), sorts its floor keys (timed, same
process), checks the invariants, and reports `ru_maxrss` after the build and at the end. Sizes
run in ascending order; a size is skipped when the time predicted for it from the last two sizes
(their log-log slope) would overrun the remaining budget, or its predicted peak memory (+10%)
exceeds what the machine has available (`MemAvailable`) or the child's limit.

`--hub` also runs the `hub` scenario of the fleet generator end to end (generate, then every
figure of its whole population) in a child of its own (about a minute and 7 GiB; scripts/bench.sh
passes it unless LAYERSIM_BENCH_HUB=0). Children run under an address-space limit (`--memory-limit-gib`)
so that an oversized run fails with MemoryError instead of exhausting a shared machine.
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

DEFAULT_SIZES = (1_000, 3_000, 10_000, 30_000, 100_000, 300_000, 500_000)


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


def child_synthetic(n_images: int) -> dict[str, Any]:
    """One point of the series (runs in the child process)."""
    import numpy as np

    from bench import synthetic, workloads

    # load the engine's compiled loops first (from numba's cache on disk, compiled by the
    # benchmarks before): a fixed cost per process, not part of how time grows with the work
    workloads.evaluate_tables(synthetic.build(workloads.hub_shaped(100)))
    start = time.perf_counter()
    arrays = synthetic.build(workloads.hub_shaped(n_images))
    build_s = time.perf_counter() - start
    build_rss = _rss_gib()
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
        "kind": "synthetic",
        **workloads.population_info(arrays),
        "build_s": build_s,
        "engine_s": engine_s,
        "floor_sort_s": floor_s,
        "stages_s": stages,
        "build_peak_rss_gib": build_rss,
        "engine_peak_rss_gib": engine_rss,
        "rss_before_engine_gib": start_rss,
        "peak_rss_gib": _rss_gib(),
    }


def child_hub() -> dict[str, Any]:
    """The `hub` scenario end to end: generate, then simulate (`layersim.simulation.simulate`; while it is
    absent, one evaluation of the whole population), with the engine's time per function."""
    import numpy as np

    from bench import workloads
    from layersim.config import load_config
    from layersim.fleet.generate import generate

    try:
        from layersim.simulation import simulate
    except ImportError:
        simulate = None
    with workloads.engine_seconds() as engine_s:
        start = time.perf_counter()
        settings = load_config(scenario="hub")
        fleet = generate(settings, np.random.default_rng(settings.seed))
        generate_s = time.perf_counter() - start
        generate_rss = _rss_gib()
        start = time.perf_counter()
        if simulate is not None:
            simulate(fleet)
        else:
            workloads.check_tables(fleet.arrays, workloads.evaluate_tables(fleet.arrays))
        engine_total = time.perf_counter() - start
    return {
        "kind": "hub",
        "includes_simulate": simulate is not None,
        **workloads.population_info(fleet.arrays),
        "generate_s": generate_s,
        "engine_s": engine_total,
        "total_s": generate_s + engine_total,
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
    shown = ("entries", "build_s", "generate_s", "engine_s", "floor_sort_s", "peak_rss_gib")
    return ", ".join(
        f"{k} {point[k]:.3g}" if isinstance(point[k], float) else f"{k} {point[k]}"
        for k in shown
        if k in point
    )


def _predict(points: list[dict[str, Any]], n_images: int, key: str = "wall_s") -> float:
    """`key` (wall seconds, peak GiB) predicted for `n_images` from the last two points'
    log-log slope (at least linear)."""
    if len(points) < 2:
        return 0.0
    (n0, t0), (n1, t1) = [(p["images"], p[key]) for p in points[-2:]]
    slope = max(1.0, math.log(t1 / t0) / math.log(n1 / n0)) if t1 > t0 > 0 else 1.0
    return t1 * (n_images / n1) ** slope


def _available_gib() -> float:
    """Memory the kernel can give without swapping (`MemAvailable`; inf where unknown)."""
    try:
        for line in Path("/proc/meminfo").read_text().splitlines():
            if line.startswith("MemAvailable:"):
                return int(line.split()[1]) / 2**20
    except (OSError, ValueError, IndexError):
        pass
    return math.inf


def run_series(
    sizes: list[int], budget_s: float, memory_limit_gib: float, hub: bool, progress: Any
) -> dict[str, Any]:
    started = time.perf_counter()
    points: list[dict[str, Any]] = []
    skipped: list[dict[str, Any]] = []
    for n in sorted(sizes):
        remaining = budget_s - (time.perf_counter() - started)
        predicted = _predict(points, n)
        if predicted > remaining:
            skipped.append({"images": n, "predicted_s": predicted, "remaining_s": remaining})
            progress(
                f"scaling: {n} images skipped (predicted {predicted:.0f} s > {remaining:.0f} s)"
            )
            continue
        # a shared machine: never start a size that would take memory others are using
        memory = _predict(points, n, "peak_rss_gib") * 1.1
        available = min(_available_gib(), memory_limit_gib)
        if memory > available:
            skipped.append({"images": n, "predicted_gib": memory, "available_gib": available})
            progress(f"scaling: {n} images skipped (predicted {memory:.1f} GiB > {available:.1f})")
            continue
        progress(f"scaling: {n} images ...")
        point = _run_child(["--child", str(n)], remaining, memory_limit_gib)
        progress(f"scaling: {n} images: {_summary(point)}")
        if "error" in point:
            skipped.append({"images": n, "error": point["error"]})
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
    parser.add_argument("--sizes", default=",".join(str(n) for n in DEFAULT_SIZES))
    parser.add_argument("--budget-seconds", type=float, default=420.0)
    parser.add_argument("--memory-limit-gib", type=float, default=20.0)
    parser.add_argument("--hub", action="store_true", help="also run the hub scenario")
    parser.add_argument("--out", default="results/bench-scaling.json")
    parser.add_argument("--child", type=int, help=argparse.SUPPRESS)
    parser.add_argument("--child-hub", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child is not None:
        print(json.dumps(child_synthetic(args.child)))
        return 0
    if args.child_hub:
        print(json.dumps(child_hub()))
        return 0

    from layersim.cli.atomic import atomic_write_text

    sizes = [int(s) for s in args.sizes.split(",") if s.strip()]
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
