"""Tests of `layersim.distributed.run`: a run whose stored-bytes sums are split into key
partitions on a 2-worker Dask cluster writes the files of a single-process run, byte for byte,
for any number of partitions; bad --partitions are one error line."""

from __future__ import annotations

from pathlib import Path

import pytest
from typer.testing import CliRunner

from layersim.cli.app import app
from layersim.config import load_config
from layersim.distributed.run import run_partitioned
from layersim.experiment.run import run_experiment
from tests.distributed.conftest import TINY

runner = CliRunner()
SETS = [arg for item in TINY for arg in ("--set", item)]


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder but timings.json (wall times), by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "timings.json"}


def test_cli_partitioned_run_writes_the_files_of_a_single_process_run(tmp_path, cluster):
    """`run small --scheduler ADDRESS --partitions 3` writes every file (CSVs, summary.json,
    plots, report.md) byte for byte as `run small` does (`small` cut down to run in a second
    or two)."""
    alone, spread = tmp_path / "alone", tmp_path / "spread"
    one = runner.invoke(app, ["run", "small", *SETS, "--quiet", "--out", str(alone)])
    assert one.exit_code == 0, one.output
    many = runner.invoke(
        app,
        [
            *("run", "small", *SETS, "--quiet", "--out", str(spread)),
            *("--scheduler", cluster.scheduler_address, "--partitions", "3"),
        ],
    )
    assert many.exit_code == 0, many.output
    assert "storage.csv" in _files(alone)
    assert _files(spread) == _files(alone)


def test_any_number_of_partitions_gives_the_same_result(client):
    """1, 2 and 5 partitions: the registry's and the nodes' stored bytes of every measured
    epoch equal a single-process run's."""
    config = load_config(scenario="small", overrides=TINY)
    whole = run_experiment(config).result
    for parts in (1, 2, 5):
        split = run_partitioned(client, config, parts).result
        assert split.registry == whole.registry
        assert split.nodes == whole.nodes


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--partitions", "2"], "--partitions"),
        (["--scheduler", "tcp://127.0.0.1:1", "--partitions", "0"], "--partitions"),
    ],
)
def test_cli_bad_partitions_exit_2(tmp_path, args, names):
    """--partitions without --scheduler, or not a positive count: one error line, exit 2,
    nothing written."""
    out = tmp_path / "never"
    result = runner.invoke(app, ["run", "small", *args, "--out", str(out)])
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and names in lines[0], lines
    assert list(tmp_path.iterdir()) == []
