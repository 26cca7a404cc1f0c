"""Tests of the CLI under hostile use (issue 17): interrupts and SIGTERM, two runs writing one
folder, `--out` checked before the work, the README's command run twice, and the help and
usage errors (plain help with an example per command, `-h`, one `error:` line)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import tarfile
import textwrap
from pathlib import Path

import pytest
from typer.testing import CliRunner

import layersim.cli.app as cli_app
from layersim.cli.app import app
from layersim.cli.atomic import claim
from tests.cli.test_app_run import SETS

runner = CliRunner()
ROOT = Path(__file__).resolve().parents[2]
COMMANDS = ["evaluate", "scenarios", "run", "sweep", "analyze", "advise", "calibrate"]


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


# --------------------------------------------------------------------------- signals


def test_ctrl_c_says_interrupted_exits_130_and_leaves_nothing(tmp_path, monkeypatch):
    """Ctrl-C during a run: `interrupted` on stderr, exit 130, no output folder and no
    temporary folder or lock file beside it."""

    def interrupted(*args, **kwargs):
        raise KeyboardInterrupt

    monkeypatch.setattr(cli_app, "run_experiment", interrupted)
    result = runner.invoke(app, ["run", "small", *SETS, "--out", str(tmp_path / "x")])
    assert result.exit_code == 130
    assert result.stderr == "interrupted\n"
    assert list(tmp_path.iterdir()) == []


SLOW_RUN = textwrap.dedent(
    """
    import sys, time
    import layersim.cli.app as cli_app

    def slow(*args, **kwargs):
        print("running", flush=True)
        time.sleep(60)

    cli_app.run_experiment = slow
    sys.argv[0] = "layersim"
    cli_app.app(["run", "small", "--out", sys.argv[1]])
    """
)


@pytest.mark.parametrize(
    ("signum", "code", "message"),
    [(signal.SIGTERM, 143, "terminated"), (signal.SIGINT, 130, "interrupted")],
)
def test_signal_mid_run_cleans_the_temporary_folder(tmp_path, signum, code, message):
    """A real process signalled while it runs (its temporary folder exists): it says why it
    stopped, exits 128 + the signal, and leaves neither `DIR.tmp-XXXX` nor the lock file."""
    env = {**os.environ, "PYTHONPATH": str(ROOT / "simsrc") + os.pathsep + str(ROOT)}
    process = subprocess.Popen(
        [sys.executable, "-c", SLOW_RUN, str(tmp_path / "out")],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env=env,
    )
    assert process.stdout is not None and process.stdout.readline() == "running\n"
    assert [p.name.startswith("out.tmp-") for p in tmp_path.iterdir()].count(True) == 1
    process.send_signal(signum)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == code
    assert stderr == f"{message}\n"
    assert list(tmp_path.iterdir()) == []


# --------------------------------------------------------------------------- outputs first


def test_second_writer_of_a_folder_fails_at_once(tmp_path, monkeypatch):
    """While another run holds the output folder, `run --out` of the same folder fails before
    generating anything (one line, exit 2) instead of finding the folder taken at the end."""

    def never(*args, **kwargs):
        raise AssertionError("the run started although the folder is being written")

    monkeypatch.setattr(cli_app, "run_experiment", never)
    out = tmp_path / "x"
    with claim(out):
        result = runner.invoke(app, ["run", "small", *SETS, "--out", str(out)])
    assert result.exit_code == 2
    assert "being written by another layersim run" in _one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_analyze_checks_out_before_reading(tmp_path):
    """`analyze --out` into a missing folder fails on the output, before reading any image
    (here an image that would fail too, later)."""
    out = tmp_path / "missing" / "a.json"
    result = runner.invoke(app, ["analyze", str(tmp_path / "no-image"), "--out", str(out)])
    assert result.exit_code == 2
    assert "cannot write" in _one_error_line(result)
    assert str(out) in result.stderr


def test_default_folder_rerun_replaces_its_own_result(tmp_path, monkeypatch):
    """The README's command twice: the second run (no --out) replaces its own earlier result
    folder and says so on stderr; a folder there that is not a result is still refused."""
    monkeypatch.chdir(tmp_path)
    first = runner.invoke(app, ["run", "small", *SETS, "-q"])
    assert first.exit_code == 0, first.output
    second = runner.invoke(app, ["run", "small", *SETS, "--seed", "9", "-q"])
    assert second.exit_code == 0, second.output
    folder = Path("layersim-results") / "small"
    assert second.stderr == f"replacing the previous result in {folder}\n"
    assert json.loads((folder / "summary.json").read_text())["seed"] == 9
    assert [p.name for p in folder.parent.iterdir()] == ["small"]
    other = Path("layersim-results") / "company"
    other.mkdir()
    (other / "notes.txt").write_text("mine")
    result = runner.invoke(app, ["run", *SETS, "-q"])
    assert result.exit_code == 2
    assert "already exists" in _one_error_line(result)
    assert (other / "notes.txt").read_text() == "mine"


# --------------------------------------------------------------------------- help


@pytest.mark.parametrize("command", COMMANDS)
def test_help_is_plain_with_an_example(command):
    """`-h` works on every command; the help has no `<type>` metavars, no `{ARG}` or `[[ARG]]`
    in the usage line, no box drawing, and shows an example of the command."""
    result = runner.invoke(app, [command, "-h"])
    assert result.exit_code == 0, result.output
    usage = result.stdout.splitlines()[0]
    assert usage.startswith(f"Usage: layersim {command} [OPTIONS]")
    assert "{" not in usage and "[[" not in usage
    assert "<" not in result.stdout and "│" not in result.stdout
    assert "Example" in result.stdout and f"  layersim {command}" in result.stdout


def test_top_level_help_lists_whole_sentences():
    """`layersim -h` (and `layersim` alone) lists each command with a whole one-line
    description: none cut with `...`, none broken over lines."""
    for args in (["-h"], []):
        result = runner.invoke(app, args)
        assert result.exit_code == 0, result.output
        listing = result.stdout.split("Commands:\n")[1].splitlines()
        assert [line.split()[0] for line in listing] == COMMANDS
        assert not any(line.rstrip().endswith("...") for line in listing)


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["run", "--bogus"], "--bogus"),
        (["evaluate"], "SPEC"),
        (["sweep", "--param", "apps.count=1", "--jobs", "x"], "--jobs"),
        (["nosuch"], "nosuch"),
    ],
)
def test_usage_errors_are_one_line(args, names):
    """A usage error (unknown option or command, missing argument, bad value) is one `error:`
    line naming it and the command's --help, exit 2, nothing on stdout."""
    result = runner.invoke(app, args)
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert names in line and "--help" in line
    assert result.stdout == ""


# --------------------------------------------------------------------------- extreme inputs


def _spec(tmp_path: Path, files: str, name: str = "spec.toml") -> Path:
    spec = tmp_path / name
    spec.write_text(f'[layers.l]\nfiles = [{files}]\n[images]\n"i:1" = ["l"]\n')
    return spec


def test_deep_path_evaluates_without_recursion(tmp_path):
    """A path of 2,000 components (4,001 bytes, within PATH_MAX) evaluates: path interning
    walks up a path's directories in a loop, not by recursion. The image holds the one file of
    10 bytes, and one layer (layered = flattened)."""
    deep = "d/" * 2000 + "f"
    result = runner.invoke(
        app, ["evaluate", str(_spec(tmp_path, f'{{ path = "{deep}", size = 10 }}')), "--json"]
    )
    assert result.exit_code == 0, result.output
    image = json.loads(result.stdout)["images"]["i:1"]
    assert image["dive_min_bytes"] == 10
    assert image["layered_bytes"] == image["flattened_bytes"] > 4001


def test_path_longer_than_path_max_is_one_line(tmp_path):
    """A path over 4,096 bytes is refused with one line naming the limit, exit 2."""
    deep = "d/" * 2100 + "f"
    result = runner.invoke(
        app, ["evaluate", str(_spec(tmp_path, f'{{ path = "{deep}", size = 1 }}'))]
    )
    assert result.exit_code == 2
    assert "4201 bytes long; the limit is 4096 (PATH_MAX)" in _one_error_line(result)


@pytest.mark.parametrize(
    "files",
    [
        '{ path = "a", size = 9223372036854775808 }',  # 2^63: does not fit int64 at all
        ", ".join(f'{{ path = "{n}", size = 4000000000000000000 }}' for n in "abc"),  # sums wrap
        '{ path = "a", size = 4000000000000000000 }',  # fits, but tar + compressed bytes do not
    ],
)
def test_sizes_whose_figures_overflow_are_refused(tmp_path, files):
    """Sizes whose figures would not fit a 64-bit count (and used to come out negative, or
    as an OverflowError traceback) are one line, exit 2."""
    result = runner.invoke(app, ["evaluate", str(_spec(tmp_path, files))])
    assert result.exit_code == 2, result.output
    assert "sizes too large" in _one_error_line(result)


def test_largest_accepted_sizes_give_no_negative_figure(tmp_path):
    """Just under the bound, every byte count and count of the document is non-negative
    (savings are fractions `1 - S/B` and may be: a chunk store can cost more than a layer)."""
    result = runner.invoke(
        app,
        ["evaluate", str(_spec(tmp_path, '{ path = "a", size = 1000000000000000000 }')), "--json"],
    )
    assert result.exit_code == 0, result.output
    doc = json.loads(result.stdout)
    assert [n for n in _negatives(doc) if ".savings." not in n] == []


def _negatives(value, where: str = "") -> list[str]:
    """The places in a JSON document that hold a negative number."""
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in _negatives(v, f"{where}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in _negatives(v, f"{where}[{i}]")]
    if isinstance(value, int | float) and not isinstance(value, bool) and value < 0:
        return [where]
    return []


def test_analyze_rejects_a_hard_link_to_nothing(tmp_path):
    """A layer whose hard link names no earlier file of the layer: one line naming the link,
    exit 2 (extraction would fail there too)."""
    from tests.readers.images import M, hostile_member_case

    image = hostile_member_case(
        tmp_path, [M("bin/ls", b"ls"), M("bin/sh", kind=tarfile.LNKTYPE, link="bin/missing")]
    )
    result = runner.invoke(app, ["analyze", str(image), "--quiet"])
    assert result.exit_code == 2
    assert "hard link 'bin/sh' points to 'bin/missing'" in _one_error_line(result)


def test_analyze_bounds_the_entries_of_a_layer(tmp_path, monkeypatch):
    """A layer of more members than the stated limit is one line naming the limit, exit 2
    (the limit lowered here from its 1,000,000 so that the layer is small)."""
    from layersim.readers import tar_stream
    from tests.readers.images import M, hostile_member_case

    monkeypatch.setattr(tar_stream, "MEMBERS_PER_LAYER_MAX", 5)
    image = hostile_member_case(tmp_path, [M(f"e{i}") for i in range(6)])
    result = runner.invoke(app, ["analyze", str(image), "--quiet"])
    assert result.exit_code == 2
    assert "more than 5 members, layersim's limit" in _one_error_line(result)
    monkeypatch.setattr(tar_stream, "MEMBERS_PER_LAYER_MAX", 6)
    assert runner.invoke(app, ["analyze", str(image), "--quiet"]).exit_code == 0


def test_analyze_deep_path(tmp_path):
    """A layer with a path of 1,500 components is read and analyzed (no RecursionError)."""
    from tests.readers.images import M, hostile_member_case

    image = hostile_member_case(tmp_path, [M("d/" * 1500 + "f", b"x")])
    result = runner.invoke(app, ["analyze", str(image), "--quiet", "--json"])
    assert result.exit_code == 0, result.output


# --------------------------------------------------------------------------- memory


@pytest.mark.parametrize(
    ("setting", "key"),
    [
        ("apps.count=1000000000000", "apps.count"),
        ("nodes.count=1000000000", "nodes.count"),
        ("time.epochs=1000000000", "time.epochs"),
    ],
)
def test_config_beyond_the_machine_is_refused_before_generating(
    tmp_path, monkeypatch, setting, key
):
    """A config estimated to need more memory than the machine has is one line naming the
    key, the estimate and the machine's memory, exit 2, before anything is generated."""

    def never(*args, **kwargs):
        raise AssertionError("generation started")

    monkeypatch.setattr(cli_app, "run_experiment", never)
    result = runner.invoke(app, ["run", "small", "--set", setting, "--out", str(tmp_path / "x")])
    assert result.exit_code == 2
    line = _one_error_line(result)
    assert line.startswith(f"error: {key}: ")
    assert "GiB of memory" in line and "this machine has" in line and "--allow-large" in line
    assert list(tmp_path.iterdir()) == []


def test_allow_large_goes_on(tmp_path, monkeypatch):
    """On a machine too small for it (its memory made 1 MiB here) a tiny run is refused, and
    `--allow-large` runs it; a sweep likewise refuses before its first run."""
    monkeypatch.setattr(cli_app, "machine_memory_bytes", lambda: 2**20)
    out = tmp_path / "x"
    refused = runner.invoke(app, ["run", "small", *SETS, "--out", str(out)])
    assert refused.exit_code == 2 and "1.0 GiB" not in refused.stderr
    assert "this machine has 0.0 GiB" in _one_error_line(refused)
    allowed = runner.invoke(app, ["run", "small", *SETS, "--out", str(out), "--allow-large", "-q"])
    assert allowed.exit_code == 0, allowed.output
    sweep = runner.invoke(
        app, ["sweep", "small", *SETS, "--param", "apps.count=2,3", "--out", str(tmp_path / "s")]
    )
    assert sweep.exit_code == 2
    assert "--allow-large" in _one_error_line(sweep)


@pytest.mark.parametrize("scenario", ["small", "company", "hub"])
def test_estimate_is_above_the_scenarios_counts(scenario):
    """The entry estimate is an overestimate, within 2x, of each built-in scenario's real
    count (their committed summary.json), so that a refusal is never for a run that fits."""
    from layersim.config import estimated_entries, load_config

    counted = json.loads((ROOT / "results" / scenario / "summary.json").read_text())
    entries = counted["counts"]["entries"]
    assert entries <= estimated_entries(load_config(None, scenario)) <= 2 * entries


# --------------------------------------------------------------------------- the test suite


def test_the_suite_leaves_nothing_in_the_system_temp_folder(tmp_path):
    """A pytest session (of one small test module, in a child process whose system temp folder
    is a fresh one) leaves that folder empty: no `pytest-of-*`, no numba cache; and its own
    `.pytest_cache/tmp-PID` is gone once it passed. `tmp_path` itself lies in the repository's
    `.pytest_cache`."""
    assert ROOT / ".pytest_cache" in tmp_path.parents
    system_tmp = tmp_path / "system-tmp"
    system_tmp.mkdir()
    before = set((ROOT / ".pytest_cache").glob("tmp-*"))
    env = {**os.environ, "TMPDIR": str(system_tmp), "PYTHONPATH": str(ROOT / "simsrc")}
    env.pop("NUMBA_CACHE_DIR", None)
    child = subprocess.run(
        [sys.executable, "-m", "pytest", "-q", "-p", "no:randomly", "tests/cli/test_support.py"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert child.returncode == 0, child.stdout + child.stderr
    assert list(system_tmp.iterdir()) == []
    assert set((ROOT / ".pytest_cache").glob("tmp-*")) == before


def test_integer_beyond_64_bits_is_one_line(tmp_path):
    """A config integer of 2**63 (found by the fuzz test: a ValueError in numpy) is refused
    with one line naming the key, exit 2."""
    result = runner.invoke(
        app, ["run", "small", "--set", f"bases.release_every={2**63}", "--out", str(tmp_path / "x")]
    )
    assert result.exit_code == 2
    assert _one_error_line(result).startswith("error: bases.release_every: must fit in 64 bits")
