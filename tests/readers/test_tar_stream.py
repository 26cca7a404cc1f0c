"""Tests of `layersim.readers.tar_stream`: the members of a layer's tar, found as it streams,
with exact offsets and a content digest per regular file.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import tarfile
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layersim.errors import ImageFormatError
from layersim.model.sizes import TAR_END_BYTES
from layersim.readers import read_images
from layersim.readers.tar_stream import EMPTY_CONTENT, RawMember, TarScanner
from tests.readers.images import (
    BASE,
    GZIP_MT,
    M,
    corrupt_layer_case,
    make_tar,
    one_layer,
    raw_tar_header,
    sha,
)


def scan(tar: bytes, piece_bytes: int = 1 << 20) -> TarScanner:
    scanner = TarScanner()
    for at in range(0, len(tar), piece_bytes):
        scanner.feed(tar[at : at + piece_bytes])
    scanner.finish()
    return scanner


def test_long_names_pax_and_gnu_are_measured_with_their_extra_headers(tmp_path: Path) -> None:
    """A name too long for USTAR costs extra headers; they count in the entry's tar bytes, so
    the entries still add up to the whole tar."""
    long_dir = "usr/share/" + "d" * 120
    name = long_dir + "/file.txt"
    for fmt in (tarfile.PAX_FORMAT, tarfile.GNU_FORMAT):
        tar = make_tar([M(long_dir, kind=tarfile.DIRTYPE), M(name, b"x" * 700)], fmt=fmt)
        layer = one_layer(tar, "none", tmp_path / str(fmt))
        entries = {e.path: e for e in layer.entries}
        assert entries[name].file_bytes == 700
        assert entries[name].tar_bytes == 512 + 512 + 512 + 1024  # ext header + data + hdr
        assert sum(e.tar_bytes for e in layer.entries) + TAR_END_BYTES == len(tar)


def test_pax_global_headers_are_no_member(tmp_path: Path) -> None:
    """A PAX global header is no entry, its bytes go to the next entry."""
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as writer:
        writer.pax_headers = {"comment": "global"}  # written as a 'g' header first
        writer.addfile(tarfile.TarInfo("only"), None)
        members_end = writer.offset
    with_global = buf.getvalue()[: members_end + TAR_END_BYTES]
    (entry,) = one_layer(with_global, tmp=tmp_path / "g").entries
    assert entry.path == "only" and entry.tar_bytes == members_end


def test_bytes_after_the_end_blocks_count_in_the_diff_id(tmp_path: Path) -> None:
    """Trailing zero padding after the end-of-archive blocks counts in the DiffID and the
    layer's tar bytes, in no entry."""
    padded = make_tar(BASE) + bytes(10240)  # GNU tar pads to a 10 KiB record
    layer = one_layer(padded, tmp=tmp_path / "padded")
    assert layer.diff_id == sha(padded) and layer.tar_bytes == len(padded)


def test_huge_declared_member_size_is_a_truncated_tar(tmp_path: Path) -> None:
    """A header declaring 8 GiB that the stream does not deliver: a truncated tar."""
    tar = raw_tar_header(b"big", b"77777777777\0") + bytes(4096)
    root = corrupt_layer_case(tmp_path, gzip.compress(tar), sha(tar), GZIP_MT)
    with pytest.raises(ImageFormatError, match="truncated tar"):
        read_images([root])


def test_huge_extended_header_is_refused(tmp_path: Path) -> None:
    """A PAX header above Go's 1 MiB limit is refused before it is collected."""
    tar = raw_tar_header(b"pax", b"%011o\0" % (64 << 20), b"x") + bytes(1024)
    root = corrupt_layer_case(tmp_path, gzip.compress(tar), sha(tar), GZIP_MT)
    with pytest.raises(ImageFormatError, match="extended header"):
        read_images([root])


def test_member_offsets_are_exact() -> None:
    """Each member's span runs from its header to the next member's header; a file's data
    starts one block after its header; the end blocks start where the last member ends."""
    tar = make_tar(
        [
            M("d", kind=tarfile.DIRTYPE),
            M("d/f", b"x" * 700),
            M("d/e"),
            M("d/l", kind=tarfile.SYMTYPE, link="f"),
        ]
    )
    scanner = scan(tar, 100)
    assert scanner.members == [
        RawMember(0, 512, 512, tarfile.DIRTYPE, "d/", "", 0, None),  # raw: tarfile writes "d/"
        RawMember(512, 1024, 2048, tarfile.REGTYPE, "d/f", "", 700, sha(b"x" * 700)),  # type: ignore[arg-type]
        RawMember(2048, 2560, 2560, tarfile.REGTYPE, "d/e", "", 0, EMPTY_CONTENT),
        RawMember(2560, 3072, 3072, tarfile.SYMTYPE, "d/l", "f", 0, None),
    ]
    assert scanner.end_offset == 3072 == len(tar) - TAR_END_BYTES


def test_empty_content_is_the_digest_of_no_bytes() -> None:
    """`EMPTY_CONTENT` is sha256 of b"" (what an empty regular file hashes to)."""
    assert "sha256:" + hashlib.sha256(b"").hexdigest() == EMPTY_CONTENT


def test_a_tar_without_end_blocks_ends_at_its_last_member() -> None:
    """Go's archive/tar accepts a tar that stops at a member boundary: the last member ends
    there, and so does the archive."""
    tar = make_tar([M("a", b"1" * 10), M("b", b"2" * 600)], end=False)
    scanner = scan(tar)
    assert [(m.name, m.start, m.end) for m in scanner.members] == [
        ("a", 0, 1024),
        ("b", 1024, 2560),
    ]
    assert scanner.end_offset == len(tar) == 2560


def test_bytes_after_the_end_blocks_are_ignored() -> None:
    """After the two zero blocks nothing is parsed, even bytes that are not a tar."""
    tar = make_tar([M("a", b"1")]) + b"not a header" * 100
    scanner = scan(tar, 333)
    assert [m.name for m in scanner.members] == ["a"]
    assert scanner.end_offset == 1024


@pytest.mark.parametrize(
    ("cut", "message"),
    [
        (700, "truncated tar stream (at offset 700)"),
        (1024 + 100, "truncated tar stream (at offset 1124)"),
        (2560 + 512 + 200, "truncated tar stream (inside the end-of-archive blocks)"),
    ],
)
def test_truncated_streams_name_where_they_stop(cut: int, message: str) -> None:
    """A tar cut inside a member's data, inside a header, or inside the end blocks is refused
    at `finish`, with the offset where it stops."""
    tar = make_tar([M("a", b"1" * 10), M("b", b"2" * 600)])  # members end at 2560
    scanner = TarScanner()
    scanner.feed(tar[:cut])
    with pytest.raises(ValueError) as info:
        scanner.finish()
    assert str(info.value) == message


def test_an_extended_header_without_its_member_is_a_truncated_tar() -> None:
    """A PAX header that the stream ends after, with no member header to apply to."""
    pax = raw_tar_header(b"pax", b"%011o\0" % 0, b"x")
    scanner = TarScanner()
    scanner.feed(pax)
    with pytest.raises(ValueError) as info:
        scanner.finish()
    assert str(info.value) == "truncated tar stream (an extended header has no member)"


def test_a_header_after_a_zero_block_is_refused() -> None:
    """One zero block then a header: not a tar end, not a member (Go refuses it too)."""
    tar = bytes(512) + make_tar([M("a", b"1")])
    with pytest.raises(ValueError) as info:
        TarScanner().feed(tar)
    assert str(info.value) == "a zero block is followed by a header at offset 512"


# ---------------------------------------------------------------------------------------------
# properties


member_names = st.lists(
    st.text(alphabet="abcdefgh_-.", min_size=1, max_size=150).filter(
        lambda s: s not in (".", "..") and not s.startswith(".wh.")
    ),
    min_size=1,
    max_size=12,
    unique=True,
)


@settings(max_examples=60, deadline=None)
@given(
    names=member_names,
    sizes=st.lists(st.integers(0, 3000), min_size=12, max_size=12),
    cuts=st.lists(st.integers(1, 2000), min_size=1, max_size=30),
    fmt=st.sampled_from([tarfile.PAX_FORMAT, tarfile.GNU_FORMAT]),
)
def test_scanner_agrees_with_tarfile_whatever_the_piece_boundaries(
    names: list[str], sizes: list[int], cuts: list[int], fmt: int
) -> None:
    """Fed in pieces cut anywhere, the scanner finds what `tarfile` finds: the same members,
    sizes and content digests, and measured tar bytes that add up to the archive."""
    members = [
        M(f"d/{n}", bytes([i % 251]) * s)
        for i, (n, s) in enumerate(zip(names, sizes, strict=False))
    ]
    tar = make_tar(members, fmt=fmt)
    scanner = TarScanner()
    position = 0
    for cut in cuts:
        scanner.feed(tar[position : position + cut])
        position += cut
    scanner.feed(tar[position:])
    scanner.finish()
    with tarfile.open(fileobj=io.BytesIO(tar)) as reference:
        expected = [(m.name, m.size) for m in reference.getmembers()]
    assert [(m.name, m.file_bytes) for m in scanner.members] == expected
    assert [m.content for m in scanner.members] == [sha(m.data) for m in members]
    assert sum(m.end - m.start for m in scanner.members) + TAR_END_BYTES == len(tar)
