"""How the Docker-Hub-wide anchor statistics depend on the registry's size (docs/anchors.md,
"Registries of Docker Hub's scale"): generate a scenario's fleet (seed from its config), take
the latest tag of each repository its registry holds at the end, and compute Zhao's distinct
file share and single-image layer share and DupHunter's layer / file ratio on random subsets
of those repositories (mean, min and max of 5 draws per size; all of them once).

    PYTHONPATH=simsrc python scripts/anchor_scale.py hub      # about 35 s here, no replay
    PYTHONPATH=simsrc python scripts/anchor_scale.py company

Only the fleet is generated (no replay): the statistics need the final registry, not the
epochs; they are the functions of `layersim.simulation.statistics` the anchors use."""

from __future__ import annotations

import dataclasses
import sys

import numpy as np

from layersim.accounting.arrays import canonical
from layersim.accounting.images import image_table
from layersim.config import load_config
from layersim.fleet.generate import generate
from layersim.simulation import statistics
from layersim.simulation.results import LazyEpoch, NodeEpoch
from layersim.simulation.state import held_by_registry

SIZES = (30, 100, 300, 1000, 3000, 10000, 30000)
DRAWS = 5


def _zero(cls):
    return cls(**{f.name: 0 for f in dataclasses.fields(cls)})


def main(scenario: str) -> None:
    config = load_config(scenario=scenario)
    fleet = generate(config, np.random.default_rng(config.seed))
    state = statistics.FinalState(
        arrays=fleet.arrays,
        images=image_table(canonical(fleet.arrays)),
        held=held_by_registry(fleet, fleet.epochs - 1),
        image_kind=fleet.image_kind,
        image_repository=statistics.repositories(fleet.image_kind, fleet.image_owner),
        image_version=fleet.image_version,
        nodes=_zero(NodeEpoch),
        cold_start_pull_share=0.0,
        lazy_cold_start_pull_share=0.0,
        first_lazy=_zero(LazyEpoch),
    )
    latest = statistics.latest_tags(state)
    n = latest.size
    print("repositories,draws,distinct_share,single_image_layer_share,registry_layer_per_file")
    for size in [s for s in SIZES if s < n] + [n]:
        rows = []
        for draw in range(DRAWS if size < n else 1):
            pick = np.random.default_rng(1000 + draw).choice(n, size=size, replace=False)
            images = latest[np.sort(pick)]
            rows.append(
                (
                    statistics.distinct_content_share(state, images),
                    statistics.single_image_layer_share(state, images),
                    statistics.registry_file_dedup_ratio(state, images),
                )
            )
        mean = np.mean(rows, axis=0)
        print(f"{size},{len(rows)},{mean[0]:.4f},{mean[1]:.4f},{mean[2]:.3f}")


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else "company")
