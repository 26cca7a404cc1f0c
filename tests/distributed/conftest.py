"""A Dask cluster shared by the distributed tests: two worker processes (not threads), one
task at a time each, as a CI machine can afford; started once for the session."""

from __future__ import annotations

import logging

import pytest

distributed = pytest.importorskip("distributed")

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


@pytest.fixture(scope="session")
def cluster():
    """A 2-worker `LocalCluster` of processes, closed after the session."""
    with distributed.LocalCluster(
        n_workers=2,
        threads_per_worker=1,
        processes=True,
        dashboard_address=None,
        silence_logs=logging.ERROR,
    ) as started:
        yield started


@pytest.fixture
def client(cluster):
    """A client of the shared cluster, closed after the test."""
    with distributed.Client(cluster, set_as_default=False) as connected:
        yield connected
