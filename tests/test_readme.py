"""The README quotes committed results, never numbers of its own: its tables and figures are
checked here against the files in results/ they come from (regenerate with
`bash scripts/results.sh` and `bash scripts/bench.sh`, then copy what changed)."""

from __future__ import annotations

import json
import re
from pathlib import Path

from layersim.config import estimated_memory_bytes, load_config

ROOT = Path(__file__).resolve().parents[1]
README = (ROOT / "README.md").read_text()
RESULTS = ROOT / "results"


def _section(text: str, heading: str) -> str:
    """The text under a `## heading`, up to the next `## `."""
    start = text.index(f"## {heading}\n")
    end = text.find("\n## ", start + 1)
    return text[start : end if end >= 0 else len(text)]


def _table_rows(text: str, header_prefix: str) -> list[list[str]]:
    """The body rows of the first Markdown table whose header row starts with `header_prefix`,
    as lists of stripped cells."""
    lines = text.splitlines()
    start = next(i for i, line in enumerate(lines) if line.startswith(header_prefix))
    rows = []
    for line in lines[start + 2 :]:
        if not line.startswith("|"):
            break
        rows.append([cell.strip() for cell in line.strip().strip("|").split("|")])
    return rows


def test_headline_table_is_the_company_reports() -> None:
    """Every row of the README's headline table carries the flattened, layer and file figures
    and the two savings of the same row of results/company/report.md, as formatted there."""
    readme = _table_rows(_section(README, "What the numbers say"), "| figure | unit | flattened")
    report = _table_rows(
        (RESULTS / "company" / "report.md").read_text(), "| figure | unit | logical"
    )
    by_figure = {row[0].split(",")[0]: row for row in report}
    assert len(readme) >= 5
    for row in readme:
        figure, _, flattened, layer, file, layer_saving, file_saving = row
        source = by_figure[figure.split(",")[0]]
        # report columns: figure, unit, logical, flattened, layer, file, layer vs flattened,
        # file vs flattened, file vs layer
        assert [flattened, layer, file] == source[3:6], figure
        assert layer_saving == source[6], figure
        assert file_saving == source[8], figure


def test_hub_figures_are_the_hub_reports() -> None:
    """The hub paragraph's counts and stored bytes appear as such in results/hub/report.md."""
    paragraph = _section(README, "What the numbers say").split("At Docker Hub scale")[1]
    paragraph = paragraph.split("\n\n")[0]
    report = (RESULTS / "hub" / "report.md").read_text()
    quoted = re.findall(
        r"\d[\d,]*(?:\.\d+)? (?:TB|GB)|\d+\.\d%|\d{1,3}(?:,\d{3})+ images", paragraph
    )
    assert len(quoted) >= 4, paragraph
    for figure in quoted:
        assert figure in report, figure


def test_performance_table_is_bench_md() -> None:
    """Every target of the README's performance table is a target of results/bench.md, with
    the measured figure quoted from the start of bench.md's cell and the same goal."""
    readme = _table_rows(_section(README, "Performance"), "| target | measured | goal")
    bench = _table_rows((RESULTS / "bench.md").read_text(), "| target | measured | goal")
    by_target = {row[0]: row for row in bench}
    assert len(readme) >= 5
    for target, measured, goal in readme:
        assert target in by_target, target
        assert by_target[target][1].startswith(measured), target
        assert by_target[target][2] == goal, target


def test_lazy_figures_are_the_company_reports() -> None:
    """The lazy-pulling bullet quotes the company report's lazy paragraph: every byte count,
    time, request count and share in it appears there as written."""
    bullet = _section(README, "What the numbers say").split("- **Lazy pulling**")[1]
    bullet = bullet.split("\n- ")[0]
    report = (RESULTS / "company" / "report.md").read_text()
    quoted = re.findall(r"\d[\d,]*\.\d+ (?:GB|s)|\d{1,3}(?:,\d{3})+(?= )|\d+\.\d%", bullet)
    assert len(quoted) >= 6, bullet
    for figure in quoted:
        assert figure in report, figure


RUN_MD = (ROOT / "docs" / "run.md").read_text()


def _timings_seconds(scenario: str) -> float:
    """Generate + simulate + report wall time of the committed run of `scenario`."""
    timings = json.loads((RESULTS / scenario / "timings.json").read_text())
    return sum(timings[k] for k in ("generate_seconds", "simulate_seconds", "report_seconds"))


def test_run_md_times_are_the_committed_timings() -> None:
    """docs/run.md's "about N s" for company and small is the committed timings.json total
    rounded to whole seconds; its hub time and peak are results/bench.md's hub target, rounded
    (24 s for 23.93 s, 6.7 GiB)."""
    company = re.search(r"company: about (\d+) s on 2 cores", RUN_MD)
    small = re.search(r"20 apps on 4 nodes, about (\d+) s", RUN_MD)
    assert company and small
    assert int(company.group(1)) == round(_timings_seconds("company"))
    assert int(small.group(1)) == round(_timings_seconds("small"))
    bench = _table_rows((RESULTS / "bench.md").read_text(), "| target | measured | goal")
    hub = next(row for row in bench if row[0].startswith("`hub` end to end"))
    seconds, peak = re.match(r"([\d.]+) s, peak ([\d.]+ GiB)", hub[1]).groups()
    quoted = re.search(r"about (\d+) s to generate and simulate, peak ([\d.]+ GiB)", RUN_MD)
    assert quoted and quoted.groups() == (str(round(float(seconds))), peak)
    assert f"(it peaks at {peak}, results/bench.md)" in RUN_MD


def test_run_md_memory_estimates_are_the_estimator_s() -> None:
    """The memory estimates docs/run.md quotes for hub and company are
    `config.estimated_memory_bytes` of those scenarios, in GiB to one decimal."""
    for scenario, pattern in (
        ("hub", r"`hub` is\s+estimated at ([\d.]+) GiB"),
        ("company", r"A run of `company` is estimated at ([\d.]+) GiB"),
    ):
        quoted = re.search(pattern, RUN_MD)
        assert quoted, scenario
        estimate = estimated_memory_bytes(load_config(scenario=scenario)) / 2**30
        assert quoted.group(1) == f"{estimate:.1f}", scenario


def test_readme_hub_time_is_the_hub_runs() -> None:
    """The hub paragraph's generate, simulate and report time is that of the committed hub run
    (results/hub/timings.json, rounded to the second)."""
    paragraph = _section(README, "What the numbers say").split("At Docker Hub scale")[1]
    quoted = re.search(r"(\d+) s to generate, simulate and report", paragraph)
    assert quoted and int(quoted.group(1)) == round(_timings_seconds("hub"))
