"""Atomic file writes: a reader sees the old file or the whole new one, never a torn one.

Every output layersim writes (reports, tables, results) goes through here: the text is written to
a temporary file in the destination's directory (same filesystem, so the rename is atomic),
flushed to disk, then moved over the destination with `os.replace`. If anything fails the
temporary file is removed and `OutputError` names the destination; nothing is left behind.

A folder of outputs (`layersim run`, `layersim sweep`) goes in place the same way, whole:
`atomic_directory(path)` yields a temporary sibling `<name>.tmp-XXXXXXXX` to fill, then renames it
to `path`; an error or an interrupt removes it instead. A run that is killed outright leaves at
most that temporary folder, whose name says it is not a result.

Pure: no typer, no rich, no printing. The CLI wraps it in `layersim.cli.support.write_output`.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
import secrets
import shutil
from collections.abc import Iterator
from pathlib import Path

from layersim.errors import OutputError

_CREATE_FLAGS = os.O_WRONLY | os.O_CREAT | os.O_EXCL | getattr(os, "O_BINARY", 0)
_ATTEMPTS = 16


def _open_temporary(directory: Path, name: str) -> tuple[int, Path]:
    # os.open with 0o666 lets the process umask set the permissions, as a plain open() would;
    # tempfile.mkstemp would force 0o600 on every output.
    for _ in range(_ATTEMPTS):
        temporary = directory / f".{name}.{secrets.token_hex(6)}.tmp"
        try:
            return os.open(temporary, _CREATE_FLAGS, 0o666), temporary
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {name!r} in {str(directory)!r}")


def atomic_write_bytes(path: str | os.PathLike[str], data: bytes) -> None:
    """Write `data` to `path` atomically (temporary file in the same directory + `os.replace`).

    Raises `OutputError` naming `path` if the directory is missing or not writable, or the
    destination is a directory; on failure the destination is untouched and no temporary file
    remains.
    """
    target = Path(path)
    directory = target.parent
    temporary: Path | None = None
    try:
        if target.is_dir():
            raise IsADirectoryError(21, "Is a directory", str(target))
        fd, temporary = _open_temporary(directory, target.name)
        with os.fdopen(fd, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.replace(temporary, target)
        temporary = None
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise OutputError(f"cannot write {str(target)!r}: {reason}") from exc
    finally:
        if temporary is not None:
            with contextlib.suppress(OSError):
                temporary.unlink()


def atomic_write_text(path: str | os.PathLike[str], text: str, encoding: str = "utf-8") -> None:
    """Write `text` to `path` atomically; see `atomic_write_bytes`."""
    atomic_write_bytes(path, text.encode(encoding))


# --------------------------------------------------------------------------- whole folders


def _fsync_path(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def _fsync_tree(root: Path) -> None:
    """Flush every file under `root` and the folders themselves, so that the rename that
    publishes them cannot survive a crash that their contents do not."""
    for folder, _, files in os.walk(root):
        for name in files:
            _fsync_path(Path(folder) / name)
        _fsync_path(Path(folder))


def _make_sibling(target: Path, tag: str) -> Path:
    for _ in range(_ATTEMPTS):
        candidate = target.parent / f"{target.name}.{tag}-{secrets.token_hex(4)}"
        try:
            os.mkdir(candidate, 0o777)  # the umask applies, as for a plain mkdir
            return candidate
        except FileExistsError:
            continue
    raise FileExistsError(f"no free temporary name for {target.name!r} in {str(target.parent)!r}")


def _remove(path: Path) -> None:
    if path.is_dir() and not path.is_symlink():
        shutil.rmtree(path, ignore_errors=True)
    else:
        with contextlib.suppress(OSError):
            path.unlink()


def refuse_existing(path: str | os.PathLike[str], *, replace: bool) -> None:
    """Raise `OutputError` if `path` exists and may not be replaced (`--force` not given)."""
    target = Path(path)
    if not replace and os.path.lexists(target):
        raise OutputError(f"{str(target)!r} already exists (use --force to replace it)")


@contextlib.contextmanager
def claim(path: str | os.PathLike[str]) -> Iterator[None]:
    """Hold an exclusive claim on writing `path` for the duration of the block, or raise
    `OutputError` at once if another process (or another block of this one) holds it.

    Two runs writing the same folder would otherwise both work for minutes and the second
    find the folder taken only at the end. The claim is an `flock` on `.<name>.lock` beside
    `path`: the kernel drops it when its holder dies, so a killed run leaves no stale claim.
    The lock file is removed on exit; a claimant that locked a file since unlinked retries."""
    target = Path(path)
    lock_path = target.parent / f".{target.name}.lock"
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        while True:
            fd = os.open(lock_path, os.O_RDWR | os.O_CREAT, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                raise OutputError(
                    f"{str(target)!r} is being written by another layersim run"
                ) from None
            # the file we locked may have been unlinked by its previous holder meanwhile
            if _same_inode(fd, lock_path):
                break
            os.close(fd)
    except OSError as exc:
        raise OutputError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from exc
    try:
        yield
    finally:
        with contextlib.suppress(OSError):
            lock_path.unlink()
        os.close(fd)


def _same_inode(fd: int, path: Path) -> bool:
    try:
        on_disk = os.stat(path)
    except FileNotFoundError:
        return False
    held = os.fstat(fd)
    return (held.st_dev, held.st_ino) == (on_disk.st_dev, on_disk.st_ino)


@contextlib.contextmanager
def atomic_directory(path: str | os.PathLike[str], *, replace: bool = False) -> Iterator[Path]:
    """Yield an empty temporary folder beside `path`; when the block ends without error, move it
    to `path` whole. Missing parent folders are created.

    If `path` exists: without `replace`, `OutputError` (checked before the block runs and again
    at the end); with `replace`, the old one is renamed away, the new one renamed in, then the
    old one deleted (if renaming the new one in fails, the old one is put back). On any error or
    interrupt the temporary folder is removed and `path` is left as it was. OS errors become
    `OutputError` naming `path`. The block runs under `claim(path)`: a second writer of the
    same `path` fails at once instead of after its work.
    """
    target = Path(path)
    refuse_existing(target, replace=replace)
    with claim(target):
        yield from _fill_and_publish(target, replace)  # type: ignore[misc]


def _fill_and_publish(target: Path, replace: bool) -> Iterator[Path]:
    try:
        target.parent.mkdir(parents=True, exist_ok=True)
        staging = _make_sibling(target, "tmp")
    except OSError as exc:
        raise OutputError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from exc
    try:
        yield staging
        try:
            _fsync_tree(staging)
            refuse_existing(target, replace=replace)
            if os.path.lexists(target):
                old = _make_sibling(target, "old")
                os.rename(target, old / "previous")
                try:
                    os.rename(staging, target)
                except OSError:
                    os.rename(old / "previous", target)
                    raise
                _remove(old)
            else:
                os.rename(staging, target)
            _fsync_path(target.parent)
        except OSError as exc:
            raise OutputError(f"cannot write {str(target)!r}: {exc.strerror or exc}") from exc
    finally:
        if staging.exists():
            _remove(staging)
