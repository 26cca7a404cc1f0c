"""Reports: figures of the core turned into tables, plots, JSON documents and report.md.

This layer may import rich and matplotlib; the core (model, accounting, simulation, ...) never
does. It formats figures that the core defines (`layersim.accounting.metrics`,
`layersim.accounting.analysis`, the simulation's results) and computes none.

- `tables`: `Column` and `Table`, each column declared once with the function that reads its
  cell; the one place cells are formatted (CSV, Markdown, the console).
- `evaluation`: the report of `layersim evaluate` (`metrics_to_json`, `render_evaluation`).
- `analysis`: the report of `layersim analyze` (the evaluate document plus `analysis`).
- `calibration`: what `layersim calibrate` prints (the file is `calibrate.Calibration`'s).
- `run_tables`, `run`: the tables of `layersim run`; its summary.json, report.md and headline.
- `sweep`: the tables, sweep.json and report.md of `layersim sweep`.
- `plots`: the PNG plots of a run and of a sweep.
- `documents`: the one place documents become bytes: `json_text`, and the folders of a run
  (`write_run`) and of a sweep (`write_sweep`).
"""

from __future__ import annotations

from layersim.report.documents import json_text
from layersim.report.evaluation import evaluation_tables, metrics_to_json, render_evaluation

__all__ = ["evaluation_tables", "json_text", "metrics_to_json", "render_evaluation"]
