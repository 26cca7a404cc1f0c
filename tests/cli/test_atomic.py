"""Tests of `layersim.cli.atomic`: whole-file replacement, nothing left behind on failure."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from layersim.cli.atomic import atomic_directory, atomic_write_bytes, atomic_write_text
from layersim.errors import OutputError


def test_writes_and_replaces(tmp_path: Path) -> None:
    """A new file is created and an existing one replaced whole; no temporary file remains."""
    target = tmp_path / "out.json"
    atomic_write_text(target, "first\n")
    assert target.read_text() == "first\n"
    atomic_write_bytes(target, b"x")
    assert target.read_bytes() == b"x"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


def test_permissions_follow_the_umask(tmp_path: Path) -> None:
    """The file gets 0o666 minus the umask, as a plain open() would (not mkstemp's 0o600)."""
    old = os.umask(0o022)
    try:
        atomic_write_text(tmp_path / "f", "x")
    finally:
        os.umask(old)
    assert stat.S_IMODE((tmp_path / "f").stat().st_mode) == 0o644


def test_missing_directory(tmp_path: Path) -> None:
    """A missing directory is an OutputError naming the destination."""
    target = tmp_path / "no" / "out.json"
    with pytest.raises(OutputError) as caught:
        atomic_write_text(target, "x")
    assert str(caught.value) == f"cannot write {str(target)!r}: No such file or directory"


def test_destination_is_a_directory(tmp_path: Path) -> None:
    """A directory as destination is an OutputError and nothing is written."""
    with pytest.raises(OutputError) as caught:
        atomic_write_text(tmp_path, "x")
    assert str(caught.value) == f"cannot write {str(tmp_path)!r}: Is a directory"
    assert list(tmp_path.iterdir()) == []


def test_failed_replace_keeps_the_old_file(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """If the final rename fails, the old file is intact and the temporary file is gone."""
    target = tmp_path / "out.json"
    target.write_text("old")

    def refuse(src: str, dst: str) -> None:
        raise PermissionError(13, "Permission denied")

    monkeypatch.setattr(os, "replace", refuse)
    with pytest.raises(OutputError) as caught:
        atomic_write_text(target, "new")
    assert str(caught.value) == f"cannot write {str(target)!r}: Permission denied"
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out.json"]


# --------------------------------------------------------------------------- whole folders


def test_directory_appears_whole(tmp_path: Path) -> None:
    """The folder is built beside the target and renamed into place; missing parents are
    created; nothing else is left."""
    target = tmp_path / "a" / "out"
    with atomic_directory(target) as folder:
        assert folder.parent == target.parent
        assert folder.name.startswith("out.tmp-")
        (folder / "t.csv").write_text("x\n")
        assert not target.exists()
    assert (target / "t.csv").read_text() == "x\n"
    assert [p.name for p in target.parent.iterdir()] == ["out"]


def test_directory_refuses_existing_without_replace(tmp_path: Path) -> None:
    target = tmp_path / "out"
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(OutputError, match="--force"), atomic_directory(target):
        pytest.fail("the block must not run")
    assert (target / "old").read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


def test_directory_replace_swaps_whole(tmp_path: Path) -> None:
    """With replace, the old folder is gone and the new one complete; no sibling remains."""
    target = tmp_path / "out"
    target.mkdir()
    (target / "old").write_text("old")
    with atomic_directory(target, replace=True) as folder:
        (folder / "new").write_text("new")
        assert (target / "old").exists()  # the old one stays until the new one is complete
    assert [p.name for p in target.iterdir()] == ["new"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]


@pytest.mark.parametrize("error", [RuntimeError, KeyboardInterrupt])
def test_directory_error_leaves_nothing(tmp_path: Path, error: type[BaseException]) -> None:
    """An error or an interrupt inside the block removes the temporary folder and leaves an
    existing target as it was."""
    target = tmp_path / "out"
    with pytest.raises(error), atomic_directory(target) as folder:
        (folder / "half.csv").write_text("a,b\n1,")
        raise error()
    assert list(tmp_path.iterdir()) == []
    target.mkdir()
    (target / "old").write_text("old")
    with pytest.raises(error), atomic_directory(target, replace=True) as folder:
        (folder / "half.csv").write_text("a,b\n1,")
        raise error()
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
    assert [p.name for p in target.iterdir()] == ["old"]


def test_directory_target_appearing_meanwhile_is_refused(tmp_path: Path) -> None:
    """A target created while the block ran is not overwritten without replace."""
    target = tmp_path / "out"
    with pytest.raises(OutputError), atomic_directory(target) as folder:
        (folder / "x").write_text("x")
        target.mkdir()
        (target / "theirs").write_text("theirs")
    assert [p.name for p in target.iterdir()] == ["theirs"]
    assert [p.name for p in tmp_path.iterdir()] == ["out"]
