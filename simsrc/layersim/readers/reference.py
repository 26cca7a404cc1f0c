"""Image references in skopeo's transport syntax: where `analyze` and `calibrate` read images.

    oci:DIR[:REF]                 one image of an OCI layout (every image without REF)
    oci-archive:PATH[:REF]        the same, packed in a tar
    docker-archive:PATH           every image of a docker-archive
    docker://HOST[:PORT]/REPO[:TAG|@DIGEST]   one image of a registry (TAG defaults to latest)
    docker://HOST[:PORT][/]       every tag of every repository of a registry (its catalog)
    PATH                          a layout or a docker-archive, by what it holds

As in skopeo, the path of `oci:` and `oci-archive:` ends at the first colon. A registry
reference names its host as docker does: a first component with a dot or a colon, or
`localhost`; otherwise the image is on Docker Hub (`docker://alpine` is
`docker.io/library/alpine:latest`); so a registry alone is a catalog when its host name has a
dot or is `localhost` (`docker://127.0.0.1:5000`), or when written with a trailing slash
(`docker://myhost:5000/`). A reference is parsed once, here, into an `ImageReference`;
everything malformed is an `ImageFormatError` naming the reference.

This module only parses; `readers` reads what a reference names, `registry` talks to registries.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from enum import Enum
from pathlib import Path

from layersim.errors import ImageFormatError


class Transport(Enum):
    """Where a reference's images come from (skopeo's transport names)."""

    PATH = "path"  # a plain path: a layout or a docker-archive, by its contents
    OCI = "oci"
    OCI_ARCHIVE = "oci-archive"
    DOCKER_ARCHIVE = "docker-archive"
    DOCKER = "docker"


DOCKER_HUB = "docker.io"
DEFAULT_TAG = "latest"
# skopeo transports layersim does not read, named so that a typo is not taken for a path
_UNSUPPORTED = ("containers-storage", "dir", "docker-daemon", "ostree", "sif", "tarball")
# the distribution spec's grammar (reference.go)
_COMPONENT = r"[a-z0-9]+(?:(?:[._]|__|-+)[a-z0-9]+)*"
_REPOSITORY_RE = re.compile(rf"^{_COMPONENT}(?:/{_COMPONENT})*$")
_TAG_RE = re.compile(r"^[\w][\w.-]{0,127}$")
_HOST_RE = re.compile(
    r"^(?:[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?(?:\.[a-zA-Z0-9](?:[a-zA-Z0-9-]*[a-zA-Z0-9])?)*"
    r"|\[[0-9a-fA-F:]+\])(?::[0-9]{1,5})?$"
)
_SHA256_RE = re.compile(r"^sha256:[0-9a-f]{64}$")


@dataclass(frozen=True, slots=True)
class ImageReference:
    """One parsed reference. `path` for the file transports; `host`, `repository` and one of
    `tag` / `digest` for a registry image; `host` alone for a registry's whole catalog."""

    transport: Transport
    text: str  # as given, for messages and reports
    path: Path | None = None
    ref: str | None = None  # the image inside a layout (its ref name)
    host: str | None = None
    repository: str | None = None
    tag: str | None = None
    digest: str | None = None

    @property
    def is_catalog(self) -> bool:
        """A whole registry: every tag of every repository its catalog lists."""
        return self.transport is Transport.DOCKER and self.repository is None

    @property
    def local_path(self) -> Path | None:
        """The file or directory a file reference reads (which `--out` must not replace)."""
        return self.path


def parse_reference(text: str) -> ImageReference:
    """The reference `text` (module docstring), checked; plain paths stay plain paths."""
    if not isinstance(text, str) or not text or "\0" in text:
        raise ImageFormatError(f"image reference {text!r}: empty or malformed")
    transport, sep, rest = text.partition(":")
    if not sep:
        return ImageReference(Transport.PATH, text, path=Path(text))
    if transport in _UNSUPPORTED:
        raise ImageFormatError(
            f"image reference {text!r}: transport {transport!r} is not read by layersim "
            "(use oci:, oci-archive:, docker-archive: or docker://)"
        )
    if transport == Transport.DOCKER.value:
        return _docker(text, rest)
    if transport in (Transport.OCI.value, Transport.OCI_ARCHIVE.value):
        path, _, ref = rest.partition(":")
        if not path:
            raise ImageFormatError(f"image reference {text!r}: no path after {transport}:")
        if ":" in ref or (ref and not ref.strip()):
            raise ImageFormatError(f"image reference {text!r}: malformed image name {ref!r}")
        return ImageReference(Transport(transport), text, path=Path(path), ref=ref or None)
    if transport == Transport.DOCKER_ARCHIVE.value:
        if not rest:
            raise ImageFormatError(f"image reference {text!r}: no path after docker-archive:")
        if ":" in rest:
            raise ImageFormatError(
                f"image reference {text!r}: choosing one image of a docker-archive is not "
                "supported; give the archive whole (docker-archive:PATH)"
            )
        return ImageReference(Transport.DOCKER_ARCHIVE, text, path=Path(rest))
    return ImageReference(Transport.PATH, text, path=Path(text))


def _docker(text: str, rest: str) -> ImageReference:
    if not rest.startswith("//"):
        raise ImageFormatError(f"image reference {text!r}: a registry reference is docker://...")
    body = rest[2:]
    if not body:
        raise ImageFormatError(f"image reference {text!r}: no registry or image after docker://")
    head, slash, tail = body.partition("/")
    has_host = "." in head or ":" in head or head == "localhost" or head.startswith("[")
    # a catalog: HOST/ always; HOST alone when its name is a host's, not an image's
    hostname = head.rsplit(":", 1)[0] if not head.endswith("]") else head
    if (slash and not tail) or (
        not slash and "@" not in head and ("." in hostname or hostname in ("localhost", "[::1]"))
    ):
        _check_host(text, head)
        return ImageReference(Transport.DOCKER, text, host=head)
    if has_host and slash:
        host, name = head, tail
    else:
        host, name = DOCKER_HUB, body
    _check_host(text, host)
    name, at, digest = name.partition("@")
    tag = None
    if at and not _SHA256_RE.fullmatch(digest):
        raise ImageFormatError(f"image reference {text!r}: {digest!r} is not a sha256 digest")
    last = name.rsplit("/", 1)[-1]
    if ":" in last:
        name, _, tag = name.rpartition(":")
        if not _TAG_RE.fullmatch(tag):
            raise ImageFormatError(f"image reference {text!r}: malformed tag {tag!r}")
    if host == DOCKER_HUB and "/" not in name:
        name = f"library/{name}"
    if not _REPOSITORY_RE.fullmatch(name):
        raise ImageFormatError(
            f"image reference {text!r}: malformed repository name {name!r} "
            "(lowercase components separated by /)"
        )
    if at and tag:
        raise ImageFormatError(f"image reference {text!r}: give a tag or a digest, not both")
    return ImageReference(
        Transport.DOCKER,
        text,
        host=host,
        repository=name,
        tag=None if at else (tag or DEFAULT_TAG),
        digest=digest if at else None,
    )


def _check_host(text: str, host: str) -> None:
    if not _HOST_RE.fullmatch(host):
        raise ImageFormatError(f"image reference {text!r}: malformed registry host {host!r}")
    port = host.rpartition(":")[2] if not host.endswith("]") and ":" in host else None
    if port is not None and not 0 < int(port) < 65536:
        raise ImageFormatError(f"image reference {text!r}: port {port} out of range")
