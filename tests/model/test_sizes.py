"""Tests of `layersim.model.sizes`: tar header/entry bytes (USTAR split rule, PAX records), disk
rounding and the integer compression model — hand-computed values, and a cross-check of the tar
model against Python's `tarfile`, which writes the same USTAR/PAX blocks as Go's `archive/tar`
in the cases compared here."""

from __future__ import annotations

import io
import math
import tarfile
from fractions import Fraction

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.errors import ModelError
from layersim.model.sizes import (
    DEFAULT_BLOCK_BYTES,
    GZIP_FRAMING_BYTES,
    TAR_END_BYTES,
    CompressionModel,
    disk_file_bytes,
    pad_to_block,
    pax_record_bytes,
    tar_entry_bytes,
    tar_header_bytes,
)
from tests.strategies import tar_names

# --- padding and disk rounding ------------------------------------------------------------


@pytest.mark.parametrize(
    ("n_bytes", "block", "expected"),
    [
        (0, 512, 0),
        (1, 512, 512),
        (511, 512, 512),
        (512, 512, 512),
        (513, 512, 1024),
        (4095, 4096, 4096),
        (4096, 4096, 4096),
        (4097, 4096, 8192),
    ],
)
def test_pad_to_block(n_bytes: int, block: int, expected: int) -> None:
    """pad_to_block rounds up to whole blocks; 0 stays 0 and exact multiples stay put."""
    assert pad_to_block(n_bytes, block) == expected


def test_disk_file_bytes_rounds_to_the_filesystem_block() -> None:
    """disk bytes: 4 KiB blocks by default (1 -> 4096, 4097 -> 8192), any block when given,
    and an empty file costs no data block."""
    assert DEFAULT_BLOCK_BYTES == 4096
    assert disk_file_bytes(0) == 0
    assert disk_file_bytes(1) == 4096
    assert disk_file_bytes(4096) == 4096
    assert disk_file_bytes(4097) == 8192
    assert disk_file_bytes(4097, 512) == 4608  # 9 blocks of 512
    assert disk_file_bytes(3_000_001, 512) == 5860 * 512  # ceil(3000001/512) = 5860


# --- tar headers: USTAR ---------------------------------------------------------------------


def test_short_names_take_one_header_block() -> None:
    """A name of up to 100 bytes fits the USTAR name field: one 512-byte header."""
    assert tar_header_bytes("a") == 512
    assert tar_header_bytes("x" * 100) == 512
    assert tar_header_bytes("usr/lib/" + "x" * 92) == 512  # exactly 100


def test_150_char_path_with_slash_at_60_splits_into_prefix_and_name() -> None:
    """150 chars, '/' at index 60: prefix 60 <= 155 and name 89 <= 100, so USTAR holds it in
    prefix + name: 512 bytes, no PAX header."""
    name = "p" * 60 + "/" + "q" * 89
    assert len(name) == 150
    assert tar_header_bytes(name) == 512


def test_120_char_path_without_slash_needs_a_pax_record() -> None:
    """120 chars with no '/': no USTAR split, so a PAX header precedes the entry:
    record `"130 path=<120 chars>\\n"` = 3 + 1 + 5 + 120 + 1 = 130 bytes, padded to 512;
    header = 512 (PAX header block) + 512 (records) + 512 (the entry's own header) = 1536."""
    name = "n" * 120
    assert pax_record_bytes("path", name) == 130
    assert tar_header_bytes(name) == 512 + 512 + 512


def test_split_is_at_the_last_slash_within_the_prefix_field() -> None:
    """Go's splitUSTARPath: the last '/' among the first 156 chars must leave a prefix of
    <= 155 and a non-empty name of <= 100."""
    # 256 = 155 + '/' + 100: the largest splittable name
    assert tar_header_bytes("p" * 155 + "/" + "q" * 100) == 512
    # 257: prefix 156 is too long (only the first 156 chars are searched, and hold no '/')
    assert tar_header_bytes("p" * 156 + "/" + "q" * 100) > 512
    # name part 101: too long
    assert tar_header_bytes("p" * 10 + "/" + "q" * 101) > 512
    # two slashes: the last one inside the first 156 chars is used -> prefix 152, name 51
    assert tar_header_bytes("a/" + "b" * 150 + "/" + "c" * 50) == 512
    # '/' at index 30 of 150: name part 119 > 100, and no later '/': PAX
    assert tar_header_bytes("p" * 30 + "/" + "q" * 119) > 512


def test_directory_trailing_slash_in_the_split_rule() -> None:
    """Directory names end in '/'. For names of <= 156 chars Go ignores that trailing '/' when
    looking for the split point: `a/<98 d>/` (101 chars) splits into `a` + `<98 d>/`;
    `<100 d>/` (101 chars) has no other '/' and needs PAX: record `"111 path=<101 chars>\\n"`
    (body 1 + 5 + 101 + 1 = 108, + 3 digits = 111) -> 512 + 512 + 512 = 1536."""
    assert tar_header_bytes("a/" + "d" * 98 + "/") == 512
    assert pax_record_bytes("path", "d" * 100 + "/") == 111
    assert tar_header_bytes("d" * 100 + "/") == 1536


def test_non_ascii_names_always_need_pax() -> None:
    """USTAR is ASCII only: `café` (5 UTF-8 bytes) gets a PAX record
    `"14 path=café\\n"` = 2 + 1 + 5 + 5 + 1 = 14 bytes -> 512 + 512 + 512."""
    assert pax_record_bytes("path", "caf\u00e9") == 14
    assert tar_header_bytes("caf\u00e9") == 1536
    assert tar_header_bytes("a/" * 60 + "caf\u00e9") == 1536  # splitting does not help


# --- PAX records ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("value_len", "expected"),
    [
        # body = len(" path=") + value + len("\n") = 7 + value_len; total = body + digits(total)
        (90, 99),  # body 97 + 2 digits = 99: a 2-digit length that counts itself
        (91, 101),  # body 98: 98 + 2 = 100 has 3 digits -> 98 + 3 = 101 (no record is 100)
        (92, 102),  # body 99 + 3
        (989, 999),  # body 996 + 3 = 999
        (990, 1001),  # body 997: 997 + 3 = 1000 has 4 digits -> 997 + 4 = 1001 (none is 1000)
        (993, 1004),  # body 1000 + 4
    ],
)
def test_pax_record_length_counts_its_own_digits(value_len: int, expected: int) -> None:
    """A PAX record `"%d path=%s\\n"` states its own length: the fixed point of
    total = body + len(str(total)), across the 99/100/101 and 1000 boundaries."""
    value = "v" * value_len
    assert pax_record_bytes("path", value) == expected
    record = f"{expected} path={value}\n"
    assert len(record.encode()) == expected


def test_pax_record_length_is_never_10_or_100() -> None:
    """Bodies of 9 and 98 bytes jump over the lengths 10 and 100, which would have to count a
    digit they do not have: `k=vvvvv` (body 1+1+1+5+1 = 9) -> 11; body 8 -> 9."""
    assert pax_record_bytes("k", "v" * 5) == 11
    assert pax_record_bytes("k", "v" * 4) == 9


@given(st.text(min_size=0, max_size=1200), st.sampled_from(("path", "linkpath", "size")))
def test_pax_record_bytes_matches_go_format(value: str, key: str) -> None:
    """pax_record_bytes equals the length of Go's formatPAXRecord (size = len(k)+len(v)+3,
    plus its digits, adjusted once if that added a digit), counting UTF-8 bytes."""
    body = len(key.encode()) + len(value.encode()) + 3
    size = body + len(str(body))
    record = f"{size} {key}={value}\n".encode()
    if len(record) != size:
        size = len(record)
    assert pax_record_bytes(key, value) == size


def test_pax_records_pad_to_512_exactly_at_the_boundary() -> None:
    """A 502-char unsplittable name: record 3 + 1 + 5 + 502 + 1 = 512 -> one record block
    (1536); 503 chars -> 513 -> two record blocks (2048)."""
    assert pax_record_bytes("path", "x" * 502) == 512
    assert tar_header_bytes("x" * 502) == 512 + 512 + 512
    assert pax_record_bytes("path", "x" * 503) == 513
    assert tar_header_bytes("x" * 503) == 512 + 1024 + 512


def test_link_names_never_split() -> None:
    """A link target fits the 100-byte linkname field or needs a PAX `linkpath` record; unlike
    the name it cannot be split, even with a '/'. Target of 101 chars: record
    3 + 1 + 9 + 101 + 1 = 115 -> 1536."""
    assert tar_header_bytes("l", "t" * 100) == 512
    assert pax_record_bytes("linkpath", "t" * 101) == 115
    assert tar_header_bytes("l", "t" * 101) == 1536
    assert tar_header_bytes("l", "a/" + "b" * 120) == 1536


def test_long_name_and_long_link_share_one_pax_header() -> None:
    """Both records in one PAX header: path of 200 unsplittable chars (body 207 + 3 = 210) and
    linkpath of 300 (body 1+8+1+300+1 = 311, + 3 = 314): 524 bytes of records -> 1024 padded:
    512 + 1024 + 512 = 2048."""
    assert pax_record_bytes("path", "x" * 200) == 210
    assert pax_record_bytes("linkpath", "y" * 300) == 314
    assert tar_header_bytes("x" * 200, "y" * 300) == 2048


def test_splittable_long_name_with_long_link_writes_both_pax_records() -> None:
    """Name of 256 chars (splittable: prefix 155 + name 100), link target of 240: Go writes
    both records — path: body 1+4+1+256+1 = 263, + 3 = 266; linkpath: body 1+8+1+240+1 = 251,
    + 3 = 254; together 520 > 512 -> two record blocks: 512 + 1024 + 512 = 2048.
    (Python's tarfile in PAX format writes the same two records.)"""
    name = "p" * 155 + "/" + "q" * 100
    link = "t" * 240
    assert pax_record_bytes("path", name) == 266
    assert pax_record_bytes("linkpath", link) == 254
    info = tarfile.TarInfo(name)
    info.type = tarfile.SYMTYPE
    info.linkname = link
    assert len(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")) == 2048
    assert tar_header_bytes(name, link) == 2048


def test_file_of_8_gib_needs_a_pax_size_record() -> None:
    """file_bytes = 8 GiB = 8589934592: record `"19 size=8589934592\\n"` (body 1+4+1+10+1 = 17,
    + 2 = 19) -> 512 + 512 + 512 header bytes, as Python's tarfile writes it too."""
    size = 8 * 1024**3
    info = tarfile.TarInfo("big")
    info.size = size
    assert len(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape")) == 1536
    assert tar_entry_bytes("big", size) == 1536 + size


def test_tar_entry_bytes_is_header_plus_padded_data() -> None:
    """tar bytes of an entry: header(s) + data padded to 512 (0 -> 0, 1 -> 512, 513 -> 1024)."""
    assert tar_entry_bytes("f", 0) == 512
    assert tar_entry_bytes("f", 1) == 1024
    assert tar_entry_bytes("f", 512) == 1024
    assert tar_entry_bytes("f", 513) == 1536
    assert tar_entry_bytes("n" * 120, 100) == 1536 + 512
    assert TAR_END_BYTES == 1024


# --- cross-check against Python's tarfile ----------------------------------------------------


def _tarfile_entry_bytes(info: tarfile.TarInfo, data: bytes = b"") -> int:
    """Bytes tarfile writes for one member, measured before close() (which would add the two
    end blocks and pad the archive to RECORDSIZE = 10240)."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.USTAR_FORMAT) as tar:
        tar.addfile(info, io.BytesIO(data) if info.isreg() else None)
        written = buf.tell()
    assert len(buf.getvalue()) % tarfile.RECORDSIZE == 0  # close() padded the record
    return written


@given(
    name=st.text("abc/_.-0123456789", min_size=1, max_size=100).filter(
        lambda s: not s.endswith("/")
    ),
    file_bytes=st.integers(0, 5000),
)
def test_regular_file_entry_matches_tarfile_ustar(name: str, file_bytes: int) -> None:
    """For names of <= 100 ASCII chars, tar_entry_bytes equals what tarfile (USTAR) writes for
    a regular file: header + data padded to 512."""
    info = tarfile.TarInfo(name)
    info.size = file_bytes
    assert tar_entry_bytes(name, file_bytes) == _tarfile_entry_bytes(info, b"\0" * file_bytes)


@given(
    name=st.text("abc/0123", min_size=1, max_size=99).filter(lambda s: not s.endswith("/")),
    kind=st.sampled_from((tarfile.DIRTYPE, tarfile.SYMTYPE, tarfile.LNKTYPE)),
    link=st.text("abc/0123", min_size=1, max_size=100),
)
def test_header_only_entries_match_tarfile_ustar(name: str, kind: bytes, link: str) -> None:
    """Directories, symlinks and hard links are one 512-byte header in tarfile's USTAR output
    (tarfile appends the directory's '/', as Docker does), as in tar_header_bytes."""
    info = tarfile.TarInfo(name)
    info.type = kind
    tar_name = name
    link_name = ""
    if kind == tarfile.DIRTYPE:
        tar_name = name + "/"
    else:
        info.linkname = link_name = link
    assert tar_header_bytes(tar_name, link_name) == _tarfile_entry_bytes(info)


def _tarfile_header_bytes(name: str, link: str = "", size: int = 0) -> int:
    """Header bytes tarfile writes, USTAR first and PAX when USTAR cannot hold the header —
    Go's archive/tar order. Python's USTAR split finds a split exactly when Go's does for
    names without a trailing '/' and without empty components."""
    info = tarfile.TarInfo(name)
    info.size = size
    if link:
        info.type = tarfile.SYMTYPE
        info.linkname = link
    try:
        return len(info.tobuf(tarfile.USTAR_FORMAT, "ascii", "strict"))
    except (ValueError, UnicodeEncodeError):
        return len(info.tobuf(tarfile.PAX_FORMAT, "utf-8", "surrogateescape"))


@given(tar_names())
def test_long_names_match_tarfile_split_or_pax(name: str) -> None:
    """For ASCII names up to 4 components of up to 160 chars, tar_header_bytes equals tarfile's
    header: 512 when USTAR can split the name, else a PAX header with a `path` record."""
    assert tar_header_bytes(name) == _tarfile_header_bytes(name)


@given(st.text(min_size=1, max_size=300).filter(lambda s: "\0" not in s and "/" not in s))
def test_unicode_names_match_tarfile_pax(name: str) -> None:
    """Any name without '/' (so no split): header bytes equal tarfile's (USTAR if ASCII and
    <= 100 bytes, else PAX with a UTF-8 `path` record)."""
    assert tar_header_bytes(name) == _tarfile_header_bytes(name)


@given(
    name=st.text("ab", min_size=1, max_size=100),
    link=st.text("ab/", min_size=1, max_size=700),
)
def test_link_targets_match_tarfile(name: str, link: str) -> None:
    """For names that fit the name field, a link target of any length costs what tarfile
    writes: 512, or a PAX header with a `linkpath` record beyond 100 bytes."""
    assert tar_header_bytes(name, link) == _tarfile_header_bytes(name, link)


# --- compression model ------------------------------------------------------------------------


def test_compression_model_default_integers() -> None:
    """Default model (per-mille ratios text 4000, binary 2400, archive 1000, metadata 10000):
    - a 512-byte header: ceil(512 * 1000 / 10000) = ceil(51.2) = 52
    - 4096 binary bytes: ceil(4096000 / 2400) = ceil(1706.67) = 1707 -> entry 52 + 1707 = 1759
    - 1000 text bytes: 1000000 / 4000 = 250 exactly
    - 777 archive bytes: 777 (ratio 1.0)
    - an empty file: 0 data bytes, the header still 52
    - blob overhead: gzip framing 20 + ceil(1024000 / 10000) = 20 + 103 = 123."""
    model = CompressionModel()
    assert model.entry_bytes(512, 4096, "binary") == 1759
    assert model.entry_bytes(512, 0, "text") == 52
    assert model.content_bytes(4096, "binary") == 1707
    assert model.content_bytes(1000, "text") == 250
    assert model.content_bytes(777, "archive") == 777
    assert model.content_bytes(0, "archive") == 0
    assert model.entry_bytes(1536, 0, "binary") == 154  # ceil(153.6)
    assert GZIP_FRAMING_BYTES == 20
    assert model.blob_overhead_bytes() == 123


@given(
    st.integers(0, 10**12),
    st.sampled_from(("text", "binary", "archive")),
    st.integers(0, 10_000),
)
def test_compression_model_is_a_ceiling_of_exact_ratios(
    file_bytes: int, content_class: str, header_bytes: int
) -> None:
    """content_bytes = ceil(n * 1000 / ratio) exactly (integer arithmetic, no float error even
    at 10**12), never more than n; entry_bytes adds the header at the metadata ratio."""
    model = CompressionModel()
    ratio = model.ratio(content_class)
    expected = math.ceil(Fraction(file_bytes * 1000, ratio))
    assert model.content_bytes(file_bytes, content_class) == expected <= file_bytes
    assert (
        model.entry_bytes(header_bytes, file_bytes, content_class)
        == math.ceil(Fraction(header_bytes * 1000, 10_000)) + expected
    )


def test_compression_model_validation() -> None:
    """A ratio under 1000 per-mille (expansion) or not an int, a default class without a ratio,
    and an unknown content class are ModelErrors naming the problem."""
    with pytest.raises(ModelError, match="must be >= 1000"):
        CompressionModel(class_ratios_permille={"binary": 999})
    with pytest.raises(ModelError, match="must be >= 1000"):
        CompressionModel(class_ratios_permille={"binary": 2400.0})  # type: ignore[dict-item]
    with pytest.raises(ModelError, match="default content class"):
        CompressionModel(class_ratios_permille={"text": 4000})
    with pytest.raises(ModelError, match=r"unknown content class 'video' \(known: archive"):
        CompressionModel().ratio("video")
