"""Tests of `layersim.cli.support`: the error boundary and output helpers every command uses."""

from __future__ import annotations

from pathlib import Path

import pytest
import typer

from layersim.cli.support import (
    EXIT_USER_ERROR,
    cli_errors,
    error_message,
    one_line,
    write_output,
)
from layersim.errors import ConfigError, OutputError


def test_one_line() -> None:
    """Newlines and runs of whitespace become single spaces."""
    assert one_line("a\n  b\tc\n") == "a b c"


def test_error_message_of_os_errors() -> None:
    """An OSError reads `<file>: <reason>`, or the reason alone without a file."""
    assert error_message(FileNotFoundError(2, "No such file or directory", "x.toml")) == (
        "x.toml: No such file or directory"
    )
    assert error_message(OSError(5, "Input/output error")) == "Input/output error"
    assert error_message(ConfigError("bad\nkey")) == "bad key"


def test_cli_errors_turns_domain_errors_into_exit_2(capsys: pytest.CaptureFixture[str]) -> None:
    """A LayersimError inside `cli_errors` prints `error: <message>` on stderr, exits 2."""
    with pytest.raises(typer.Exit) as caught, cli_errors():
        raise ConfigError("sweep.seeds: must be a list")
    assert caught.value.exit_code == EXIT_USER_ERROR == 2
    captured = capsys.readouterr()
    assert (captured.out, captured.err) == ("", "error: sweep.seeds: must be a list\n")


def test_cli_errors_lets_bugs_through() -> None:
    """Any other exception is a bug and propagates with its traceback."""
    with pytest.raises(ZeroDivisionError), cli_errors():
        _ = 1 / 0


def test_write_output_refuses_an_input(tmp_path: Path) -> None:
    """write_output will not overwrite an input of the command, even by another spelling."""
    spec = tmp_path / "spec.toml"
    spec.write_text("keep")
    with pytest.raises(OutputError):
        write_output(tmp_path / "." / "spec.toml", "x", inputs=(spec,))
    assert spec.read_text() == "keep"
    write_output(tmp_path / "out.json", "x", inputs=(spec,))
    assert (tmp_path / "out.json").read_text() == "x"
