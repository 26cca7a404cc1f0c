"""Result folders and JSON documents: the one place a report becomes bytes.

- `json_text` is the one way a JSON document is serialized (the documents of `evaluate` and
  `analyze`, summary.json, sweep.json, timings.json), so every output is byte-stable;
  `stable_floats` rounds a document's floats first, so the last bits of a float sum never
  reach a file.
- `write_run(result, folder, timings)` and `write_sweep(result, folder, timings)` write the
  folder of `layersim run` and of `layersim sweep` (the CLI hands them the temporary folder of
  `atomic.atomic_directory`, so the results appear whole or not at all), from the documents
  that `report.run_tables`, `report.run`, `report.plots` and `report.sweep` build: CSV tables,
  PNG plots, the JSON document, report.md, and timings.json last.

What the documents say is the per-report modules'; this module only serializes and writes.
Wall times go to timings.json only, so every other file is byte-identical for the same config
and seed.
"""

from __future__ import annotations

import json
import time
from collections.abc import Mapping
from pathlib import Path
from typing import Any

from layersim.advice.fleet import FleetAdvice
from layersim.experiment.sweep import SweepResult
from layersim.report.advice import fleet_advice_table
from layersim.report.run import REPORT, SUMMARY, TIMINGS, report_markdown, summary_document
from layersim.report.run_tables import run_tables
from layersim.report.sweep import (
    SWEEP_JSON,
    SWEEP_PNG,
    runs_table,
    sweep_document,
    sweep_markdown,
    sweep_png,
    sweep_table,
)
from layersim.simulation import SimulationResult

FLOAT_DIGITS = 9  # floats in summary.json and sweep.json are rounded to this many decimals


def json_text(doc: Mapping[str, Any]) -> str:
    """A report document as JSON text: 2-space indent, keys in the document's own (stable)
    order, UTF-8 names kept readable, a final newline. NaN or infinity is a bug and raises."""
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"


def stable_floats(value: Any, digits: int = FLOAT_DIGITS) -> Any:
    """`value` with every float rounded to `digits` decimals (recursively), so that the last
    bits of a float sum never reach the JSON."""
    if isinstance(value, float):
        return round(value, digits)
    if isinstance(value, Mapping):
        return {k: stable_floats(v, digits) for k, v in value.items()}
    if isinstance(value, list | tuple):
        return [stable_floats(v, digits) for v in value]
    return value


def _write_folder(
    folder: Path,
    files: Mapping[str, bytes],
    timings: Mapping[str, float] | None,
    started: float,
    more_timings: Mapping[str, Any] | None = None,
) -> list[str]:
    """Write `files` into `folder` in order, then timings.json: `{stage}_seconds` of every
    stage the caller timed, `report_seconds` since `started` (the report, its files written),
    and `more_timings`. Returns the names written, timings.json last."""
    for name, data in files.items():
        (folder / name).write_bytes(data)
    stages: dict[str, Any] = {f"{k}_seconds": round(v, 3) for k, v in (timings or {}).items()}
    stages["report_seconds"] = round(time.perf_counter() - started, 3)
    stages.update(more_timings or {})
    (folder / TIMINGS).write_bytes(json_text(stages).encode())
    return [*files, TIMINGS]


def write_run(
    result: SimulationResult,
    folder: Path,
    timings: Mapping[str, float] | None = None,
    advice: FleetAdvice | None = None,
) -> list[str]:
    """Write every output of a run into `folder` (an empty, usually temporary, folder): the
    CSV tables (with `advice`, advice.csv last), the PNG plots, summary.json, report.md, and
    timings.json (`timings` plus the time this report took). Returns the file names written,
    timings.json last."""
    # matplotlib is imported here, not at module level: it costs a second that a command which
    # draws nothing (`--version`, a config error) should not pay
    from layersim.report.plots import run_plots

    started = time.perf_counter()
    tables = run_tables(result)
    if advice is not None:
        tables.append(fleet_advice_table(advice))
    plots = run_plots(result)
    summary = stable_floats(summary_document(result, tables, list(plots)))
    files = {
        **{table.filename: table.to_csv().encode() for table in tables},
        **plots,
        SUMMARY: json_text(summary).encode(),
        REPORT: report_markdown(summary, tables, list(plots)).encode(),
    }
    return _write_folder(folder, files, timings, started)


def write_sweep(
    result: SweepResult, folder: Path, timings: Mapping[str, float] | None = None
) -> list[str]:
    """Write every output of a sweep into `folder`: sweep.csv, sweep_runs.csv, sweep.png,
    sweep.json, report.md, and timings.json (`timings`, the time this report took and each
    run's wall time). Returns the file names written, timings.json last."""
    started = time.perf_counter()
    tables = [sweep_table(result), runs_table(result)]
    files = {
        **{table.filename: table.to_csv().encode() for table in tables},
        SWEEP_PNG: sweep_png(result),
        SWEEP_JSON: json_text(stable_floats(sweep_document(result, tables))).encode(),
        REPORT: sweep_markdown(result).encode(),
    }
    runs = [{"point": r.point, "seed": r.seed, "seconds": round(r.seconds, 3)} for r in result.runs]
    return _write_folder(folder, files, timings, started, {"runs": runs})
