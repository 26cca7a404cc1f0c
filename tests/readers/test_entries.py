"""Tests of `layersim.readers.entries`: tar members into model entries (whiteouts, opaque
directories, links, the last member of a path winning) and compressed bytes apportioned by
region of the stream.
"""

from __future__ import annotations

import os
import tarfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.errors import ImageFormatError, ModelError
from layersim.model import Entry, EntryKind
from layersim.readers import read_images
from layersim.readers.entries import (
    READ_CONTENT_CLASS,
    apportion,
    build_entries,
    member_entry_fields,
)
from layersim.readers.tar_stream import EMPTY_CONTENT, RawMember
from tests.readers.images import OVERHEAD, M, hostile_member_case, make_tar, one_layer, sha


def test_whiteouts_opaque_dirs_links_and_devices(tmp_path: Path) -> None:
    """`.wh.name` deletes `name`; `.wh..wh..opq` makes its directory opaque; hard links keep
    their (normalized) target; hostile symlink targets are recorded as data, never followed;
    devices and FIFOs are empty files; the root entry `./` is not an entry."""
    tar = make_tar(
        [
            M("./", kind=tarfile.DIRTYPE),
            M("etc/.wh.motd"),
            M("opt", kind=tarfile.DIRTYPE),
            M("opt/.wh..wh..opq"),
            M("bin/busybox", b"busybox"),
            M("bin/ash", kind=tarfile.LNKTYPE, link="./bin/busybox"),
            M("evil", kind=tarfile.SYMTYPE, link="../../../../etc/shadow"),
            M("abs", kind=tarfile.SYMTYPE, link="/etc/passwd"),
            M("dev/null", kind=tarfile.CHRTYPE),
            M("run/fifo", kind=tarfile.FIFOTYPE),
            M(".wh..wh.plnk/123", b"aufs"),
        ]
    )
    entries = {(e.path, e.kind): e for e in one_layer(tar, tmp=tmp_path).entries}
    assert ("etc/motd", EntryKind.WHITEOUT) in entries
    assert ("opt", EntryKind.OPAQUE) in entries and ("opt", EntryKind.DIR) in entries
    assert entries[("bin/ash", EntryKind.HARDLINK)].link_target == "bin/busybox"
    assert entries[("evil", EntryKind.SYMLINK)].link_target == "../../../../etc/shadow"
    assert entries[("abs", EntryKind.SYMLINK)].link_target == "/etc/passwd"
    assert entries[("dev/null", EntryKind.FILE)].file_bytes == 0
    assert entries[("dev/null", EntryKind.FILE)].content == sha(b"")
    assert ("run/fifo", EntryKind.FILE) in entries
    assert not any(path.startswith(".wh..wh.") or path == "" for path, _ in entries)


def test_a_later_member_of_the_same_path_wins(tmp_path: Path) -> None:
    """As extraction does: the second `etc/passwd` replaces the first."""
    tar = make_tar([M("etc/passwd", b"first"), M("etc/passwd", b"second!")])
    (entry,) = one_layer(tar, tmp=tmp_path).entries
    assert entry.content == sha(b"second!") and entry.file_bytes == 7


@pytest.mark.parametrize(
    ("members", "message"),
    [
        ([M("../../etc/passwd", b"x")], "climbs out"),
        ([M("a/../../b", b"x")], "climbs out"),
        ([M("bin/sh", kind=tarfile.LNKTYPE, link="../../etc/shadow")], "climbs out"),
        ([M("etc/.wh.")], "names nothing"),
        ([M("/", kind=tarfile.REGTYPE, data=b"x")], "root"),
        ([M(".wh..wh..opq")], "opaque marker at the image root"),
    ],
)
def test_hostile_tar_members(tmp_path: Path, members: list[M], message: str) -> None:
    """Members that would escape the root or that the model cannot hold are refused."""
    with pytest.raises(ImageFormatError, match=message):
        read_images([hostile_member_case(tmp_path, members)])


def test_absolute_member_names_stay_inside(tmp_path: Path) -> None:
    """An absolute member name is relative to the layer root, as Docker extracts it."""
    root = hostile_member_case(tmp_path, [M("/etc/passwd", b"x")])
    assert [e.path for e in read_images([root])[0].layers[0].entries] == ["etc/passwd"]


def test_compressed_bytes_follow_the_stream_not_the_layer_average(tmp_path: Path) -> None:
    """An incompressible file gets a far larger share of the compressed blob than a file of
    zeros of the same length; shares sum exactly to the blob minus its modelled overhead."""
    tar = make_tar([M("random", os.urandom(3 << 20)), M("zeros", bytes(3 << 20))])
    layer = one_layer(tar, tmp=tmp_path)
    by_path = {e.path: e for e in layer.entries}
    assert by_path["random"].compressed_bytes > 50 * by_path["zeros"].compressed_bytes
    assert by_path["random"].content_compressed_bytes <= by_path["random"].compressed_bytes
    assert sum(e.compressed_bytes for e in layer.entries) == layer.compressed_bytes - OVERHEAD


# ---------------------------------------------------------------------------------------------
# on members built by hand


def member(
    name: str, typeflag: bytes = tarfile.REGTYPE, linkname: str = "", **at: int
) -> RawMember:
    """A member as `tar_stream` reports it: offsets `start`, `data_start`, `end`."""
    file_bytes = at.get("file_bytes", 0)
    return RawMember(
        start=at.get("start", 0),
        data_start=at.get("data_start", 512),
        end=at.get("end", 512),
        typeflag=typeflag,
        name=name,
        linkname=linkname,
        file_bytes=file_bytes,
        content=sha(b"c" * file_bytes) if typeflag == tarfile.REGTYPE else None,  # type: ignore[arg-type]
    )


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        (member("./etc/passwd"), ("etc/passwd", EntryKind.FILE, "")),
        (member("/usr/bin/", tarfile.DIRTYPE), ("usr/bin", EntryKind.DIR, "")),
        (member("usr/lib/.wh.libc.so"), ("usr/lib/libc.so", EntryKind.WHITEOUT, "")),
        (member(".wh.tmp"), ("tmp", EntryKind.WHITEOUT, "")),
        (member("var/cache/.wh..wh..opq"), ("var/cache", EntryKind.OPAQUE, "")),
        (
            member("bin/sh", tarfile.SYMTYPE, "/bin/busybox"),
            ("bin/sh", EntryKind.SYMLINK, "/bin/busybox"),
        ),
        (
            member("bin/ash", tarfile.LNKTYPE, "/bin//busybox"),
            ("bin/ash", EntryKind.HARDLINK, "bin/busybox"),
        ),
        (member("dev/zero", tarfile.CHRTYPE), ("dev/zero", EntryKind.FILE, "")),
        (member("./", tarfile.DIRTYPE), None),
        (member(".wh..wh.plnk/1"), None),
        (member("a/.wh..wh.aufs"), None),
    ],
)
def test_member_entry_fields(raw: RawMember, expected: tuple[str, EntryKind, str] | None) -> None:
    """Path, kind and link target of each kind of member; the root directory and AUFS metadata
    are no entries."""
    assert member_entry_fields(raw) == expected


@pytest.mark.parametrize(
    ("raw", "message"),
    [
        (member("./", tarfile.REGTYPE), "member './' replaces the image root with a non-directory"),
        (member(".wh..wh..opq"), "an opaque marker at the image root is not supported"),
        (member("etc/.wh."), "whiteout 'etc/.wh.' names nothing"),
    ],
)
def test_member_entry_fields_refuses_what_the_model_cannot_hold(
    raw: RawMember, message: str
) -> None:
    """Exact `ModelError` messages (the reader prefixes the blob)."""
    with pytest.raises(ModelError) as info:
        member_entry_fields(raw)
    assert str(info.value) == message


def test_build_entries_apportions_by_region_of_the_stream() -> None:
    """Two 500-byte files, one per 1024-byte piece; the first piece took 90 stored bytes, the
    second 10. A budget of 50 splits 45 / 5 (the regions' 90 and 10, scaled by 50/100); each
    file's content share is its data's region scaled alike (500 * 90/1024 * 0.5 = 21.97 -> 22;
    500 * 10/1024 * 0.5 = 2.44 -> 2)."""
    a = member("a", start=0, data_start=512, end=1024, file_bytes=500)
    b = member("b", start=1024, data_start=1536, end=2048, file_bytes=500)
    entries = build_entries([a, b], 50, ([1024, 2048], [90, 100]))
    assert entries == (
        Entry("a", EntryKind.FILE, 500, sha(b"c" * 500), READ_CONTENT_CLASS, "", 1024, 45, 22),  # type: ignore[arg-type]
        Entry("b", EntryKind.FILE, 500, sha(b"c" * 500), READ_CONTENT_CLASS, "", 1024, 5, 2),  # type: ignore[arg-type]
    )


def test_build_entries_keeps_the_last_member_of_a_path_in_its_place() -> None:
    """Of two members of one path the later wins, and its entry comes where the later member
    is; a whiteout and an opaque marker of one directory are two entries; non-file entries
    carry no file bytes nor content; a device's content is that of an empty file."""
    members = [
        member("x", start=0, end=1024, file_bytes=1),
        member("d", tarfile.DIRTYPE, start=1024, end=1536),
        member("d/.wh..wh..opq", start=1536, end=2048),
        member("x", start=2048, end=3072, file_bytes=2),
        member("n", tarfile.CHRTYPE, start=3072, end=3584),
    ]
    entries = build_entries(members, 0, ([3584], [0]))
    assert [(e.path, e.kind, e.file_bytes, e.tar_bytes) for e in entries] == [
        ("d", EntryKind.DIR, 0, 512),
        ("d", EntryKind.OPAQUE, 0, 512),
        ("x", EntryKind.FILE, 2, 1024),
        ("n", EntryKind.FILE, 0, 512),
    ]
    assert [e.content for e in entries] == [None, None, sha(b"cc"), EMPTY_CONTENT]
    assert [e.compressed_bytes for e in entries] == [0, 0, 0, 0]


def test_build_entries_of_no_entry_is_empty() -> None:
    """Only the root directory: no entries at all."""
    assert build_entries([member("./", tarfile.DIRTYPE)], 100, ([512], [100])) == ()


@pytest.mark.parametrize(
    ("total", "weights", "expected"),
    [
        (10, [1.0, 1.0, 1.0], [4, 3, 3]),  # ties: the earlier index gets the remainder
        (10, [0.0, 0.0], [5, 5]),  # no weight: equal parts
        (7, [3.0, 1.0], [5, 2]),  # 5.25, 1.75: the larger remainder rounds up
        (0, [1.0, 2.0], [0, 0]),
        (-5, [1.0], [0]),
    ],
)
def test_apportion_exact(total: int, weights: list[float], expected: list[int]) -> None:
    """Largest remainders, ties to the earlier index; a non-positive total gives zeros."""
    assert apportion(total, np.asarray(weights)).tolist() == expected


@given(
    total=st.integers(0, 10**12),
    weights=st.lists(st.floats(0, 1e9, allow_nan=False), min_size=1, max_size=50),
)
def test_apportion_sums_exactly(total: int, weights: list[float]) -> None:
    """Apportioned shares are non-negative integers summing exactly to the total."""
    shares = apportion(total, np.asarray(weights))
    assert int(shares.sum()) == total
    assert (shares >= 0).all()
