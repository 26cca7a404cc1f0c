"""Tests of `layersim.readers.source`: the directory or tar archive an image comes in, opened
safely (no path out of it, regular files only, JSON capped), read in place.
"""

from __future__ import annotations

import gzip
import io
import json
import os
import tarfile
from pathlib import Path

import pytest

import layersim.readers.source as source_module
from layersim.errors import ImageFormatError
from layersim.readers import read_images
from layersim.readers.source import (
    DirectorySource,
    TarSource,
    inner_path,
    load_json,
    open_source,
    opened,
    read_json,
)
from tests.readers.images import (
    APP,
    BASE,
    Layout,
    docker_archive,
    good_layout,
    make_tar,
    raw_tar_header,
    sha,
    tar_of_dir,
)


def test_docker_archive_and_oci_layout_unpacked_or_packed(tmp_path: Path) -> None:
    """A docker-archive unpacked in a directory, and an OCI layout packed in a tar, read the
    same as their other form."""
    archive = docker_archive(tmp_path / "a.tar", [(["app:1"], [make_tar(BASE), make_tar(APP)])])
    unpacked = tmp_path / "unpacked"
    with tarfile.open(archive) as tar:
        tar.extractall(unpacked, filter="tar")
    assert read_images([unpacked]) == read_images([archive])

    layout = Layout(tmp_path / "layout")
    layout.add(layout.image([make_tar(BASE), make_tar(APP)]), "app:1")
    packed = tar_of_dir(layout.root, tmp_path / "layout.tar")
    assert read_images([packed]) == read_images([layout.root])


def test_json_above_the_cap_is_refused(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """JSON larger than `MAX_JSON_BYTES` is refused before it is read."""
    layout, _ = good_layout(tmp_path)
    monkeypatch.setattr(source_module, "MAX_JSON_BYTES", 100)
    with pytest.raises(ImageFormatError, match="more than 100"):
        read_images([layout.root])


def test_blob_symlink_leading_out_of_the_layout(tmp_path: Path) -> None:
    """A blob that is a symlink to a file outside the layout directory is refused."""
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][0]["digest"]
    secret = tmp_path / "secret"
    secret.write_bytes(layout.blob_file(digest).read_bytes())
    layout.blob_file(digest).unlink()
    layout.blob_file(digest).symlink_to(secret)
    with pytest.raises(ImageFormatError, match="leading out of the image directory"):
        read_images([layout.root])


def test_blob_that_is_a_fifo(tmp_path: Path) -> None:
    """A FIFO in place of a blob is refused without opening it (which would block)."""
    layout, desc = good_layout(tmp_path)
    digest = layout.manifest(desc)["layers"][0]["digest"]
    layout.blob_file(digest).unlink()
    os.mkfifo(layout.blob_file(digest))
    with pytest.raises(ImageFormatError, match="not a regular file"):
        read_images([layout.root])


def test_missing_paths(tmp_path: Path) -> None:
    """A path that does not exist."""
    with pytest.raises(ImageFormatError, match="no such file"):
        read_images([tmp_path / "nope"])


def test_a_file_that_is_no_tar(tmp_path: Path) -> None:
    """A file that is not a tar archive is named in the error."""
    (tmp_path / "junk.tar").write_bytes(b"\x00" * 10 + b"junk" * 300)
    with pytest.raises(ImageFormatError, match=r"junk\.tar"):
        read_images([tmp_path / "junk.tar"])


def test_a_compressed_archive_is_refused_with_advice(tmp_path: Path) -> None:
    """A gzipped docker-archive cannot be read in place: the user is told to decompress it."""
    archive = docker_archive(tmp_path / "a.tar", [(["x:1"], [make_tar(BASE)])])
    (tmp_path / "a.tar.gz").write_bytes(gzip.compress(archive.read_bytes()))
    with pytest.raises(ImageFormatError, match="compressed archive"):
        read_images([tmp_path / "a.tar.gz"])


def test_archive_with_a_huge_extended_header(tmp_path: Path) -> None:
    """An archive whose PAX header declares 64 MiB is refused before the header is read."""
    path = tmp_path / "hostile.tar"
    path.write_bytes(raw_tar_header(b"pax", b"%011o\0" % (64 << 20), b"x") + bytes(4096))
    with pytest.raises(ImageFormatError, match=r"hostile\.tar.*extended header of 67108864"):
        read_images([path])


def test_truncated_archive(tmp_path: Path) -> None:
    """An archive cut in half is refused, naming the archive."""
    archive = docker_archive(tmp_path / "a.tar", [(["x:1"], [make_tar(BASE)])])
    data = archive.read_bytes()
    archive.write_bytes(data[: len(data) // 2])
    with pytest.raises(ImageFormatError, match=r"a\.tar"):
        read_images([archive])


# ---------------------------------------------------------------------------------------------
# sources on their own


@pytest.mark.parametrize(
    ("name", "expected"),
    [("a/b", "a/b"), ("./a//b/", "a/b"), ("a/./b", "a/b")],
)
def test_inner_path_cleans_relative_paths(name: str, expected: str) -> None:
    """`.` parts and repeated or trailing slashes are dropped."""
    assert inner_path(name, "L") == expected


@pytest.mark.parametrize(
    ("name", "message"),
    [
        ("/etc/passwd", "L: absolute path '/etc/passwd' where a relative one belongs"),
        ("a/../../b", "L: path 'a/../../b' leaves the image"),
        ("..", "L: path '..' leaves the image"),
        ("./", "L: path './' leaves the image"),
        ("", "L: invalid path ''"),
        ("a\0b", "L: invalid path 'a\\x00b'"),
    ],
)
def test_inner_path_refuses_paths_out_of_the_image(name: str, message: str) -> None:
    """Exact messages for absolute, climbing, empty and NUL-holding paths."""
    with pytest.raises(ImageFormatError) as info:
        inner_path(name, "L")
    assert str(info.value) == message


def archive_with(path: Path, members: list[tarfile.TarInfo | tuple[str, bytes]]) -> Path:
    """A tar of `members`: links and directories as `TarInfo`s, files as (name, data)."""
    with tarfile.open(path, "w") as tar:
        for member in members:
            if isinstance(member, tarfile.TarInfo):
                tar.addfile(member)
            else:
                info = tarfile.TarInfo(member[0])
                info.size = len(member[1])
                tar.addfile(info, io.BytesIO(member[1]))
    return path


def link(name: str, target: str, kind: bytes = tarfile.SYMTYPE) -> tarfile.TarInfo:
    info = tarfile.TarInfo(name)
    info.type, info.linkname = kind, target
    return info


def test_tar_source_reads_members_in_place_through_links(tmp_path: Path) -> None:
    """Members are read at their offset; symlinks (relative to their directory) and hard links
    are followed inside the archive; a later member of the same name wins; `canonical` names
    the stored bytes, whatever the link."""
    path = archive_with(
        tmp_path / "a.tar",
        [
            ("d/file", b"payload"),
            link("d/sym", "file"),
            link("hard", "d/file", tarfile.LNKTYPE),
            ("dup", b"first"),
            ("dup", b"second"),
        ],
    )
    with opened(path) as source:
        assert isinstance(source, TarSource) and source.location == str(path)
        for name in ("d/file", "d/sym", "hard", "./d//file"):
            assert source.exists(name)
            assert source.size_of(name) == 7
            with source.open(name) as file:
                assert file.read(3) + file.read() == b"payload"
        assert source.canonical("d/sym") == source.canonical("hard") == source.canonical("d/file")
        with source.open("dup") as file:
            assert file.read() == b"second"
        assert not source.exists("nope")


def test_tar_source_link_errors(tmp_path: Path) -> None:
    """Links out of the archive, link loops, links to directories, missing members: exact
    messages naming the archive."""
    directory = tarfile.TarInfo("dir")
    directory.type = tarfile.DIRTYPE
    path = archive_with(
        tmp_path / "a.tar",
        [
            link("out", "../../etc/passwd"),
            link("abs", "/etc/passwd"),
            link("loop1", "loop2"),
            link("loop2", "loop1"),
            directory,
            link("todir", "dir"),
            link("dangling", "gone"),
        ],
    )
    loc = str(path)
    with opened(path) as source:
        cases = {
            "out": f"{loc}: out links to '../../etc/passwd', outside the archive",
            "abs": f"{loc}: abs links to '/etc/passwd', outside the archive",
            "loop1": f"{loc}: loop1: too many levels of links",
            "todir": f"{loc}: todir is not a regular file",
            "dangling": f"{loc}: dangling is missing from the archive",
            "nope": f"{loc}: nope is missing from the archive",
        }
        for name, message in cases.items():
            with pytest.raises(ImageFormatError) as info:
                source.open(name)
            assert str(info.value) == message
        assert source.exists("dangling")  # a link to a bad place exists, but fails to open


def test_tar_source_refuses_an_empty_archive(tmp_path: Path) -> None:
    """An archive of zero blocks only has no member to read."""
    path = tmp_path / "empty.tar"
    path.write_bytes(bytes(1024))
    with pytest.raises(ImageFormatError) as info:
        TarSource(path)
    assert str(info.value) == f"{path}: an empty or unreadable tar archive"


def test_tar_source_refuses_a_member_past_the_end(tmp_path: Path) -> None:
    """A member whose declared size runs past the end of the file."""
    path = tmp_path / "cut.tar"
    path.write_bytes(raw_tar_header(b"m", b"%011o\0" % 5000) + bytes(512))
    with pytest.raises(ImageFormatError) as info:
        TarSource(path)
    assert str(info.value) == (
        f"{path}: not a readable tar archive: member 'm' declares 5000 bytes past the end of "
        "the file"
    )


def test_directory_source_reads_files_inside_only(tmp_path: Path) -> None:
    """A directory source opens files by their inner path; links inside are followed, a
    missing file is named."""
    (tmp_path / "d").mkdir()
    (tmp_path / "d" / "f").write_bytes(b"abc")
    (tmp_path / "d" / "inside").symlink_to("f")
    with opened(tmp_path) as source:
        assert isinstance(source, DirectorySource)
        assert source.size_of("d/inside") == 3
        with source.open("d/inside") as file:
            assert file.read() == b"abc"
        assert source.canonical("d/inside") == source.canonical("d/f")
        with pytest.raises(ImageFormatError) as info:
            source.size_of("d/none")
        assert str(info.value) == f"{tmp_path}: d/none is missing"
        with pytest.raises(ImageFormatError) as info:
            source.open("d")
        assert str(info.value) == f"{tmp_path}: d is not a regular file"


def test_open_source_of_something_neither_file_nor_directory(tmp_path: Path) -> None:
    """A FIFO given as the image path is refused without opening it."""
    fifo = tmp_path / "fifo"
    os.mkfifo(fifo)
    with pytest.raises(ImageFormatError) as info:
        open_source(fifo)
    assert str(info.value) == f"{fifo}: neither a directory nor a regular file"


def test_load_json_checks_size_and_digest(tmp_path: Path) -> None:
    """`load_json` returns the document and its digest; a size or a digest other than declared
    is refused with both values, malformed JSON by name."""
    data = json.dumps({"a": [1, 2]}).encode()
    (tmp_path / "doc.json").write_bytes(data)
    (tmp_path / "bad.json").write_bytes(b"{nope")
    with opened(tmp_path) as source:
        assert load_json(source, "doc.json") == ({"a": [1, 2]}, sha(data))
        assert read_json(source, "doc.json", digest=sha(data), declared_bytes=len(data)) == {
            "a": [1, 2]
        }
        where = f"{tmp_path}: doc.json"
        with pytest.raises(ImageFormatError) as info:
            load_json(source, "doc.json", declared_bytes=len(data) + 1)
        assert (
            str(info.value)
            == f"{where}: {len(data)} bytes, but its descriptor says {len(data) + 1}"
        )
        with pytest.raises(ImageFormatError) as info:
            load_json(source, "doc.json", digest=sha(b"other"))
        assert str(info.value) == (
            f"{where}: content has digest {sha(data)}, not the declared {sha(b'other')}"
        )
        with pytest.raises(ImageFormatError) as info:
            load_json(source, "bad.json")
        assert str(info.value).startswith(f"{tmp_path}: bad.json: malformed JSON (")
