"""The `layersim` command line: one typer app, thin commands over the core and the reports.

A command parses its arguments, calls the core, hands the result to a report and lets
`cli_support` write it; domain errors become exit code 2 here and nowhere else.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from layersim import __version__
from layersim.cli_support import JsonFlag, OutFile, cli_errors, emit_document
from layersim.engine import evaluate as evaluate_population
from layersim.report import metrics_to_json, render_evaluation
from layersim.spec import load_spec

app = typer.Typer(
    name="layersim",
    help="Storage-deduplication simulator for container images.",
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_show_locals=False,
)


def _print_version(value: bool) -> None:
    if value:
        typer.echo(f"layersim {__version__}")
        raise typer.Exit()


@app.callback()
def main(
    version: Annotated[
        bool,
        typer.Option(
            "--version",
            callback=_print_version,
            is_eager=True,
            help="Print the layersim version and exit.",
        ),
    ] = False,
) -> None:
    """Storage-deduplication simulator for container images: what layer sharing saves against
    flattened exports, file- and chunk-level dedup."""


@app.command()
def evaluate(
    spec: Annotated[
        Path,
        typer.Argument(
            metavar="SPEC",
            help="Population spec, a .toml or .json file (see docs/evaluate.md).",
            show_default=False,
        ),
    ],
    as_json: JsonFlag = False,
    out: OutFile = None,
) -> None:
    """Evaluate a population written by hand: per-image sizes and waste, registry and node
    storage under each strategy, pushes, pulls and containers."""
    with cli_errors():
        population = load_spec(spec)
        metrics = evaluate_population(population)
        doc = metrics_to_json(population, metrics, source=str(spec))
        emit_document(doc, as_json=as_json, out=out, render=render_evaluation, inputs=(spec,))
