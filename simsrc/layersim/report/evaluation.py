"""The report of `layersim evaluate`: a `PopulationMetrics` as a JSON document and as tables.

`metrics_to_json` builds the document; `evaluation_tables` / `render_evaluation` draw the same
document as rich tables. Both only rearrange figures that `layersim.accounting.metrics` defines
(savings and dedup ratios included) and the fleet's sums over nodes
(`layersim.accounting.analysis.fleet_figures`); neither computes a figure.

The JSON document, key by key (NAME is an image name, NODE a node name; lists of layers name
layers by their spec names; every byte count is an exact integer; `units` repeats the unit of
every figure in the document itself):

- `layersim_version`: the version that wrote the document.
- `source`: where the population came from (the spec path as given).
- `model`: the size model used: `block_bytes` (filesystem block of disk bytes), `driver`
  (`overlay2`: a container's first write copies a whole file up; `block`: only changed
  blocks), `keep_compressed_blobs` (nodes keep pulled blobs beside the unpacked layers),
  `metadata_ratio_permille` and `class_ratios_permille` (compressibility, uncompressed /
  compressed x 1000), `default_class`.
- `images.NAME`, in population order (`ImageMetrics`):
  - `layers`: layer names, base first.
  - `layered_bytes`: tar bytes of the layers summed (`docker save`, uncompressed).
  - `flattened_bytes`: tar bytes of the flattened export (merged filesystem, one tar).
  - `shadowed_bytes`: file bytes in lower layers of paths a higher layer deletes, overwrites or
    hides under an opaque directory: what flattening drops.
  - `dive_efficiency`: dive's efficiency score, `dive_min_bytes / dive_cumulative_bytes` (a
    fraction; 1.0 when the image has no files).
  - `dive_wasted_bytes`: dive's wasted bytes: file bytes (as tar headers declare them) of every
    path that two or more layers name, all copies counted.
  - `dive_user_bytes`: file bytes of every layer but the first (dive's "user" size).
  - `dive_min_bytes`, `dive_cumulative_bytes`: file bytes; per path over the layers that
    name it, the minimum and the cumulative size, summed.
  - `layered_compressed_bytes`, `layered_disk_bytes`: the layers' compressed blobs (a cold
    pull) and extracted disk bytes, summed.
  - `flattened_compressed_bytes`, `flattened_disk_bytes`: the same for the flattened export.
- `registry`: every image pushed, in push order, to one empty registry:
  - `stored_bytes.{logical, flattened, layer, file, chunk_cdc, chunk_fixed}`: compressed bytes
    the registry stores under each strategy (metrics.py: logical = every image's own layers,
    flattened = one export per image, layer = each blob once, file = each file content once,
    chunk_cdc / chunk_fixed = each distinct content-defined / fixed-size chunk of those
    contents once, each compressed on its own; docs/semantics.md says what the chunk figures
    mean where no bytes were read).
  - `savings.vs_flattened.S`, `savings.vs_logical.S`: `1 - stored_bytes.S / stored_bytes.B`
    (`metrics.saving`) for every strategy S against the baseline B; a fraction.
  - `dedup_ratio.S`: `stored_bytes.logical / stored_bytes.S` (`metrics.dedup_ratio`).
  - `pushes`: in push order, `{image, uploaded_bytes, uploaded_layers, skipped_layers,
    mounted_layers, flattened_uploaded_bytes}`: compressed bytes of the uploaded blobs; the
    layers uploaded; the layers that moved no bytes (already in the repository, or mounted from
    another repository: `mounted_layers`, a subset of `skipped_layers`); compressed bytes that
    pushing the flattened export would upload (0 if that export is already there).
- `nodes.NODE`, in spec order; each node pulls its images, in order, into an empty store:
  - `stored_bytes.{logical, flattened, layer, file, chunk_cdc, chunk_fixed}`: disk bytes the
    node stores under each strategy (layer = each ChainID once; with `keep_compressed_blobs`
    the kept blobs' compressed bytes are added to logical, flattened and layer; a chunk store
    keeps each distinct chunk uncompressed, rounded up to the block).
  - `savings.vs_flattened.S`, `savings.vs_logical.S`, `dedup_ratio.S`: as for the registry.
  - `container_bytes`: disk bytes of all the node's containers' writable layers;
    `container_bytes_running` and `container_bytes_stopped` split it by state.
  - `pulled_bytes.layer`: compressed bytes the pulls downloaded, layer by layer;
    `pulled_bytes.flattened`: compressed bytes pulling flattened exports would download.
  - `pulls`: in pull order, `{image, downloaded_bytes, extracted_disk_bytes,
    downloaded_layers, skipped_layers, flattened_downloaded_bytes}` (compressed, disk,
    names, names, compressed).
  - `images.IMAGE.{size_bytes, shared_bytes, unique_bytes}`: disk bytes, as
    `docker system df -v` shows them: the image's distinct layers; those also used by another
    image on the node; size - shared.
  - `containers`: `{name, image, state, writable_bytes}` (disk bytes of its writable layer).
- `fleet`: the nodes together (each node stores its own copy, so these are sums over nodes):
  `stored_bytes.S` (disk bytes), `savings`, `dedup_ratio`, `container_bytes` (disk bytes),
  `pulled_bytes.{layer, flattened}` (compressed bytes).
- `units`: `{key pattern: unit}` for every figure above (`*` stands for any name, `[]` for any
  item of a list): `tar bytes`, `compressed bytes`, `disk bytes`, `file bytes`, `fraction`,
  `ratio`, `layer names`, `bytes`, or `per-mille`.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from layersim import __version__
from layersim.accounting.analysis import FleetFigures, fleet_figures
from layersim.accounting.metrics import (
    ALL_STRATEGIES,
    ImageMetrics,
    NodeMetrics,
    PopulationMetrics,
    PushRecord,
    StoredBytes,
    dedup_ratio,
    saving,
)
from layersim.model import ContainerState, Population
from layersim.report.tables import (
    COMPRESSED,
    DISK,
    FILE,
    FRACTION,
    RATIO,
    TAR,
    percent,
    print_tables,
)

NAMES = "layer names"
# the savings against flattened the stored-bytes table shows beside the bytes
SAVINGS_SHOWN = ("layer", "file", "chunk_cdc", "chunk_fixed")

# The unit of every figure of the document, keyed by its path (`*`: any name, `[]`: any item).
UNITS: Mapping[str, str] = {
    "model.block_bytes": "bytes",
    "model.class_ratios_permille": "per-mille (uncompressed / compressed x 1000)",
    "model.metadata_ratio_permille": "per-mille (uncompressed / compressed x 1000)",
    "images.*.layers": NAMES,
    "images.*.layered_bytes": TAR,
    "images.*.flattened_bytes": TAR,
    "images.*.shadowed_bytes": FILE,
    "images.*.dive_efficiency": FRACTION,
    "images.*.dive_wasted_bytes": FILE,
    "images.*.dive_user_bytes": FILE,
    "images.*.dive_min_bytes": FILE,
    "images.*.dive_cumulative_bytes": FILE,
    "images.*.layered_compressed_bytes": COMPRESSED,
    "images.*.layered_disk_bytes": DISK,
    "images.*.flattened_compressed_bytes": COMPRESSED,
    "images.*.flattened_disk_bytes": DISK,
    "registry.stored_bytes.*": COMPRESSED,
    "registry.savings.*.*": FRACTION,
    "registry.dedup_ratio.*": RATIO,
    "registry.pushes[].uploaded_bytes": COMPRESSED,
    "registry.pushes[].uploaded_layers": NAMES,
    "registry.pushes[].skipped_layers": NAMES,
    "registry.pushes[].mounted_layers": NAMES,
    "registry.pushes[].flattened_uploaded_bytes": COMPRESSED,
    "nodes.*.stored_bytes.*": DISK,
    "nodes.*.savings.*.*": FRACTION,
    "nodes.*.dedup_ratio.*": RATIO,
    "nodes.*.container_bytes": DISK,
    "nodes.*.container_bytes_running": DISK,
    "nodes.*.container_bytes_stopped": DISK,
    "nodes.*.pulled_bytes.*": COMPRESSED,
    "nodes.*.pulls[].downloaded_bytes": COMPRESSED,
    "nodes.*.pulls[].extracted_disk_bytes": DISK,
    "nodes.*.pulls[].downloaded_layers": NAMES,
    "nodes.*.pulls[].skipped_layers": NAMES,
    "nodes.*.pulls[].flattened_downloaded_bytes": COMPRESSED,
    "nodes.*.images.*.size_bytes": DISK,
    "nodes.*.images.*.shared_bytes": DISK,
    "nodes.*.images.*.unique_bytes": DISK,
    "nodes.*.containers[].writable_bytes": DISK,
    "fleet.stored_bytes.*": DISK,
    "fleet.savings.*.*": FRACTION,
    "fleet.dedup_ratio.*": RATIO,
    "fleet.container_bytes": DISK,
    "fleet.pulled_bytes.*": COMPRESSED,
}


# --- the JSON document -----------------------------------------------------------------------


def _image(m: ImageMetrics) -> dict[str, Any]:
    return {
        "layers": list(m.layers),
        "layered_bytes": m.layered_tar_bytes,
        "flattened_bytes": m.flattened_tar_bytes,
        "shadowed_bytes": m.shadowed_file_bytes,
        "dive_efficiency": m.dive_efficiency,
        "dive_wasted_bytes": m.dive_wasted_bytes,
        "dive_user_bytes": m.dive_user_bytes,
        "dive_min_bytes": m.dive_min_bytes,
        "dive_cumulative_bytes": m.dive_cumulative_bytes,
        "layered_compressed_bytes": m.layered_compressed_bytes,
        "layered_disk_bytes": m.layered_disk_bytes,
        "flattened_compressed_bytes": m.flattened_compressed_bytes,
        "flattened_disk_bytes": m.flattened_disk_bytes,
    }


def _comparison(stored: StoredBytes) -> dict[str, Any]:
    """`stored_bytes`, `savings` and `dedup_ratio` of one store, every strategy side by side."""
    figures = stored.as_dict()  # the strategies computed: all of them for an evaluation
    return {
        "stored_bytes": figures,
        "savings": {
            f"vs_{baseline}": {s: saving(figures[s], figures[baseline]) for s in figures}
            for baseline in ("flattened", "logical")
        },
        "dedup_ratio": {s: dedup_ratio(stored.logical, figures[s]) for s in figures},
    }


def _push(p: PushRecord) -> dict[str, Any]:
    return {
        "image": p.image,
        "uploaded_bytes": p.uploaded_bytes,
        "uploaded_layers": list(p.uploaded_layers),
        "skipped_layers": list(p.skipped_layers),
        "mounted_layers": list(p.mounted_layers),
        "flattened_uploaded_bytes": p.flattened_uploaded_bytes,
    }


def _node(n: NodeMetrics) -> dict[str, Any]:
    return {
        **_comparison(n.stored_bytes),
        "container_bytes": n.container_bytes(),
        "container_bytes_running": n.container_bytes(ContainerState.RUNNING.value),
        "container_bytes_stopped": n.container_bytes(ContainerState.STOPPED.value),
        "pulled_bytes": {"layer": n.pulled_bytes, "flattened": n.pulled_flattened_bytes},
        "pulls": [
            {
                "image": p.image,
                "downloaded_bytes": p.downloaded_bytes,
                "extracted_disk_bytes": p.extracted_disk_bytes,
                "downloaded_layers": list(p.downloaded_layers),
                "skipped_layers": list(p.skipped_layers),
                "flattened_downloaded_bytes": p.flattened_downloaded_bytes,
            }
            for p in n.pulls
        ],
        "images": {
            u.image: {
                "size_bytes": u.size_bytes,
                "shared_bytes": u.shared_bytes,
                "unique_bytes": u.unique_bytes,
            }
            for u in n.images
        },
        "containers": [
            {"name": c.name, "image": c.image, "state": c.state, "writable_bytes": c.writable_bytes}
            for c in n.containers
        ],
    }


def _fleet(fleet: FleetFigures) -> dict[str, Any]:
    return {
        **_comparison(fleet.stored_bytes),
        "container_bytes": fleet.container_bytes,
        "pulled_bytes": {"layer": fleet.pulled_bytes, "flattened": fleet.pulled_flattened_bytes},
    }


def metrics_to_json(
    population: Population, metrics: PopulationMetrics, *, source: str
) -> dict[str, Any]:
    """The JSON document of an evaluation (keys in the module docstring), with a fixed key
    order: serialize it with `layersim.report.json_text` for byte-identical output."""
    by_name = {m.name: m for m in metrics.images}
    options = population.options
    compression = population.compression
    return {
        "layersim_version": __version__,
        "source": source,
        "model": {
            "block_bytes": options.block_bytes,
            "driver": options.driver.value,
            "keep_compressed_blobs": options.keep_compressed_blobs,
            "metadata_ratio_permille": compression.metadata_ratio_permille,
            "class_ratios_permille": dict(sorted(compression.class_ratios_permille.items())),
            "default_class": compression.default_class,
        },
        "images": {image.name: _image(by_name[image.name]) for image in population.images},
        "registry": {
            **_comparison(metrics.registry_stored_bytes),
            "pushes": [_push(p) for p in metrics.pushes],
        },
        "nodes": {n.name: _node(n) for n in metrics.nodes},
        "fleet": _fleet(fleet_figures(metrics.nodes)),
        "units": dict(UNITS),
    }


# --- tables ----------------------------------------------------------------------------------


def _plain(name: str) -> Text:
    # a user's name is shown as written, never read as rich markup
    return Text(name)


def _bytes(n: int) -> str:
    return f"{n:,}"


def _table(title: str, columns: Sequence[str], left: int = 1) -> Table:
    """A table whose first `left` columns are names and the rest right-aligned figures; no
    cell is ever elided (a narrow terminal wraps it), so every digit stays visible."""
    table = Table(title=title, title_justify="left")
    for index, header in enumerate(columns):
        table.add_column(header, justify="left" if index < left else "right", overflow="fold")
    return table


def _stored_row(label: str, unit: str, part: Mapping[str, Any]) -> list[str | Text]:
    stored = part["stored_bytes"]
    vs_flat = part["savings"]["vs_flattened"]
    return [
        _plain(label),
        unit,
        *(_bytes(stored[s]) if s in stored else "-" for s in ALL_STRATEGIES),
        *(percent(vs_flat[s]) if s in vs_flat else "-" for s in SAVINGS_SHOWN),
    ]


def evaluation_tables(doc: Mapping[str, Any]) -> list[Table]:
    """Rich tables of an evaluation document (as `metrics_to_json` builds it)."""
    images = _table(
        "Images (tar bytes; shadowed and dive in file bytes)",
        ("image", "layers", "layered", "flattened", "shadowed", "dive eff.", "dive wasted"),
    )
    for name, m in doc["images"].items():
        images.add_row(
            _plain(name),
            str(len(m["layers"])),
            _bytes(m["layered_bytes"]),
            _bytes(m["flattened_bytes"]),
            _bytes(m["shadowed_bytes"]),
            percent(m["dive_efficiency"]),
            _bytes(m["dive_wasted_bytes"]),
        )

    stored = _table(
        "Stored bytes by strategy (savings against flattened)",
        ("store", "unit", *ALL_STRATEGIES, *(f"{s} saving" for s in SAVINGS_SHOWN)),
        left=2,
    )
    stored.add_row(*_stored_row("registry", "compressed", doc["registry"]))
    for name, node in doc["nodes"].items():
        stored.add_row(*_stored_row(f"node {name}", "disk", node))
    if doc["nodes"]:
        stored.add_row(*_stored_row("all nodes", "disk", doc["fleet"]))

    pushes = _table(
        "Registry pushes in order (compressed bytes; layer counts)",
        ("image", "uploaded", "uploaded", "skipped", "mounted", "flattened upload"),
    )
    for p in doc["registry"]["pushes"]:
        pushes.add_row(
            _plain(p["image"]),
            _bytes(p["uploaded_bytes"]),
            str(len(p["uploaded_layers"])),
            str(len(p["skipped_layers"])),
            str(len(p["mounted_layers"])),
            _bytes(p["flattened_uploaded_bytes"]),
        )
    tables = [images, stored, pushes]
    if not doc["nodes"]:
        return tables

    nodes = _table(
        "Nodes (pulls in compressed bytes, containers in disk bytes)",
        ("node", "pulled layers", "pulled flattened", "containers running", "stopped"),
    )
    for name, node in doc["nodes"].items():
        nodes.add_row(
            _plain(name),
            _bytes(node["pulled_bytes"]["layer"]),
            _bytes(node["pulled_bytes"]["flattened"]),
            _bytes(node["container_bytes_running"]),
            _bytes(node["container_bytes_stopped"]),
        )

    usage = _table(
        "Images on nodes (disk bytes, as docker system df -v)",
        ("node", "image", "size", "shared", "unique"),
        left=2,
    )
    for name, node in doc["nodes"].items():
        for image, u in node["images"].items():
            usage.add_row(
                _plain(name),
                _plain(image),
                _bytes(u["size_bytes"]),
                _bytes(u["shared_bytes"]),
                _bytes(u["unique_bytes"]),
            )
    return [*tables, nodes, usage]


def render_evaluation(doc: Mapping[str, Any], console: Console) -> None:
    """Print the tables of an evaluation document on `console`."""
    console.print(Text.assemble(("layersim evaluate ", "bold"), str(doc["source"])))
    for table in evaluation_tables(doc):
        console.print()
        print_tables(console, table)
