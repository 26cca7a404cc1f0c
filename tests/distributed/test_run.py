"""Tests of `layersim.distributed.run`: a run whose stored-bytes sums are split into key
partitions on a 2-worker Dask cluster writes the files of a single-process run, byte for byte,
for any number of partitions, also when a worker dies mid-part; bad --partitions are one
error line."""

from __future__ import annotations

import os
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from layersim.accounting.held import HeldBytes, TimelineSums, sum_here
from layersim.cli.app import app
from layersim.config import load_config
from layersim.distributed.run import partitioned_sums, run_partitioned
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
    """1, 2 and 5 partitions: the stored bytes of every measured epoch (key partitions) and
    the per-image figures they and the waste table come from (overlay parts) equal a
    single-process run's."""
    config = load_config(scenario="small", overrides=TINY)
    whole = run_experiment(config).result
    for parts in (1, 2, 5):
        split = run_partitioned(client, config, parts).result
        assert split.registry == whole.registry
        assert split.nodes == whole.nodes
        assert split.waste == whole.waste
        assert split.anchors == whole.anchors


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


@dataclass(frozen=True)
class KillsItsWorkerOnce:
    """A part's sum that kills the worker process running it the first time any part calls
    it (the one that creates `marker`, which records the dead worker's pid), and is
    `sum_here` otherwise."""

    marker: str

    def __call__(self, sums: TimelineSums) -> HeldBytes:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return sum_here(sums)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os._exit(1)  # the worker process dies at once, mid-task, as if killed


def test_a_worker_killed_mid_partition_changes_nothing(tmp_path, client):
    """A worker dies while summing a part: the part is computed again on a live worker from
    the scheduler's copy, and the stored bytes are those of a single-process run."""
    config = load_config(scenario="small", overrides=TINY)
    whole = run_experiment(config).result
    marker = tmp_path / "killed.pid"
    split = run_experiment(
        config, sum_held=partitioned_sums(client, 3, KillsItsWorkerOnce(str(marker)))
    ).result
    assert marker.exists()
    with pytest.raises(ProcessLookupError):  # the worker that ran it is gone
        os.kill(int(marker.read_text()), 0)
    assert split.registry == whole.registry
    assert split.nodes == whole.nodes
