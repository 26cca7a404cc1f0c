"""What every `layersim` command shares: the error boundary, output writing, option aliases.

- `cli_errors()`: the one place a domain error (`LayersimError`) or an unreadable/unwritable
  file (`OSError`) becomes `error: <one line>` on stderr and exit code 2. Commands wrap their
  body in it; nothing below the CLI catches errors to print them.
- `write_output(path, text, inputs=...)`: atomic file output (`layersim.atomic`), refusing to
  overwrite an input of the command.
- `emit_document(doc, as_json=..., out=..., render=...)`: the `--json` / `--out` / tables
  convention of report commands.
- `JsonFlag`, `OutFile`: option aliases with one spelling and help text across commands.
"""

from __future__ import annotations

import os
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from pathlib import Path
from typing import Annotated, Any, NoReturn

import typer
from rich.console import Console

from layersim.atomic import atomic_write_text
from layersim.errors import LayersimError, OutputError
from layersim.report import json_text

EXIT_USER_ERROR = 2

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


@contextmanager
def cli_errors() -> Iterator[None]:
    """Turn `LayersimError` and `OSError` raised inside into `fail(...)`: `error: <message>`
    on stderr, exit code 2, no traceback. Any other exception is a bug and propagates."""
    try:
        yield
    except (LayersimError, OSError) as exc:
        fail(error_message(exc))


def _same_file(a: Path, b: Path) -> bool:
    try:
        return a.resolve() == b.resolve() or (a.exists() and b.exists() and a.samefile(b))
    except OSError:
        return False


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
