"""What the benchmarks time, the same-run floors they are compared with, and their checks.

- `evaluate_tables`: the engine's whole evaluation of a population on arrays (overlay
  resolution, registry and node accounting, transfers, containers): what "evaluating a
  population" means in the targets. `metrics_from_arrays` adds the conversion to
  `PopulationMetrics` objects, which is timed separately (engine against the reference).
- `floor_keys` / `floor_sort`: one `numpy.sort` over every file entry's key as int64, the
  unavoidable sort of any evaluation that must group entries by path and content.
- `check_tables`: invariants every population satisfies (file <= layer <= logical, flattened
  <= layered, transfers that add up to what is stored), asserted by every engine benchmark.
- The population specs every benchmark and the scaling series share.
"""

from __future__ import annotations

import hashlib
import importlib
import importlib.util
import inspect
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Any, TypeVar

import numpy as np

from bench.synthetic import SyntheticSpec
from layersim.accounting.arrays import I64, CanonicalArrays, PopulationArrays, canonical, csr_rows
from layersim.accounting.containers import container_bytes
from layersim.accounting.images import ImageTable, image_table
from layersim.accounting.metrics import StoredBytes
from layersim.accounting.storage import (
    DiskUsageTable,
    StoredTable,
    disk_usage,
    node_stored,
    registry_stored,
)
from layersim.accounting.transfers import PullTable, PushTable, pull_sequences, push_sequence

T = TypeVar("T")

# The modules whose speed the benchmarks measure: their source fingerprint is recorded with
# every measurement, because in a shared working tree they can change between two steps.
SOURCE_MODULES = (
    "layersim.accounting.images",
    "layersim.accounting.transfers",
    "layersim.accounting.storage",
    "layersim.accounting.containers",
    "layersim.accounting.assemble",
    "layersim.accounting.scratch",
    "layersim.accounting.sortops",
    "layersim.accounting.arrays",
    "layersim.fleet.generate",
    "layersim.simulation.simulate",
    "layersim.readers.layer_tar",
)


def source_fingerprint() -> str:
    """sha256 (12 hex digits) of the source files of `SOURCE_MODULES` that exist."""
    digest = hashlib.sha256()
    for name in SOURCE_MODULES:
        try:
            spec = importlib.util.find_spec(name)
        except ImportError:
            spec = None
        if spec is not None and spec.origin:
            digest.update(name.encode() + b"\0" + Path(spec.origin).read_bytes())
    return digest.hexdigest()[:12]


# taken when the benchmarks import the engine: the code they time
SOURCE_AT_IMPORT = source_fingerprint()

# Hub-shaped: ~104 entries per layer, ~2 distinct layers and ~209 entries per image, one node
# per 50 images (a quarter of the apps built without a layer cache): 500,000 images of this
# shape are >= 1M layers, 10,000 nodes and >= 100M file entries, the `hub` target's population.
HUB_SHAPE = SyntheticSpec(n_images=1, files_per_layer=100.0, uncached_probability=0.25)
# The engine-against-reference population: 10,000 images, small stacks, because the reference
# is quadratic in an image's entries (`overlay._drop` scans the view for every entry).
REFERENCE_SPEC = SyntheticSpec(n_images=10_000, files_per_layer=6.0, base_scale=5.0)


def hub_shaped(n_images: int) -> SyntheticSpec:
    """The scaling series' population of `n_images` (the `hub` shape at any size)."""
    return replace(HUB_SHAPE, n_images=n_images)


# The per-function benchmarks and the floor comparison: hub-shaped, a few million entries.
ENGINE_SPEC = hub_shaped(20_000)
# Generation speed: ~10M entries.
GENERATION_SPEC = hub_shaped(50_000)


@dataclass(frozen=True, eq=False)
class Tables:
    """Everything the engine computes for a population, as arrays."""

    images: ImageTable
    registry: StoredBytes
    pushes: PushTable
    pulls: PullTable
    stored: StoredTable
    usage: DiskUsageTable
    containers: I64


STAGES = (
    "image_table",
    "registry_stored",
    "push_sequence",
    "pull_sequences",
    "node_stored",
    "disk_usage",
    "container_bytes",
)


def evaluate_tables(arrays: PopulationArrays, seconds: dict[str, float] | None = None) -> Tables:
    """The engine's evaluation of a whole population (every figure, on arrays), deriving all it
    needs (the canonical order, the layer scan) as a process that evaluates once does. If
    `seconds` is given, each stage's wall time is recorded in it (keys: `STAGES`; checking and
    ordering the arrays counts in `image_table`, as the first stage that needs it)."""
    a = arrays
    times = seconds if seconds is not None else {}

    def stage(name: str, fn: Callable[[], T]) -> T:
        start = time.perf_counter()
        out = fn()
        times[name] = time.perf_counter() - start
        return out

    def images_stage() -> tuple[CanonicalArrays, ImageTable]:
        canon = canonical(a)
        return canon, image_table(canon)

    canon, images = stage("image_table", images_stage)
    return Tables(
        images=images,
        registry=stage("registry_stored", lambda: registry_stored(a, a.push_order, images)),
        pushes=stage("push_sequence", lambda: push_sequence(a, a.push_order, images)),
        pulls=stage(
            "pull_sequences",
            lambda: pull_sequences(a, a.node_offsets, a.node_images, images),
        ),
        stored=stage("node_stored", lambda: node_stored(a, a.node_offsets, a.node_images, images)),
        usage=stage("disk_usage", lambda: disk_usage(a, a.node_offsets, a.node_images, images)),
        containers=stage("container_bytes", lambda: container_bytes(canon)),
    )


# The engine's modules: `engine_seconds` times their public functions
ENGINE_MODULES = (
    "layersim.accounting.images",
    "layersim.accounting.transfers",
    "layersim.accounting.storage",
    "layersim.accounting.containers",
    "layersim.accounting.assemble",
)


def engine_functions() -> dict[str, Callable[..., Any]]:
    """The engine's public functions by name: those defined in `ENGINE_MODULES`, and
    `arrays.canonical` (the check and ordering every evaluation starts with)."""
    found: dict[str, Callable[..., Any]] = {"canonical": canonical}
    for module_name in ENGINE_MODULES:
        module = importlib.import_module(module_name)
        for name, value in vars(module).items():
            if (
                inspect.isfunction(value)
                and value.__module__ == module_name
                and not name.startswith("_")
            ):
                found[name] = value
    return found


@contextmanager
def engine_seconds() -> Iterator[dict[str, float]]:
    """Within the block, the wall seconds spent in each public engine function (summed over
    calls), to say where an end-to-end run spends its time. Every binding of an engine function
    in a loaded `layersim` or `bench` module is wrapped, in the module that defines it and in
    those that import it by name, so calls are timed however the caller reaches them. Times are
    exclusive: an engine function called by another (`stored_timeline` inside `node_stored`)
    counts for itself only, so the shares add up. The wrappers cost two clock reads per call."""
    functions = engine_functions()
    name_of = {id(fn): name for name, fn in functions.items()}
    totals = dict.fromkeys(functions, 0.0)
    inner: list[float] = [0.0]  # time of wrapped callees of the current call, per depth

    def wrap(name: str, fn: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            inner.append(0.0)
            start = time.perf_counter()
            try:
                return fn(*args, **kwargs)
            finally:
                elapsed = time.perf_counter() - start
                totals[name] += elapsed - inner.pop()
                inner[-1] += elapsed

        return timed

    wrappers = {name: wrap(name, fn) for name, fn in functions.items()}
    bindings = [
        (module, attr, name_of[id(value)])
        for module in list(sys.modules.values())
        if getattr(module, "__name__", "").partition(".")[0] in ("layersim", "bench")
        for attr, value in list(vars(module).items())
        if id(value) in name_of
    ]
    for module, attr, name in bindings:
        setattr(module, attr, wrappers[name])
    try:
        yield totals
    finally:
        for module, attr, name in bindings:
            setattr(module, attr, functions[name])
        for name in [n for n, v in totals.items() if v == 0.0]:
            del totals[name]


def floor_keys(arrays: PopulationArrays) -> I64:
    """Every file entry's key `path * (n_contents + 1) + content + 1` as int64 (entries that
    are not regular files have content -1, so they sort by path alone)."""
    n_contents = int(arrays.content_file_bytes.size) + 1
    if (arrays.n_paths + 1) * n_contents >= 2**63:
        raise OverflowError("floor keys do not fit in int64")
    return arrays.entry_path * np.int64(n_contents) + (arrays.entry_content + 1)


def floor_sort(keys: I64) -> I64:
    """The floor: one `numpy.sort` (a copy, so every round sorts the same unsorted keys)."""
    return np.sort(keys)


def check_image_table(arrays: PopulationArrays, images: ImageTable) -> None:
    """Per-image invariants, and the layered sums recomputed independently."""
    n = arrays.n_images
    rows = csr_rows(arrays.image_offsets)
    layered_tar = np.bincount(rows, arrays.layer_tar_bytes[arrays.image_layers], n)
    assert np.array_equal(images.layered_tar_bytes, layered_tar.astype(np.int64))
    for unit in ("tar", "compressed", "disk"):
        flat = getattr(images, f"flattened_{unit}_bytes")
        layered = getattr(images, f"layered_{unit}_bytes")
        assert flat.size == n
        assert np.all(flat >= 0), f"negative flattened {unit} bytes"
        assert np.all(flat <= layered), f"an export larger than its layers ({unit})"
    assert np.all(images.shadowed_file_bytes >= 0)
    assert np.all(images.dive_min_bytes <= images.dive_cumulative_bytes)
    assert np.all(images.dive_wasted_bytes <= images.dive_cumulative_bytes)
    assert images.shadowed_file_bytes.sum() > 0, "the population should shadow some bytes"


def check_tables(arrays: PopulationArrays, tables: Tables) -> None:
    """Invariants of a whole evaluation (see the module docstring)."""
    check_image_table(arrays, tables.images)
    reg = tables.registry
    assert reg.file <= reg.layer <= reg.logical, reg
    assert reg.flattened <= reg.logical, reg
    # every blob is uploaded exactly once, by the first push that carries it
    assert tables.pushes.uploaded_bytes.sum() == reg.layer
    stored = tables.stored
    assert np.all(stored.file <= stored.layer) and np.all(stored.layer <= stored.logical)
    assert np.all(stored.flattened <= stored.logical)
    if not arrays.options.keep_compressed_blobs:
        # a node extracts each ChainID once: the extractions add up to its layer store
        per_node = np.bincount(
            tables.pulls.node, tables.pulls.extracted_disk_bytes, arrays.n_nodes
        ).astype(np.int64)
        assert np.array_equal(per_node, stored.layer)
    assert np.all(tables.usage.shared_bytes <= tables.usage.size_bytes)
    assert np.all(tables.containers >= 0)


def population_bytes(arrays: PopulationArrays) -> int:
    """Bytes of the population's arrays (what any evaluation holds before it starts)."""
    return sum(value.nbytes for value in vars(arrays).values() if isinstance(value, np.ndarray))


def population_info(arrays: PopulationArrays) -> dict[str, int]:
    """Sizes recorded beside every timing (pytest-benchmark `extra_info`)."""
    return {
        "source": SOURCE_AT_IMPORT,
        "population_bytes": population_bytes(arrays),
        "images": arrays.n_images,
        "layers": arrays.n_layers,
        "entries": arrays.n_entries,
        "paths": arrays.n_paths,
        "contents": int(arrays.content_file_bytes.size),
        "nodes": arrays.n_nodes,
        "pulls": int(arrays.node_images.size),
        "containers": len(arrays.container_names),
    }
