"""What every `layersim` command shares: the error boundary, output writing, option aliases.

- `cli_errors()`: the one place a domain error (`LayersimError`) or an unreadable/unwritable
  file (`OSError`) becomes `error: <one line>` on stderr and exit code 2. Commands wrap their
  body in it; nothing below the CLI catches errors to print them.
- `write_output(path, text, inputs=...)`: atomic file output (`layersim.cli.atomic`), refusing to
  overwrite an input of the command.
- `emit_document(doc, as_json=..., out=..., render=...)`: the `--json` / `--out` / tables
  convention of report commands.
- `JsonFlag`, `OutFile`: option aliases with one spelling and help text across commands; the
  experiment options of `run` and `sweep` (`ConfigOption`, `SetOption`, `SeedOption`,
  `OutDir`, `ForceFlag`, `QuietFlag`, `SchedulerOption`, `ConnectTimeoutOption`) likewise.
- `progress_bar(quiet=...)`: a rich progress bar on stderr fed by the core's progress callback;
  `bytes_progress_bar(description, quiet=...)` the same for a `(done_bytes, total_bytes)`
  callback (the image readers').
"""

from __future__ import annotations

import os
import signal
import threading
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console
from rich.progress import (
    BarColumn,
    DownloadColumn,
    Progress,
    TaskProgressColumn,
    TextColumn,
    TimeElapsedColumn,
    TransferSpeedColumn,
)

from layersim.cli.atomic import atomic_write_text
from layersim.errors import LayersimError, OutputError
from layersim.report import json_text

EXIT_USER_ERROR = 2
EXIT_INTERRUPTED = 128 + signal.SIGINT  # 130, as a shell reports a Ctrl-C
EXIT_TERMINATED = 128 + signal.SIGTERM  # 143, as a shell reports a `kill`

JsonFlag = Annotated[
    bool,
    typer.Option("--json", help="Print the JSON document on stdout instead of tables."),
]
OutFile = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="FILE",
        help="Also write the JSON document to FILE (atomically: a reader never sees half a file).",
    ),
]

ConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--config",
        metavar="FILE",
        help="Experiment TOML file (its keys override the scenario's; see docs/run.md).",
        show_default=False,
    ),
]
SetOption = Annotated[
    list[str] | None,
    typer.Option(
        "--set",
        metavar="KEY=VALUE",
        help="Override one config key, e.g. --set apps.count=50 (repeatable; applied last).",
        show_default=False,
    ),
]
SeedOption = Annotated[
    int | None,
    typer.Option(
        "--seed",
        metavar="N",
        help="Seed of the run's random generator (default: the config's).",
        show_default=False,
    ),
]
OutDir = Annotated[
    Path | None,
    typer.Option(
        "--out",
        metavar="DIR",
        help="Output folder, written whole or not at all (default: ./layersim-results/NAME).",
        show_default=False,
    ),
]
ForceFlag = Annotated[
    bool,
    typer.Option("--force", help="Replace the output folder if it exists."),
]
AllowLargeFlag = Annotated[
    bool,
    typer.Option(
        "--allow-large",
        help="Run even if the config's estimated memory exceeds this machine's (docs/run.md).",
    ),
]
QuietFlag = Annotated[
    bool,
    typer.Option("--quiet", "-q", help="No progress bar and no tables (errors still print)."),
]

SchedulerOption = Annotated[
    str | None,
    typer.Option(
        "--scheduler",
        metavar="local|ADDRESS",
        help="Run on Dask distributed: `local` starts a cluster of worker processes on this "
        "machine, tcp://HOST:PORT uses a running scheduler (docs/run.md, Running on a "
        "cluster; needs pip install 'layersim[dask]'). The results do not depend on it.",
        show_default=False,
    ),
]
ConnectTimeoutOption = Annotated[
    float,
    typer.Option(
        "--connect-timeout",
        metavar="SECONDS",
        help="How long a --scheduler address may take to answer.",
    ),
]


def machine_memory_bytes() -> int:
    """This machine's physical memory in bytes (what `--allow-large` is about)."""
    return os.sysconf("SC_PHYS_PAGES") * os.sysconf("SC_PAGE_SIZE")


def one_line(message: str) -> str:
    """`message` with every run of whitespace (newlines included) turned into one space."""
    return " ".join(message.split())


def error_message(exc: BaseException) -> str:
    """A one-line message for a domain error or an OS error on a file."""
    if isinstance(exc, OSError) and exc.strerror:
        where = exc.filename if exc.filename is not None else ""
        return one_line(f"{os.fsdecode(where)}: {exc.strerror}" if where else exc.strerror)
    return one_line(str(exc) or type(exc).__name__)


def fail(message: str) -> NoReturn:
    """Print `error: <message>` on stderr and exit with code 2."""
    typer.echo(f"error: {one_line(message)}", err=True)
    raise typer.Exit(EXIT_USER_ERROR)


class Terminated(BaseException):
    """SIGTERM, raised where the process is, so that `finally` blocks (the temporary output
    folder's removal) run as they do for Ctrl-C. A BaseException, as KeyboardInterrupt is:
    nothing that catches `Exception` may swallow it."""


def _raise_terminated(signum: int, frame: object) -> None:
    raise Terminated


@contextmanager
def _sigterm_raises() -> Iterator[None]:
    """Within the block, SIGTERM raises `Terminated` (the default would kill the process
    without cleaning up). Signal handlers can be set only in the main thread; elsewhere the
    block runs with the handler it has."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return
    previous = signal.signal(signal.SIGTERM, _raise_terminated)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn `LayersimError` and `OSError` raised inside into `fail(...)`: `error: <message>`
    on stderr, exit code 2, no traceback. Ctrl-C prints `interrupted` and exits 130, SIGTERM
    prints `terminated` and exits 143; both unwind the block first, so outputs being written
    are removed. Any other exception is a bug and propagates."""
    try:
        with _sigterm_raises():
            yield
    except (LayersimError, OSError) as exc:
        fail(error_message(exc))
    except MemoryError:
        # the memory estimate (`--allow-large`) missed: still one line, and the block has
        # removed what it was writing
        fail("out of memory: the run needs more memory than this machine has (docs/run.md, Memory)")
    except KeyboardInterrupt:
        typer.echo("interrupted", err=True)
        raise typer.Exit(EXIT_INTERRUPTED) from None
    except Terminated:
        typer.echo("terminated", err=True)
        raise typer.Exit(EXIT_TERMINATED) from None


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


def check_writable(path: Path) -> None:
    """Raise `OutputError` if the file `path` could not be written: checked before a command's
    work, so that a typo in `--out` costs nothing. (`write_output` checks again at the end.)"""
    directory = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: Is a directory")
    if not directory.is_dir():
        raise OutputError(f"cannot write {str(path)!r}: No such file or directory")
    if not os.access(directory, os.W_OK | os.X_OK):  # os.replace needs the folder only
        raise OutputError(f"cannot write {str(path)!r}: Permission denied")


def write_output(path: Path, text: str, *, inputs: Sequence[Path] = ()) -> None:
    """Write `text` to `path` atomically (UTF-8). Raises `OutputError` if `path` is one of the
    command's `inputs` (so `--out` cannot clobber the spec it reads) or cannot be written."""
    for source in inputs:
        if _same_file(path, source):
            raise OutputError(f"refusing to overwrite the input {str(source)!r} with the output")
    atomic_write_text(path, text)


PIPED_WIDTH = 200


def stdout_console() -> Console:
    """The console tables go to: stdout, resolved at call time so test runners capture it.

    Off a terminal (a pipe, a file) rich would assume 80 columns and wrap figures; there the
    width is `PIPED_WIDTH` unless `COLUMNS` says otherwise. A terminal keeps its own width."""
    console = Console()
    if not console.is_terminal and "COLUMNS" not in os.environ:
        console = Console(width=PIPED_WIDTH)
    return console


def emit_document(
    doc: Mapping[str, Any],
    *,
    as_json: bool,
    out: Path | None,
    render: Callable[[Mapping[str, Any], Console], None],
    inputs: Sequence[Path] = (),
) -> None:
    """The output convention of report commands: write the JSON document to `out` if given
    (first, so a failed write prints nothing), then print it on stdout as JSON (`as_json`) or
    as tables (`render`)."""
    text = json_text(doc)
    if out is not None:
        write_output(out, text, inputs=inputs)
    if as_json:
        typer.echo(text, nl=False)
    else:
        render(doc, stdout_console())


Callback = Callable[[str, float], None]


@contextmanager
def progress_bar(*, quiet: bool) -> Iterator[Callback]:
    """A `(stage, fraction)` callback for the core that drives a rich progress bar on stderr
    (stdout stays clean for tables and `--json`); with `quiet`, a callback that does nothing.
    The bar shows the current stage and how far it is; it disappears when the block ends."""
    if quiet or not stderr_is_terminal():  # no bar (and no blank lines) in logs and pipes
        yield lambda stage, fraction: None
        return
    console = Console(stderr=True)
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task("starting", total=1.0)

        def update(stage: str, fraction: float) -> None:
            progress.update(task, description=stage, completed=fraction)

        yield update


BytesCallback = Callable[[int, int], None]


@contextmanager
def bytes_progress_bar(description: str, *, quiet: bool) -> Iterator[BytesCallback]:
    """A `(done_bytes, total_bytes)` callback (the readers' `progress`) that drives a rich bar
    of bytes and bytes per second on stderr; with `quiet`, or when stderr is not a terminal (a
    log, a pipe: where a bar is noise), a callback that does nothing. The bar disappears when
    the block ends."""
    console = Console(stderr=True)
    if quiet or not console.is_terminal:
        yield lambda done, total: None
        return
    with Progress(
        TextColumn("{task.description}"),
        BarColumn(),
        DownloadColumn(),
        TransferSpeedColumn(),
        TimeElapsedColumn(),
        console=console,
        transient=True,
    ) as progress:
        task = progress.add_task(description, total=None)

        def update(done: int, total: int) -> None:
            progress.update(task, completed=done, total=total)

        yield update


def stderr_is_terminal() -> bool:
    """Whether stderr, where progress bars go, is a terminal."""
    return Console(stderr=True).is_terminal
