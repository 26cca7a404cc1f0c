"""Partitioned runs on Dask (`layersim run --scheduler ... --partitions N`): a scenario's
replay with its overlay walk and stored-bytes sums split into N parts on a `LocalCluster`,
against the same replay in this process measured in the same session (the baseline), with the
peak memory of every worker and of this process.

Settings (environment), so that the lead can run it at hub scale where the machine allows
(never on a shared machine):
  LAYERSIM_BENCH_PARTITIONS_SCENARIO  the scenario (default `company`; `hub` for the issue's
                                      N = 1, 2, 4 measurements)
  LAYERSIM_BENCH_PARTITIONS           the partition counts (default `1,2,4`)
  LAYERSIM_BENCH_PARTITION_WORKERS    worker processes of the cluster (default 2)
  LAYERSIM_BENCH_WORKER_MEMORY        each worker's memory limit, a Dask size (default
                                      `auto`: the machine's memory split between them)

Each benchmark asserts that the partitioned figures equal the baseline's.
"""

from __future__ import annotations

import logging
import os
import resource
from typing import Any

import numpy as np
import pytest

from layersim.config import load_config
from layersim.fleet import generate
from layersim.simulation import simulate

distributed = pytest.importorskip("distributed")

from layersim.distributed.run import WalkOnCluster, partitioned_sums  # noqa: E402  (needs Dask)

SCENARIO = os.environ.get("LAYERSIM_BENCH_PARTITIONS_SCENARIO", "company")
PARTITIONS = [int(n) for n in os.environ.get("LAYERSIM_BENCH_PARTITIONS", "1,2,4").split(",")]
WORKERS = int(os.environ.get("LAYERSIM_BENCH_PARTITION_WORKERS", "2"))
WORKER_MEMORY = os.environ.get("LAYERSIM_BENCH_WORKER_MEMORY", "auto")


def _peak_rss_bytes() -> int:
    # Linux reports ru_maxrss in KiB
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss * 1024


@pytest.fixture(scope="module")
def fleet() -> Any:
    """The scenario's fleet, generated once, untimed."""
    config = load_config(scenario=SCENARIO)
    return generate(config, np.random.default_rng(config.seed))


@pytest.fixture(scope="module")
def baseline(fleet: Any) -> Any:
    """The replay in this process, untimed here (timed by `test_partitions_baseline`)."""
    return simulate(fleet)


@pytest.fixture(scope="module")
def client() -> Any:
    with (
        distributed.LocalCluster(
            n_workers=WORKERS,
            threads_per_worker=1,
            processes=True,
            memory_limit=WORKER_MEMORY,
            dashboard_address=None,
            silence_logs=logging.ERROR,
        ) as cluster,
        distributed.Client(cluster, set_as_default=False) as connected,
    ):
        yield connected


def test_partitions_baseline(timed, benchmark, fleet, baseline) -> None:
    """The replay of the scenario in one process: what the partitioned runs compare to."""
    result = timed(lambda: simulate(fleet))
    benchmark.extra_info.update(scenario=SCENARIO, driver_peak_bytes=_peak_rss_bytes())
    assert result.registry == baseline.registry and result.nodes == baseline.nodes


@pytest.mark.parametrize("partitions", PARTITIONS)
def test_partitioned_replay(timed, benchmark, fleet, baseline, client, partitions) -> None:
    """The replay with its overlay walk and stored-bytes sums in `partitions` parts on the
    cluster's workers (fresh worker processes, so their peak memory is this benchmark's; one untimed
    round first, as their start-up is not the partitions' cost); the same figures as the
    baseline."""
    client.restart()
    sum_held, walk_parts = partitioned_sums(client, partitions), WalkOnCluster(client, partitions)

    def run() -> Any:
        return simulate(fleet, sum_held=sum_held, walk_parts=walk_parts)

    run()  # untimed: fresh workers import layersim and load its kernels
    result = timed(run)
    peaks = client.run(_peak_rss_bytes)
    benchmark.extra_info.update(
        scenario=SCENARIO,
        partitions=partitions,
        workers=WORKERS,
        worker_peak_bytes=sorted(peaks.values()),
        driver_peak_bytes=_peak_rss_bytes(),
    )
    assert result.registry == baseline.registry
    assert result.nodes == baseline.nodes
    assert result.waste == baseline.waste
