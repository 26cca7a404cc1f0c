"""Tests of `layersim.distributed.sweep`: a sweep on a 2-worker Dask cluster of processes gives
the figures of `--jobs 1` (through the CLI: the same files, byte for byte), also when a worker
dies in the middle of a run; a run's own error comes back as itself; Ctrl-C cancels the runs
and writes nothing."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

import pytest
from typer.testing import CliRunner

from layersim.cli.app import app
from layersim.distributed.sweep import run_sweep_on
from layersim.errors import ConfigError
from layersim.experiment.sweep import parse_param, plan_sweep, run_sweep
from layersim.simulation.metrics import STANDARD_METRICS, HeadlineFigure, Metric
from layersim.simulation.results import SimulationResult
from tests.distributed.conftest import TINY

runner = CliRunner()
SETS = [arg for item in TINY for arg in ("--set", item)]
GRID = ["--param", "apps.reproducible_probability=0,1", "--seeds", "2"]


def _files(folder: Path) -> dict[str, bytes]:
    """Every file of an output folder but timings.json (wall times), by name."""
    return {p.name: p.read_bytes() for p in sorted(folder.iterdir()) if p.name != "timings.json"}


def test_cli_sweep_on_a_cluster_writes_the_files_of_jobs_1(tmp_path, cluster):
    """`sweep --scheduler ADDRESS` on 2 worker processes writes the same files, byte for
    byte, as `--jobs 1` (2 points x 2 seeds of `small`)."""
    alone, spread = tmp_path / "alone", tmp_path / "spread"
    one = runner.invoke(app, ["sweep", "small", *SETS, *GRID, "--jobs", "1", "--out", str(alone)])
    assert one.exit_code == 0, one.output
    address = cluster.scheduler_address
    many = runner.invoke(
        app, ["sweep", "small", *SETS, *GRID, "--scheduler", address, "--out", str(spread)]
    )
    assert many.exit_code == 0, many.output
    assert set(_files(spread)) == {
        "sweep.csv",
        "sweep_runs.csv",
        "sweep.json",
        "sweep.png",
        "report.md",
    }
    assert _files(spread) == _files(alone)


@dataclass(frozen=True)
class KillsItsWorkerOnce:
    """A metric's function that kills the worker process running it the first time any run
    calls it (the one that creates `marker`, which records the dead worker's pid), and reads
    `figure` otherwise."""

    marker: str
    figure: HeadlineFigure

    def __call__(self, result: SimulationResult) -> float | int:
        try:
            fd = os.open(self.marker, os.O_CREAT | os.O_EXCL | os.O_WRONLY)
        except FileExistsError:
            return self.figure(result)
        os.write(fd, str(os.getpid()).encode())
        os.close(fd)
        os._exit(1)  # the worker process dies at once, mid-task, as if killed


def test_a_worker_killed_mid_run_loses_no_run_and_doubles_none(tmp_path, client):
    """A worker process dies inside a run: Dask runs the task again on a live worker, and the
    sweep's runs and figures are exactly those of an in-process sweep (none lost, none twice)."""
    plan = plan_sweep(
        [parse_param("apps.reproducible_probability=0,1")],
        [5, 6],
        scenario="small",
        overrides=TINY,
    )
    marker = tmp_path / "killed.pid"
    pushed = HeadlineFigure("pushed.layer")
    killer = Metric("pushed_layer_bytes", "pushes", KillsItsWorkerOnce(str(marker), pushed))
    metrics = (*STANDARD_METRICS, killer)
    seen: list[float] = []
    spread = run_sweep_on(client, plan, progress=lambda stage, f: seen.append(f), metrics=metrics)
    assert marker.exists()
    with pytest.raises(ProcessLookupError):  # the worker that ran it is gone
        os.kill(int(marker.read_text()), 0)
    alone = run_sweep(plan, jobs=1, metrics=(*STANDARD_METRICS, Metric(killer.name, "", pushed)))
    assert [(r.point, r.seed) for r in spread.runs] == [(0, 5), (0, 6), (1, 5), (1, 6)]
    assert [r.figures for r in spread.runs] == [r.figures for r in alone.runs]
    assert seen == [0.0, 0.25, 0.5, 0.75, 1.0]


def test_a_runs_own_error_comes_back_as_itself(client):
    """An error raised inside a run on a worker is raised by `run_sweep_on`, same type and
    message (here a config the plan accepted but the fleet generator refuses is simulated by a
    metric that raises)."""
    plan = plan_sweep([parse_param("apps.count=3")], [1], scenario="small", overrides=TINY)
    failing = Metric("bad", "raises", _raise_config_error)
    with pytest.raises(ConfigError, match=r"^bad: refused on a worker$"):
        run_sweep_on(client, plan, metrics=(failing,))


def _raise_config_error(result: SimulationResult) -> float:
    raise ConfigError("bad: refused on a worker")


def test_ctrl_c_cancels_the_runs_and_writes_nothing(tmp_path, client):
    """Ctrl-C (SIGINT) while a sweep's runs are on the cluster: `interrupted`, exit 130, no
    output folder, and the runs not yet done are cancelled (the scheduler holds no task of
    the sweep afterwards)."""
    out = tmp_path / "never"
    src = Path(__file__).resolve().parents[2] / "simsrc"
    command = [
        sys.executable,
        "-c",
        # Ctrl-C raises KeyboardInterrupt even where the test runs with SIGINT ignored (a
        # background job)
        "import signal, sys; signal.signal(signal.SIGINT, signal.default_int_handler); "
        "sys.argv[0] = 'layersim'; from layersim.cli.app import app; app()",
        *("sweep", "small", *SETS, "--param", "apps.count=3,4,5,6", "--seeds", "3"),
        *("--scheduler", client.scheduler.address, "--quiet", "--out", str(out)),
    ]
    env = {**os.environ, "PYTHONPATH": str(src)}
    process = subprocess.Popen(
        command,
        env=env,
        stderr=subprocess.PIPE,
        text=True,
    )
    deadline = time.monotonic() + 60
    while not _sweep_tasks(client) and time.monotonic() < deadline:
        time.sleep(0.1)
    assert _sweep_tasks(client), "the sweep never reached the cluster"
    process.send_signal(signal.SIGINT)
    _, stderr = process.communicate(timeout=60)
    assert process.returncode == 130
    assert stderr.strip().splitlines()[-1] == "interrupted"
    assert not out.exists() and list(tmp_path.iterdir()) == []
    deadline = time.monotonic() + 20
    while _sweep_tasks(client) and time.monotonic() < deadline:
        time.sleep(0.2)
    assert _sweep_tasks(client) == []


def _sweep_tasks(client) -> list[str]:
    """The keys of every sweep task the scheduler holds."""
    keys = client.run_on_scheduler(lambda dask_scheduler: [str(k) for k in dask_scheduler.tasks])
    return [k for k in keys if k.startswith("layersim-sweep-")]
