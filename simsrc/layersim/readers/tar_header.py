"""Tar headers as Go's `archive/tar` reads them (what Docker, containerd, buildah write).

One 512-byte header block at a time: its checksum (unsigned or signed sum), octal or GNU
base-256 numbers, the USTAR name prefix, and the extended headers that change the next member:
PAX records (`path`, `linkpath`, `size`; global headers ignored) and GNU long names. Extended
header data above 1 MiB is refused before it is read, as Go does (`maxSpecialFileSize`).

Used for layer streams (`tar_stream.TarScanner`) and for the archives images come in
(`source.TarSource`), so both read a tar the same way. Errors are `ValueError`s with the offset;
the callers name the file.
"""

from __future__ import annotations

import zlib
from dataclasses import dataclass, replace

from layersim.model.sizes import TAR_BLOCK_BYTES

MAX_EXTENDED_HEADER_BYTES = 1 << 20
ZERO_BLOCK = bytes(TAR_BLOCK_BYTES)

REGULAR = (b"0", b"\0", b"7")  # regular file, old-style regular file, contiguous file
HARDLINK = b"1"
SYMLINK = b"2"
DIRECTORY = b"5"
SPECIAL = (b"3", b"4", b"6")  # character device, block device, FIFO
KNOWN = (*REGULAR, HARDLINK, SYMLINK, DIRECTORY, *SPECIAL)
EXTENDED = (b"x", b"g", b"L", b"K")  # PAX, PAX global, GNU long name, GNU long link
# known types that `Extended.apply` keeps as they are (b"\0" may mean a directory)
_PLAIN_KNOWN = frozenset(KNOWN) - {b"\0"}


@dataclass(frozen=True, slots=True)
class TarHeader:
    typeflag: bytes
    name: str
    linkname: str
    size: int  # bytes of data after the header (0 for links, directories...)


def _number(field: bytes) -> int:
    """A numeric field: octal, or GNU base-256 when the high bit is set."""
    if field[0] & 0x80:
        if field[0] == 0xFF:
            raise ValueError("negative base-256 number")
        return int.from_bytes(bytes([field[0] & 0x7F]) + field[1:], "big")
    text = field.split(b"\0", 1)[0].strip(b" ")
    return int(text, 8) if text else 0


def _cstring(field: bytes) -> str:
    return field.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")


def _unsigned_checksum(block: bytes) -> int:
    """The header checksum: the sum of its bytes with the checksum field read as spaces.

    Summed in C, as it is taken for every member: the low half of an Adler-32 started at 0 is
    the byte sum modulo 65521, which is the exact sum for at most 256 bytes (at most 65,280).
    `sum(block)` in Python costs more than the rest of the header's parsing.
    """
    return (
        (zlib.adler32(block[:148], 0) & 0xFFFF)
        + (zlib.adler32(block[156:256], 0) & 0xFFFF)
        + (zlib.adler32(block[256:512], 0) & 0xFFFF)
        + 8 * 0x20
    )


def _signed_checksum(block: bytes) -> int:
    """The same sum over signed bytes, which some old writers used (Go accepts both)."""
    signed = [b - 256 if b & 0x80 else b for b in block]
    return sum(signed) - sum(signed[148:156]) + 8 * 0x20


def parse_header(block: bytes, at: int) -> TarHeader:
    """The fields of one non-zero header block found at stream offset `at`."""
    try:
        checksum = _number(block[148:156])
        size = _number(block[124:136])
    except ValueError:
        checksum = size = -1
    if checksum < 0 or (
        checksum != _unsigned_checksum(block) and checksum != _signed_checksum(block)
    ):
        raise ValueError(f"invalid tar header at offset {at} (bad checksum: not a tar?)")
    if size < 0:
        raise ValueError(f"invalid size field in the tar header at offset {at}")
    typeflag = block[156:157]
    name = _cstring(block[0:100])
    if block[257:265] == b"ustar\x0000":  # POSIX: a name prefix; GNU puts other data there
        prefix = _cstring(block[345:500])
        if prefix:
            name = prefix + "/" + name
    return TarHeader(typeflag=typeflag, name=name, linkname=_cstring(block[157:257]), size=size)


def parse_pax(data: bytes) -> dict[str, str]:
    """PAX records `"%d %s=%s\\n"`, as Go's parsePAX reads them."""
    records: dict[str, str] = {}
    while data:
        space = data.find(b" ")
        if space <= 0:
            raise ValueError("malformed PAX record")
        length = int(data[:space])
        if length <= space + 1 or length > len(data) or data[length - 1 : length] != b"\n":
            raise ValueError("malformed PAX record")
        key, sep, value = data[space + 1 : length - 1].partition(b"=")
        if not sep or not key:
            raise ValueError("malformed PAX record")
        records[key.decode("utf-8", "surrogateescape")] = value.decode("utf-8", "surrogateescape")
        data = data[length:]
    return records


class Extended:
    """The extended headers seen since the last member, applied to the next one."""

    def __init__(self) -> None:
        self._reset()

    def _reset(self) -> None:
        self._pax: dict[str, str] = {}
        self._long_name: str | None = None
        self._long_link: str | None = None

    @staticmethod
    def check_size(header: TarHeader, at: int) -> None:
        if header.size > MAX_EXTENDED_HEADER_BYTES:
            raise ValueError(f"extended header of {header.size} bytes at offset {at}")

    def collect(self, typeflag: bytes, data: bytes) -> None:
        """Take the data of an extended header of type `typeflag`."""
        if typeflag == b"x":
            self._pax.update(parse_pax(data))
        elif typeflag == b"L":
            self._long_name = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        elif typeflag == b"K":
            self._long_link = data.split(b"\0", 1)[0].decode("utf-8", "surrogateescape")
        # b"g": global PAX records; Docker and containerd ignore them, and so does this

    def apply(self, header: TarHeader, at: int) -> TarHeader:
        """`header` as the extended headers before it make it; they are then used up."""
        pax, name, link, size = self._pax, header.name, header.linkname, header.size
        if not pax and self._long_name is None and self._long_link is None:
            # most members have no extended header: nothing to replace
            typeflag = header.typeflag
            if typeflag in _PLAIN_KNOWN or (typeflag == b"\0" and not name.endswith("/")):
                return header
        if "path" in pax:
            name = pax["path"]
        if "linkpath" in pax:
            link = pax["linkpath"]
        if "size" in pax:
            size = int(pax["size"])
            if size < 0:
                raise ValueError(f"negative PAX size at offset {at}")
        if any(key.startswith("GNU.sparse.") for key in pax):
            raise ValueError(f"sparse file {name!r}: sparse tar members are not supported")
        if self._long_name is not None:
            name = self._long_name
        if self._long_link is not None:
            link = self._long_link
        self._reset()
        typeflag = header.typeflag
        if typeflag == b"\0" and name.endswith("/"):  # old-style directory
            typeflag = DIRECTORY
        if typeflag not in KNOWN:
            raise ValueError(f"member {name!r}: unsupported tar type {typeflag!r}")
        return replace(header, typeflag=typeflag, name=name, linkname=link, size=size)
