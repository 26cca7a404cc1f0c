"""The metrics a run is measured by: named figures read off a `SimulationResult`, as a sweep
records them for every run (the way Mesa's batch runner takes reporters) and as summary.json's
`headline` holds them.

A `Metric` is a name, what it means (with its unit) and a function of the result; `measure`
applies a set of them. The savings are properties of `SimulationResult.headline()`, where each
is defined once, and the lazy savings of `SimulationResult.lazy_all_epochs` (`LazyTotals`);
the chunk savings are headline properties too; the other standard metrics are the counts they
come from. Not here: how a
sweep aggregates them over seeds (`experiment.sweep`) or shows them (`report`).
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from operator import attrgetter

from layersim.simulation.results import SimulationResult

Figure = int | float


@dataclass(frozen=True)
class Metric:
    """A figure recorded per run: `value(result)`, named `name`, meaning `meaning`.

    `aggregated`: a sweep reports its mean, min and max over the seeds of each grid point
    (sweep.csv, the plot); every metric is in the per-run table. A sweep running in worker
    processes sends `value` to them, so it must pickle: a module-level function, an
    `operator.attrgetter` or a `HeadlineFigure`, not a lambda."""

    name: str
    meaning: str
    value: Callable[[SimulationResult], Figure]
    aggregated: bool = False


@dataclass(frozen=True)
class HeadlineFigure:
    """Reads the figure at attribute path `path` (e.g. `registry_stored.layer`) of the
    result's `headline()`."""

    path: str

    def __call__(self, result: SimulationResult) -> Figure:
        value: Figure = attrgetter(self.path)(result.headline())
        return value


def _saving(name: str, meaning: str) -> Metric:
    return Metric(name, meaning, HeadlineFigure(name), aggregated=True)


# The headline savings (fractions, `metrics.saving`), in table order. Final-epoch stores;
# transfers summed over every epoch.
SAVINGS: tuple[Metric, ...] = (
    _saving(
        "registry_layer_saving_vs_flattened",
        "registry at the end, layer store vs flattened exports (compressed bytes)",
    ),
    _saving(
        "nodes_layer_saving_vs_flattened",
        "nodes at the end (sum), layer store vs flattened exports (disk bytes)",
    ),
    _saving(
        "registry_file_saving_vs_layer",
        "registry at the end, file-level dedup vs layer store (compressed bytes)",
    ),
    _saving(
        "nodes_file_saving_vs_layer",
        "nodes at the end (sum), file-level dedup vs layer store (disk bytes)",
    ),
    _saving(
        "pull_layer_saving_vs_flattened",
        "pulls of every epoch, layered vs flattened images (compressed bytes)",
    ),
)

# What chunk-level dedup saves against file-level dedup at the end (`fleet.lineage` gives a
# generated fleet's contents their chunks; fractions).
CHUNK_SAVINGS: tuple[Metric, ...] = (
    _saving(
        "registry_chunk_cdc_saving_vs_file",
        "registry at the end, content-defined chunks vs file-level dedup (compressed bytes)",
    ),
    _saving(
        "registry_chunk_fixed_saving_vs_file",
        "registry at the end, fixed-size chunks vs file-level dedup (compressed bytes)",
    ),
    _saving(
        "nodes_chunk_cdc_saving_vs_file",
        "nodes at the end (sum), content-defined chunk stores vs file-level dedup (disk bytes)",
    ),
    _saving(
        "nodes_chunk_fixed_saving_vs_file",
        "nodes at the end (sum), fixed-size chunk stores vs file-level dedup (disk bytes)",
    ),
)

# What lazy pulling saves against full pulls over every epoch's warm rollouts
# (`results.LazyTotals`; fractions): the sweep over `lazy.read_fraction` reads these.
LAZY_SAVINGS: tuple[Metric, ...] = (
    Metric(
        "lazy_startup_bytes_saving",
        "pulls of every epoch, bytes before containers start, lazy vs full pulls "
        "(compressed bytes)",
        attrgetter("lazy_all_epochs.lazy_startup_bytes_saving"),
        aggregated=True,
    ),
    Metric(
        "lazy_startup_seconds_saving",
        "pulls of every epoch, node-seconds before containers start, lazy vs full pulls (seconds)",
        attrgetter("lazy_all_epochs.lazy_startup_seconds_saving"),
        aggregated=True,
    ),
)

# The sizes of the fleet and the byte counts the savings come from.
COUNTS: tuple[Metric, ...] = (
    Metric("images", "images built over the run (count)", attrgetter("fleet.images")),
    Metric(
        "file_entries",
        "regular-file entries of every layer (count)",
        attrgetter("fleet.file_entries"),
    ),
    Metric(
        "registry_flattened_compressed_bytes",
        "registry at the end, flattened exports (compressed bytes)",
        HeadlineFigure("registry_stored.flattened"),
    ),
    Metric(
        "registry_layer_compressed_bytes",
        "registry at the end, layer store (compressed bytes)",
        HeadlineFigure("registry_stored.layer"),
    ),
    Metric(
        "registry_file_compressed_bytes",
        "registry at the end, file-level dedup (compressed bytes)",
        HeadlineFigure("registry_stored.file"),
    ),
    Metric(
        "nodes_flattened_disk_bytes",
        "nodes at the end (sum), flattened exports (disk bytes)",
        HeadlineFigure("nodes_stored.flattened"),
    ),
    Metric(
        "nodes_layer_disk_bytes",
        "nodes at the end (sum), layer store (disk bytes)",
        HeadlineFigure("nodes_stored.layer"),
    ),
    Metric(
        "nodes_file_disk_bytes",
        "nodes at the end (sum), file-level dedup (disk bytes)",
        HeadlineFigure("nodes_stored.file"),
    ),
    Metric(
        "pull_layered_compressed_bytes",
        "pulls of every epoch, layered images (compressed bytes)",
        HeadlineFigure("pulled.layer"),
    ),
    Metric(
        "pull_flattened_compressed_bytes",
        "pulls of every epoch, flattened exports (compressed bytes)",
        HeadlineFigure("pulled.flattened"),
    ),
)

# The byte counts the chunk savings come from.
CHUNK_COUNTS: tuple[Metric, ...] = (
    Metric(
        "registry_chunk_cdc_compressed_bytes",
        "registry at the end, content-defined chunks (compressed bytes)",
        HeadlineFigure("registry_stored.chunk_cdc"),
    ),
    Metric(
        "registry_chunk_fixed_compressed_bytes",
        "registry at the end, fixed-size chunks (compressed bytes)",
        HeadlineFigure("registry_stored.chunk_fixed"),
    ),
    Metric(
        "nodes_chunk_cdc_disk_bytes",
        "nodes at the end (sum), content-defined chunk stores (disk bytes)",
        HeadlineFigure("nodes_stored.chunk_cdc"),
    ),
    Metric(
        "nodes_chunk_fixed_disk_bytes",
        "nodes at the end (sum), fixed-size chunk stores (disk bytes)",
        HeadlineFigure("nodes_stored.chunk_fixed"),
    ),
)

# What a sweep records for every run unless told otherwise, in column order.
STANDARD_METRICS: tuple[Metric, ...] = (
    SAVINGS + LAZY_SAVINGS + CHUNK_SAVINGS + COUNTS + CHUNK_COUNTS
)


def measure(
    result: SimulationResult, metrics: Sequence[Metric] = STANDARD_METRICS
) -> dict[str, Figure]:
    """Each metric's value for `result`, by name, in the order of `metrics`."""
    return {metric.name: metric.value(result) for metric in metrics}
