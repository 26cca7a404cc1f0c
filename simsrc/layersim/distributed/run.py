"""One run on a Dask cluster with its overlay walk and its stored-bytes sums split into
partitions (`layersim run --scheduler ... --partitions N`).

What is partitioned: the overlay resolution (the chain trie's walk, `accounting.images`), cut
into N stretches of the trie's preorder (whole image subtrees but at the cuts) with about equal
entries, each a task holding only the layers and entries it reads; and the sums over keys of
the registry's and the measured nodes' stored-bytes timelines (`accounting.held`: images,
exports, layer blobs or ChainIDs, file contents), split into N parts by a hash of the key, one
task per part holding only its keys' items, the parts' bytes added up here. Every figure is
computed per trie node or summed as integers over disjoint keys, so the figures are those of a
single-process run whatever N and the cluster. What is not: the fleet's generation and the
rest of the replay (the layers' scan, pushes, pulls, lazy fetches, the end-of-run statistics)
run in this process, which therefore still holds the whole population (docs/run.md, Running on
a cluster).

Each part travels in its task (not scattered to one worker), so a worker lost mid-run has its
parts computed again elsewhere from the scheduler's copy; a part keeps killing its worker:
`RunError`.
"""

from __future__ import annotations

import uuid
import warnings
from dataclasses import dataclass
from typing import Any

import numpy as np
import numpy.typing as npt

from layersim.accounting.held import HeldBytes, SumHeld, TimelineSums, add_held, key_part, sum_here
from layersim.accounting.images import OverlayPart, walk_part
from layersim.config import ExperimentConfig
from layersim.distributed.cluster import load_distributed
from layersim.errors import ConfigError, RunError
from layersim.experiment.run import RunOutcome, run_experiment
from layersim.progress import Progress

MAX_PARTITIONS = 4096


def check_partitions(partitions: int) -> int:
    """`partitions` if it is a usable number of parts; else `ConfigError` naming the option."""
    if not 1 <= partitions <= MAX_PARTITIONS:
        raise ConfigError(f"--partitions: must be 1 to {MAX_PARTITIONS}, got {partitions}")
    return partitions


def partitioned_sums(client: Any, partitions: int, part_sum: SumHeld = sum_here) -> SumHeld:
    """A `SumHeld` that computes each timeline's sums as `partitions` key parts on the cluster
    of `client`, each part by `part_sum` on a worker (it must pickle), and adds them up."""
    distributed = load_distributed()
    check_partitions(partitions)

    def sum_held(sums: TimelineSums) -> HeldBytes:
        batch = uuid.uuid4().hex[:12]
        futures = []
        try:
            with warnings.catch_warnings():
                # a part is big by design: it is the data of the task
                warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
                warnings.filterwarnings("ignore", message=".*[Ll]arge object.*")
                for part in range(partitions):
                    futures.append(
                        client.submit(
                            part_sum,
                            key_part(sums, part, partitions),
                            key=f"layersim-held-{batch}-{part}",
                        )
                    )
            parts = client.gather(futures)
        except distributed.KilledWorker as exc:
            raise RunError(
                f"a partition killed every worker it ran on (out of memory?): {exc}"
            ) from None
        finally:
            client.cancel([f for f in futures if not f.done()])
        return add_held(parts)

    return sum_held


@dataclass(frozen=True, eq=False)
class WalkOnCluster:
    """The overlay walk cut into `parts` parts (`images.overlay_parts`: stretches of the chain
    trie's preorder, each with only the layers and entries it reads), each walked by a task on
    the cluster of `client` (`images.walk_part`)."""

    client: Any
    parts: int

    def __call__(self, parts: list[OverlayPart]) -> list[npt.NDArray[np.int64]]:
        distributed = load_distributed()
        batch = uuid.uuid4().hex[:12]
        futures = []
        try:
            with warnings.catch_warnings():
                warnings.filterwarnings("ignore", message=".*[Ll]arge graph.*")
                warnings.filterwarnings("ignore", message=".*[Ll]arge object.*")
                for k, part in enumerate(parts):
                    futures.append(
                        self.client.submit(walk_part, part, key=f"layersim-walk-{batch}-{k}")
                    )
            figures: list[npt.NDArray[np.int64]] = self.client.gather(futures)
        except distributed.KilledWorker as exc:
            raise RunError(
                f"an overlay part killed every worker it ran on (out of memory?): {exc}"
            ) from None
        finally:
            self.client.cancel([f for f in futures if not f.done()])
        return figures


def run_partitioned(
    client: Any,
    config: ExperimentConfig,
    partitions: int,
    progress: Progress | None = None,
    advise: bool = False,
) -> RunOutcome:
    """`experiment.run_experiment(config, advise=advise)` with the overlay walk and the
    stored-bytes sums computed as `partitions` parts each on the cluster of `client`: the same
    result (the advice is computed on this process)."""
    check_partitions(partitions)
    return run_experiment(
        config,
        progress,
        partitioned_sums(client, partitions),
        WalkOnCluster(client, partitions),
        advise,
    )
