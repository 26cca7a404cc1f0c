"""Tests of `layersim.distributed.cluster`: the addresses accepted and refused, a scheduler
that does not answer refused after the timeout (bounded, one `error:` line and exit 2 from the
CLI), a `local` cluster started and closed, and Dask missing named with its install command."""

from __future__ import annotations

import socket
import sys
import threading
import time

import pytest
from typer.testing import CliRunner

from layersim.cli.app import app
from layersim.distributed.cluster import (
    INSTALL_HINT,
    LOCAL,
    check_answers,
    dask_client,
    load_distributed,
    local_workers,
    scheduler_address,
)
from layersim.errors import SchedulerError
from tests.distributed.conftest import TINY

runner = CliRunner()
SETS = [arg for item in TINY for arg in ("--set", item)]


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def test_scheduler_address_accepts_host_port_and_refuses_the_rest():
    """`host:port` gets tcp://; an unknown scheme, a missing port or host are refused."""
    assert scheduler_address("10.0.0.5:8786") == "tcp://10.0.0.5:8786"
    assert scheduler_address("tls://sched.example:8786") == "tls://sched.example:8786"
    for bad in ("foo://x:1", "tcp://", "tcp://host", "inproc://x", "tcp://:8786"):
        with pytest.raises(SchedulerError, match="not a scheduler address"):
            scheduler_address(bad)


def test_local_workers_default_to_one_per_cpu():
    """A `local` cluster has the workers asked for, else one per CPU."""
    assert local_workers(3) == 3
    assert local_workers() == max(1, __import__("os").cpu_count() or 1)


def test_nothing_listening_is_refused_after_the_timeout():
    """A port where nothing listens is refused after about `timeout_seconds`, not before
    the retries and not much after."""
    started = time.monotonic()
    with pytest.raises(SchedulerError, match=r"no Dask scheduler answered within 1 s"):
        check_answers(f"tcp://127.0.0.1:{_free_port()}", timeout_seconds=1.0)
    assert 0.9 < time.monotonic() - started < 5.0


def test_a_silent_listener_is_refused_in_bounded_time():
    """A port that accepts connections but never speaks Dask does not hang the command."""
    server = socket.create_server(("127.0.0.1", 0))
    accepted: list[socket.socket] = []

    def accept() -> None:
        while True:
            try:
                accepted.append(server.accept()[0])
            except OSError:
                return

    threading.Thread(target=accept, daemon=True).start()
    port = server.getsockname()[1]
    started = time.monotonic()
    try:
        with pytest.raises(SchedulerError, match="no Dask scheduler answered"):
            check_answers(f"tcp://127.0.0.1:{port}", timeout_seconds=1.0)
    finally:
        server.close()
        for sock in accepted:
            sock.close()
    assert time.monotonic() - started < 5.0


def test_cli_bad_address_one_error_line_exit_2(tmp_path):
    """`sweep --scheduler` at an address nobody answers: exit 2, one `error:` line naming
    the address, within the --connect-timeout (plus start-up), nothing written."""
    address = f"tcp://127.0.0.1:{_free_port()}"
    out = tmp_path / "never"
    started = time.monotonic()
    result = runner.invoke(
        app,
        [
            *("sweep", "small", *SETS, "--param", "apps.count=3", "--seeds", "1"),
            *("--scheduler", address, "--connect-timeout", "1", "--out", str(out)),
        ],
    )
    assert time.monotonic() - started < 8.0
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error: --scheduler " + address), lines
    assert not out.exists() and list(tmp_path.iterdir()) == []


@pytest.mark.parametrize(
    ("args", "names"),
    [
        (["--scheduler", "foo://x:1"], "not a scheduler address"),
        (["--scheduler", "tcp://127.0.0.1:1", "--jobs", "2"], "--jobs"),
        (["--scheduler", "local", "--connect-timeout", "0"], "--connect-timeout"),
        (["--scheduler", " "], "--scheduler"),
    ],
)
def test_cli_scheduler_bad_input_exit_2(tmp_path, args, names):
    """A malformed --scheduler, --jobs with a running cluster, a zero timeout: one error line
    naming the option, exit 2, at once."""
    out = tmp_path / "never"
    result = runner.invoke(
        app, ["sweep", "small", "--param", "apps.count=3", *args, "--out", str(out)]
    )
    assert result.exit_code == 2, result.output
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and lines[0].startswith("error:") and names in lines[0], lines
    assert list(tmp_path.iterdir()) == []


def test_without_dask_the_error_says_how_to_install_it(tmp_path, monkeypatch):
    """With Dask distributed not importable, `load_distributed` and the CLI's --scheduler say
    `pip install 'layersim[dask]'` in one error line."""
    monkeypatch.setitem(sys.modules, "distributed", None)  # import raises ImportError
    with pytest.raises(SchedulerError, match="not installed"):
        load_distributed()
    result = runner.invoke(
        app,
        [
            *("sweep", "small", "--param", "apps.count=3", "--scheduler", LOCAL),
            *("--out", str(tmp_path / "never")),
        ],
    )
    assert result.exit_code == 2
    assert result.stderr.strip().splitlines() == [
        f"error: --scheduler needs Dask distributed, which is not installed: {INSTALL_HINT}"
    ]


def test_a_local_cluster_runs_tasks_in_other_processes_and_closes():
    """`dask_client(LOCAL, workers=1)` starts one worker process (not this one), which runs a
    task, and is gone when the block ends."""
    with dask_client(LOCAL, workers=1) as client:
        pids = client.run(lambda: __import__("os").getpid())
        assert len(pids) == 1
        (pid,) = pids.values()
        assert pid != __import__("os").getpid()
        assert client.submit(sum, [1, 2, 3]).result() == 6
    time.sleep(0.5)
    with pytest.raises(ProcessLookupError):
        __import__("os").kill(pid, 0)
