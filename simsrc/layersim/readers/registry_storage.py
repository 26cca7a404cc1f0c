"""A distribution registry's storage, read from its filesystem driver's directory.

The distribution API lists repositories and tags, not what garbage collection needs: blobs
no manifest references and manifests no tag points to. The registry's storage holds both.
`read_registry_storage(DIR)` reads the `rootdirectory` of a registry's `filesystem` storage
driver (its config's `storage.filesystem.rootdirectory`; Debian's default
/var/lib/docker-registry) into an `accounting.registry_ops.StoredRegistry`, as
`registry garbage-collect` (distribution 2.8) walks it:

    docker/registry/v2/blobs/sha256/<2 hex>/<64 hex>/data                    every blob
    docker/registry/v2/repositories/<name>/_layers/                           marks a repository
    docker/registry/v2/repositories/<name>/_manifests/revisions/sha256/<hex>/link
    docker/registry/v2/repositories/<name>/_manifests/tags/<tag>/current/link

- A repository is a directory under `repositories/` holding `_layers` (names may nest:
  `team/app`); other directories starting with `_` are not descended into.
- A manifest revision is a `link` file under `_manifests/revisions`: the registry deletes the
  `link` (not its directory) when a manifest is deleted, so a directory without one is no
  revision; nor is a link to a blob the store no longer holds (the registry skips both).
- A tag is `_manifests/tags/<tag>/current/link`; a tag without it is skipped, as the registry's
  tag lookup does. The tag's `index/` keeps past targets: history, not tags.
- What a manifest references is read from its blob: an image manifest its config and layers, an
  index its child manifests (schema 1: its `fsLayers`).
- A tagged image's creation time is its config's `created` (RFC 3339); an index's, the latest
  of its children's (attestations, `unknown/unknown`, aside) when every child has one. A
  missing or unparsable `created`, or a config the store lacks, is no creation time: counted by
  `registry_ops.older_than`, never guessed.

Bad storage (no `docker/registry/v2`, a link file that is not a digest or does not match its
path, a manifest that does not parse or hash to its digest, a blob directory with a name that is
not a digest) is an `ImageFormatError` naming the file: the real `garbage-collect` stops there
too. Nothing is written.
"""

from __future__ import annotations

import json
import os
import re
import stat
from collections.abc import Iterator
from datetime import datetime
from pathlib import Path
from typing import Any

from layersim.accounting.registry_ops import StoredRegistry, StoredRepository
from layersim.errors import ConfigError, ImageFormatError
from layersim.model.digest import sha256_digest
from layersim.readers.plan import config_created, parse_rfc3339
from layersim.readers.source import MAX_JSON_BYTES

V2 = Path("docker/registry/v2")
_HEX_RE = re.compile(r"^[0-9a-f]{64}$")
_LINK_RE = re.compile(rb"^sha256:[0-9a-f]{64}$")
_DURATION_RE = re.compile(r"^\s*(\d+)\s*([smhdw])\s*$")
DURATION_UNITS_SECONDS = {"s": 1, "m": 60, "h": 3600, "d": 86400, "w": 7 * 86400}
MAX_LINK_BYTES = 1024


def parse_now(text: str) -> datetime:
    """The `--now` option: an RFC 3339 time with an offset."""
    parsed = parse_rfc3339(text)
    if parsed is None:
        raise ConfigError(f"--now: {text!r} is not an RFC 3339 time (e.g. 2026-01-31T00:00:00Z)")
    return parsed


def parse_duration_seconds(text: str) -> int:
    """The `--older-than` option: a whole number and a unit, `s`, `m`, `h`, `d` or `w`
    (`30d`, `12h`), in seconds."""
    match = _DURATION_RE.fullmatch(text)
    if match is None:
        raise ConfigError(
            f"--older-than: {text!r} is not a duration (a whole number and s, m, h, d or w: 30d)"
        )
    return int(match.group(1)) * DURATION_UNITS_SECONDS[match.group(2)]


def _v2_root(path: Path) -> Path:
    if (path / V2).is_dir():
        return path / V2
    if path.name == "v2" and (path / "blobs").is_dir() and (path / "repositories").is_dir():
        return path
    if not path.exists():
        raise ImageFormatError(f"{path}: no such directory")
    raise ImageFormatError(
        f"{path}: not a registry's storage (no {V2}: give the filesystem driver's rootdirectory)"
    )


def _blobs(v2: Path) -> dict[str, int]:
    """Every blob's digest and `data` bytes."""
    root = v2 / "blobs" / "sha256"
    found: dict[str, int] = {}
    if not root.is_dir():
        return found
    for prefix in sorted(os.scandir(root), key=lambda e: e.name):
        if not prefix.is_dir(follow_symlinks=False):
            continue
        for entry in sorted(os.scandir(prefix.path), key=lambda e: e.name):
            if not entry.is_dir(follow_symlinks=False):
                continue
            try:
                info = os.stat(os.path.join(entry.path, "data"))
            except FileNotFoundError:
                continue  # a blob being deleted, or never finished: the registry skips it too
            if not stat.S_ISREG(info.st_mode):
                continue
            if not _HEX_RE.fullmatch(entry.name) or entry.name[:2] != prefix.name:
                raise ImageFormatError(f"{entry.path}: a blob directory not named by its digest")
            found["sha256:" + entry.name] = info.st_size
    return found


def _read_link(path: str) -> str:
    """The digest a link file holds, checked."""
    try:
        with open(path, "rb") as file:
            data = file.read(MAX_LINK_BYTES + 1)
    except OSError as exc:
        raise ImageFormatError(f"{path}: unreadable link file ({exc.strerror})") from None
    if not _LINK_RE.fullmatch(data):
        raise ImageFormatError(f"{path}: broken link file (not a sha256 digest: {data[:80]!r})")
    return data.decode()


def _repositories(root: Path, prefix: str = "") -> Iterator[tuple[str, Path]]:
    """(name, directory) of every repository under `root`, sorted by name."""
    if not root.is_dir():
        return
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        if entry.name.startswith("_") or not entry.is_dir(follow_symlinks=False):
            continue
        name = prefix + entry.name
        if (Path(entry.path) / "_layers").is_dir():
            yield name, Path(entry.path)
        yield from _repositories(Path(entry.path), name + "/")


def _revisions(repo: Path, blobs: dict[str, int]) -> list[str]:
    root = repo / "_manifests" / "revisions" / "sha256"
    found: list[str] = []
    if not root.is_dir():
        return found
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        link = os.path.join(entry.path, "link")
        if not os.path.isfile(link):
            continue  # a deleted manifest leaves its directory, without the link
        digest = _read_link(link)
        if digest != "sha256:" + entry.name:
            raise ImageFormatError(f"{link}: broken link file (holds {digest})")
        if digest in blobs:
            found.append(digest)
    return found


def _tags(repo: Path) -> list[tuple[str, str]]:
    root = repo / "_manifests" / "tags"
    found: list[tuple[str, str]] = []
    if not root.is_dir():
        return found
    for entry in sorted(os.scandir(root), key=lambda e: e.name):
        link = os.path.join(entry.path, "current", "link")
        if entry.is_dir(follow_symlinks=False) and os.path.isfile(link):
            found.append((entry.name, _read_link(link)))
    return found


class _Blobs:
    """Blob JSON read from the store, each at most once, checked against its digest."""

    def __init__(self, v2: Path, blobs: dict[str, int]) -> None:
        self._root = str(v2 / "blobs" / "sha256")
        self._blobs = blobs
        self._read: dict[str, Any] = {}

    def json(self, digest: str) -> Any:
        if digest not in self._read:
            self._read[digest] = self._load(digest)
        return self._read[digest]

    def _load(self, digest: str) -> Any:
        """A stored blob (regular files only: `_blobs` listed it) parsed as JSON, refused past
        `MAX_JSON_BYTES` or if its bytes do not hash to its digest."""
        path = os.path.join(self._root, digest[7:9], digest[7:], "data")
        if self._blobs[digest] > MAX_JSON_BYTES:
            raise ImageFormatError(
                f"{path}: {self._blobs[digest]} bytes of JSON, more than {MAX_JSON_BYTES}"
            )
        with open(path, "rb") as file:
            data = file.read(MAX_JSON_BYTES + 1)
        actual = sha256_digest(data)
        if actual != digest:
            raise ImageFormatError(f"{path}: content has digest {actual}, not its name's")
        try:
            return json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise ImageFormatError(f"{path}: malformed JSON ({exc})") from None

    def references(self, digest: str) -> tuple[str, ...]:
        """The digests a manifest references (module docstring)."""
        doc = self.json(digest)
        where = f"manifest {digest} in the registry's storage"
        if not isinstance(doc, dict):
            raise ImageFormatError(f"{where}: not a JSON object")
        if doc.get("schemaVersion") == 1:
            return tuple(_digests(doc.get("fsLayers"), "blobSum", where))
        if isinstance(doc.get("manifests"), list):
            return tuple(_digests(doc["manifests"], "digest", where))
        config = doc.get("config")
        return tuple(_digests([config] if config is not None else [], "digest", where)) + tuple(
            _digests(doc.get("layers") or [], "digest", where)
        )

    def created(self, digest: str) -> datetime | None:
        """When a manifest's image was created (module docstring)."""
        doc = self.json(digest)
        if not isinstance(doc, dict):
            return None
        if isinstance(doc.get("manifests"), list):
            where = f"index {digest} in the registry's storage"
            children = _digests(doc["manifests"], "digest", where)
            times = [
                self.created(child) if child in self._blobs else None
                for child, item in zip(children, doc["manifests"], strict=True)
                if not isinstance(item.get("platform"), dict)
                or item["platform"].get("os") != "unknown"
            ]
            known = [t for t in times if t is not None]
            return max(known) if known and len(known) == len(times) else None
        config = doc.get("config")
        config_digest = config.get("digest") if isinstance(config, dict) else None
        if config_digest not in self._blobs:
            return None
        return config_created(self.json(config_digest))


def _digests(items: Any, key: str, where: str) -> list[str]:
    if not isinstance(items, list):
        raise ImageFormatError(f"{where}: malformed references")
    found = []
    for item in items:
        value = item.get(key) if isinstance(item, dict) else None
        if not isinstance(value, str) or not _LINK_RE.fullmatch(value.encode()):
            raise ImageFormatError(f"{where}: malformed digest {value!r}")
        found.append(value)
    return found


def read_registry_storage(path: Path) -> StoredRegistry:
    """The registry storage at `path` (module docstring)."""
    v2 = _v2_root(path)
    blobs = _blobs(v2)
    reader = _Blobs(v2, blobs)
    repositories = []
    references: dict[str, tuple[str, ...]] = {}
    created: dict[str, datetime | None] = {}
    for name, directory in _repositories(v2 / "repositories"):
        revisions = _revisions(directory, blobs)
        tags = _tags(directory)
        for digest in revisions:
            if digest not in references:
                references[digest] = reader.references(digest)
        for _, digest in tags:
            if digest not in created:
                created[digest] = reader.created(digest) if digest in blobs else None
        repositories.append(StoredRepository(name, tuple(revisions), tuple(tags)))
    return StoredRegistry(
        blob_bytes=blobs,
        repositories=tuple(repositories),
        references=references,
        created=created,
    )
