"""Tests of `layersim run`, `layersim sweep` and `layersim scenarios` through the typer app:
exit codes, the files written, one-line errors, nothing half-written."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from layersim.cli.app import app

runner = CliRunner()

# The `small` scenario cut down so that a run takes well under a second.
TINY = [
    "time.epochs=3",
    "apps.count=5",
    "nodes.count=2",
    "bases.file_scale=0.05",
    "runtimes.file_scale=0.02",
    "packages.count=20",
    "packages.files_mean=3.0",
    "apps.code_files=5.0",
]
SETS = [arg for item in TINY for arg in ("--set", item)]

RUN_FILES = {
    "headline.csv",
    "storage.csv",
    "registry_by_epoch.csv",
    "nodes_by_epoch.csv",
    "node_figures.csv",
    "transfer.csv",
    "transfer_by_epoch.csv",
    "pull_time.csv",
    "lazy_pull.csv",
    "lazy_by_epoch.csv",
    "waste.csv",
    "advice.csv",
    "sharing.csv",
    "sharing_top_layers.csv",
    "containers_by_epoch.csv",
    "anchors.csv",
    "summary.json",
    "report.md",
    "timings.json",
    "storage.png",
    "transfer.png",
    "sharing.png",
    "pull_time.png",
    "lazy.png",
    "containers.png",
}


def _invoke(*args: str):
    return runner.invoke(app, list(args))


def _one_error_line(result) -> str:
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    assert lines[0].startswith("error: ")
    return lines[0]


@pytest.fixture(scope="module")
def run_dir(tmp_path_factory) -> tuple[Path, object]:
    out = tmp_path_factory.mktemp("cli") / "small"
    result = _invoke("run", "small", *SETS, "--out", str(out))
    return out, result


def test_run_writes_the_folder(run_dir):
    """`run small --out DIR` exits 0, writes every table, plot and report, prints the
    headline, and leaves no temporary folder beside DIR."""
    out, result = run_dir
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == RUN_FILES
    assert "Headline" in result.stdout
    assert "registry: stored at the end" in result.stdout
    assert f"wrote {out}" in result.stdout
    assert [p.name for p in out.parent.iterdir()] == ["small"]
    summary = json.loads((out / "summary.json").read_text())
    assert summary["scenario"] == "small"
    assert summary["config"]["apps"]["count"] == 5


def test_rerun_without_force_is_refused(run_dir):
    """A second run into the same folder without --force exits 2 with one line and leaves
    the folder as it was."""
    out, _ = run_dir
    before = {p.name: p.read_bytes() for p in out.iterdir()}
    result = _invoke("run", "small", *SETS, "--out", str(out))
    assert result.exit_code == 2
    assert "--force" in _one_error_line(result)
    assert {p.name: p.read_bytes() for p in out.iterdir()} == before
    assert [p.name for p in out.parent.iterdir()] == ["small"]


def test_force_replaces_and_same_seed_same_bytes(run_dir, tmp_path):
    """--force replaces the folder whole; the same config and seed give byte-identical
    tables and JSON (timings aside), another seed other figures."""
    out, _ = run_dir
    copy = tmp_path / "again"
    assert _invoke("run", "small", *SETS, "--out", str(copy), "--quiet").exit_code == 0
    for name in RUN_FILES - {"timings.json"}:
        if name.endswith((".csv", ".json", ".md")):
            assert (copy / name).read_bytes() == (out / name).read_bytes(), name
    (copy / "stale.txt").write_text("x")
    result = _invoke("run", "small", *SETS, "--seed", "7", "--out", str(copy), "--force", "-q")
    assert result.exit_code == 0, result.output
    assert result.stdout == ""
    assert {p.name for p in copy.iterdir()} == RUN_FILES
    assert json.loads((copy / "summary.json").read_text())["seed"] == 7
    assert (copy / "storage.csv").read_bytes() != (out / "storage.csv").read_bytes()
    assert sorted(p.name for p in tmp_path.iterdir()) == ["again"]


def test_run_json_prints_summary(tmp_path):
    """--json prints summary.json on stdout, exactly the file's text."""
    out = tmp_path / "j"
    result = _invoke("run", "small", *SETS, "--out", str(out), "--json", "--quiet")
    assert result.exit_code == 0, result.output
    assert result.stdout == (out / "summary.json").read_text()
    assert json.loads(result.stdout)["layersim_version"]


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--set", "apps.count=-1"], "apps.count"),
        (["--set", "apps.nope=1"], "apps.nope"),
        (["--set", "nonsense"], "--set nonsense"),
        (["--seed", "-3"], "seed"),
        (["--set", "chunks.fixed_bytes=0"], "chunks.fixed_bytes"),
        (["--set", "chunks.cdc_min_bytes=131072"], "chunks.cdc_min_bytes"),
    ],
)
def test_bad_settings_exit_2_naming_the_key(tmp_path, args, names):
    """A wrong key or value is one `error:` line naming it, exit 2, and nothing written."""
    out = tmp_path / "never"
    result = _invoke("run", "small", *args, "--out", str(out))
    assert result.exit_code == 2
    assert names in _one_error_line(result)
    assert list(tmp_path.iterdir()) == []


def test_unknown_scenario_and_missing_config(tmp_path):
    result = _invoke("run", "nosuch", "--out", str(tmp_path / "x"))
    assert result.exit_code == 2
    assert "nosuch" in _one_error_line(result)
    result = _invoke("run", "--config", str(tmp_path / "missing.toml"), "--out", str(tmp_path))
    assert result.exit_code == 2
    assert "missing.toml" in _one_error_line(result)


def test_config_file_and_default_folder_name(tmp_path, monkeypatch):
    """A TOML experiment file is read (its scenario key, then its own keys, then --set) and
    the default output folder is ./layersim-results/<file stem>."""
    spec = tmp_path / "mine.toml"
    spec.write_text('scenario = "small"\n[apps]\ncount = 4\n')
    monkeypatch.chdir(tmp_path)
    result = _invoke("run", "--config", str(spec), *SETS[:-2], "-q")
    assert result.exit_code == 0, result.output
    summary = json.loads((tmp_path / "layersim-results" / "mine" / "summary.json").read_text())
    assert summary["scenario"] == "small"
    assert summary["config"]["apps"]["count"] == 5  # --set applies after the file


def test_unwritable_output_exit_2(tmp_path):
    """An output folder that cannot be created is one error line, exit 2."""
    blocker = tmp_path / "file"
    blocker.write_text("x")
    result = _invoke("run", "small", *SETS, "--out", str(blocker / "sub"))
    assert result.exit_code == 2
    _one_error_line(result)
    assert blocker.read_text() == "x"


def test_scenarios_lists_the_builtins():
    result = _invoke("scenarios")
    assert result.exit_code == 0
    for name in ("small", "company", "hub"):
        assert name in result.stdout


def test_sweep_tiny_grid(tmp_path):
    """A sweep over a tiny grid with --jobs 1 writes sweep.csv with one row per point, and
    the run table with one row per point x seed."""
    out = tmp_path / "sweep"
    result = _invoke(
        "sweep",
        "small",
        *SETS,
        "--param",
        "apps.reproducible_probability=0,1",
        "--seeds",
        "2",
        "--jobs",
        "1",
        "--out",
        str(out),
    )
    assert result.exit_code == 0, result.output
    assert {p.name for p in out.iterdir()} == {
        "sweep.csv",
        "sweep_runs.csv",
        "sweep.json",
        "sweep.png",
        "report.md",
        "timings.json",
    }
    rows = list(csv.DictReader(io.StringIO((out / "sweep.csv").read_text())))
    assert [r["apps.reproducible_probability"] for r in rows] == ["0", "1"]
    assert all(r["seeds"] == "2" for r in rows)
    for row in rows:
        mean = float(row["registry_layer_saving_vs_flattened_mean"])
        low = float(row["registry_layer_saving_vs_flattened_min"])
        high = float(row["registry_layer_saving_vs_flattened_max"])
        assert low <= mean <= high
    runs = list(csv.DictReader(io.StringIO((out / "sweep_runs.csv").read_text())))
    assert [(r["point"], r["seed"]) for r in runs] == [
        ("0", "42"),
        ("0", "43"),
        ("1", "42"),
        ("1", "43"),
    ]
    assert "sweep.png" in (out / "report.md").read_text()


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--param", "apps.count"], "--param apps.count"),
        (["--param", "apps.count=1,-2"], "apps.count"),
        (["--param", "nope.count=1"], "nope.count"),
        (["--param", "apps.count=1", "--seeds", "2", "--seed-list", "1,2"], "--seed-list"),
        (["--param", "apps.count=1", "--jobs", "0"], "--jobs"),
        (
            ["--param", "apps.count=1", "--param", "nodes.count=1", "--param", "time.epochs=1"],
            "--param",
        ),
    ],
)
def test_sweep_bad_input_exit_2(tmp_path, args, names):
    out = tmp_path / "never"
    result = _invoke("sweep", "small", *args, "--out", str(out))
    assert result.exit_code == 2
    assert names in _one_error_line(result)
    assert list(tmp_path.iterdir()) == []
