"""Reports: figures of the core turned into JSON documents and rich tables.

This layer may import rich; the core (model, engine, metrics, ...) never does. It rearranges
figures that `layersim.accounting.metrics` defines and computes no size of its own.

- `evaluation`: the report of `layersim evaluate` (`metrics_to_json`, `render_evaluation`).
- `analysis`: the report of `layersim analyze` (the evaluate document plus `analysis`).
- `calibration`: what `layersim calibrate` prints (the file is `calibrate.Calibration`'s).
- `json_text`: the one way a report document is serialized, so every output is byte-stable.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from layersim.report.evaluation import evaluation_tables, metrics_to_json, render_evaluation


def json_text(doc: Mapping[str, Any]) -> str:
    """A report document as JSON text: 2-space indent, keys in the document's own (stable)
    order, UTF-8 names kept readable, a final newline. NaN or infinity is a bug and raises."""
    return json.dumps(doc, indent=2, sort_keys=False, ensure_ascii=False, allow_nan=False) + "\n"


__all__ = ["evaluation_tables", "json_text", "metrics_to_json", "render_evaluation"]
