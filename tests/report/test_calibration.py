"""Tests of `layersim.report.calibration`: TOML literals, the experiment file of a calibration
written line by line, and the console report."""

from __future__ import annotations

import io
import tomllib

import pytest
from rich.console import Console

from layersim import __version__
from layersim.calibration import Calibration
from layersim.calibration.fit import Fitted
from layersim.calibration.set_statistics import ImageSetStatistics
from layersim.config import apply_values, load_config
from layersim.errors import ModelError
from layersim.report.calibration import calibration_toml, render_calibration, toml_value

FITTED = (
    Fitted("", "description", "calibrated from 2 app images of 1 repository", "what the file is"),
    Fitted("time", "epochs", 2, "versions of the repository with the most"),
    Fitted("bases", "families", ["debian"], "the preset nearest in file bytes"),
    Fitted("apps", "count", 1, "repositories of the app images"),
    Fitted("apps", "latest_share", 1.0, "one base layer: every app on the same version"),
)
ANALYZED = ImageSetStatistics(2, 3, 2.0, 1500.0, 2.5, 10.0, 1.3333, 1, 0.25)
GENERATED = ImageSetStatistics(2, 3, 2.5, 1500.0, 2.5, 10.0, 1.3333, 1, 0.2)


def calibration(generated: ImageSetStatistics | None) -> Calibration:
    return Calibration(
        sources=("/images/app",),
        images=("base:1", "app:1", "app:2"),
        apps=("app:1", "app:2"),
        scenario="small",
        fitted=FITTED,
        notes=("a note   spread over\nlines",),
        config=apply_values(load_config(scenario="small"), {f.dotted: f.value for f in FITTED}),
        analyzed=ANALYZED,
        generated=generated,
        check_seeds=3 if generated else 0,
    )


def test_toml_values() -> None:
    """Each value's TOML literal: strings escaped, floats by repr (exact), lists; a value
    without a finite TOML form is a `ModelError`."""
    assert toml_value(["a", 'b"c']) == '["a", "b\\"c"]'
    assert toml_value(2.0) == "2.0" and toml_value(3) == "3" and toml_value(True) == "true"
    assert tomllib.loads(f"x = {toml_value(1e-07)}")["x"] == 1e-07
    with pytest.raises(ModelError):
        toml_value(float("nan"))


def test_the_file_of_a_checked_calibration() -> None:
    """The whole file: header (sources, apps, parents, notes on one line each), the check
    table, then the keys, each under its comment, sections in schema order."""
    assert calibration_toml(calibration(GENERATED)).splitlines() == [
        f"# layersim experiment fitted by `layersim calibrate` (layersim {__version__}).",
        "# From 3 images read from:",
        "#   /images/app",
        "# Apps (leaf images, fitted and measured): app:1, app:2.",
        "# Parents (base or runtime images, prefixes of apps): base:1.",
        "#",
        "# Each key below was fitted; the comment above it says from what. Every other key keeps "
        "the",
        "# `small` scenario's value. See docs/analyze.md.",
        "#",
        "# Measured but not expressible in the config:",
        "# - a note spread over lines",
        "#",
        "# Check: this file generated with 3 seeds from its seed, its apps measured as the "
        "analyzed ones",
        "# (tolerance: relative, churn absolute; docs/analyze.md):",
        "#   statistic                          analyzed      generated  difference  tolerance",
        "#   layers_per_image                          2            2.5      +25.0%    10% OUT",
        "#   compressed_bytes_per_layer            1,500          1,500       +0.0%    25% ok",
        "#   compression_ratio                       2.5            2.5       +0.0%    15% ok",
        "#   files_per_layer                          10             10       +0.0%    25% ok",
        "#   layer_dedup_ratio                      1.33           1.33       +0.0%    15% ok",
        "#   version_churn                          0.25            0.2      -0.050   0.05 ok",
        "",
        'scenario = "small"',
        'description = "calibrated from 2 app images of 1 repository"',
        "",
        "[time]",
        "# versions of the repository with the most",
        "epochs = 2",
        "",
        "[bases]",
        "# the preset nearest in file bytes",
        'families = ["debian"]',
        "",
        "[apps]",
        "# repositories of the app images",
        "count = 1",
        "# one base layer: every app on the same version",
        "latest_share = 1.0",
    ]


def test_an_unchecked_file_lists_the_analyzed_statistics() -> None:
    """Without a check the header lists the analyzed statistics alone; the file loads back
    into the calibration's config."""
    text = calibration_toml(calibration(None))
    lines = text.splitlines()
    start = lines.index("# Analyzed statistics (not checked against a generated run):")
    assert lines[start + 1] == "#   layers_per_image                          2"
    assert lines[start + 6] == "#   version_churn                          0.25"
    document = tomllib.loads(text)
    assert document["apps"] == {"count": 1, "latest_share": 1.0}


def test_the_console_report() -> None:
    """The report names the file, counts the keys (description aside), lists the notes and
    marks a statistic out of tolerance."""
    out = io.StringIO()
    render_calibration(calibration(GENERATED), Console(file=out, width=120), out="fit.toml")
    text = out.getvalue()
    assert text.startswith(
        "layersim calibrate wrote fit.toml: 4 keys over the small scenario, fitted to 2 app "
        "images of 3 read"
    )
    assert "- a note   spread over" in text
    assert "apps.latest_share" in text and "out" in text
