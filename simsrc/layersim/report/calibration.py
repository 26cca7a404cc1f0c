"""The output of `layersim calibrate`: the experiment file it writes (`calibration_toml`) and
the report it prints (`render_calibration`: the fitted keys, what they could not express, and
the check of the fitted config against the analyzed images, as rich tables).

Both show the same `calibration.Calibration`; this module formats it and computes nothing.
The file is TOML that `config.load_config` reads back into the fit's own config: every fitted
key with a comment saying where its value came from, under a header naming the sources, the
apps, the notes and the check.
"""

from __future__ import annotations

import math
import textwrap
from collections import defaultdict
from typing import Any

from rich.console import Console
from rich.table import Table
from rich.text import Text

from layersim import __version__
from layersim.calibration import Calibration
from layersim.calibration.check import ABSOLUTE, TOLERANCES
from layersim.calibration.fit import Fitted
from layersim.config import SECTIONS
from layersim.errors import ModelError
from layersim.report.tables import print_tables

COMMENT_WIDTH = 98  # characters of a comment line of the file, "# " included


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _plural(n: int, word: str) -> str:
    return f"{n} {word if n == 1 else word + 's'}"


# --------------------------------------------------------------------------- the file


def toml_value(value: Any) -> str:
    """A TOML literal for a config value (str, bool, int, float or a list of str)."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int):
        return str(value)
    if isinstance(value, float):
        if not math.isfinite(value):
            raise ModelError(f"not a finite number: {value!r}")
        return repr(value)
    if isinstance(value, str):
        escaped = value.replace("\\", "\\\\").replace('"', '\\"')
        return f'"{escaped}"'
    if isinstance(value, list | tuple):
        return "[" + ", ".join(toml_value(v) for v in value) + "]"
    raise ModelError(f"no TOML form for {value!r}")


def _comment(text: str, width: int = COMMENT_WIDTH, hanging: str = "") -> list[str]:
    """`text` as `# ` comment lines of at most `width` characters (continuation lines indented
    by `hanging`)."""
    lines = textwrap.wrap(
        text,
        width=width - 2,
        subsequent_indent=hanging,
        break_long_words=False,
        break_on_hyphens=False,
    )
    return [f"# {line}".rstrip() for line in lines] or ["#"]


def _one_line(text: str) -> str:
    return " ".join(text.split())


def _header(result: Calibration) -> list[str]:
    """Where the fit came from: the sources, apps and parents, and the notes."""
    out = [
        f"# layersim experiment fitted by `layersim calibrate` (layersim {__version__}).",
        f"# From {_plural(len(result.images), 'image')} read from:",
        *(f"#   {_one_line(s)}" for s in result.sources),
        *_comment(
            f"Apps (leaf images, fitted and measured): {', '.join(result.apps)}.",
        ),
    ]
    parents = [n for n in result.images if n not in set(result.apps)]
    if parents:
        out += _comment(
            f"Parents (base or runtime images, prefixes of apps): {', '.join(parents)}."
        )
    out += [
        "#",
        *_comment(
            "Each key below was fitted; the comment above it says from what. Every other key "
            f"keeps the `{result.scenario}` scenario's value. See docs/analyze.md."
        ),
    ]
    if result.notes:
        out += ["#", "# Measured but not expressible in the config:"]
        for note in result.notes:
            out += _comment(f"- {_one_line(note)}", hanging="  ")
    return out


def _check_lines(result: Calibration) -> list[str]:
    """The analyzed statistics, beside the generated ones with their tolerance if checked."""
    if result.generated is None:
        out = ["# Analyzed statistics (not checked against a generated run):"]
        for row in result.comparison():
            out.append(f"#   {row.statistic:<28} {_number(row.analyzed):>14}")
        return out
    out = [
        f"# Check: this file generated with {_plural(result.check_seeds, 'seed')} from its "
        "seed, its apps measured as the analyzed ones",
        "# (tolerance: relative, churn absolute; docs/analyze.md):",
        f"#   {'statistic':<28} {'analyzed':>14} {'generated':>14} {'difference':>11}"
        f" {'tolerance':>10}",
    ]
    for row in result.comparison():
        name = row.statistic
        if row.generated is None or row.difference is None:
            out.append(f"#   {name:<28} {_number(row.analyzed):>14} {'n/a':>14}")
            continue
        shown = f"{row.difference:+.3f}" if name in ABSOLUTE else f"{row.difference:+.1%}"
        tol = TOLERANCES[name]
        tol_text = f"{tol:.2f}" if name in ABSOLUTE else f"{tol:.0%}"
        out.append(
            f"#   {name:<28} {_number(row.analyzed):>14} {_number(row.generated):>14} "
            f"{shown:>11} {tol_text:>6} {'ok' if row.within else 'OUT'}"
        )
    return out


def _key_lines(result: Calibration) -> list[str]:
    """The keys: top-level ones, then each section in schema order, a comment above each."""
    out = [f"scenario = {toml_value(result.scenario)}"]
    for f in result.fitted:
        if not f.section:
            out.append(f"{f.key} = {toml_value(f.value)}")
    by_section: dict[str, list[Fitted]] = defaultdict(list)
    for f in result.fitted:
        if f.section:
            by_section[f.section].append(f)
    for section in SECTIONS:
        if section not in by_section:
            continue
        out += ["", f"[{section}]"]
        for f in by_section[section]:
            out += _comment(_one_line(f.why))
            out.append(f"{f.key} = {toml_value(f.value)}")
    return out


def calibration_toml(result: Calibration) -> str:
    """The experiment file of a calibration (`layersim run --config` reads it)."""
    lines = [*_header(result), "#", *_check_lines(result), "", *_key_lines(result)]
    return "\n".join(lines) + "\n"


# --------------------------------------------------------------------------- the console


def fitted_table(result: Calibration) -> Table:
    """The fitted keys, their values and where each came from."""
    table = Table(title="Fitted keys (the file's comments say the same)", title_justify="left")
    table.add_column("key")
    table.add_column("value", overflow="fold")
    table.add_column("from", overflow="fold")
    for f in result.fitted:
        if f.section:
            table.add_row(Text(f.dotted), Text(repr(f.value)), Text(f.why))
    return table


def check_table(result: Calibration) -> Table:
    """Each statistic of the analyzed apps beside the generated config's, with its tolerance."""
    seeds = f"{result.check_seeds} seeds" if result.generated else "not checked"
    table = Table(
        title=f"Analyzed images against the fitted config generated ({seeds})",
        title_justify="left",
    )
    for header in ("statistic", "analyzed", "generated", "difference", "tolerance", ""):
        table.add_column(header, justify="left" if header == "statistic" else "right")
    for row in result.comparison():
        name = row.statistic
        if row.generated is None or row.difference is None:
            table.add_row(name, _number(row.analyzed), "", "", "", "")
            continue
        absolute = name in ABSOLUTE
        table.add_row(
            name,
            _number(row.analyzed),
            _number(row.generated),
            f"{row.difference:+.3f}" if absolute else f"{row.difference:+.1%}",
            f"{TOLERANCES[name]:.2f}" if absolute else f"{TOLERANCES[name]:.0%}",
            "ok" if row.within else Text("out", style="bold red"),
        )
    return table


def render_calibration(result: Calibration, console: Console, *, out: str) -> None:
    """Print what `layersim calibrate` wrote and why."""
    console.print(
        Text.assemble(
            ("layersim calibrate ", "bold"),
            f"wrote {out}: {len(result.fitted) - 1} keys over the {result.scenario} scenario, "
            f"fitted to {len(result.apps)} app images of {len(result.images)} read",
        )
    )
    console.print()
    print_tables(console, fitted_table(result))
    if result.notes:
        console.print()
        console.print(Text("Measured but not expressible in the config:", style="bold"))
        for note in result.notes:
            console.print(Text(f"- {note}"))
    console.print()
    print_tables(console, check_table(result))
