"""The files an image is read from: a directory or a tar archive, opened safely.

Both OCI image layouts and docker-archives come as a directory or as one tar file. A `Source`
hides the difference: it opens a file by its path *inside* the image, checks that the path stays
inside (no absolute paths, no `..`, no symlink leading out, regular files only), and reads JSON
with a size cap. Nothing is ever extracted or written: a tar archive is read in place by seeking
to its members.

This module knows nothing about OCI or Docker formats; `oci` and `archive` do.
"""

from __future__ import annotations

import json
import os
import posixpath
import stat
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any, BinaryIO, Protocol

from layersim.errors import ImageFormatError
from layersim.model.digest import sha256_digest
from layersim.model.sizes import TAR_BLOCK_BYTES, pad_to_block
from layersim.readers.tar_header import (
    EXTENDED,
    HARDLINK,
    REGULAR,
    SYMLINK,
    ZERO_BLOCK,
    Extended,
    parse_header,
)

# Image JSON (index, manifests, configs, docker-archive manifest.json) larger than this is
# refused before it is read: distribution caps manifests at 4 MiB; configs are kilobytes.
MAX_JSON_BYTES = 16 << 20
# A tar archive with more members than this is refused (a docker-archive has a few per layer).
MAX_ARCHIVE_MEMBERS = 200_000
# Symlinks and hard links inside an archive are followed at most this many hops.
MAX_LINK_HOPS = 16


class Source(Protocol):
    """A directory or a tar archive holding one image layout or docker-archive."""

    location: str  # the path on disk, for messages

    def exists(self, name: str) -> bool:
        """Whether something is at `name` (opening it may still fail, naming why)."""
        ...

    def size_of(self, name: str) -> int:
        """Bytes of the file at `name`."""
        ...

    def open(self, name: str) -> BinaryIO:
        """The file at `name`, open for reading from its start."""
        ...

    def canonical(self, name: str) -> str:
        """One name for the file at `name` whatever links lead to it."""
        ...

    def close(self) -> None: ...


def inner_path(name: str, location: str) -> str:
    """`name` as a clean relative path inside an image, or an error if it leaves it."""
    if not isinstance(name, str) or not name or "\0" in name:
        raise ImageFormatError(f"{location}: invalid path {name!r}")
    if name.startswith("/"):
        raise ImageFormatError(f"{location}: absolute path {name!r} where a relative one belongs")
    parts = [p for p in name.split("/") if p not in ("", ".")]
    if not parts or ".." in parts:
        raise ImageFormatError(f"{location}: path {name!r} leaves the image")
    return "/".join(parts)


class DirectorySource:
    """An image laid out in a directory (an OCI layout, or an unpacked docker-archive)."""

    def __init__(self, root: Path) -> None:
        self.location = str(root)
        self._root = os.path.realpath(root)

    def _resolve(self, name: str) -> str:
        relative = inner_path(name, self.location)
        real = os.path.realpath(os.path.join(self._root, relative))
        if os.path.commonpath([self._root, real]) != self._root:
            raise ImageFormatError(
                f"{self.location}: {relative} is a link leading out of the image directory"
            )
        return real

    def exists(self, name: str) -> bool:
        return os.path.lexists(self._resolve(name))

    def size_of(self, name: str) -> int:
        return self._stat(name).st_size

    def _stat(self, name: str) -> os.stat_result:
        path = self._resolve(name)
        try:
            st = os.stat(path)
        except FileNotFoundError:
            raise ImageFormatError(f"{self.location}: {name} is missing") from None
        except OSError as exc:
            raise ImageFormatError(f"{self.location}: cannot read {name}: {exc.strerror}") from None
        if not stat.S_ISREG(st.st_mode):
            raise ImageFormatError(f"{self.location}: {name} is not a regular file")
        return st

    def open(self, name: str) -> BinaryIO:
        self._stat(name)  # refuses FIFOs and devices before open() could block on one
        try:
            return open(self._resolve(name), "rb", buffering=0)
        except OSError as exc:
            raise ImageFormatError(f"{self.location}: cannot read {name}: {exc.strerror}") from None

    def canonical(self, name: str) -> str:
        return self._resolve(name)

    def close(self) -> None:
        pass


@dataclass(frozen=True, slots=True)
class _ArchiveMember:
    typeflag: bytes
    linkname: str
    data_offset: int
    size: int


class TarSource:
    """An image packed in an uncompressed tar (a docker-archive, or an OCI layout as a tar).

    Members are found by an index of the archive's headers (read by `tar_header`, Go's rules,
    extended headers capped at 1 MiB) and read in place; symlinks and hard links between
    members are followed inside the archive only.
    """

    def __init__(self, path: Path) -> None:
        self.location = str(path)
        try:
            self._file = open(path, "rb")  # noqa: SIM115 - closed by close()
        except OSError as exc:
            raise ImageFormatError(f"{path}: cannot read: {exc.strerror}") from None
        try:
            self._archive_bytes = os.fstat(self._file.fileno()).st_size
            self._members = self._index()
        except BaseException:
            self._file.close()
            raise

    def _index(self) -> dict[str, _ArchiveMember]:
        head = self._file.read(4)
        if head[:2] == b"\x1f\x8b" or head == b"\x28\xb5\x2f\xfd":
            raise ImageFormatError(
                f"{self.location}: a compressed archive; decompress it first "
                "(gunzip / zstd -d) so that its members can be read in place"
            )
        members: dict[str, _ArchiveMember] = {}
        extended = Extended()
        offset = 0
        while True:
            self._file.seek(offset)
            block = self._file.read(TAR_BLOCK_BYTES)
            if not block or block == ZERO_BLOCK:
                break  # the end-of-archive blocks, or a tar that ends without them
            try:
                if len(block) < TAR_BLOCK_BYTES:
                    raise ValueError(f"truncated header at offset {offset}")
                header = parse_header(block, offset)
                data_offset = offset + TAR_BLOCK_BYTES
                if header.typeflag in EXTENDED:
                    Extended.check_size(header, offset)
                    data = self._file.read(header.size)
                    if len(data) < header.size:
                        raise ValueError(f"truncated extended header at offset {offset}")
                    extended.collect(header.typeflag, data)
                else:
                    header = extended.apply(header, offset)
                    if data_offset + header.size > self._archive_bytes:
                        raise ValueError(
                            f"member {header.name!r} declares {header.size} bytes "
                            "past the end of the file"
                        )
                    name = posixpath.normpath(header.name.lstrip("/"))
                    # a later member of the same name wins, as extraction does
                    members[name] = _ArchiveMember(
                        header.typeflag, header.linkname, data_offset, header.size
                    )
                    if len(members) > MAX_ARCHIVE_MEMBERS:
                        raise ValueError(f"more than {MAX_ARCHIVE_MEMBERS} members")
            except ValueError as exc:
                raise ImageFormatError(
                    f"{self.location}: not a readable tar archive: {exc}"
                ) from None
            offset = data_offset + pad_to_block(header.size, TAR_BLOCK_BYTES)
        if not members:
            raise ImageFormatError(f"{self.location}: an empty or unreadable tar archive")
        return members

    def _member(self, name: str) -> _ArchiveMember:
        current = inner_path(name, self.location)
        for _ in range(MAX_LINK_HOPS):
            member = self._members.get(current)
            if member is None:
                raise ImageFormatError(f"{self.location}: {name} is missing from the archive")
            if member.typeflag in REGULAR:
                return member
            if member.typeflag == SYMLINK:
                target = posixpath.join(posixpath.dirname(current), member.linkname)
            elif member.typeflag == HARDLINK:
                target = member.linkname
            else:
                raise ImageFormatError(f"{self.location}: {name} is not a regular file")
            target = posixpath.normpath(target.lstrip("/"))
            if target == ".." or target.startswith("../") or member.linkname.startswith("/"):
                raise ImageFormatError(
                    f"{self.location}: {name} links to {member.linkname!r}, outside the archive"
                )
            current = target
        raise ImageFormatError(f"{self.location}: {name}: too many levels of links")

    def exists(self, name: str) -> bool:
        """Whether a member is at `name` (a link to a bad place exists, but fails to open)."""
        return inner_path(name, self.location) in self._members

    def size_of(self, name: str) -> int:
        return self._member(name).size

    def open(self, name: str) -> BinaryIO:
        member = self._member(name)
        return _MemberReader(self._file, member.data_offset, member.size)  # type: ignore[return-value]

    def canonical(self, name: str) -> str:
        return f"{self.location}\0{self._member(name).data_offset}"

    def close(self) -> None:
        self._file.close()


class _MemberReader:
    """Reads one archive member in place: `size` bytes from `offset` of the shared file.

    Each read is a positional read (`pread`) that leaves the file's own position alone, so
    several members may be read at once, on several threads, through the one file descriptor.
    """

    def __init__(self, file: BinaryIO, offset: int, size: int) -> None:
        self._fd = file.fileno()
        self._offset = offset
        self._left = size

    def read(self, n: int = -1) -> bytes:
        if n < 0 or n > self._left:
            n = self._left
        if n == 0:
            return b""
        data = os.pread(self._fd, n, self._offset)
        self._offset += len(data)
        self._left -= len(data)
        return data

    def close(self) -> None:
        self._left = 0

    def __enter__(self) -> _MemberReader:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def open_source(path: Path) -> Source:
    """A `DirectorySource` for a directory, a `TarSource` for a file."""
    if path.is_dir():
        return DirectorySource(path)
    if path.is_file():
        return TarSource(path)
    if not path.exists():
        raise ImageFormatError(f"{path}: no such file or directory")
    raise ImageFormatError(f"{path}: neither a directory nor a regular file")


@contextmanager
def opened(path: Path) -> Iterator[Source]:
    source = open_source(path)
    try:
        yield source
    finally:
        source.close()


def load_json(
    source: Source, name: str, *, digest: str | None = None, declared_bytes: int | None = None
) -> tuple[Any, str]:
    """Parse the JSON file `name` and return it with its sha256 digest; refuse it if larger than
    `MAX_JSON_BYTES`, if its size is not `declared_bytes` or its digest not `digest` (if given)."""
    where = f"{source.location}: {name}"
    size = source.size_of(name)
    if declared_bytes is not None and size != declared_bytes:
        raise ImageFormatError(f"{where}: {size} bytes, but its descriptor says {declared_bytes}")
    if size > MAX_JSON_BYTES:
        raise ImageFormatError(f"{where}: {size} bytes of JSON, more than {MAX_JSON_BYTES}")
    with source.open(name) as file:
        data = file.read(MAX_JSON_BYTES + 1)
    if len(data) != size:
        raise ImageFormatError(f"{where}: read {len(data)} bytes, expected {size}")
    actual = sha256_digest(data)
    if digest is not None and actual != digest:
        raise ImageFormatError(f"{where}: content has digest {actual}, not the declared {digest}")
    try:
        return json.loads(data), actual
    except (ValueError, RecursionError) as exc:
        raise ImageFormatError(f"{where}: malformed JSON ({exc})") from None


def read_json(
    source: Source, name: str, *, digest: str | None = None, declared_bytes: int | None = None
) -> Any:
    """`load_json` without the digest."""
    return load_json(source, name, digest=digest, declared_bytes=declared_bytes)[0]
