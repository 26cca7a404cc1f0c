"""Tests of `layersim.report.documents`: a run's and a sweep's folder are byte-identical for the
same figures, with wall times in timings.json only; JSON documents are serialized one stable
way, their floats rounded."""

from __future__ import annotations

import json

import pytest

from layersim.accounting.assemble import evaluate
from layersim.advice.fleet import fleet_advice
from layersim.report import metrics_to_json
from layersim.report.documents import json_text, stable_floats, write_run, write_sweep
from layersim.report.run import SUMMARY, TIMINGS
from layersim.report.sweep import SWEEP_JSON
from layersim.simulation.state import state_arrays
from tests.report.test_evaluation import population
from tests.report.test_sweep import fake_sweep
from tests.report.tiny import tiny_run


def test_same_seed_gives_identical_files(folder, tmp_path):
    """A second run of the same config and seed writes byte-identical tables (advice.csv
    too), summary.json, report.md and plots; only timings.json may differ."""
    fleet, result = tiny_run()
    advice = fleet_advice(state_arrays(fleet, fleet.epochs - 1))
    names = write_run(result, tmp_path, {"generate": 9.0}, advice)
    assert "advice.csv" in names
    assert names[-1] == TIMINGS
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(names)
    for name in names:
        if name == TIMINGS:
            continue
        assert (tmp_path / name).read_bytes() == (folder / name).read_bytes(), name


def test_run_folder_file_order(folder, tiny, tmp_path):
    """write_run writes the tables, then the plots, summary.json, report.md, timings.json."""
    names = write_run(tiny[1], tmp_path)
    assert names[0] == "headline.csv"
    assert names[-3:] == [SUMMARY, "report.md", TIMINGS]
    assert [n for n in names if n.endswith(".png")] == [
        "storage.png",
        "transfer.png",
        "sharing.png",
        "pull_time.png",
        "lazy.png",
        "containers.png",
    ]
    assert json.loads((tmp_path / TIMINGS).read_text()).keys() == {"report_seconds"}


def test_timings_apart_from_figures(folder):
    """Wall times are in timings.json only, never in summary.json."""
    timings = json.loads((folder / TIMINGS).read_text())
    assert set(timings) == {"generate_seconds", "simulate_seconds", "report_seconds"}
    assert "seconds" not in json.dumps(json.loads((folder / SUMMARY).read_text())["counts"])
    assert "timings" not in (folder / SUMMARY).read_text()


def test_sweep_folder(tmp_path):
    """write_sweep writes sweep.csv, sweep_runs.csv, sweep.png, sweep.json, report.md and
    timings.json (last, with each run's seconds); writing the same result twice gives the
    same bytes but for timings.json; sweep.json's floats are rounded to 9 decimals."""
    result = fake_sweep()
    first, second = tmp_path / "a", tmp_path / "b"
    first.mkdir()
    second.mkdir()
    names = write_sweep(result, first)
    assert names == [
        "sweep.csv",
        "sweep_runs.csv",
        "sweep.png",
        SWEEP_JSON,
        "report.md",
        TIMINGS,
    ]
    write_sweep(result, second, {"sweep": 2.0})
    for name in names[:-1]:
        assert (first / name).read_bytes() == (second / name).read_bytes(), name
    timings = json.loads((second / TIMINGS).read_text())
    assert list(timings) == ["sweep_seconds", "report_seconds", "runs"]
    assert timings["runs"][0] == {"point": 0, "seed": 1, "seconds": 1.235}
    doc = json.loads((first / SWEEP_JSON).read_text())
    assert doc["points"][0]["runs"][0]["figures"]["pull_layer_saving_vs_flattened"] == (0.333333333)


def test_stable_floats():
    """Every float of a document, however deep, is rounded to 9 decimals; tuples become
    lists; other values are kept."""
    assert stable_floats({"a": [0.1 + 0.2]}) == {"a": [0.3]}
    assert stable_floats({"a": (1 / 3, "x", 7, True, None)}) == {
        "a": [0.333333333, "x", 7, True, None]
    }
    assert stable_floats(2 / 3, digits=2) == 0.67


def test_json_text_is_deterministic_and_readable() -> None:
    """json_text serializes with indent 2, keys in document order, UTF-8 names kept, a final
    newline; the same evaluation twice gives the same bytes."""
    pop = population()
    first = json_text(metrics_to_json(pop, evaluate(pop), source="café.toml"))
    second = json_text(metrics_to_json(pop, evaluate(pop), source="café.toml"))
    assert first == second
    assert first.endswith("}\n")
    assert '"source": "café.toml"' in first
    assert first.startswith('{\n  "layersim_version": ')
    assert json.loads(first)["nodes"]["n1"]["stored_bytes"]["layer"] == 8192


def test_json_text_refuses_nan() -> None:
    """A NaN in a document is a bug, never written as invalid JSON."""
    with pytest.raises(ValueError):
        json_text({"x": float("nan")})
