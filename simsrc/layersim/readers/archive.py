"""docker-archives: what `docker save`, `podman save` and `skopeo copy ... docker-archive:` write.

`manifest.json` lists the images: per image its `Config` and its `Layers`, paths inside the
archive, in either of the layouts writers use: the legacy one (`<id>/layer.tar`, often a symlink
to `<diffid>.tar`, as skopeo writes) or the OCI-like one of Docker 25+ (`blobs/sha256/<hex>`).
Every image is read, in the file's order, and named by its first `RepoTags` entry (else
`<archive name>@<config digest>`).

A docker-archive declares no media types and no blob digests: each layer's compression is
sniffed from its first bytes, its blob digest is the sha256 of the bytes as stored (checked
against the path where the path is `blobs/sha256/<hex>`), and its DiffID is checked against the
config. Layers that `docker save` stores uncompressed have blob digest = DiffID and compressed
bytes = tar bytes: that is what the archive holds, not what a registry push would send.
"""

from __future__ import annotations

import re
from pathlib import Path

from layersim.errors import ImageFormatError
from layersim.model.digest import BlobDigest
from layersim.readers.layer_blob import LayerBlob
from layersim.readers.plan import (
    ImagePlan,
    LayerPlan,
    Platform,
    config_created,
    config_diff_ids,
    expect,
)
from layersim.readers.source import Source, inner_path, load_json

_BLOB_NAME = re.compile(r"^(?:.*/)?blobs/sha256/([0-9a-f]{64})$")
_CONFIG_NAME = re.compile(r"^([0-9a-f]{64})\.json$")


def is_archive(source: Source) -> bool:
    return source.exists("manifest.json")


def _declared_digest(name: str) -> BlobDigest | None:
    """The digest a content-addressed member path declares (`blobs/sha256/<hex>`)."""
    match = _BLOB_NAME.match(name)
    return BlobDigest(f"sha256:{match.group(1)}") if match else None


def plan_archive(source: Source, path: Path, wanted: Platform | None) -> list[ImagePlan]:
    """Plans of every image a docker-archive's `manifest.json` lists, in its order."""
    manifest, _ = load_json(source, "manifest.json")
    where = f"{source.location}: manifest.json"
    if not isinstance(manifest, list) or not manifest:
        raise ImageFormatError(f"{where}: expected a non-empty list of images")
    stem = path.name.split(".", 1)[0] or "archive"
    plans = []
    for position, entry in enumerate(manifest, start=1):
        entry_where = f"{where}: image {position}"
        config_name = inner_path(expect(entry, "Config", str, entry_where), source.location)
        config_match = _CONFIG_NAME.match(config_name.rsplit("/", 1)[-1])
        declared = _declared_digest(config_name) or (
            f"sha256:{config_match.group(1)}" if config_match else None
        )
        config, config_digest = load_json(source, config_name, digest=declared)
        tags = entry.get("RepoTags") or []
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ImageFormatError(f"{entry_where}: malformed RepoTags")
        name = tags[0] if tags else f"{stem}@{config_digest}"
        platform = Platform.of(config)
        if wanted is not None and (platform is None or not platform.matches(wanted)):
            raise ImageFormatError(
                f"{source.location}: {name} is for platform {platform or 'unknown'}, not {wanted}"
            )
        diff_ids = config_diff_ids(config, f"{source.location}: {config_name}")
        layer_names = expect(entry, "Layers", list, entry_where)
        if len(layer_names) != len(diff_ids):
            raise ImageFormatError(
                f"{entry_where}: {len(layer_names)} layers, but its config lists "
                f"{len(diff_ids)} DiffIDs"
            )
        layers = []
        for index, (raw, diff_id) in enumerate(zip(layer_names, diff_ids, strict=True), start=1):
            if not isinstance(raw, str):
                raise ImageFormatError(f"{entry_where}: malformed layer path {raw!r}")
            member = inner_path(raw, source.location)
            blob_where = f"layer {index} of {name} ({member}) in {source.location}"
            if not source.exists(member):
                raise ImageFormatError(f"{blob_where}: the layer file is missing")
            stored_bytes = source.size_of(member)  # follows links, refusing those leading out
            digest = _declared_digest(member)
            layers.append(
                LayerPlan(
                    source=source,
                    member=member,
                    blob=LayerBlob(
                        where=blob_where,
                        compression=None,
                        digest=digest,
                        stored_bytes=stored_bytes,
                        diff_id=diff_id,
                    ),
                    key=digest or source.canonical(member),
                )
            )
        plans.append(
            ImagePlan(
                name=name,
                layers=tuple(layers),
                where=entry_where,
                created=config_created(config),
            )
        )
    return plans
