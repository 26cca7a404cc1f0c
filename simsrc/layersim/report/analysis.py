"""The report of `layersim analyze`: the evaluate document of real images, plus what they are.

`analysis_to_json` is `evaluation.metrics_to_json` (every key of `layersim evaluate`, same
meaning, same order) with two differences, both documented in docs/analyze.md:

- `source` is the list of paths read, as given (evaluate's is its one spec path);
- a top-level `analysis` object, before `units`, describes the images as read:
  - `paths`: the image references, as given; `platform`: the `--platform` asked for, or null;
  - `cache`: what the read took from the blob cache and what it read (`readers.cache`):
    `hits` (layer blobs whose analysis the cache held), `blob_reads` (layer blobs streamed),
    `bytes_read` (their stored bytes); null when the read was not counted;
  - `images.NAME`, in the order read:
    - `repository`: the repository part of the name (a push mounts a blob from another one);
    - `layer_count`: layers, base first;
    - `file_count`, `file_bytes`: regular files of the merged view, and their file bytes;
    - `layers[]`, base first: `name` (the layer name the other keys use: the first 12 hex
      digits of the DiffID), `diff_id`, `blob_digest`, `stored_uncompressed` (the blob is the
      tar itself: blob digest = DiffID, as docker-archives store layers), `tar_bytes`,
      `compressed_bytes` (the stored blob), `entries` (tar entries that became model entries),
      `files` and `file_bytes` (its regular files);
    - `flattened_export`: the flattened export written and gzip-compressed for real
      (`readers.flatten`): `tar_bytes`, `gzip_bytes`, `gzip_level`; null when not measured.
      `images.NAME.flattened_compressed_bytes` stays the engine's estimate.

  - `registry`: the operator what-ifs of `layersim.accounting.registry_ops`:
    `mount_saved_bytes` (all pushes) and `mount_saved_bytes_by_push.IMAGE` (compressed bytes
    cross-repository mounts kept from being uploaded), `tag_deletion_frees_bytes.IMAGE` (what
    garbage collection frees after deleting that tag alone).

- a top-level `chunks` object, after `analysis`: the chunks of every regular file of every
  distinct layer the registry holds (each layer blob once, shadowed files included;
  `accounting.analysis.registry_chunk_counts`): `cdc: {min_bytes, avg_bytes, max_bytes,
  chunks, distinct_chunks, distinct_bytes}` and `fixed: {chunk_bytes, chunks,
  distinct_chunks, distinct_bytes}` (sizes the chunkers' parameters; `distinct_bytes` file
  bytes of the distinct chunks).

`units` gains the units of the `analysis` and `chunks` figures. `render_analysis` prints the evaluate tables,
a table of every image's layers, the registry what-ifs and, when measured, one of the flattened
exports. The figures are `layersim.accounting.analysis`'s (files of
a layer and of a merged view, compression ratios); this module only arranges them.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from layersim.accounting.analysis import (
    compression_ratio,
    layer_files,
    merged_files_of,
    registry_chunk_counts,
)
from layersim.accounting.metrics import PopulationMetrics
from layersim.accounting.registry_ops import registry_what_ifs
from layersim.model import Image, Layer, Population
from layersim.readers.cache import CacheCounts
from layersim.readers.flatten import FlattenedSize
from layersim.report.evaluation import evaluation_tables, metrics_to_json
from layersim.report.tables import COMPRESSED, FILE, TAR, print_tables

ANALYSIS_UNITS: Mapping[str, str] = {
    "analysis.cache.bytes_read": COMPRESSED,
    "analysis.registry.mount_saved_bytes": COMPRESSED,
    "analysis.registry.mount_saved_bytes_by_push.*": COMPRESSED,
    "analysis.registry.tag_deletion_frees_bytes.*": COMPRESSED,
    "analysis.images.*.file_bytes": FILE,
    "analysis.images.*.layers[].tar_bytes": TAR,
    "analysis.images.*.layers[].compressed_bytes": COMPRESSED,
    "analysis.images.*.layers[].file_bytes": FILE,
    "analysis.images.*.flattened_export.tar_bytes": TAR,
    "analysis.images.*.flattened_export.gzip_bytes": COMPRESSED,
    "chunks.*.*_bytes": FILE,
    "chunks.*.chunks": "chunks",
    "chunks.*.distinct_chunks": "chunks",
}


def _layer(layer: Layer) -> dict[str, Any]:
    files = layer_files(layer)
    return {
        "name": layer.label,
        "diff_id": layer.diff_id,
        "blob_digest": layer.blob_digest,
        "stored_uncompressed": layer.blob_digest == layer.diff_id,
        "tar_bytes": layer.tar_bytes,
        "compressed_bytes": layer.compressed_bytes,
        "entries": len(layer.entries),
        "files": files.files,
        "file_bytes": files.file_bytes,
    }


def _image(image: Image, flattened: FlattenedSize | None) -> dict[str, Any]:
    files = merged_files_of(image)
    return {
        "repository": image.repository,
        "layer_count": len(image.layers),
        "file_count": files.files,
        "file_bytes": files.file_bytes,
        "layers": [_layer(layer) for layer in image.layers],
        "flattened_export": None
        if flattened is None
        else {
            "tar_bytes": flattened.tar_bytes,
            "gzip_bytes": flattened.gzip_bytes,
            "gzip_level": flattened.gzip_level,
        },
    }


def analysis_to_json(
    population: Population,
    metrics: PopulationMetrics,
    *,
    paths: Sequence[str],
    platform: str | None,
    flattened: Mapping[str, FlattenedSize] | None = None,
    cache: CacheCounts | None = None,
) -> dict[str, Any]:
    """The JSON document of `layersim analyze` (keys in the module docstring); `flattened`:
    the measured flattened exports by image name (`readers.flatten`), if measured."""
    flattened = flattened or {}
    doc = metrics_to_json(population, metrics, source=", ".join(paths))
    doc["source"] = list(paths)
    units = doc.pop("units")
    doc["analysis"] = {
        "paths": list(paths),
        "platform": platform,
        "cache": None
        if cache is None
        else {"hits": cache.hits, "blob_reads": cache.blob_reads, "bytes_read": cache.bytes_read},
        "images": {
            image.name: _image(image, flattened.get(image.name)) for image in population.images
        },
    }
    what_ifs = registry_what_ifs(population, metrics.pushes)
    doc["analysis"]["registry"] = {
        "mount_saved_bytes": what_ifs.total_mount_saved_bytes,
        "mount_saved_bytes_by_push": dict(what_ifs.mount_saved_bytes),
        "tag_deletion_frees_bytes": dict(what_ifs.tag_deletion_frees_bytes),
    }
    doc["chunks"] = _chunks(population)
    doc["units"] = {**units, **ANALYSIS_UNITS}
    return doc


def what_if_table(doc: Mapping[str, Any]) -> Table:
    """Per image: the bytes cross-repository mounts saved on its push, and what deleting its
    tag alone would let garbage collection free (compressed bytes)."""
    what_if = doc["analysis"]["registry"]
    table = Table(
        title="Registry what-ifs (compressed bytes; total saved by mounts: "
        f"{what_if['mount_saved_bytes']:,})",
        title_justify="left",
    )
    for index, header in enumerate(("image", "saved by mounts", "deleting the tag frees")):
        table.add_column(header, justify="left" if index == 0 else "right", overflow="fold")
    for name, freed in what_if["tag_deletion_frees_bytes"].items():
        saved = what_if["mount_saved_bytes_by_push"].get(name, 0)
        table.add_row(Text(name), f"{saved:,}", f"{freed:,}")
    return table


def _chunks(population: Population) -> dict[str, Any]:
    sizes = population.chunk_sizes
    cdc, fixed = registry_chunk_counts(population)
    return {
        "cdc": {
            "min_bytes": sizes.cdc_min_bytes,
            "avg_bytes": sizes.cdc_avg_bytes,
            "max_bytes": sizes.cdc_max_bytes,
            "chunks": cdc.chunks,
            "distinct_chunks": cdc.distinct_chunks,
            "distinct_bytes": cdc.distinct_bytes,
        },
        "fixed": {
            "chunk_bytes": sizes.fixed_bytes,
            "chunks": fixed.chunks,
            "distinct_chunks": fixed.distinct_chunks,
            "distinct_bytes": fixed.distinct_bytes,
        },
    }


def layer_table(doc: Mapping[str, Any]) -> Table:
    """Every image's layers, base first: regular files, tar bytes, compressed bytes of the
    stored blob (marked `(tar)` when stored uncompressed) and their ratio. Names are shown as
    written, never read as markup; no cell is elided."""
    table = Table(
        title="Layers (tar bytes; compressed bytes of the stored blob)", title_justify="left"
    )
    for index, header in enumerate(
        ("image", "#", "layer", "blob digest", "files", "tar", "compressed", "ratio")
    ):
        table.add_column(header, justify="left" if index < 4 else "right", overflow="fold")
    for name, image in doc["analysis"]["images"].items():
        for k, layer in enumerate(image["layers"]):
            compressed = layer["compressed_bytes"]
            ratio = compression_ratio(layer["tar_bytes"], compressed)
            table.add_row(
                Text(name if k == 0 else ""),
                str(k),
                Text(layer["name"]),
                Text(layer["blob_digest"][:19]),
                f"{layer['files']:,}",
                f"{layer['tar_bytes']:,}",
                f"{compressed:,}" + (" (tar)" if layer["stored_uncompressed"] else ""),
                f"{ratio:.2f}x",
            )
    return table


def flattened_table(doc: Mapping[str, Any]) -> Table | None:
    """Per image, the flattened export: the engine's tar bytes and its `estimated` compressed
    bytes, next to the export written and gzip-compressed for real (None if not measured)."""
    measured = {
        name: image["flattened_export"]
        for name, image in doc["analysis"]["images"].items()
        if image["flattened_export"] is not None
    }
    if not measured:
        return None
    levels = sorted({export["gzip_level"] for export in measured.values()})
    table = Table(
        title=f"Flattened export (gzip measured with zlib-ng, level {', '.join(map(str, levels))})",
        title_justify="left",
    )
    headers = ("image", "tar", "compressed (estimated)", "tar written", "gzip (measured)")
    for index, header in enumerate(headers):
        table.add_column(header, justify="left" if index == 0 else "right", overflow="fold")
    for name, export in measured.items():
        figures = doc["images"][name]
        table.add_row(
            Text(name),
            f"{figures['flattened_bytes']:,}",
            f"{figures['flattened_compressed_bytes']:,}",
            f"{export['tar_bytes']:,}",
            f"{export['gzip_bytes']:,}",
        )
    return table


def render_analysis(doc: Mapping[str, Any], console: Console) -> None:
    """Print the tables of an analyze document on `console`."""
    console.print(Text.assemble(("layersim analyze ", "bold"), " ".join(doc["source"])))
    tables = [*evaluation_tables(doc), layer_table(doc), what_if_table(doc), flattened_table(doc)]
    for table in [t for t in tables if t is not None]:
        console.print()
        print_tables(console, table)
    cache = doc["analysis"].get("cache")
    if cache is not None:
        console.print()
        console.print(
            f"blob cache: {cache['hits']:,} layer blobs analysed before, {cache['blob_reads']:,} "
            f"read ({cache['bytes_read']:,} stored bytes)",
            highlight=False,
        )
