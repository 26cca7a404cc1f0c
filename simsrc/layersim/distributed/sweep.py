"""A sweep on a Dask cluster: the point x seed runs of `experiment.sweep` as Dask futures.

The tasks, the function a worker runs and the collection are `experiment.sweep`'s
(`sweep_tasks`, `run_one`, `collect_runs`), so a sweep's figures are those of `--jobs 1`
whatever the cluster: each run is keyed by its number in the plan and the runs are put back
in the plan's order, not the order they finished in.

A worker lost mid-sweep (killed, out of memory, its machine gone): the scheduler runs its
unfinished tasks again elsewhere; a future has one result, so a run is never counted twice,
and `collect_runs` refuses a result with a run missing. A run that kills its worker again and
again (Dask's `allowed-failures`, 3 by default) fails the sweep with `RunError`. On any exit,
Ctrl-C included, the futures not yet done are cancelled.
"""

from __future__ import annotations

import uuid
from collections.abc import Sequence
from typing import Any

from layersim.distributed.cluster import load_distributed
from layersim.errors import RunError
from layersim.experiment.sweep import (
    SWEEP_STAGE,
    RunOutcome,
    SweepPlan,
    SweepResult,
    collect_runs,
    run_one,
    sweep_tasks,
)
from layersim.progress import Progress
from layersim.simulation.metrics import STANDARD_METRICS, Metric


def run_sweep_on(
    client: Any,
    plan: SweepPlan,
    progress: Progress | None = None,
    metrics: Sequence[Metric] = STANDARD_METRICS,
) -> SweepResult:
    """Run every point x seed of `plan` on the cluster of the Dask `client` and record
    `metrics` of each run (their functions are sent to the workers). Progress is reported as
    runs complete. Raises `RunError` if a run keeps killing its worker; a run's own error
    (a `LayersimError` raised on a worker) is raised here."""
    distributed = load_distributed()
    report = progress or (lambda stage, fraction: None)
    recorded = tuple(metrics)
    tasks = sweep_tasks(plan)
    # explicit keys: two runs with equal configs are still two runs, and two sweeps sharing a
    # cluster never share results
    sweep_id = uuid.uuid4().hex[:12]
    futures = {
        client.submit(run_one, task.config, recorded, key=f"layersim-sweep-{sweep_id}-{task.k}"): (
            task.k
        )
        for task in tasks
    }
    outcomes: dict[int, RunOutcome] = {}
    report(SWEEP_STAGE, 0.0)
    try:
        for future in distributed.as_completed(futures, loop=client.loop):
            outcomes[futures[future]] = future.result()
            report(SWEEP_STAGE, len(outcomes) / len(tasks))
    except distributed.KilledWorker as exc:
        raise RunError(
            f"a sweep run killed every worker it ran on (out of memory?): {exc}"
        ) from None
    finally:
        client.cancel([f for f in futures if not f.done()])
    return collect_runs(plan, recorded, outcomes)
