"""Tests of `layersim.readers.tar_header`: one tar header block as Go's `archive/tar` reads it,
and the extended headers (PAX, GNU long names) that change the next member.
"""

from __future__ import annotations

import tarfile
from pathlib import Path

import pytest

from layersim.errors import ImageFormatError
from layersim.readers import read_images
from layersim.readers.tar_header import (
    DIRECTORY,
    MAX_EXTENDED_HEADER_BYTES,
    Extended,
    TarHeader,
    parse_header,
    parse_pax,
)
from tests.readers.images import M, hostile_member_case, raw_tar_header


def test_sparse_members_are_an_unsupported_tar_type(tmp_path: Path) -> None:
    """A GNU sparse member is refused (the model cannot hold its holes)."""
    members = [M("s", kind=tarfile.GNUTYPE_SPARSE)]
    with pytest.raises(ImageFormatError, match="unsupported tar type"):
        read_images([hostile_member_case(tmp_path, members)])


def block_of(info: tarfile.TarInfo, fmt: int = tarfile.USTAR_FORMAT) -> bytes:
    return info.tobuf(fmt, "utf-8", "surrogateescape")


def test_parse_header_reads_the_ustar_fields() -> None:
    """Type, name (USTAR prefix joined), link name and size, as `tarfile` wrote them."""
    info = tarfile.TarInfo("p" * 120 + "/name.txt")
    info.size = 1234
    block = block_of(info)
    assert len(block) == 512
    assert parse_header(block, 0) == TarHeader(b"0", "p" * 120 + "/name.txt", "", 1234)

    link = tarfile.TarInfo("bin/sh")
    link.type, link.linkname = tarfile.SYMTYPE, "busybox"
    assert parse_header(block_of(link), 0) == TarHeader(b"2", "bin/sh", "busybox", 0)


def test_parse_header_reads_gnu_base_256_sizes() -> None:
    """A size of 8 GiB or more is written in base 256 (GNU); it reads back exactly."""
    info = tarfile.TarInfo("huge")
    info.size = 10 << 30
    header = parse_header(block_of(info, tarfile.GNU_FORMAT), 0)
    assert header.size == 10 << 30


def test_parse_header_accepts_a_signed_checksum() -> None:
    """Old writers summed signed bytes; Go accepts that checksum too, and so does this."""
    block = bytearray(raw_tar_header("é".encode(), b"%011o\0" % 3))
    signed = sum(b - 256 if b & 0x80 else b for b in block[:148] + b" " * 8 + block[156:])
    block[148:156] = b"%06o\0 " % signed
    assert parse_header(bytes(block), 0).name == "é"


def test_parse_header_refuses_a_bad_checksum_with_its_offset() -> None:
    """A block whose checksum does not match: not a tar, named by its stream offset."""
    block = bytearray(raw_tar_header(b"name", b"%011o\0" % 3))
    block[0] = ord("N")
    with pytest.raises(ValueError) as info:
        parse_header(bytes(block), 4096)
    assert str(info.value) == "invalid tar header at offset 4096 (bad checksum: not a tar?)"


def test_parse_pax_records() -> None:
    """`"%d %s=%s\\n"` records, the length counting the whole record; values may hold `=`."""
    data = b"16 path=a/b/c.d\n" + b"14 size=12345\n" + b"13 k=v=w x y\n"
    assert parse_pax(data) == {"path": "a/b/c.d", "size": "12345", "k": "v=w x y"}


@pytest.mark.parametrize("data", [b"5 a=b\n", b"99 path=x\n", b"10 path=x ", b"7 =abc\n", b"x"])
def test_parse_pax_refuses_malformed_records(data: bytes) -> None:
    """A wrong length, a missing newline, an empty key or no length at all is malformed."""
    with pytest.raises(ValueError) as info:
        parse_pax(data)
    assert str(info.value) == "malformed PAX record"


def test_extended_headers_apply_to_the_next_member_only() -> None:
    """PAX `path`, `linkpath` and `size` and GNU long names replace the next member's fields;
    then they are used up, and the member after is read as it is."""
    extended = Extended()
    extended.collect(b"x", b"13 path=long\n" + b"16 linkpath=tgt\n" + b"11 size=99\n")
    member = TarHeader(b"1", "short", "t", 0)
    assert extended.apply(member, 0) == TarHeader(b"1", "long", "tgt", 99)
    assert extended.apply(member, 512) == member

    extended.collect(b"L", b"gnu/long/name\0junk")
    extended.collect(b"K", b"gnu/long/link\0")
    extended.collect(b"g", b"11 path=zz\n")  # global records are ignored
    assert extended.apply(member, 0) == TarHeader(b"1", "gnu/long/name", "gnu/long/link", 0)


def test_an_old_style_directory_is_a_directory() -> None:
    """Type `\\0` with a name ending in `/` is a directory (pre-POSIX tars)."""
    header = Extended().apply(TarHeader(b"\0", "etc/", "", 0), 0)
    assert header.typeflag == DIRECTORY and header.name == "etc/"
    regular = TarHeader(b"\0", "etc/passwd", "", 5)
    assert Extended().apply(regular, 0) is regular


@pytest.mark.parametrize(
    ("records", "typeflag", "message"),
    [
        (b"11 size=-1\n", b"0", "negative PAX size at offset 512"),
        (b"22 GNU.sparse.major=1\n", b"0", "sparse file 'm': sparse tar members are not supported"),
        (b"", b"Z", "member 'm': unsupported tar type b'Z'"),
    ],
)
def test_extended_apply_refuses(records: bytes, typeflag: bytes, message: str) -> None:
    """A negative PAX size, PAX sparse files and unknown member types are refused."""
    extended = Extended()
    if records:
        extended.collect(b"x", records)
    with pytest.raises(ValueError) as info:
        extended.apply(TarHeader(typeflag, "m", "", 0), 512)
    assert str(info.value) == message


def test_extended_headers_above_a_mib_are_refused_before_reading() -> None:
    """Go's `maxSpecialFileSize`: 1 MiB of extended header data, no more."""
    Extended.check_size(TarHeader(b"x", "pax", "", MAX_EXTENDED_HEADER_BYTES), 0)
    with pytest.raises(ValueError) as info:
        Extended.check_size(TarHeader(b"x", "pax", "", MAX_EXTENDED_HEADER_BYTES + 1), 1024)
    assert str(info.value) == "extended header of 1048577 bytes at offset 1024"
