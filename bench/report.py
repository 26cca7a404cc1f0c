"""The benchmark report: `results/bench.md`, `results/bench.json` and `results/bench_scaling.png`.

    python -m bench.report [--raw results/bench-raw.json] [--scaling results/bench-scaling.json]
                           [--out results]
    python bench/report.py   (the same)

Reads pytest-benchmark's JSON and the scaling series (`bench.scaling`), measures every target
of issue 5 (declared once each in `TARGETS`: name, goal, how it is measured from the raw
results, what limits it) as a ratio of two timings of the same run (or a figure of the same
run), marks each PASS or MISS (NOT MEASURED where its benchmark did not run), says plainly what
limits each missed one, and writes the three files atomically. Depends on the standard
library, matplotlib (Agg) and `layersim.cli.atomic` only.
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import json
import math
import statistics
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

# Targets of issue 5 (2 cores, 24 GiB).
COMPANY_MAX_S = 5.0
HUB_MAX_S = 120.0
HUB_MAX_RSS_GIB = 8.0
# The hub-sized population: at least this many of each.
HUB_IMAGES = 500_000
HUB_LAYERS = 1_000_000
HUB_NODES = 10_000
HUB_ENTRIES = 100_000_000
FLOOR_MAX_RATIO = 5.0
REFERENCE_MIN_RATIO = 100.0
ANALYZE_MIN_RATIO = 0.8
REGISTRY_MIN_RATIO = 1.0  # issue 15: faster than `skopeo copy` alone, since nothing is written
LINEAR_MAX_EXPONENT = 1.15  # "close to linear" ...
FLOOR_EXPONENT_SLACK = 0.05  # ... or no worse than the sort itself grows on this machine

# Each benchmark by its test name: what it times.
DESCRIPTIONS = {
    "test_generation_hub_shaped": "fleet generator, hub-shaped population of ~50k images "
    "(bench.workloads), to arrays at its last epoch",
    "test_fleet_generation_company": "fleet generator, `company` scenario",
    "test_company_end_to_end": "`company`: generate + simulate (layersim.simulation.simulate)",
    "test_image_table": "overlay resolution: images.image_table",
    "test_storage_accounting": "registry_stored + node_stored + disk_usage",
    "test_transfers": "push_sequence + pull_sequences (rollouts)",
    "test_container_bytes": "container writable layers",
    "test_engine_evaluate": "the whole engine evaluation (arrays)",
    "test_floor_sort": "floor: one np.sort of every entry key (int64)",
    "test_engine_metrics_10k": "engine: arrays to PopulationMetrics, 10k images",
    "test_engine_tables_10k": "engine: arrays only, 10k images",
    "test_engine_objects_10k": "assemble.evaluate from objects (interning included), 10k images",
    "test_reference_10k": "reference implementation, 10k images",
    "test_stdlib_digest_pass": "floor: stdlib sha256 + gunzip + sha256 of the blobs",
    "test_analyze": "analyze: layersim.readers + engine on the same blobs",
    "test_analyze_paired": "floor then analyze, back to back, one pair per round",
    "test_registry_against_skopeo_copy": "skopeo copy (+ analyze of the copies), then analyze "
    "from the loopback registry, back to back, one pair per round",
}
# The size of the scaling series that stands for the `hub` scenario itself (`bench.scaling`).
SCENARIO_SIZE = "hub"


@dataclass(frozen=True)
class Bench:
    name: str
    median: float
    min: float
    rounds: int
    info: dict[str, Any]


@dataclass(frozen=True)
class Target:
    """A target as reported: its figure on this run, its verdict, what limits it."""

    name: str
    measured: str
    goal: str
    verdict: str  # PASS, MISS, NOT MEASURED
    limits: str = ""  # what limits it (for a MISS), or why it was not measured

    def as_dict(self) -> dict[str, str]:
        return {
            "target": self.name,
            "measured": self.measured,
            "goal": self.goal,
            "verdict": self.verdict,
            "limits": self.limits,
        }


def load_benchmarks(raw: dict[str, Any]) -> dict[str, Bench]:
    out = {}
    for b in raw.get("benchmarks", []):
        stats = b["stats"]
        name = b["name"].split("[", 1)[0]
        out[name] = Bench(name, stats["median"], stats["min"], stats["rounds"], b["extra_info"])
    return out


def fit_exponent(xs: list[float], ys: list[float]) -> float | None:
    """Least-squares slope of log(y) against log(x); None with fewer than two points."""
    pts = [(math.log(x), math.log(y)) for x, y in zip(xs, ys, strict=True) if x > 0 and y > 0]
    if len(pts) < 2:
        return None
    mx = sum(p[0] for p in pts) / len(pts)
    my = sum(p[1] for p in pts) / len(pts)
    sxx = sum((p[0] - mx) ** 2 for p in pts)
    if sxx == 0:
        return None
    return sum((p[0] - mx) * (p[1] - my) for p in pts) / sxx


def fit_points(points: list[dict[str, Any]]) -> list[dict[str, Any]]:
    """The points a growth exponent is fitted on: those where the engine takes at least a
    second (below that, fixed costs dominate), or the largest three."""
    big = [p for p in points if p["engine_s"] >= 1.0]
    return big if len(big) >= 2 else points[-3:]


def is_hub_sized(population: dict[str, Any]) -> bool:
    """At least the hub target's images, layers, nodes and entries."""
    return (
        population["images"] >= HUB_IMAGES
        and population["layers"] >= HUB_LAYERS
        and population["nodes"] >= HUB_NODES
        and population["entries"] >= HUB_ENTRIES
    )


def _fmt_s(seconds: float) -> str:
    if seconds >= 100:
        return f"{seconds:.0f} s"
    if seconds >= 1:
        return f"{seconds:.2f} s"
    return f"{seconds * 1000:.1f} ms"


def _share(stages: dict[str, float]) -> str:
    total = sum(stages.values()) or 1.0
    top = sorted(stages.items(), key=lambda kv: -kv[1])[:3]
    return ", ".join(f"`{k}` {_fmt_s(v)} ({100 * v / total:.0f}%)" for k, v in top)


# --------------------------------------------------------------------------- the targets


@dataclass(frozen=True)
class Runs:
    """The raw results every target is measured from."""

    benches: dict[str, Bench]
    scaling: dict[str, Any]  # empty without a scaling series

    @property
    def points(self) -> list[dict[str, Any]]:
        return self.scaling.get("points", [])

    @property
    def hub(self) -> dict[str, Any] | None:
        return self.scaling.get("hub")

    def exponent(self, key: str) -> float | None:
        """Growth exponent of a point's `key` against entries (`fit_points`), or None."""
        fitted = fit_points(self.points) if self.points else []
        return fit_exponent([p["entries"] for p in fitted], [p[key] for p in fitted])


@dataclass(frozen=True)
class Measured:
    """A target's figure on this run and whether it meets the goal."""

    figure: str
    ok: bool


@dataclass(frozen=True)
class TargetSpec:
    """One target: its name and goal, how it is measured from the runs (`measure` returns a
    `Measured`, or a sentence saying why it was not measured), and what limits it (`limits`,
    called when it is missed)."""

    name: str
    goal: str
    measure: Callable[[Runs], Measured | str]
    limits: Callable[[Runs], str]

    def assess(self, runs: Runs) -> Target:
        measured = self.measure(runs)
        if isinstance(measured, str):
            return Target(self.name, "-", self.goal, "NOT MEASURED", measured)
        verdict = "PASS" if measured.ok else "MISS"
        limits = "" if measured.ok else self.limits(runs)
        return Target(self.name, measured.figure, self.goal, verdict, limits)


def _company(runs: Runs) -> Measured | str:
    company = runs.benches.get("test_company_end_to_end")
    if company is None:
        return "its benchmark did not run"
    figure = f"{_fmt_s(company.median)} (median of {company.rounds})"
    return Measured(figure, company.median < COMPANY_MAX_S)


def _company_limits(runs: Runs) -> str:
    company = runs.benches["test_company_end_to_end"]
    stages, info = company.info.get("stages_s", {}), company.info
    engine = stages.get("engine", {})
    return (
        f"last round: generate {_fmt_s(stages.get('generate', 0))}, simulate "
        f"{_fmt_s(stages.get('simulate', 0))}, of which {_fmt_s(sum(engine.values()))} inside "
        f"engine functions: {_share(engine)} ({info.get('entries', 0):,} entries, "
        f"{info.get('nodes', 0)} nodes, {info.get('pulls', 0):,} pulls, "
        f"{info.get('containers', 0):,} containers)."
    )


def _hub(runs: Runs) -> Measured | str:
    hub = runs.hub
    if hub and "error" not in hub:
        ok = hub["total_s"] < HUB_MAX_S and hub["peak_rss_gib"] < HUB_MAX_RSS_GIB
        figure = (
            f"{_fmt_s(hub['total_s'])}, peak {hub['peak_rss_gib']:.1f} GiB, "
            f"{hub['entries']:,} entries"
        )
        return Measured(figure, ok and is_hub_sized(hub))
    why = f"the run failed: {hub['error']}" if hub else "not run (LAYERSIM_BENCH_HUB=0 skipped it)"
    points = runs.points
    t_exp, m_exp = runs.exponent("engine_s"), runs.exponent("peak_rss_gib")
    if any(is_hub_sized(p) for p in points):
        return why + "; the hub-sized generated population below is measured instead"
    if points and t_exp is not None and m_exp is not None:
        last = points[-1]
        scale = HUB_ENTRIES / last["entries"]
        t_hub = (last["generate_s"] + last["engine_s"]) * scale ** max(t_exp, 1.0)
        m_hub = last["peak_rss_gib"] * scale ** max(m_exp, 1.0)
        why += (
            f"; extrapolated from the scaling series (an estimate, not a measurement): "
            f"~{t_hub:.0f} s and ~{m_hub:.0f} GiB at {HUB_ENTRIES:,} entries"
        )
    return why


def _hub_limits(runs: Runs) -> str:
    hub = runs.hub or {}
    limits = (
        f"generate {_fmt_s(hub['generate_s'])}, simulate {_fmt_s(hub['engine_s'])}; "
        f"{_fmt_s(sum(hub['stages_s'].values()))} inside engine functions: "
        f"{_share(hub['stages_s'])}."
    )
    if not is_hub_sized(hub):
        limits += (
            f" The scenario is smaller than the target population ({hub['images']:,} images, "
            f"{hub['layers']:,} layers, {hub['nodes']:,} nodes, {hub['entries']:,} entries)."
        )
    return limits


def _hub_sized_point(runs: Runs) -> dict[str, Any] | None:
    return next((p for p in runs.points if is_hub_sized(p)), None)


def _hub_sized(runs: Runs) -> Measured | str:
    p = _hub_sized_point(runs)
    if p is None:
        return (
            "the scaling series did not reach a hub-sized population (see the sizes it did "
            "not run below)"
        )
    total = p["generate_s"] + p["engine_s"]
    figure = (
        f"{_fmt_s(total)}, peak {p['peak_rss_gib']:.1f} GiB ({p['images']:,} images, "
        f"{p['layers']:,} layers, {p['nodes']:,} nodes, {p['entries']:,} entries)"
    )
    return Measured(figure, total < HUB_MAX_S and p["peak_rss_gib"] < HUB_MAX_RSS_GIB)


def _hub_sized_limits(runs: Runs) -> str:
    p = _hub_sized_point(runs) or {}
    population = p.get("population_bytes", 0) / 2**30
    extra = p["peak_rss_gib"] - p.get("rss_before_engine_gib", 0.0)
    return (
        f"generate {_fmt_s(p['generate_s'])}, engine {_fmt_s(p['engine_s'])}: "
        f"{_share(p['stages_s'])}. Memory: the population's arrays are {population:.1f} GiB; "
        f"the engine's temporaries add {extra:.1f} GiB at the peak "
        f"(~{extra * 2**30 / p['entries']:.0f} bytes per entry: several int64 columns of "
        f"entry or occurrence length alive at once)."
    )


def _growth(runs: Runs) -> Measured | str:
    t_exp, f_exp = runs.exponent("engine_s"), runs.exponent("floor_sort_s")
    if t_exp is None:
        return "no scaling series"
    fitted = fit_points(runs.points)
    m_exp = runs.exponent("peak_rss_gib")
    figure = (
        f"exponent {t_exp:.2f} ({fitted[0]['entries']:,} to {fitted[-1]['entries']:,} entries)"
        + (f"; the floor sort's {f_exp:.2f}" if f_exp is not None else "")
        + (f"; peak RSS {m_exp:.2f}" if m_exp is not None else "")
    )
    allowed = max(LINEAR_MAX_EXPONENT, (f_exp or 0.0) + FLOOR_EXPONENT_SLACK)
    return Measured(figure, t_exp <= allowed)


def _growth_limits(runs: Runs) -> str:
    fitted = fit_points(runs.points)
    f_exp = runs.exponent("floor_sort_s")
    return (
        f"time grows as entries^{runs.exponent('engine_s'):.2f} over "
        f"{fitted[0]['entries']:,} to {fitted[-1]['entries']:,} entries (the sort: "
        f"^{f_exp if f_exp is not None else float('nan'):.2f}); at the largest size: "
        f"{_share(runs.points[-1]['stages_s'])}."
    )


# (benchmark, what it times) of the engine's parts, compared one by one with the floor
FLOOR_PARTS = (
    ("test_image_table", "overlay resolution (`image_table`)"),
    ("test_storage_accounting", "registry and node accounting"),
    ("test_transfers", "pushes and pulls"),
    ("test_container_bytes", "containers"),
)


def _floor_split(runs: Runs) -> str:
    """Each part of the engine in sorts of the floor."""
    floor_b = runs.benches["test_floor_sort"]
    return "; ".join(
        f"{name} {runs.benches[key].median / floor_b.median:.1f}x"
        for key, name in FLOOR_PARTS
        if key in runs.benches
    )


def _floor(runs: Runs) -> Measured | str:
    engine_b, floor_b = (
        runs.benches.get("test_engine_evaluate"),
        runs.benches.get("test_floor_sort"),
    )
    if not (engine_b and floor_b):
        return "did not run"
    ratio = engine_b.median / floor_b.median
    figure = (
        f"{ratio:.1f}x ({_fmt_s(engine_b.median)} / {_fmt_s(floor_b.median)}, "
        f"{engine_b.info.get('entries', 0):,} entries; per part, in sorts of the floor: "
        f"{_floor_split(runs)})"
    )
    return Measured(figure, ratio <= FLOOR_MAX_RATIO)


def _floor_limits(runs: Runs) -> str:
    floor_b = runs.benches["test_floor_sort"]
    where = ""
    if runs.points:
        last = runs.points[-1]
        where = (
            " In the scaling series the ratio is "
            + ", ".join(
                f"{p['engine_s'] / p['floor_sort_s']:.0f}x at {p['entries']:,}"
                for p in runs.points[-3:]
            )
            + f" entries; at {last['entries']:,} entries the engine's time goes to "
            f"{_share(last['stages_s'])}."
        )
    sort_ns = floor_b.median / max(floor_b.info.get("entries", 1), 1) * 1e9
    return (
        f"the floor sort costs {sort_ns:.0f} ns per entry here. Overlay resolution stacks "
        f"every occurrence once in the trie walk (`kernels.overlay_walk`), reading its entry's "
        f"columns and its path's slots and logging the change to undo it: bound by memory "
        f"traffic, not by instructions; the rest are single passes over the entries (checks, "
        f"per-layer sums) or over what each store holds. Per part, in sorts of the floor: "
        f"{_floor_split(runs)}.{where}"
    )


def _reference(runs: Runs) -> Measured | str:
    ref_b, eng_b = (
        runs.benches.get("test_reference_10k"),
        runs.benches.get("test_engine_metrics_10k"),
    )
    if not (ref_b and eng_b):
        return "did not run"
    ratio = ref_b.median / eng_b.median
    figure = (
        f"{ratio:.0f}x ({_fmt_s(ref_b.median)} / {_fmt_s(eng_b.median)}, "
        f"{ref_b.info.get('images', 0):,} images, same PopulationMetrics)"
    )
    around = ref_b.info.get("engine_around_s", [])
    if around:
        # the engine timed right before and after the reference's single round
        engine_s = statistics.median(around)
        ratio = ref_b.median / engine_s
        figure = (
            f"{ratio:.0f}x ({_fmt_s(ref_b.median)} / {_fmt_s(engine_s)}, the engine's median "
            f"of {len(around)} rounds right before and after the reference; as separate "
            f"benchmarks: {figure})"
        )
    tables_b = runs.benches.get("test_engine_tables_10k")
    if tables_b:
        figure += f"; arrays only: {ref_b.median / tables_b.median:.0f}x"
    return Measured(figure, ratio >= REFERENCE_MIN_RATIO)


def _reference_limits(runs: Runs) -> str:
    eng_b = runs.benches["test_engine_metrics_10k"]
    tables_b = runs.benches.get("test_engine_tables_10k")
    conversion = eng_b.median - tables_b.median if tables_b else float("nan")
    per_image = eng_b.info.get("entries", 0) / max(eng_b.info.get("images", 1), 1)
    return (
        f"of the engine's {_fmt_s(eng_b.median)}, {_fmt_s(conversion)} is building the result "
        f"objects (one ImageMetrics per image, one PushRecord/PullRecord per transfer with "
        f"layer-label tuples) in Python; the arrays-only evaluation is "
        f"{_fmt_s(tables_b.median) if tables_b else '?'}. The population has {per_image:.0f} "
        f"entries per image, kept small because the reference is quadratic per image."
    )


def _analyze(runs: Runs) -> Measured | str:
    an_b, std_b = runs.benches.get("test_analyze"), runs.benches.get("test_stdlib_digest_pass")
    if not (an_b and std_b):
        return "did not run"
    ratio = std_b.median / an_b.median
    mib = an_b.info.get("blob_bytes", 0) / 2**20
    figure = (
        f"{ratio:.2f}x ({mib / an_b.median:.0f} MiB/s vs {mib / std_b.median:.0f} MiB/s "
        f"of stored blobs, {mib:.0f} MiB)"
    )
    paired_b = runs.benches.get("test_analyze_paired")
    pairs = paired_b.info.get("paired_ratios", [])[1:] if paired_b else []  # no warm-up
    if pairs:
        ratio = statistics.median(pairs)
        figure = (
            f"{ratio:.2f}x, median of {len(pairs)} back-to-back pairs (range "
            f"{min(pairs):.2f}-{max(pairs):.2f}); as two separate benchmarks: {figure}"
        )
    return Measured(figure, ratio >= ANALYZE_MIN_RATIO)


def _analyze_limits(runs: Runs) -> str:
    return (
        "analyze does more than the floor on the same bytes: besides the blob digest and the "
        "DiffID it hashes every regular file's bytes, parses every tar header in Python and "
        "apportions compressed bytes; and since chunk-level dedup (issue 13) it cuts every file "
        "twice (FastCDC and fixed-size), hashes every chunk of both (two more sha256 passes "
        "over the file bytes) and compresses every distinct chunk with zstd-3 on the reading "
        "thread, which profiling puts at about 60% of the read. Fixes not yet made: compress "
        "chunks on a worker thread, and compress once the bytes both chunkers cut alike. It "
        "gets ahead of the floor only by using both cores; when the second is busy it cannot."
    )


def _registry(runs: Runs) -> Measured | str:
    reg_b = runs.benches.get("test_registry_against_skopeo_copy")
    if not reg_b:
        return "did not run (needs docker-registry and skopeo: .ci/install-tools.sh)"
    copies = reg_b.info.get("copy_over_registry", [])
    totals = reg_b.info.get("copy_and_analyze_over_registry", [])
    if not copies:
        return "did not run"
    ratio = statistics.median(copies)
    figure = (
        f"{ratio:.2f}x, median of {len(copies)} back-to-back pairs (range "
        f"{min(copies):.2f}-{max(copies):.2f}); against copy + analyze of the copies: "
        f"{statistics.median(totals):.2f}x ({reg_b.info.get('images', 0)} images, "
        f"{reg_b.info.get('blob_bytes', 0) / 2**20:.0f} MiB of blobs)"
    )
    return Measured(figure, ratio >= REGISTRY_MIN_RATIO)


def _registry_limits(runs: Runs) -> str:
    return (
        "both sides move the same blobs over loopback HTTP; the registry read also decompresses, "
        "parses and hashes every layer (analyze's work), which skopeo's copy does not: it wins "
        "only by writing nothing, and loses where hashing outweighs the writes."
    )


HUB_GOAL = (
    f"< {HUB_MAX_S:.0f} s and < {HUB_MAX_RSS_GIB:.0f} GiB at >= {HUB_ENTRIES // 10**6}M entries"
)
TARGETS = (
    TargetSpec(
        "`company` end to end (generate + simulate)",
        f"< {COMPANY_MAX_S:.0f} s",
        _company,
        _company_limits,
    ),
    TargetSpec("`hub` end to end (generate + simulate)", HUB_GOAL, _hub, _hub_limits),
    TargetSpec(
        "hub-sized generated population (the `hub` scenario's fleet at its last epoch), "
        "generate + evaluate once (no simulation)",
        f"< {HUB_MAX_S:.0f} s and < {HUB_MAX_RSS_GIB:.0f} GiB",
        _hub_sized,
        _hub_sized_limits,
    ),
    TargetSpec(
        "growth of engine time with file entries (scaling series)",
        f"close to linear: <= {LINEAR_MAX_EXPONENT}, or within {FLOOR_EXPONENT_SLACK} of the "
        "sort's own exponent",
        _growth,
        _growth_limits,
    ),
    TargetSpec(
        "engine against the floor (one np.sort of every entry key)",
        f"<= {FLOOR_MAX_RATIO:.0f}x",
        _floor,
        _floor_limits,
    ),
    TargetSpec(
        "engine against the reference implementation",
        f">= {REFERENCE_MIN_RATIO:.0f}x",
        _reference,
        _reference_limits,
    ),
    TargetSpec(
        "analyze throughput against stdlib gunzip + sha256",
        f">= {ANALYZE_MIN_RATIO}x",
        _analyze,
        _analyze_limits,
    ),
    TargetSpec(
        "analyze from a loopback registry against `skopeo copy` of the same images",
        f">= {REGISTRY_MIN_RATIO:.1f}x (faster than the copy alone)",
        _registry,
        _registry_limits,
    ),
)


def targets(benches: dict[str, Bench], scaling: dict[str, Any] | None) -> list[Target]:
    """Every target of `TARGETS`, measured on these results."""
    runs = Runs(benches, scaling or {})
    return [spec.assess(runs) for spec in TARGETS]


# --------------------------------------------------------------------------- bench.md


def _source_note(benches: dict[str, Bench], scaling: dict[str, Any]) -> list[str]:
    """A line naming the timed modules' source fingerprint, or a warning if it changed."""
    seen: dict[str, list[str]] = {}
    for b in benches.values():
        seen.setdefault(b.info.get("source", "?"), []).append(b.name)
    for p in scaling.get("points", []):
        seen.setdefault(p.get("source", "?"), []).append(f"scaling {p['images']:,}")
    hub = scaling.get("hub")
    if hub and "source" in hub:
        seen.setdefault(hub["source"], []).append("hub")
    if len(seen) <= 1:
        return [f"Source of the timed modules: `{next(iter(seen), '?')}` throughout.", ""]
    parts = "; ".join(f"`{k}`: {', '.join(v)}" for k, v in seen.items())
    return [
        "**Warning: the timed modules' source changed during this run** (a shared working "
        f"tree); measurements grouped by source fingerprint: {parts}. Ratios within one "
        "group are same-run comparisons; across groups they are not.",
        "",
    ]


def _header(benches: dict[str, Bench], scaling: dict[str, Any], raw: dict[str, Any]) -> list[str]:
    machine = raw.get("machine_info", {})
    commit = raw.get("commit_info", {})
    return [
        "# layersim benchmarks",
        "",
        f"Generated by `bash scripts/bench.sh` on {raw.get('datetime', '?')}; commit "
        f"`{str(commit.get('id', '?'))[:12]}`{' (dirty tree)' if commit.get('dirty') else ''}; "
        f"{machine.get('cpu', {}).get('brand_raw', '?')}, "
        f"{scaling.get('cpu_count', '?')} cores; Python {machine.get('python_version', '?')}.",
        "",
        "Every ratio compares two timings of the same run on the same machine (a shared, "
        "noisy 2-core machine: absolute times vary by tens of percent from run to run, ratios "
        "much less). Medians unless stated. Every population is generated by the fleet "
        "generator (`layersim.fleet`) from a scenario whose apps and nodes are scaled to the "
        "size wanted (`bench.workloads`), taken at its last epoch.",
        "",
        *_source_note(benches, scaling),
    ]


def _targets_section(goals: list[Target]) -> list[str]:
    lines = ["## Targets", "", "| target | measured | goal | verdict |", "|---|---|---|---|"]
    lines += [f"| {t.name} | {t.measured} | {t.goal} | **{t.verdict}** |" for t in goals]
    missed = [t for t in goals if t.verdict != "PASS" and t.limits]
    if missed:
        lines += ["", "### What limits the targets not met", ""]
        lines += [f"- **{t.name}** ({t.verdict}): {t.limits}" for t in missed]
    return lines


def _count(value: Any) -> str:
    return f"{value:,}" if isinstance(value, int) else str(value)


def _benchmarks_section(benches: dict[str, Bench]) -> list[str]:
    lines = [
        "",
        "## Benchmarks (pytest-benchmark)",
        "",
        "| benchmark | what | median | min | rounds | images | entries |",
        "|---|---|---|---|---|---|---|",
    ]
    for b in benches.values():
        lines.append(
            f"| `{b.name}` | {DESCRIPTIONS.get(b.name, '')} | {_fmt_s(b.median)} | "
            f"{_fmt_s(b.min)} | {b.rounds} | {_count(b.info.get('images', ''))} | "
            f"{_count(b.info.get('entries', ''))} |"
        )
    return lines


def _size_name(size: str) -> str:
    if size == SCENARIO_SIZE:
        return f"the `{SCENARIO_SIZE}` scenario itself"
    return f"{int(size):,} images"


def _scaling_table(points: list[dict[str, Any]]) -> list[str]:
    lines = [
        "| images | apps | layers | entries | nodes | generate | engine | floor sort "
        "| engine / floor | RSS at engine start | peak RSS |",
        "|---|---|---|---|---|---|---|---|---|---|---|",
    ]
    for p in points:
        scenario = f" (`{SCENARIO_SIZE}`)" if p.get("size") == SCENARIO_SIZE else ""
        lines.append(
            f"| {p['images']:,}{scenario} | {p['apps']:,} | {p['layers']:,} | "
            f"{p['entries']:,} | {p['nodes']:,} | {_fmt_s(p['generate_s'])} | "
            f"{_fmt_s(p['engine_s'])} | {_fmt_s(p['floor_sort_s'])} | "
            f"{p['engine_s'] / p['floor_sort_s']:.0f}x | "
            f"{p.get('rss_before_engine_gib', float('nan')):.2f} GiB | "
            f"{p['peak_rss_gib']:.2f} GiB |"
        )
    return lines


def _exponents(points: list[dict[str, Any]]) -> list[str]:
    fitted = fit_points(points)
    lines = [
        "",
        "Growth exponents (least squares on log-log, "
        f"{fitted[0]['images']:,} to {fitted[-1]['images']:,} images):",
        "",
    ]
    for label, key in (
        ("engine time", "engine_s"),
        ("generate time", "generate_s"),
        ("floor sort", "floor_sort_s"),
        ("peak RSS", "peak_rss_gib"),
    ):
        ys = [p[key] for p in fitted]
        e_entries = fit_exponent([p["entries"] for p in fitted], ys)
        e_images = fit_exponent([p["images"] for p in fitted], ys)
        if e_entries is not None and e_images is not None:
            lines.append(f"- {label}: entries^{e_entries:.2f}, images^{e_images:.2f}")
    return lines


def _not_run(skipped: list[dict[str, Any]]) -> list[str]:
    def why(s: dict[str, Any]) -> str:
        if "error" in s:
            return f"failed: {s['error']}"
        if "predicted_gib" in s:
            return (
                f"predicted {s['predicted_gib']:.1f} GiB, {s['available_gib']:.1f} GiB allowed: "
                "the smaller of the child's cap and what the shared machine had available"
            )
        return f"predicted {s['predicted_s']:.0f} s, {s['remaining_s']:.0f} s of the budget left"

    if not skipped:
        return []
    sizes = "; ".join(f"{_size_name(s['size'])} ({why(s)})" for s in skipped)
    return ["", f"Not run: {sizes}."]


def _scaling_section(scaling: dict[str, Any]) -> list[str]:
    points = scaling.get("points", [])
    if not points:
        return _not_run(scaling.get("skipped", []))
    last = points[-1]
    stages = sorted(last["stages_s"].items(), key=lambda x: -x[1])
    return [
        "",
        "## Scaling (generated hub-shaped population, one process per size)",
        "",
        f"Each size is the `{SCENARIO_SIZE}` scenario with its apps and nodes scaled to about "
        "that many images (`bench.workloads.hub_shaped`), at its last epoch; the largest is "
        "the scenario itself. Timed: generating it, then one evaluation by the engine.",
        "",
        "![time and peak memory against images, log-log](bench_scaling.png)",
        "",
        *_scaling_table(points),
        *_exponents(points),
        "",
        f"Engine stages at {last['images']:,} images: "
        + ", ".join(f"`{k}` {_fmt_s(v)}" for k, v in stages)
        + ".",
        *_not_run(scaling.get("skipped", [])),
    ]


def _hub_section(hub: dict[str, Any] | None) -> list[str]:
    if not hub or "error" in hub:
        return []
    return [
        "",
        f"`{SCENARIO_SIZE}` scenario end to end: {hub['images']:,} images, {hub['layers']:,} "
        f"layers, {hub['entries']:,} entries, {hub['nodes']:,} nodes; generate "
        f"{_fmt_s(hub['generate_s'])}, then simulate {_fmt_s(hub['engine_s'])} ("
        + ", ".join(f"`{k}` {_fmt_s(v)}" for k, v in hub["stages_s"].items())
        + f"), peak RSS {hub['peak_rss_gib']:.2f} GiB.",
    ]


def markdown(
    benches: dict[str, Bench],
    scaling: dict[str, Any] | None,
    goals: list[Target],
    raw: dict[str, Any],
) -> str:
    series = scaling or {}
    lines = [
        *_header(benches, series, raw),
        *_targets_section(goals),
        *_benchmarks_section(benches),
        *_scaling_section(series),
        *_hub_section(series.get("hub")),
        "",
        "Regenerate with `bash scripts/bench.sh` (raw timings: `results/bench-raw.json`, "
        "scaling: `results/bench-scaling.json`, both with this report's figures in "
        "`results/bench.json`).",
        "",
    ]
    return "\n".join(lines)


def plot(points: list[dict[str, Any]]) -> bytes:
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    fig, (ax_t, ax_m) = plt.subplots(1, 2, figsize=(11, 4.5))
    images = [p["images"] for p in points]
    for key, label, style in (
        ("engine_s", "engine (evaluate)", "o-"),
        ("generate_s", "generate population", "s-"),
        ("floor_sort_s", "floor: np.sort of entry keys", "^--"),
    ):
        ax_t.plot(images, [p[key] for p in points], style, label=label)
    if points:
        first = points[0]
        ax_t.plot(
            images,
            [first["engine_s"] * n / first["images"] for n in images],
            ":",
            color="grey",
            label="linear (from the first point)",
        )
    ax_t.set(xscale="log", yscale="log", xlabel="images", ylabel="seconds", title="Time")
    ax_t.grid(True, which="both", alpha=0.3)
    ax_t.legend(fontsize=8)
    ax_m.plot(images, [p["peak_rss_gib"] for p in points], "o-", label="peak RSS (whole run)")
    ax_m.plot(
        images,
        [p["generate_peak_rss_gib"] for p in points],
        "s--",
        label="peak RSS of the generation",
    )
    if all("rss_before_engine_gib" in p for p in points):
        ax_m.plot(
            images,
            [p["rss_before_engine_gib"] for p in points],
            "^:",
            label="RSS at engine start (population)",
        )
    ax_m.set(xscale="log", yscale="log", xlabel="images", ylabel="GiB", title="Peak memory")
    ax_m.grid(True, which="both", alpha=0.3)
    ax_m.legend(fontsize=8)
    if points:
        per_image = points[-1]["entries"] / points[-1]["images"]
        fig.suptitle(
            f"layersim engine scaling (generated, hub-shaped; {per_image:.0f} entries per image)",
            fontsize=10,
        )
    fig.tight_layout()
    buffer = io.BytesIO()
    fig.savefig(buffer, format="png", dpi=110)
    plt.close(fig)
    return buffer.getvalue()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="python -m bench.report", description=__doc__)
    parser.add_argument("--raw", default="results/bench-raw.json")
    parser.add_argument("--scaling", default="results/bench-scaling.json")
    parser.add_argument("--out", default="results")
    args = parser.parse_args(argv)

    from layersim.cli.atomic import atomic_write_bytes, atomic_write_text

    raw = json.loads(Path(args.raw).read_text(encoding="utf-8"))
    scaling_path = Path(args.scaling)
    scaling = (
        json.loads(scaling_path.read_text(encoding="utf-8")) if scaling_path.exists() else None
    )
    benches = load_benchmarks(raw)
    goals = targets(benches, scaling)
    out = Path(args.out)
    out.mkdir(parents=True, exist_ok=True)
    combined = {
        "generated": dt.datetime.now(dt.UTC).isoformat(timespec="seconds"),
        "targets": [t.as_dict() for t in goals],
        "benchmarks": {
            b.name: {"median_s": b.median, "min_s": b.min, "rounds": b.rounds, "info": b.info}
            for b in benches.values()
        },
        "scaling": scaling,
        "pytest_benchmark": raw,
    }
    atomic_write_text(out / "bench.json", json.dumps(combined, indent=2) + "\n")
    atomic_write_text(out / "bench.md", markdown(benches, scaling, goals, raw))
    if scaling and scaling.get("points"):
        atomic_write_bytes(out / "bench_scaling.png", plot(scaling["points"]))
    for t in goals:
        print(f"{t.verdict:>12}  {t.name}: {t.measured}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
