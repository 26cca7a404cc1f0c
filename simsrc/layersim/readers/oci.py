"""OCI image layouts: `oci-layout`, `index.json` and `blobs/sha256/<hex>`, in a directory or a tar.

Every image `index.json` lists is read, in its order. Descriptors with the same
`org.opencontainers.image.ref.name` are one image in several platforms, and so is an image
index (`skopeo copy --all`, `docker buildx`): one platform is chosen, `--platform` if given,
else linux/amd64, else the only one, else an error that lists what there is. Attestation
manifests (buildx `unknown/unknown`) are never images.

Image names: the containerd annotation `io.containerd.image.name` if present; else the ref
name when it is a full reference (`registry/repo:tag`); else `<layout directory>:<ref name>`;
else `<layout directory>@<manifest digest>`. One layout per repository, tags inside, gives
names whose repositories match the registry's.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from layersim.errors import ImageFormatError
from layersim.model.digest import BlobDigest
from layersim.readers.decompress import Compression
from layersim.readers.layer_blob import LayerBlob
from layersim.readers.plan import (
    DEFAULT_PLATFORM,
    Descriptor,
    ImagePlan,
    LayerPlan,
    Platform,
    blob_path,
    config_created,
    config_diff_ids,
    expect,
)
from layersim.readers.source import Source, load_json, read_json

OCI_INDEX = "application/vnd.oci.image.index.v1+json"
OCI_MANIFEST = "application/vnd.oci.image.manifest.v1+json"
OCI_CONFIG = "application/vnd.oci.image.config.v1+json"
DOCKER_LIST = "application/vnd.docker.distribution.manifest.list.v2+json"
DOCKER_MANIFEST = "application/vnd.docker.distribution.manifest.v2+json"
DOCKER_CONFIG = "application/vnd.docker.container.image.v1+json"
INDEX_TYPES = frozenset({OCI_INDEX, DOCKER_LIST})
MANIFEST_TYPES = frozenset({OCI_MANIFEST, DOCKER_MANIFEST})
CONFIG_TYPES = frozenset({OCI_CONFIG, DOCKER_CONFIG})
LAYER_TYPES = {
    "application/vnd.oci.image.layer.v1.tar": Compression.NONE,
    "application/vnd.oci.image.layer.v1.tar+gzip": Compression.GZIP,
    "application/vnd.oci.image.layer.v1.tar+zstd": Compression.ZSTD,
    "application/vnd.docker.image.rootfs.diff.tar": Compression.NONE,
    "application/vnd.docker.image.rootfs.diff.tar.gzip": Compression.GZIP,
    "application/vnd.docker.image.rootfs.diff.tar.zstd": Compression.ZSTD,
}
FOREIGN_LAYER_TYPES = frozenset(
    {
        "application/vnd.oci.image.layer.nondistributable.v1.tar",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+gzip",
        "application/vnd.oci.image.layer.nondistributable.v1.tar+zstd",
        "application/vnd.docker.image.rootfs.foreign.diff.tar",
        "application/vnd.docker.image.rootfs.foreign.diff.tar.gzip",
    }
)
REF_NAME = "org.opencontainers.image.ref.name"
CONTAINERD_NAME = "io.containerd.image.name"
MAX_INDEX_DEPTH = 4


def is_layout(source: Source) -> bool:
    return source.exists("index.json")


class _Layout:
    """One layout being planned: its JSON blobs are read once each."""

    def __init__(self, source: Source, path: Path) -> None:
        self.source = source
        self.label = path.resolve().name or "oci"
        self._json: dict[str, Any] = {}

    def blob_json(self, desc: Descriptor) -> Any:
        if desc.digest not in self._json:
            self._json[desc.digest] = read_json(
                self.source, blob_path(desc.digest), digest=desc.digest, declared_bytes=desc.size
            )
        return self._json[desc.digest]

    def media_type(self, desc: Descriptor) -> str:
        """A descriptor's media type, or the blob's own where the descriptor omits it."""
        if desc.media_type:
            return desc.media_type
        blob = self.blob_json(desc)
        declared = blob.get("mediaType") if isinstance(blob, dict) else None
        if isinstance(declared, str) and declared:
            return declared
        if isinstance(blob, dict) and "manifests" in blob:
            return OCI_INDEX
        return OCI_MANIFEST

    def candidates(self, desc: Descriptor, depth: int = 0) -> list[Descriptor]:
        """The image manifests a descriptor stands for (indexes expanded)."""
        media_type = self.media_type(desc)
        if media_type in MANIFEST_TYPES:
            return [desc]
        if media_type not in INDEX_TYPES:
            raise ImageFormatError(
                f"{self.source.location}: {desc.digest}: unknown media type {media_type!r}"
            )
        if depth >= MAX_INDEX_DEPTH:
            raise ImageFormatError(f"{self.source.location}: image indexes nest too deep")
        where = f"{self.source.location}: index {desc.digest}"
        manifests = expect(self.blob_json(desc), "manifests", list, where)
        found: list[Descriptor] = []
        for obj in manifests:
            child = Descriptor.parse(obj, where)
            if _is_attestation(child):
                continue
            found += self.candidates(child, depth + 1)
        return found

    def platform_of(self, desc: Descriptor) -> Platform | None:
        if desc.platform is not None:
            return desc.platform
        manifest = self.blob_json(desc)
        where = f"{self.source.location}: manifest {desc.digest}"
        config = Descriptor.parse(expect(manifest, "config", dict, where), where)
        return Platform.of(self.blob_json(config))

    def choose(self, group: list[Descriptor], wanted: Platform | None, ref: str) -> Descriptor:
        candidates = [c for d in group for c in self.candidates(d)]
        if not candidates:
            raise ImageFormatError(f"{self.source.location}: {ref}: no image manifest")
        if wanted is None and len(candidates) == 1:
            return candidates[0]
        target = wanted or DEFAULT_PLATFORM
        platforms = [self.platform_of(c) for c in candidates]
        for candidate, platform in zip(candidates, platforms, strict=True):
            if platform is not None and platform.matches(target):
                return candidate
        listed = ", ".join(str(p) if p else "unknown" for p in platforms)
        raise ImageFormatError(
            f"{self.source.location}: {ref} has no image for platform {target} "
            f"(it has: {listed}); choose one with --platform"
        )

    def name_of(self, ref: str | None, chosen: Descriptor, group: list[Descriptor]) -> str:
        for desc in (chosen, *group):
            if desc.annotations.get(CONTAINERD_NAME):
                return desc.annotations[CONTAINERD_NAME]
        if ref and ("/" in ref or ":" in ref):
            return ref
        if ref:
            return f"{self.label}:{ref}"
        return f"{self.label}@{chosen.digest}"

    def image_plan(self, name: str, desc: Descriptor) -> ImagePlan:
        where = f"{self.source.location}: manifest {desc.digest} ({name})"
        manifest = self.blob_json(desc)
        if expect(manifest, "schemaVersion", int, where) != 2:
            raise ImageFormatError(f"{where}: schemaVersion {manifest['schemaVersion']} is not 2")
        config_desc = Descriptor.parse(expect(manifest, "config", dict, where), where)
        if config_desc.media_type not in CONFIG_TYPES:
            raise ImageFormatError(
                f"{where}: config media type {config_desc.media_type!r} is not an image config"
            )
        config = self.blob_json(config_desc)
        diff_ids = config_diff_ids(config, f"{self.source.location}: config {config_desc.digest}")
        layer_objs = expect(manifest, "layers", list, where)
        if len(layer_objs) != len(diff_ids):
            raise ImageFormatError(
                f"{where}: {len(layer_objs)} layers, but its config lists {len(diff_ids)} DiffIDs"
            )
        layers = []
        for index, (obj, diff_id) in enumerate(zip(layer_objs, diff_ids, strict=True), start=1):
            layer = Descriptor.parse(obj, where)
            blob_where = f"blob {layer.digest} (layer {index} of {name}) in {self.source.location}"
            if layer.media_type in FOREIGN_LAYER_TYPES:
                raise ImageFormatError(
                    f"{blob_where}: non-distributable (foreign) layer {layer.media_type!r} "
                    "is not supported"
                )
            compression = LAYER_TYPES.get(layer.media_type)
            if compression is None:
                raise ImageFormatError(f"{blob_where}: unknown media type {layer.media_type!r}")
            member = blob_path(layer.digest)
            if not self.source.exists(member):
                raise ImageFormatError(f"{blob_where}: the blob is missing")
            stored = self.source.size_of(member)
            if stored != layer.size:
                raise ImageFormatError(
                    f"{blob_where}: {stored} bytes stored, but the manifest says {layer.size}"
                )
            layers.append(
                LayerPlan(
                    source=self.source,
                    member=member,
                    blob=LayerBlob(
                        where=blob_where,
                        compression=compression,
                        digest=BlobDigest(layer.digest),
                        stored_bytes=layer.size,
                        diff_id=diff_id,
                    ),
                    key=layer.digest,
                )
            )
        return ImagePlan(
            name=name, layers=tuple(layers), where=where, created=config_created(config)
        )


def _is_attestation(desc: Descriptor) -> bool:
    if desc.annotations.get("vnd.docker.reference.type") == "attestation-manifest":
        return True
    return desc.platform is not None and desc.platform.os == "unknown"


def plan_layout(
    source: Source, path: Path, wanted: Platform | None, only: str | None = None
) -> list[ImagePlan]:
    """Plans of every image an OCI layout's `index.json` lists, in its order; only the image
    whose ref name is `only`, if given (`oci:DIR:REF`)."""
    where = f"{source.location}: oci-layout"
    if not source.exists("oci-layout"):
        raise ImageFormatError(f"{source.location}: index.json but no oci-layout file")
    version = expect(read_json(source, "oci-layout"), "imageLayoutVersion", str, where)
    if not version.startswith("1."):
        raise ImageFormatError(f"{where}: unsupported imageLayoutVersion {version!r}")
    index, _ = load_json(source, "index.json")
    where = f"{source.location}: index.json"
    manifests = expect(index, "manifests", list, where)
    layout = _Layout(source, path)
    groups: dict[str | None, list[Descriptor]] = {}
    for position, obj in enumerate(manifests):
        desc = Descriptor.parse(obj, where)
        if _is_attestation(desc):
            continue
        ref = desc.annotations.get(REF_NAME) or desc.annotations.get(CONTAINERD_NAME)
        # descriptors without a name are separate images, never platforms of one another
        groups.setdefault(ref if ref else f"\0{position}", []).append(desc)
    if not groups:
        raise ImageFormatError(f"{where}: lists no image")
    if only is not None:
        if only not in groups:
            named = sorted(k for k in groups if not k.startswith("\0"))
            raise ImageFormatError(
                f"{where}: no image named {only!r} (it has: {', '.join(named) or 'no names'})"
            )
        groups = {only: groups[only]}
    plans = []
    for key, group in groups.items():
        ref = None if key is None or key.startswith("\0") else key
        chosen = layout.choose(group, wanted, ref or group[0].digest)
        name = layout.name_of(ref, chosen, group)
        plans.append(layout.image_plan(name, chosen))
    return plans
