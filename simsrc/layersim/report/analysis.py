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
    - `created`: its config's `created` (ISO 8601), or null;
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
    garbage collection frees after deleting that tag alone); `older_than` (with
    `--older-than`, else null): `duration`, `now`, `cutoff`, `deleted_images` (created before
    `cutoff`), `images_without_created`, `frees_bytes` (`registry_ops.images_older_than`);
    `storage`, from the registry's
    storage (`--registry-storage`; `accounting.registry_ops`, `readers.registry_storage`), or
    null: `path`, what it holds (`repositories`, `tags`, `manifests` (revisions),
    `untagged_manifests`, `blobs`, `stored_bytes`), and per what-if `frees_blobs` and
    `frees_bytes`: `garbage_collect` (now), `untagged_pinned` (on top, with
    `--delete-untagged`; and its `manifests`), `garbage_collect_delete_untagged` (the two
    together), `older_than` (on top again, deleting the tags of images created before `cutoff`
    = `now` - `duration`: `deleted_tags`, `tags_without_created`; null without
    `--older-than`).

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
from dataclasses import dataclass
from datetime import datetime
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
from layersim.accounting.registry_ops import (
    Collection,
    StorageWhatIfs,
    StoredRegistry,
    images_older_than,
    registry_what_ifs,
)
from layersim.model import Image, Layer, Population
from layersim.readers.cache import CacheCounts
from layersim.readers.flatten import FlattenedSize
from layersim.report.evaluation import evaluation_tables, metrics_to_json
from layersim.report.tables import COMPRESSED, FILE, TAR, print_tables

STORED = "stored bytes"  # bytes of blob `data` files in a registry's storage, every kind of blob


@dataclass(frozen=True, slots=True)
class AgeQuery:
    """`--older-than DURATION` counted back from `--now`: images created before `cutoff`."""

    duration: str
    now: datetime
    cutoff: datetime

    def to_json(self) -> dict[str, str]:
        return {
            "duration": self.duration,
            "now": self.now.isoformat(),
            "cutoff": self.cutoff.isoformat(),
        }


@dataclass(frozen=True, slots=True)
class StorageReport:
    """A registry's storage read with `--registry-storage`, and its figures (the old-tag
    deletion among them with `--older-than`)."""

    path: str
    store: StoredRegistry
    what_ifs: StorageWhatIfs


ANALYSIS_UNITS: Mapping[str, str] = {
    "analysis.cache.bytes_read": COMPRESSED,
    "analysis.registry.mount_saved_bytes": COMPRESSED,
    "analysis.registry.mount_saved_bytes_by_push.*": COMPRESSED,
    "analysis.registry.tag_deletion_frees_bytes.*": COMPRESSED,
    "analysis.registry.older_than.frees_bytes": COMPRESSED,
    "analysis.registry.storage.stored_bytes": STORED,
    "analysis.registry.storage.*.frees_bytes": STORED,
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


def _image(
    image: Image, flattened: FlattenedSize | None, created: datetime | None
) -> dict[str, Any]:
    files = merged_files_of(image)
    return {
        "repository": image.repository,
        "created": None if created is None else created.isoformat(),
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
    storage: StorageReport | None = None,
    age: AgeQuery | None = None,
    created: Sequence[datetime | None] = (),
) -> dict[str, Any]:
    """The JSON document of `layersim analyze` (keys in the module docstring); `flattened`:
    the measured flattened exports by image name (`readers.flatten`), if measured; `created`:
    each image's creation time, in order (None where unknown); `age`: `--older-than`."""
    flattened = flattened or {}
    created_by_name = dict(zip((i.name for i in population.images), created, strict=False))
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
            image.name: _image(image, flattened.get(image.name), created_by_name.get(image.name))
            for image in population.images
        },
    }
    what_ifs = registry_what_ifs(population, metrics.pushes)
    doc["analysis"]["registry"] = {
        "mount_saved_bytes": what_ifs.total_mount_saved_bytes,
        "mount_saved_bytes_by_push": dict(what_ifs.mount_saved_bytes),
        "tag_deletion_frees_bytes": dict(what_ifs.tag_deletion_frees_bytes),
        "older_than": None if age is None else _older(population, created_by_name, age),
        "storage": None if storage is None else _storage(storage, age),
    }
    doc["chunks"] = _chunks(population)
    doc["units"] = {**units, **ANALYSIS_UNITS}
    return doc


def _freed(collection: Collection) -> dict[str, int]:
    return {"frees_blobs": len(collection.blobs), "frees_bytes": collection.frees_bytes}


def _older(
    population: Population, created: Mapping[str, datetime | None], age: AgeQuery
) -> dict[str, Any]:
    older = images_older_than(population, created, age.cutoff)
    return {
        **age.to_json(),
        "deleted_images": list(older.deleted),
        "images_without_created": list(older.without_created),
        "frees_bytes": older.frees_bytes,
    }


def _storage(report: StorageReport, age: AgeQuery | None) -> dict[str, Any]:
    store, what_ifs = report.store, report.what_ifs
    untagged = what_ifs.untagged_pinned
    older = what_ifs.older_than
    return {
        "path": report.path,
        "repositories": len(store.repositories),
        "tags": sum(len(r.tags) for r in store.repositories),
        "manifests": sum(len(r.revisions) for r in store.repositories),
        "untagged_manifests": len(untagged.manifests),
        "blobs": len(store.blob_bytes),
        "stored_bytes": store.stored_bytes,
        "garbage_collect": _freed(what_ifs.collection),
        "untagged_pinned": {**_freed(untagged), "manifests": len(untagged.manifests)},
        "garbage_collect_delete_untagged": {
            "frees_blobs": len(what_ifs.collection.blobs) + len(untagged.blobs),
            "frees_bytes": what_ifs.collection.frees_bytes + untagged.frees_bytes,
        },
        "older_than": None
        if older is None or age is None
        else {
            **age.to_json(),
            "deleted_tags": [f"{repo}:{tag}" for repo, tag in older.deleted_tags],
            "tags_without_created": [f"{repo}:{tag}" for repo, tag in older.tags_without_created],
            **_freed(older.frees),
        },
    }


def storage_table(doc: Mapping[str, Any]) -> Table | None:
    """What garbage collection would free in the registry's storage, and what untagged
    manifests and old tags pin (None without `--registry-storage`)."""
    storage = doc["analysis"]["registry"]["storage"]
    if storage is None:
        return None
    table = Table(
        title=f"Registry storage {storage['path']}: {storage['blobs']:,} blobs, "
        f"{storage['stored_bytes']:,} bytes; {storage['repositories']:,} repositories, "
        f"{storage['tags']:,} tags, {storage['manifests']:,} manifests "
        f"({storage['untagged_manifests']:,} untagged)",
        title_justify="left",
    )
    for index, header in enumerate(("what-if", "blobs freed", "bytes freed")):
        table.add_column(header, justify="left" if index == 0 else "right", overflow="fold")
    rows = [
        ("garbage-collect now", storage["garbage_collect"]),
        ("untagged manifests pin (--delete-untagged, on top)", storage["untagged_pinned"]),
        ("garbage-collect --delete-untagged now", storage["garbage_collect_delete_untagged"]),
    ]
    older = storage["older_than"]
    if older is not None:
        rows.append(
            (
                f"deleting {len(older['deleted_tags']):,} tags older than {older['duration']}, on top",
                older,
            )
        )
        table.caption = (
            f"Old: created before {older['cutoff']}; {len(older['tags_without_created']):,} "
            "tags have no creation time (kept)."
        )
        table.caption_justify = "left"
    for label, figures in rows:
        table.add_row(Text(label), f"{figures['frees_blobs']:,}", f"{figures['frees_bytes']:,}")
    return table


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
    older = what_if["older_than"]
    if older is not None:
        table.caption = (
            f"Deleting the tags of the {len(older['deleted_images']):,} images created before "
            f"{older['cutoff']} (older than {older['duration']}) frees {older['frees_bytes']:,} "
            f"compressed bytes of layer blobs; {len(older['images_without_created']):,} images "
            "have no creation time (kept)."
        )
        table.caption_justify = "left"
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
    tables = [
        *evaluation_tables(doc),
        layer_table(doc),
        what_if_table(doc),
        storage_table(doc),
        flattened_table(doc),
    ]
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
