"""The Dask cluster a distributed command runs on: `local` (a `LocalCluster` of worker
processes started for the command, sized to the machine) or the address of a running
scheduler (`tcp://HOST:PORT`, started with `dask scheduler` / `dask worker` or by
dask-jobqueue or dask-kubernetes).

`dask_client(scheduler, workers=..., timeout_seconds=...)` yields a connected
`distributed.Client` and closes it, and the cluster it started, on the way out: on an error
and on Ctrl-C too, so no worker process outlives the command. An address that does not answer
raises `SchedulerError` after `timeout_seconds`, never hangs; a malformed one at once.

Dask is imported inside these functions, not at module import: a command that does not ask
for a scheduler never pays for it, and without Dask installed `SchedulerError` says how to
install it. Not here: what runs on the cluster (`distributed.sweep`).
"""

from __future__ import annotations

import logging
import os
from collections.abc import Iterator
from contextlib import contextmanager
from types import ModuleType
from typing import Any

from layersim.errors import SchedulerError

LOCAL = "local"
"""The `--scheduler` value that starts a `LocalCluster` for the command."""

CONNECT_TIMEOUT_SECONDS = 10.0
"""How long an address may take to answer before the command gives up (seconds)."""

INSTALL_HINT = "pip install 'layersim[dask]'"

# the schemes whose location is HOST:PORT (inproc:// is a test transport, not a user's)
_HOST_PORT_SCHEMES = ("tcp", "tls", "ws", "wss")


def load_distributed() -> ModuleType:
    """The `distributed` module, imported now. Raises `SchedulerError` naming the install
    command if Dask distributed is not installed."""
    try:
        import distributed
    except ImportError:
        raise SchedulerError(
            f"--scheduler needs Dask distributed, which is not installed: {INSTALL_HINT}"
        ) from None
    return distributed


def local_workers(requested: int | None = None) -> int:
    """Worker processes of a `local` cluster: `requested`, else one per CPU (each worker runs
    one task at a time, as a process pool's worker does)."""
    return requested if requested is not None else max(1, os.cpu_count() or 1)


def scheduler_address(scheduler: str) -> str:
    """`scheduler` as a full address (`host:port` gets `tcp://`). Raises `SchedulerError` if
    it is not a scheduler address (an unknown scheme, no port)."""
    from distributed.comm.addressing import normalize_address, parse_address, parse_host_port

    where = f"--scheduler {scheduler}"
    hint = f"give {LOCAL} or tcp://HOST:PORT"
    try:
        address = str(normalize_address(scheduler.strip()))
        scheme, location = parse_address(address)
        if scheme not in _HOST_PORT_SCHEMES:
            raise ValueError(f"scheme {scheme!r} is not one of {', '.join(_HOST_PORT_SCHEMES)}")
        host, _ = parse_host_port(location)
        if not host:
            raise ValueError("no host")
    except (ValueError, TypeError) as exc:
        raise SchedulerError(f"{where}: not a scheduler address ({exc}); {hint}") from None
    return address


async def _answer(distributed: ModuleType, address: str, timeout_seconds: float) -> None:
    import asyncio

    # the handshake too is bounded: a port that accepts but never speaks Dask must not hang
    comm = await asyncio.wait_for(
        distributed.comm.connect(address, timeout=timeout_seconds), timeout_seconds + 1.0
    )
    await comm.close()


def check_answers(address: str, timeout_seconds: float = CONNECT_TIMEOUT_SECONDS) -> None:
    """Raise `SchedulerError` unless a Dask scheduler answers at `address` within
    `timeout_seconds`. Checked with a bare connection before a `Client` is made: a client that
    failed to connect prints a traceback of its own when it is garbage-collected."""
    import asyncio

    distributed = load_distributed()
    try:
        asyncio.run(_answer(distributed, address, timeout_seconds))
    except (OSError, TimeoutError, ValueError) as exc:
        raise SchedulerError(
            f"--scheduler {address}: no Dask scheduler answered within {timeout_seconds:g} s "
            f"({exc})"
        ) from None


@contextmanager
def dask_client(
    scheduler: str,
    *,
    workers: int | None = None,
    timeout_seconds: float = CONNECT_TIMEOUT_SECONDS,
) -> Iterator[Any]:
    """A `distributed.Client` of `scheduler` (`LOCAL` or an address), closed on exit with the
    `LocalCluster` it started. `workers` sizes a local cluster (`local_workers`); a running
    cluster has the workers it has. Raises `SchedulerError` without Dask, for a malformed
    address, or if the scheduler does not answer within `timeout_seconds`."""
    distributed = load_distributed()
    if scheduler == LOCAL:
        cluster = distributed.LocalCluster(
            n_workers=local_workers(workers),
            threads_per_worker=1,
            processes=True,
            dashboard_address=None,  # no web server (and no port clash) unless asked for
            silence_logs=logging.ERROR,
        )
        with cluster, distributed.Client(cluster, set_as_default=False) as client:
            yield client
        return
    address = scheduler_address(scheduler)
    check_answers(address, timeout_seconds)
    try:
        client = distributed.Client(address, timeout=timeout_seconds, set_as_default=False)
    except (OSError, TimeoutError) as exc:  # it answered the check, then went away
        raise SchedulerError(f"--scheduler {address}: cannot connect ({exc})") from None
    with client:
        yield client
