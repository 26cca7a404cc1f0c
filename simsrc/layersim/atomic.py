"""Atomic file writes: a reader sees the old file or the whole new one, never a torn one.

Every output layersim writes (reports, tables, results) goes through here: the text is written to
a temporary file in the destination's directory (same filesystem, so the rename is atomic),
flushed to disk, then moved over the destination with `os.replace`. If anything fails the
temporary file is removed and `OutputError` names the destination; nothing is left behind.

Pure: no typer, no rich, no printing. The CLI wraps it in `layersim.cli_support.write_output`.
"""

from __future__ import annotations

import contextlib
import os
import secrets
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
