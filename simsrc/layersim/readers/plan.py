"""What reading an image will take, worked out from its JSON before any layer is streamed.

The format readers (`oci`, `archive`) turn manifests and configs into `ImagePlan`s: per layer,
where its blob lies and what it must hash to. Checking every manifest and config first means
bad input fails fast, progress knows its total, and a blob shared by several images is streamed
once. Also here: the OCI values both formats use (digests, descriptors, platforms).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from layersim.errors import ImageFormatError
from layersim.model.digest import DiffID
from layersim.readers.layer_blob import LayerBlob
from layersim.readers.source import Source

_SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}$")
_DIGEST_RE = re.compile(r"^[a-z0-9]+(?:[+._-][a-z0-9]+)*:[a-zA-Z0-9=_-]+$")
_RFC3339_RE = re.compile(
    r"^\d{4}-\d{2}-\d{2}[Tt ]\d{2}:\d{2}:\d{2}(?:\.\d+)?(?:[Zz]|[+-]\d{2}:\d{2})$"
)


def parse_rfc3339(text: object) -> datetime | None:
    """`text` as an RFC 3339 time with its offset (`2024-05-01T12:34:56.123456789Z`), or None
    if it is not one. Fractions beyond microseconds are dropped (Go writes nanoseconds)."""
    if not isinstance(text, str) or not _RFC3339_RE.fullmatch(text):
        return None
    head, dot, rest = text.partition(".")
    if dot:
        digits = len(rest) - len(rest.lstrip("0123456789"))
        head = f"{head}.{rest[: min(digits, 6)]}{rest[digits:]}"
    try:
        return datetime.fromisoformat(head.replace("z", "Z").replace("t", "T"))
    except ValueError:
        return None


def config_created(config: Any) -> datetime | None:
    """When an image config says its image was created (`created`, RFC 3339), or None when
    it says nothing usable: never guessed."""
    return parse_rfc3339(config.get("created")) if isinstance(config, dict) else None


def check_digest(value: object, where: str) -> str:
    """`value` if it is a `sha256:<64 hex>` digest; other algorithms are refused by name."""
    if isinstance(value, str) and _SHA256_RE.fullmatch(value):
        return value
    if isinstance(value, str) and _DIGEST_RE.fullmatch(value) and not value.startswith("sha256:"):
        raise ImageFormatError(f"{where}: unsupported digest algorithm in {value!r}")
    raise ImageFormatError(f"{where}: not a sha256 digest: {value!r}")


def blob_path(digest: str) -> str:
    """Where a layout keeps the blob of a (checked) digest."""
    return "blobs/sha256/" + digest[len("sha256:") :]


def expect(obj: Any, key: str, kind: type | tuple[type, ...], where: str) -> Any:
    """`obj[key]`, which must exist and be of `kind`."""
    if not isinstance(obj, dict):
        raise ImageFormatError(f"{where}: expected a JSON object, got {type(obj).__name__}")
    value = obj.get(key)
    if not isinstance(value, kind) or (isinstance(value, bool) and kind is not bool):
        raise ImageFormatError(f"{where}: field {key!r} is missing or malformed")
    return value


@dataclass(frozen=True, slots=True)
class Platform:
    """`os/architecture[/variant]`, as in an image index or config."""

    os: str
    architecture: str
    variant: str = ""

    @classmethod
    def parse(cls, text: str) -> Platform:
        parts = text.strip().split("/")
        if len(parts) not in (2, 3) or not all(parts):
            raise ImageFormatError(f"platform {text!r} is not os/arch[/variant]")
        return cls(*parts)

    @classmethod
    def of(cls, obj: Any) -> Platform | None:
        """The platform an index descriptor or a config declares, if any."""
        if not isinstance(obj, dict):
            return None
        os_name, arch = obj.get("os"), obj.get("architecture")
        if not isinstance(os_name, str) or not isinstance(arch, str):
            return None
        variant = obj.get("variant")
        return cls(os_name, arch, variant if isinstance(variant, str) else "")

    def matches(self, wanted: Platform) -> bool:
        """Whether this platform serves `wanted` (no variant wanted: any variant)."""
        if (self.os, self.architecture) != (wanted.os, wanted.architecture):
            return False
        if not wanted.variant:
            return True
        return (self.variant or _DEFAULT_VARIANTS.get(self.architecture, "")) == wanted.variant

    def __str__(self) -> str:
        return "/".join(p for p in (self.os, self.architecture, self.variant) if p)


DEFAULT_PLATFORM = Platform("linux", "amd64")
# containerd's platform matcher: these variants are implied when a descriptor names none
_DEFAULT_VARIANTS = {"arm64": "v8", "arm": "v7"}


@dataclass(frozen=True, slots=True)
class Descriptor:
    media_type: str
    digest: str
    size: int
    platform: Platform | None = None
    annotations: dict[str, str] = field(default_factory=dict)

    @classmethod
    def parse(cls, obj: Any, where: str) -> Descriptor:
        if not isinstance(obj, dict):
            raise ImageFormatError(f"{where}: a descriptor must be a JSON object")
        media_type = obj.get("mediaType", "")
        if not isinstance(media_type, str):
            raise ImageFormatError(f"{where}: malformed mediaType {media_type!r}")
        size = expect(obj, "size", int, where)
        if size < 0:
            raise ImageFormatError(f"{where}: negative size {size}")
        annotations = obj.get("annotations") or {}
        if not isinstance(annotations, dict):
            raise ImageFormatError(f"{where}: malformed annotations")
        return cls(
            media_type=media_type,
            digest=check_digest(obj.get("digest"), where),
            size=size,
            platform=Platform.of(obj.get("platform")),
            annotations={str(k): str(v) for k, v in annotations.items()},
        )


def config_diff_ids(config: Any, where: str) -> list[DiffID]:
    """The DiffIDs an image config lists (`rootfs.diff_ids`), checked."""
    rootfs = expect(config, "rootfs", dict, where)
    if rootfs.get("type") != "layers":
        raise ImageFormatError(f"{where}: rootfs type {rootfs.get('type')!r} is not 'layers'")
    diff_ids = expect(rootfs, "diff_ids", list, f"{where}: rootfs")
    return [DiffID(check_digest(d, f"{where}: rootfs.diff_ids")) for d in diff_ids]


@dataclass(frozen=True, slots=True)
class LayerPlan:
    """One layer of an image to read: the blob at `member` of `source`, verified as `blob`.

    `key` identifies the stored bytes across images and paths (the blob digest where the
    format declares one), so that a shared blob is streamed once.
    """

    source: Source
    member: str
    blob: LayerBlob
    key: str


@dataclass(frozen=True, slots=True)
class ImagePlan:
    name: str
    layers: tuple[LayerPlan, ...]
    where: str
    created: datetime | None = None  # the config's `created` (`config_created`)
