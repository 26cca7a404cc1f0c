"""The `layersim` command line: one typer app, thin commands over the core and the reports.

A command parses its arguments, calls the core, hands the result to a report and lets
`cli_support` write it; domain errors become exit code 2 here and nowhere else.
"""

from __future__ import annotations

import os
import time
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

from layersim import __version__
from layersim.accounting.assemble import evaluate as evaluate_population
from layersim.calibration import calibrate as calibrate_images
from layersim.cli.atomic import atomic_directory, refuse_existing
from layersim.cli.support import (
    ConfigOption,
    ForceFlag,
    JsonFlag,
    OutDir,
    OutFile,
    QuietFlag,
    SeedOption,
    SetOption,
    bytes_progress_bar,
    cli_errors,
    emit_document,
    fail,
    progress_bar,
    stderr_is_terminal,
    stdout_console,
    write_output,
)
from layersim.config import DEFAULT_SCENARIO, ExperimentConfig, list_scenarios, load_config
from layersim.errors import ConfigError
from layersim.experiment.run import run_experiment
from layersim.experiment.sweep import default_seeds, parse_param, plan_sweep, run_sweep
from layersim.model.chunks import (
    DEFAULT_CDC_AVG_BYTES,
    DEFAULT_CDC_MAX_BYTES,
    DEFAULT_CDC_MIN_BYTES,
    DEFAULT_FIXED_CHUNK_BYTES,
    ChunkSizes,
)
from layersim.readers import read_images, read_population
from layersim.readers.spec import load_spec
from layersim.report import metrics_to_json, render_evaluation
from layersim.report.analysis import analysis_to_json, render_analysis
from layersim.report.calibration import calibration_toml, render_calibration
from layersim.report.documents import write_run, write_sweep
from layersim.report.run import SUMMARY, render_headline
from layersim.report.sweep import SWEEP_JSON, render_sweep

RESULTS_ROOT = Path("layersim-results")
DEFAULT_SEEDS = 3

ScenarioArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="[SCENARIO]",
        help=f"Built-in scenario (`layersim scenarios`; default: the config file's, else "
        f"{DEFAULT_SCENARIO}).",
        show_default=False,
    ),
]

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


# --------------------------------------------------------------------------- experiments


def _experiment(
    scenario: str | None, config: Path | None, sets: list[str] | None, seed: int | None
) -> ExperimentConfig:
    return load_config(config, scenario, sets or [], {} if seed is None else {"seed": seed})


def _replaceable(target: Path, marker: str, force: bool) -> None:
    """With --force, replace only an empty folder or an earlier result (it holds `marker`):
    `--out . --force` must not delete the working directory."""
    if not force or not target.exists():
        return
    result = target.is_dir() and ((target / marker).is_file() or not any(target.iterdir()))
    if not result:
        fail(
            f"refusing to replace {str(target)!r}: it is not a layersim result folder (no {marker})"
        )


def _name(scenario: str | None, config: Path | None, loaded: ExperimentConfig) -> str:
    """The default folder name: the scenario named, else the config file's stem."""
    if scenario:
        return scenario
    if config is not None:
        return config.stem
    return loaded.scenario


@app.command()
def scenarios() -> None:
    """List the built-in scenarios."""
    with cli_errors():
        table = Table(title="Built-in scenarios", title_justify="left")
        table.add_column("name")
        table.add_column("description", overflow="fold")
        for name, description in list_scenarios():
            label = f"{name} (default)" if name == DEFAULT_SCENARIO else name
            table.add_row(Text(label), Text(description))
        stdout_console().print(table)


@app.command()
def run(
    scenario: ScenarioArgument = None,
    config: ConfigOption = None,
    sets: SetOption = None,
    seed: SeedOption = None,
    out: OutDir = None,
    force: ForceFlag = False,
    quiet: QuietFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Generate a fleet, simulate it epoch by epoch and write the results into a folder: CSV
    tables, summary.json, PNG plots and report.md (docs/run.md). Prints the headline table."""
    with cli_errors():
        experiment = _experiment(scenario, config, sets, seed)
        target = out if out is not None else RESULTS_ROOT / _name(scenario, config, experiment)
        _replaceable(target, SUMMARY, force)
        with atomic_directory(target, replace=force) as folder:
            with progress_bar(quiet=quiet) as progress:
                outcome = run_experiment(experiment, progress)
            write_run(outcome.result, folder, outcome.timings)
        if as_json:
            typer.echo((target / SUMMARY).read_text(encoding="utf-8"), nl=False)
        elif not quiet:
            render_headline(outcome.result, stdout_console(), out=str(target))


def _seed_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"--seed-list {text}: expected comma-separated integers, e.g. 1,2,3"
        ) from None


@app.command()
def sweep(
    params: Annotated[
        list[str],
        typer.Option(
            "--param",
            metavar="KEY=V1,V2,...",
            help="A config key and its values, e.g. --param apps.count=50,100,200 (once or "
            "twice: the second param makes a grid).",
            show_default=False,
        ),
    ],
    scenario: ScenarioArgument = None,
    config: ConfigOption = None,
    sets: SetOption = None,
    seed: Annotated[
        int | None,
        typer.Option(
            "--seed",
            help="First seed (default: the config's); the seeds follow it.",
            show_default=False,
        ),
    ] = None,
    seeds: Annotated[
        int | None,
        typer.Option(
            "--seeds",
            metavar="N",
            help=f"Seeds per grid point: N consecutive seeds from --seed (default "
            f"{DEFAULT_SEEDS}).",
            show_default=False,
        ),
    ] = None,
    seed_list: Annotated[
        str | None,
        typer.Option(
            "--seed-list",
            metavar="S1,S2,...",
            help="The seeds, listed (instead of --seeds).",
            show_default=False,
        ),
    ] = None,
    jobs: Annotated[
        int | None,
        typer.Option(
            "--jobs",
            "-j",
            metavar="N",
            help="Worker processes (default: the CPU count; 1 runs in this process). The "
            "results do not depend on it.",
            show_default=False,
        ),
    ] = None,
    out: OutDir = None,
    force: ForceFlag = False,
    quiet: QuietFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Run a grid over one or two config keys, several seeds per point, and write the savings
    against them: sweep.csv, sweep_runs.csv, sweep.json, sweep.png, report.md (docs/run.md)."""
    with cli_errors():
        if seeds is not None and seed_list is not None:
            fail("--seeds and --seed-list: give one of them")
        if jobs is not None and jobs < 1:
            fail(f"--jobs: must be a positive integer, got {jobs}")
        axes = [parse_param(text) for text in params]
        base = _experiment(scenario, config, sets, seed)
        chosen = (
            _seed_list(seed_list)
            if seed_list is not None
            else default_seeds(base.seed, DEFAULT_SEEDS if seeds is None else seeds)
        )
        # --seed only picks the first of `chosen`: every run's config gets its own seed
        plan = plan_sweep(axes, chosen, path=config, scenario=scenario, overrides=sets or [])
        name = _name(scenario, config, base)
        keys = "-".join(a.key for a in axes)
        target = out if out is not None else RESULTS_ROOT / f"sweep-{name}-{keys}"
        refuse_existing(target, replace=force)
        _replaceable(target, SWEEP_JSON, force)
        workers = jobs if jobs is not None else (os.cpu_count() or 1)
        with atomic_directory(target, replace=force) as folder:
            started = time.perf_counter()
            with progress_bar(quiet=quiet) as progress:
                result = run_sweep(plan, jobs=workers, progress=progress)
            write_sweep(result, folder, {"sweep": time.perf_counter() - started})
        if as_json:
            typer.echo((target / SWEEP_JSON).read_text(encoding="utf-8"), nl=False)
        elif not quiet:
            render_sweep(result, stdout_console())
            stdout_console().print(f"wrote {target}", highlight=False)


# --------------------------------------------------------------------------- real images

PathsArgument = Annotated[
    list[Path],
    typer.Argument(
        metavar="PATH...",
        help="OCI image layouts (directories or tars) and docker-archives (tars or directories); "
        "several paths form one population, in the order given.",
        show_default=False,
    ),
]
PlatformOption = Annotated[
    str | None,
    typer.Option(
        "--platform",
        metavar="OS/ARCH[/VARIANT]",
        help="Platform to read from multi-platform images (default: linux/amd64, else the "
        "only one there is).",
        show_default=False,
    ),
]


@app.command()
def analyze(
    paths: PathsArgument,
    platform: PlatformOption = None,
    as_json: JsonFlag = False,
    out: OutFile = None,
    quiet: QuietFlag = False,
    cdc_min_bytes: Annotated[
        int, typer.Option(help="FastCDC minimum chunk size in bytes (chunk_cdc).")
    ] = DEFAULT_CDC_MIN_BYTES,
    cdc_avg_bytes: Annotated[
        int, typer.Option(help="FastCDC average chunk size in bytes (chunk_cdc).")
    ] = DEFAULT_CDC_AVG_BYTES,
    cdc_max_bytes: Annotated[
        int, typer.Option(help="FastCDC maximum chunk size in bytes (chunk_cdc).")
    ] = DEFAULT_CDC_MAX_BYTES,
    fixed_chunk_bytes: Annotated[
        int, typer.Option(help="Fixed chunk size in bytes (chunk_fixed; last chunk shorter).")
    ] = DEFAULT_FIXED_CHUNK_BYTES,
) -> None:
    """Read real images (OCI layouts, docker-archives) and report every figure of `evaluate`
    for them: one registry receives them in the order read, one node pulls them all; every
    regular file is cut into chunks as it streams (docs/analyze.md)."""
    with cli_errors():
        sizes = ChunkSizes(cdc_min_bytes, cdc_avg_bytes, cdc_max_bytes, fixed_chunk_bytes)
        with bytes_progress_bar("reading layers", quiet=quiet) as progress:
            population = read_population(paths, platform, progress, chunk_sizes=sizes)
        metrics = evaluate_population(population)
        doc = analysis_to_json(
            population, metrics, paths=[str(p) for p in paths], platform=platform
        )
        emit_document(
            doc,
            as_json=as_json,
            out=out,
            render=(lambda doc, console: None) if quiet else render_analysis,
            inputs=paths,
        )


@app.command()
def calibrate(
    paths: PathsArgument,
    out: Annotated[
        Path,
        typer.Option(
            "--out",
            "-o",
            metavar="FILE.toml",
            help="The experiment file to write (atomically; an existing file is replaced). "
            "`layersim run --config FILE.toml` reads it.",
            show_default=False,
        ),
    ],
    scenario: Annotated[
        str | None,
        typer.Option(
            "--scenario",
            metavar="NAME",
            help=f"Built-in scenario whose values the keys not fitted keep (default: "
            f"{DEFAULT_SCENARIO}).",
            show_default=False,
        ),
    ] = None,
    platform: PlatformOption = None,
    check_seeds: Annotated[
        int,
        typer.Option(
            "--check-seeds",
            metavar="N",
            help="Generate the fitted config with N seeds and compare its statistics with the "
            "analyzed images' (0: no check).",
        ),
    ] = 10,
    quiet: QuietFlag = False,
) -> None:
    """Fit the generator's settings (layer sizes and counts, files, compressibility, churn
    between versions) to real images and write an experiment file (docs/analyze.md)."""
    with cli_errors():
        if check_seeds < 0:
            fail(f"--check-seeds: must be a non-negative integer, got {check_seeds}")
        load_config(None, scenario)  # an unknown scenario fails before any reading
        with bytes_progress_bar("reading layers", quiet=quiet) as progress:
            images = read_images(paths, platform, progress)
        with progress_bar(quiet=quiet or not stderr_is_terminal()) as stage:
            result = calibrate_images(
                images,
                sources=[str(p) for p in paths],
                scenario=scenario,
                check_seeds=check_seeds,
                progress=stage,
            )
        write_output(out, calibration_toml(result), inputs=paths)
        if not quiet:
            render_calibration(result, stdout_console(), out=str(out))
