"""Tests of `layersim analyze`'s CI gates through the typer app: exit 1 and one `fail:` line
per failing image when an image breaks a rule (the report still printed and written), exit 0
at the bound, exit 2 and one `error:` line for a bad size or file, rules read from
`.layersim-ci.toml` or `[tool.layersim]`, the command line overriding them.

The images are OCI layouts written here: `clean:1` stores one file; `waste:1` adds a
3,000-byte file and deletes it in the next layer, so (dive's rules) its efficiency is
1000 / (1000 + 3000) = 0.25, its wasted bytes 3,000 and its shadowed bytes 3,000.
"""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from layersim.cli.app import app
from tests.readers.images import Layout, M, make_tar

runner = CliRunner()
KEPT = M("a", b"k" * 1000)


def layouts(tmp_path: Path) -> list[Path]:
    clean = Layout(tmp_path / "clean")
    clean.add(clean.image([make_tar([KEPT])]), "1")
    waste = Layout(tmp_path / "waste")
    layers = [make_tar([KEPT]), make_tar([M("junk", bytes(3000))]), make_tar([M(".wh.junk")])]
    waste.add(waste.image(layers), "1")
    return [clean.root, waste.root]


def analyze(tmp_path: Path, *args: str | Path):
    paths = layouts(tmp_path)
    return runner.invoke(app, ["analyze", *map(str, paths), "--quiet", *map(str, args)])


@pytest.fixture(autouse=True)
def _empty_cwd(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    """Each test runs in an empty directory, so no CI file of the repository is found."""
    work = tmp_path / "cwd"
    work.mkdir()
    monkeypatch.chdir(work)


def test_figures_of_the_images(tmp_path: Path) -> None:
    """The figures the gates read are those the docstring works out."""
    result = analyze(tmp_path, "--json")
    assert result.exit_code == 0, result.output
    waste = json.loads(result.stdout)["images"]["waste:1"]
    assert waste["dive_efficiency"] == 0.25
    assert waste["dive_wasted_bytes"] == 3000 and waste["shadowed_bytes"] == 3000


@pytest.mark.parametrize(
    ("args", "line"),
    [
        (("--fail-under-efficiency", "0.3"), "efficiency 0.250000 is under 0.300000"),
        (("--fail-over-wasted-bytes", "2999"), "wasted bytes 3,000 are over 2,999"),
        (("--fail-over-wasted-bytes", "2KiB"), "wasted bytes 3,000 are over 2,048"),
        (("--fail-over-shadowed-bytes", "2.5kB"), "shadowed bytes 3,000 are over 2,500"),
        (
            ("--fail-under-efficiency", "1", "--fail-over-shadowed-bytes", "0"),
            "efficiency 0.250000 is under 1.000000; shadowed bytes 3,000 are over 0",
        ),
    ],
)
def test_gate_fails(tmp_path: Path, args: tuple[str, ...], line: str) -> None:
    """A broken rule: exit 1, exactly one line for the failing image on stderr, none for the
    clean one."""
    result = analyze(tmp_path, *args)
    assert result.exit_code == 1
    assert result.stderr == f"fail: waste:1: {line}\n"


@pytest.mark.parametrize(
    "args",
    [
        ("--fail-under-efficiency", "0.25"),
        ("--fail-over-wasted-bytes", "3kB"),
        ("--fail-over-shadowed-bytes", "3000"),
        ("--fail-under-efficiency", "0"),
    ],
)
def test_gate_passes_at_the_bound(tmp_path: Path, args: tuple[str, ...]) -> None:
    """A figure equal to its bound passes: exit 0, nothing on stderr."""
    result = analyze(tmp_path, *args)
    assert result.exit_code == 0, result.output
    assert result.stderr == ""


def test_failing_gate_still_reports(tmp_path: Path) -> None:
    """With a failing gate the JSON is still printed and the --out file still written."""
    out = tmp_path / "report.json"
    result = analyze(tmp_path, "--json", "--out", out, "--fail-over-wasted-bytes", "0")
    assert result.exit_code == 1
    assert json.loads(result.stdout) == json.loads(out.read_text())
    assert result.stderr == "fail: waste:1: wasted bytes 3,000 are over 0\n"


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (
            ("--fail-over-wasted-bytes", "10XB"),
            "error: --fail-over-wasted-bytes: unknown unit 'XB' in '10XB' (use B, kB, MB, GB, "
            "TB, KiB, MiB, GiB or TiB)\n",
        ),
        (
            ("--fail-over-shadowed-bytes", "lots"),
            "error: --fail-over-shadowed-bytes: 'lots' is not a size: expected bytes or a "
            "number and a unit (B, kB, MB, GB, TB, KiB, MiB, GiB, TiB)\n",
        ),
        (
            ("--fail-under-efficiency", "1.5"),
            "error: --fail-under-efficiency: expected a number from 0 to 1, got 1.5\n",
        ),
    ],
)
def test_bad_gate_is_exit_2(tmp_path: Path, args: tuple[str, ...], message: str) -> None:
    """A bad bound: exit 2, one `error:` line, nothing on stdout, no file written."""
    out = tmp_path / "report.json"
    result = analyze(tmp_path, "--out", out, *args)
    assert result.exit_code == 2
    assert result.stderr == message and result.stdout == ""
    assert not out.exists()


def test_ci_file_in_the_current_directory(tmp_path: Path) -> None:
    """`.layersim-ci.toml` in the current directory sets the gates; it wins over pyproject's
    [tool.layersim]; a command-line rule replaces the file's same rule."""
    Path("pyproject.toml").write_text('[tool.layersim]\nfail-over-wasted-bytes = "1KB"\n')
    result = analyze(tmp_path)
    assert (result.exit_code, result.stderr) == (
        1,
        "fail: waste:1: wasted bytes 3,000 are over 1,000\n",
    )
    Path(".layersim-ci.toml").write_text("fail-under-efficiency = 0.5\n")
    result = analyze(tmp_path)
    assert (result.exit_code, result.stderr) == (
        1,
        "fail: waste:1: efficiency 0.250000 is under 0.500000\n",
    )
    result = analyze(tmp_path, "--fail-under-efficiency", "0.2")
    assert (result.exit_code, result.stderr) == (0, "")


def test_ci_config_option(tmp_path: Path) -> None:
    """`--ci-config FILE` is read instead of the current directory's files; a bad key in it is
    exit 2 with one line naming the file and the key."""
    Path(".layersim-ci.toml").write_text("fail-under-efficiency = 0.5\n")
    chosen = tmp_path / "gates.toml"
    chosen.write_text("fail-over-shadowed-bytes = 4000\n")
    result = analyze(tmp_path, "--ci-config", chosen)
    assert (result.exit_code, result.stderr) == (0, "")
    chosen.write_text("lowestEfficiency = 0.9\n")
    result = analyze(tmp_path, "--ci-config", chosen)
    assert result.exit_code == 2
    assert result.stderr == (
        f"error: {chosen}: unknown key 'lowestEfficiency' (known: fail-under-efficiency, "
        "fail-over-wasted-bytes, fail-over-shadowed-bytes)\n"
    )
