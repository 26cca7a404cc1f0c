"""The report of `layersim calibrate`: the fitted keys, what they could not express, and the
check of the fitted config against the analyzed images, as rich tables.

The experiment file itself is `calibrate.Calibration.toml_text()`; this module only shows the
same facts on a console.
"""

from __future__ import annotations

from rich.console import Console
from rich.table import Table
from rich.text import Text

from layersim.calibration.calibrate import ABSOLUTE, TOLERANCES, Calibration


def _number(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


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
    for name, analyzed, generated, diff, ok in result.comparison():
        if generated is None or diff is None:
            table.add_row(name, _number(analyzed), "", "", "", "")
            continue
        absolute = name in ABSOLUTE
        table.add_row(
            name,
            _number(analyzed),
            _number(generated),
            f"{diff:+.3f}" if absolute else f"{diff:+.1%}",
            f"{TOLERANCES[name]:.2f}" if absolute else f"{TOLERANCES[name]:.0%}",
            "ok" if ok else Text("out", style="bold red"),
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
    console.print(fitted_table(result))
    if result.notes:
        console.print()
        console.print(Text("Measured but not expressible in the config:", style="bold"))
        for note in result.notes:
            console.print(Text(f"- {note}"))
    console.print()
    console.print(check_table(result))
