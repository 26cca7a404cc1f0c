"""The verdicts of the anchors on the `small` and `company` scenarios, pinned: each scenario is
generated and simulated as `layersim run` does (its seed), and every anchor row's verdict must
be the one pinned here, row for row. A model change that moves a statistic across a bound, or
a row added, removed or reordered, fails this test: update the pin in the same change and say
why (docs/anchors.md lists the verdicts of the committed results)."""

from __future__ import annotations

import pytest

from tests.simulation.runs import run

IN, OUT, NA = "within", "outside", "n/a"
LATEST, ALL, OFFICIAL = (
    "the latest tag of each repository",
    "every tag",
    "the latest tag of each base",
)
FLX42, FLEET, COLD = "one node holding every kept tag", "every node at the end", "cold pulls"

# (figure, start of the population, verdict), in report order, shared by both scenarios
COMMON = [
    ("layers referenced by a single image (share)", LATEST, IN),
    ("layers referenced by a single image (share)", ALL, NA),
    ("distinct file contents per file entry of the distinct layers (share)", LATEST, OUT),
    ("distinct file contents per file entry of the distinct layers (share)", ALL, NA),
    ("registry: file-level dedup over layer-level storage (layer / file, compressed)", LATEST, IN),
    ("registry: file-level dedup over layer-level storage (layer / file, compressed)", ALL, NA),
    ("compression ratio of the distinct layers (tar / compressed bytes)", OFFICIAL, IN),
    ("compression ratio of the distinct layers (tar / compressed bytes)", ALL, NA),
    ("nodes: file-level dedup over overlay2 layers (layer / file, disk bytes)", FLX42, OUT),
    ("nodes: file-level dedup over overlay2 layers (layer / file, disk bytes)", FLEET, NA),
    ("cold start: share of start-up spent pulling", COLD, IN),
    ("cold start, lazy pull: share of start-up spent fetching (mean over cold pulls)", COLD, NA),
    (
        "first rollout, cold lazy pulls: bytes fetched before start / full pull bytes (share)",
        "every pull of epoch 0",
        NA,
    ),
]


def _base(name: str) -> list[tuple[str, str, str]]:
    image = f"{name}-like base, version 0"
    return [(f"{image}: compressed MB", image, IN), (f"{image}: tar MB (on disk)", image, IN)]


def _runtime(name: str, verdict: str) -> tuple[str, str, str]:
    return (f"{name}-like runtime, version 0: compressed MB", f"{name}-like runtime", verdict)


VERSIONS = "versions of one base: file-level saving over layers (share, disk bytes)"
PINNED = {
    "small": [
        *COMMON,
        *_base("alpine"),
        *_base("debian"),
        _runtime("python", IN),
        (VERSIONS, "the first 4 alpine-like base versions", NA),
    ],
    "company": [
        *COMMON,
        *_base("alpine"),
        *_base("debian"),
        *_base("ubuntu"),
        _runtime("python", IN),
        _runtime("node", IN),
        _runtime("jvm", NA),
        (VERSIONS, "the first 10 ubuntu-like base versions", IN),
    ],
}


@pytest.mark.parametrize("scenario", sorted(PINNED))
def test_verdicts_are_pinned(scenario):
    """Every anchor row of the scenario's run has the pinned figure, population and verdict,
    in report order."""
    _, result = run(scenario=scenario)
    produced = [(row.figure, row.population, row.verdict) for row in result.anchors]
    assert len(produced) == len(PINNED[scenario])
    for (figure, population, verdict), pin in zip(produced, PINNED[scenario], strict=True):
        assert (figure, population.startswith(pin[1]), verdict) == (pin[0], True, pin[2])
