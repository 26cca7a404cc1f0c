"""The verdicts of the anchors on the `small` and `company` scenarios, pinned: each scenario is
generated and simulated as `layersim run` does (its seed), and every anchor row's verdict must
be the one pinned here, row for row. A model change that moves a statistic across a bound, or
a row added, removed or reordered, fails this test: update the pin in the same change and say
why (docs/anchors.md lists the verdicts of the committed results)."""

from __future__ import annotations

import re
from pathlib import Path

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
# The Zhao and DupHunter latest-tag rows need a registry of Docker Hub's scale (at least
# 35,000 repositories; `statistics.HUB_SCALE_REPOSITORIES`): n/a on small's 23 and company's
# 306 repositories
COMMON = [
    ("layers referenced by a single image (share)", LATEST, NA),
    ("layers referenced by a single image (share)", ALL, NA),
    ("distinct file contents per file entry of the distinct layers (share)", LATEST, NA),
    ("distinct file contents per file entry of the distinct layers (share)", ALL, NA),
    ("registry: file-level dedup over layer-level storage (layer / file, compressed)", LATEST, NA),
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


def _with(rows: list[tuple[str, str, str]], changed: dict[int, str]) -> list[tuple[str, str, str]]:
    """`rows` with the verdicts of the rows at the given indices replaced."""
    return [(f, p, changed.get(i, v)) for i, (f, p, v) in enumerate(rows)]


VERSIONS = "versions of one base: file-level saving over layers (share, disk bytes)"
DICTIONARY = (
    "chunk dictionary from the first 3 versions: share of the others saved "
    "(fixed-size chunks, compressed bytes)"
)
CHUNK_VERSIONS = [
    "versions of one base: layers' compressed bytes over their tars (share)",
    "versions of one base: content-defined chunk store saving over the tars (disk bytes)",
    "versions of one base: content-defined chunk store saving over the tars (disk bytes)",
    "versions of one base: compressed content-defined chunks' saving over the tars",
    "content-defined over fixed-size chunks: extra redundancy found (share, file bytes)",
]
PINNED = {
    # small (issue 12's model): a flx42-like node of it dedups 2.64x (within); its cold
    # pulls, of images built at half the file scale, spend 46% of start-up pulling (the
    # start-up time is fitted on company's cold pulls)
    "small": [
        *_with(COMMON, {8: IN, 10: OUT}),
        *_base("alpine"),
        *_base("debian"),
        _runtime("python", IN),
        (VERSIONS, "the first 5 alpine-like base versions", NA),
        (DICTIONARY, "the first 5 alpine-like base versions", NA),
        *((f, "the first 5 alpine-like base versions", NA) for f in CHUNK_VERSIONS),
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
        (DICTIONARY, "the first 10 ubuntu-like base versions", OUT),
        (DICTIONARY, "the first 10 alpine-like base versions", OUT),
        *(
            (f, "the first 10 ubuntu-like base versions", v)
            for f, v in zip(CHUNK_VERSIONS, (IN, IN, IN, IN, OUT), strict=True)
        ),
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


def _docs_rows() -> list[tuple[str, str, str, str]]:
    """(figure, population, small verdict, company verdict) of docs/anchors.md's comparison
    table, "the same" replaced by the figure above, verdicts without bold or a parenthesis."""
    text = (Path(__file__).resolve().parents[2] / "docs" / "anchors.md").read_text()
    lines = text.split("## How layersim compares: anchors.csv")[1].splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith("| figure | population"))
    rows, figure = [], ""
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        cells = [c.strip() for c in line.strip().strip("|").split("|")]
        figure = figure if cells[0] == "the same" else cells[0]

        def verdict(cell: str) -> str:
            return re.sub(r"\s*\(.*\)", "", cell).replace("**", "")

        rows.append((figure, cells[1], verdict(cells[4]), verdict(cells[5])))
    return rows


def _same_start(pinned: str, quoted: str) -> bool:
    """Whether two population names agree as far as the shorter goes ("the " aside)."""
    a, b = pinned.removeprefix("the "), quoted.removeprefix("the ")
    return a.startswith(b) or b.startswith(a)


def test_docs_table_quotes_the_pinned_verdicts():
    """Every row of docs/anchors.md's comparison table that names one anchor row (its figure,
    and its population's start where the figure has several rows) quotes the pinned verdicts
    of small and company; the 13 common rows and the jvm and versions rows are checked."""
    checked = 0
    for figure, population, small, company in _docs_rows():
        for scenario, quoted in (("small", small), ("company", company)):
            rows = [pin for pin in PINNED[scenario] if pin[0] == figure]
            if len(rows) > 1:
                rows = [pin for pin in rows if _same_start(pin[1], population)]
            if len(rows) == 1:
                assert quoted == rows[0][2], (scenario, figure, population)
                checked += 1
    assert checked >= 29
