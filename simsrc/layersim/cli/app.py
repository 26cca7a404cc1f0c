"""The `layersim` command line: one typer app, thin commands over the core and the reports.

A command parses its arguments, calls the core, hands the result to a report and lets
`cli.support` write it; domain errors become exit code 2 here and nowhere else.
"""

from __future__ import annotations

import os
import sys
import time
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Annotated

import typer
from rich.table import Table
from rich.text import Text

# typer vendors click and does not export these
from typer._click.exceptions import ClickException, NoArgsIsHelpError
from typer.core import TyperArgument, TyperCommand, TyperGroup

from layersim import __version__
from layersim.accounting.assemble import evaluate as evaluate_population
from layersim.accounting.registry_ops import storage_what_ifs
from layersim.advice.advise import advise as advise_population
from layersim.advice.gates import (
    GateRules,
    check_images,
    discover_rules,
    load_rules_file,
    merge_rules,
    parse_byte_size,
)
from layersim.calibration import calibrate as calibrate_images
from layersim.cli.atomic import atomic_directory, refuse_existing
from layersim.cli.support import (
    EXIT_INTERRUPTED,
    EXIT_USER_ERROR,
    AllowLargeFlag,
    ConfigOption,
    ConnectTimeoutOption,
    ForceFlag,
    JsonFlag,
    OutDir,
    OutFile,
    QuietFlag,
    SchedulerOption,
    SeedOption,
    SetOption,
    bytes_progress_bar,
    check_writable,
    cli_errors,
    emit_document,
    fail,
    machine_memory_bytes,
    one_line,
    progress_bar,
    stderr_is_terminal,
    stdout_console,
    write_output,
)
from layersim.config import (
    DEFAULT_SCENARIO,
    ExperimentConfig,
    check_memory,
    list_scenarios,
    load_config,
)
from layersim.distributed.cluster import CONNECT_TIMEOUT_SECONDS, LOCAL
from layersim.errors import ConfigError
from layersim.experiment.run import RunOutcome, run_experiment
from layersim.experiment.sweep import default_seeds, parse_param, plan_sweep, run_sweep
from layersim.model.chunks import (
    DEFAULT_CDC_AVG_BYTES,
    DEFAULT_CDC_MAX_BYTES,
    DEFAULT_CDC_MIN_BYTES,
    DEFAULT_FIXED_CHUNK_BYTES,
    ChunkSizes,
)
from layersim.readers import (
    Chunking,
    LayerCache,
    ReadResult,
    RegistryOptions,
    parse_reference,
    population_of,
    read,
)
from layersim.readers.cache import default_cache_path
from layersim.readers.flatten import measure_combined_paths, measure_flattened_paths
from layersim.readers.reference import Transport
from layersim.readers.registry import DEFAULT_TIMEOUT_SECONDS
from layersim.readers.registry_storage import (
    parse_duration_seconds,
    parse_now,
    read_registry_storage,
)
from layersim.readers.spec import load_spec
from layersim.report import metrics_to_json, render_evaluation
from layersim.report.advice import advice_to_json, render_advice
from layersim.report.analysis import (
    AgeQuery,
    StorageReport,
    analysis_to_json,
    render_analysis,
)
from layersim.report.calibration import calibration_toml, render_calibration
from layersim.report.documents import write_run, write_sweep
from layersim.report.run import SUMMARY, render_headline
from layersim.report.sweep import SWEEP_JSON, render_sweep

RESULTS_ROOT = Path("layersim-results")
DEFAULT_SEEDS = 3

ScenarioArgument = Annotated[
    str | None,
    typer.Argument(
        metavar="SCENARIO",
        help=f"Built-in scenario (`layersim scenarios`; default: the config file's, else "
        f"{DEFAULT_SCENARIO}).",
        show_default=False,
    ),
]


class _Group(TyperGroup):
    """The typer group with the error convention of every other failure: a usage error (an
    unknown option, a missing argument, a bad value) is one `error:` line on stderr naming the
    command's --help, exit code 2, instead of click's usage box."""

    def main(self, *args, standalone_mode: bool = True, **kwargs):  # type: ignore[override]
        if not standalone_mode:
            return super().main(*args, standalone_mode=False, **kwargs)
        try:
            code = super().main(*args, standalone_mode=False, **kwargs)
        except NoArgsIsHelpError as exc:  # `layersim` alone: the help, as `layersim --help`
            typer.echo(exc.format_message())
            sys.exit(0)
        except ClickException as exc:
            context = getattr(exc, "ctx", None)
            where = context.command_path if context is not None else "layersim"
            message = one_line(exc.format_message())
            typer.echo(f"error: {message} (see '{where} --help')", err=True)
            sys.exit(EXIT_USER_ERROR)
        except typer.Abort:
            typer.echo("interrupted", err=True)
            sys.exit(EXIT_INTERRUPTED)
        sys.exit(code if isinstance(code, int) else 0)


def _no_type(ctx: object) -> None:
    return None


class _Command(TyperCommand):
    """A typer command whose arguments show their metavar alone in the help (`SPEC`, not
    `SPEC <path>`: the help text says what the argument is) and read in the usage line as
    POSIX writes them: `SPEC`, `[SCENARIO]`, `PATH...` (typer writes `{SPEC}`)."""

    def __init__(self, *args, **kwargs) -> None:  # type: ignore[no-untyped-def]
        super().__init__(*args, **kwargs)
        for param in self.params:
            if isinstance(param, TyperArgument):
                param.display_type_rich = _no_type  # type: ignore[method-assign]

    def collect_usage_pieces(self, ctx: typer.Context) -> list[str]:  # type: ignore[override]
        pieces = [self.options_metavar] if self.options_metavar else []
        for param in self.get_params(ctx):
            if isinstance(param, TyperArgument):
                name = param.metavar or (param.name or "").upper()
                name = name if param.required else f"[{name}]"
                pieces.append(name + ("..." if param.nargs != 1 else ""))
        return pieces


app = typer.Typer(
    name="layersim",
    help="Storage-deduplication simulator for container images.",
    cls=_Group,
    no_args_is_help=True,
    add_completion=False,
    rich_markup_mode=None,  # plain click help: no `<bool>` metavars, no boxes, no mid-sentence breaks
    context_settings={"help_option_names": ["-h", "--help"], "max_content_width": 100},
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


@app.command(cls=_Command, short_help="Evaluate a population written by hand.")
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
    """Evaluate a population written by hand (docs/evaluate.md).

    Per-image sizes and waste, registry and node storage under each strategy, pushes, pulls
    and containers.

    \b
    Example:
      layersim evaluate examples/fleet.toml --out fleet.json
    """
    with cli_errors():
        if out is not None:
            check_writable(out)
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


def _default_replace(target: Path, marker: str) -> bool:
    """Whether a run into its default folder (no --out) replaces what is there: it does when
    that is an earlier layersim result (it holds `marker`), and says so on stderr, so that the
    README's command can be run twice. Anything else there is refused as with --out."""
    if not (target.is_dir() and (target / marker).is_file()):
        return False
    typer.echo(f"replacing the previous result in {target}", err=True)
    return True


def _name(scenario: str | None, config: Path | None, loaded: ExperimentConfig) -> str:
    """The default folder name: the scenario named, else the config file's stem."""
    if scenario:
        return scenario
    if config is not None:
        return config.stem
    return loaded.scenario


@app.command(cls=_Command)
def scenarios() -> None:
    """List the built-in scenarios.

    \b
    Example:
      layersim scenarios
    """
    with cli_errors():
        table = Table(title="Built-in scenarios", title_justify="left")
        table.add_column("name")
        table.add_column("description", overflow="fold")
        for name, description in list_scenarios():
            label = f"{name} (default)" if name == DEFAULT_SCENARIO else name
            table.add_row(Text(label), Text(description))
        stdout_console().print(table)


@app.command(cls=_Command, short_help="Generate and simulate a fleet; write its results folder.")
def run(
    scenario: ScenarioArgument = None,
    config: ConfigOption = None,
    sets: SetOption = None,
    seed: SeedOption = None,
    out: OutDir = None,
    force: ForceFlag = False,
    allow_large: AllowLargeFlag = False,
    quiet: QuietFlag = False,
    as_json: JsonFlag = False,
    scheduler: SchedulerOption = None,
    partitions: Annotated[
        int | None,
        typer.Option(
            "--partitions",
            metavar="N",
            help="With --scheduler: split the overlay walk and the stored-bytes sums into N "
            "partitions, one task each (default: one per worker; docs/run.md). The results "
            "do not depend on it.",
            show_default=False,
        ),
    ] = None,
    connect_timeout: ConnectTimeoutOption = CONNECT_TIMEOUT_SECONDS,
) -> None:
    """Generate a fleet, simulate it and write the results folder (docs/run.md).

    The folder holds CSV tables, summary.json, PNG plots and report.md; the headline table is
    printed. Rerunning into the default folder replaces the previous result there.

    \b
    Examples:
      layersim run small
      layersim run --set apps.count=50 --seed 7 --out out/apps50
      layersim run company --scheduler local --partitions 4
    """
    with cli_errors():
        _check_scheduler(scheduler, None, connect_timeout)
        if partitions is not None and scheduler is None:
            fail("--partitions: give it with --scheduler")
        experiment = _experiment(scenario, config, sets, seed)
        if not allow_large:
            check_memory(experiment, machine_memory_bytes())
        target = out if out is not None else RESULTS_ROOT / _name(scenario, config, experiment)
        _replaceable(target, SUMMARY, force)
        replace = force or (out is None and _default_replace(target, SUMMARY))
        with atomic_directory(target, replace=replace) as folder:
            if scheduler is None:
                with progress_bar(quiet=quiet) as progress:
                    outcome = run_experiment(experiment, progress, advise=True)
            else:
                outcome = _run_on(scheduler, partitions, connect_timeout, experiment, quiet)
            write_run(outcome.result, folder, outcome.timings, outcome.advice)
        if as_json:
            typer.echo((target / SUMMARY).read_text(encoding="utf-8"), nl=False)
        elif not quiet:
            render_headline(outcome.result, stdout_console(), out=str(target))


def _run_on(
    scheduler: str,
    partitions: int | None,
    connect_timeout: float,
    experiment: ExperimentConfig,
    quiet: bool,
) -> RunOutcome:
    """`run_experiment` with its overlay walk and stored-bytes sums in partitions on a Dask
    cluster (`distributed.run`)."""
    # imported here: a run without --scheduler never loads the Dask code
    from layersim.distributed.cluster import dask_client
    from layersim.distributed.run import check_partitions, run_partitioned

    if partitions is not None:
        check_partitions(partitions)
    with (
        dask_client(scheduler, timeout_seconds=connect_timeout) as client,
        progress_bar(quiet=quiet) as progress,
    ):
        parts = partitions if partitions is not None else max(1, len(client.nthreads()))
        return run_partitioned(client, experiment, parts, progress, advise=True)


def _remote(scheduler: str | None) -> bool:
    """Whether `scheduler` names a running cluster (whose machines are not this one)."""
    return scheduler is not None and scheduler != LOCAL


def _check_scheduler(scheduler: str | None, jobs: int | None, connect_timeout: float) -> None:
    """Refuse a --scheduler combination that cannot mean anything, before any work."""
    if scheduler is None:
        return
    if not scheduler.strip():
        fail(f"--scheduler: give {LOCAL} or tcp://HOST:PORT")
    if _remote(scheduler) and jobs is not None:
        fail("--jobs: a running cluster has the workers it has; give --jobs only with local")
    if not connect_timeout > 0:
        fail(f"--connect-timeout: must be a positive number of seconds, got {connect_timeout}")


def _seed_list(text: str) -> list[int]:
    try:
        return [int(part) for part in text.split(",")]
    except ValueError:
        raise ConfigError(
            f"--seed-list {text}: expected comma-separated integers, e.g. 1,2,3"
        ) from None


@app.command(cls=_Command, short_help="A grid of runs over one or two config keys.")
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
            metavar="N",
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
            help="Worker processes (default: the CPU count; 1 runs in this process; with "
            "--scheduler local, the cluster's workers). The results do not depend on it.",
            show_default=False,
        ),
    ] = None,
    scheduler: SchedulerOption = None,
    connect_timeout: ConnectTimeoutOption = CONNECT_TIMEOUT_SECONDS,
    out: OutDir = None,
    force: ForceFlag = False,
    allow_large: AllowLargeFlag = False,
    quiet: QuietFlag = False,
    as_json: JsonFlag = False,
) -> None:
    """Run a grid of experiments over one or two config keys (docs/run.md).

    Several seeds per grid point; writes the savings against the keys: sweep.csv,
    sweep_runs.csv, sweep.json, sweep.png, report.md.

    \b
    Example:
      layersim sweep small --param apps.count=10,20,40 --seeds 2
      layersim sweep small --param apps.count=10,20,40 --scheduler tcp://10.0.0.5:8786
    """
    with cli_errors():
        if seeds is not None and seed_list is not None:
            fail("--seeds and --seed-list: give one of them")
        if jobs is not None and jobs < 1:
            fail(f"--jobs: must be a positive integer, got {jobs}")
        _check_scheduler(scheduler, jobs, connect_timeout)
        axes = [parse_param(text) for text in params]
        base = _experiment(scenario, config, sets, seed)
        chosen = (
            _seed_list(seed_list)
            if seed_list is not None
            else default_seeds(base.seed, DEFAULT_SEEDS if seeds is None else seeds)
        )
        # --seed only picks the first of `chosen`: every run's config gets its own seed
        plan = plan_sweep(axes, chosen, path=config, scenario=scenario, overrides=sets or [])
        if not allow_large and not _remote(scheduler):
            for point in plan.points:
                check_memory(point.configs[0], machine_memory_bytes())
        name = _name(scenario, config, base)
        keys = "-".join(a.key for a in axes)
        target = out if out is not None else RESULTS_ROOT / f"sweep-{name}-{keys}"
        _replaceable(target, SWEEP_JSON, force)
        replace = force or (out is None and _default_replace(target, SWEEP_JSON))
        refuse_existing(target, replace=replace)
        workers = jobs if jobs is not None else (os.cpu_count() or 1)
        with atomic_directory(target, replace=replace) as folder:
            started = time.perf_counter()
            if scheduler is None:
                with progress_bar(quiet=quiet) as progress:
                    result = run_sweep(plan, jobs=workers, progress=progress)
            else:
                # imported here: a sweep without --scheduler never loads the Dask code
                from layersim.distributed.cluster import dask_client
                from layersim.distributed.sweep import run_sweep_on

                with (
                    dask_client(scheduler, workers=jobs, timeout_seconds=connect_timeout) as client,
                    progress_bar(quiet=quiet) as progress,
                ):
                    result = run_sweep_on(client, plan, progress=progress)
            write_sweep(result, folder, {"sweep": time.perf_counter() - started})
        if as_json:
            typer.echo((target / SWEEP_JSON).read_text(encoding="utf-8"), nl=False)
        elif not quiet:
            render_sweep(result, stdout_console())
            stdout_console().print(f"wrote {target}", highlight=False)


# --------------------------------------------------------------------------- real images

PathsArgument = Annotated[
    list[str],
    typer.Argument(
        metavar="IMAGE...",
        help="Image references as skopeo writes them: oci:DIR[:REF], oci-archive:PATH[:REF], "
        "docker-archive:PATH, docker://HOST[:PORT]/REPO:TAG|@DIGEST, docker://HOST[:PORT] "
        "(every tag of every repository), or plain paths of OCI layouts and docker-archives; "
        "several form one population, in the order given.",
        show_default=False,
    ),
]
TlsVerifyOption = Annotated[
    str,
    typer.Option(
        "--tls-verify",
        metavar="true|false",
        help="Verify registries' TLS certificates; false also allows plain HTTP (as skopeo's).",
    ),
]
TimeoutOption = Annotated[
    float,
    typer.Option(
        "--timeout",
        metavar="SECONDS",
        help="Give up on a registry request that makes no progress for this long.",
    ),
]
AuthFileOption = Annotated[
    Path | None,
    typer.Option(
        "--authfile",
        metavar="FILE",
        help="Registry credentials (default: $REGISTRY_AUTH_FILE, else ~/.docker/config.json).",
        show_default=False,
    ),
]


CacheOption = Annotated[
    Path | None,
    typer.Option(
        "--cache",
        metavar="FILE",
        help="The blob-analysis cache (SQLite; default: $XDG_CACHE_HOME/layersim/blobs.sqlite): "
        "a layer blob analysed before is not read again.",
        show_default=False,
    ),
]
NoCacheFlag = Annotated[
    bool,
    typer.Option("--no-cache", help="Read every layer blob; neither use nor fill the cache."),
]


@contextmanager
def _layer_cache(path: Path | None, disabled: bool) -> Iterator[LayerCache | None]:
    if disabled:
        yield None
        return
    cache = LayerCache(path or default_cache_path())
    try:
        yield cache
    finally:
        cache.close()


def _read_with_cache(
    paths: list[str],
    platform: str | None,
    *,
    quiet: bool,
    registry: RegistryOptions,
    cache: Path | None,
    no_cache: bool,
    chunking: Chunking | None = None,
) -> ReadResult:
    """`readers.read` with the blob cache the options name and a progress bar over bytes: the
    one way analyze and calibrate read their images."""
    with (
        _layer_cache(cache, no_cache) as layer_cache,
        bytes_progress_bar("reading layers", quiet=quiet) as progress,
    ):
        return read(
            paths, platform, progress, registry=registry, cache=layer_cache, chunking=chunking
        )


def _registry_options(tls_verify: str, timeout: float, authfile: Path | None) -> RegistryOptions:
    if tls_verify.lower() not in ("true", "false"):
        fail(f"--tls-verify: expected true or false, got {tls_verify!r}")
    if not timeout > 0:
        fail(f"--timeout: must be a positive number of seconds, got {timeout}")
    return RegistryOptions(
        tls_verify=tls_verify.lower() == "true", timeout_seconds=timeout, auth_file=authfile
    )


def _local_inputs(references: list[str]) -> list[Path]:
    """The files and directories the references read (which --out must not replace)."""
    return [p for r in references if (p := parse_reference(r).local_path) is not None]


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


EXIT_GATE_FAILED = 1

FlattenedExportFlag = Annotated[
    bool,
    typer.Option(
        "--flattened-export",
        help="Also write each image's flattened export and gzip it for real (zlib-ng, level 6), "
        "beside the engine's estimate: reads every layer blob again (plain paths only; the "
        "blob cache does not cover it).",
    ),
]

EfficiencyGate = Annotated[
    float | None,
    typer.Option(
        "--fail-under-efficiency",
        metavar="F",
        help="Exit 1 if an image's dive efficiency is under F (0 to 1).",
        show_default=False,
    ),
]
WastedGate = Annotated[
    str | None,
    typer.Option(
        "--fail-over-wasted-bytes",
        metavar="SIZE",
        help="Exit 1 if an image's dive wasted bytes are over SIZE (bytes, or 10MB, 5MiB...).",
        show_default=False,
    ),
]
ShadowedGate = Annotated[
    str | None,
    typer.Option(
        "--fail-over-shadowed-bytes",
        metavar="SIZE",
        help="Exit 1 if an image's shadowed bytes are over SIZE (bytes, or 10MB, 5MiB...).",
        show_default=False,
    ),
]
CiConfigOption = Annotated[
    Path | None,
    typer.Option(
        "--ci-config",
        metavar="FILE",
        help="Read the gates from FILE (a CI file, or a pyproject.toml's [tool.layersim]) "
        "instead of ./.layersim-ci.toml or ./pyproject.toml.",
        show_default=False,
    ),
]


def _gate_rules(
    efficiency: float | None, wasted: str | None, shadowed: str | None, ci_config: Path | None
) -> GateRules:
    """The gates to check: the file's (`--ci-config`, else found in the current directory),
    each replaced by the same rule given on the command line."""
    from_file = load_rules_file(ci_config) if ci_config is not None else discover_rules(Path())
    from_cli = GateRules(
        fail_under_efficiency=efficiency,
        fail_over_wasted_bytes=None
        if wasted is None
        else parse_byte_size(wasted, "--fail-over-wasted-bytes"),
        fail_over_shadowed_bytes=None
        if shadowed is None
        else parse_byte_size(shadowed, "--fail-over-shadowed-bytes"),
    )
    return merge_rules(from_file, from_cli)


RegistryStorageOption = Annotated[
    Path | None,
    typer.Option(
        "--registry-storage",
        metavar="DIR",
        help="A distribution registry's storage (its filesystem driver's rootdirectory): "
        "report what garbage collection would free now and what untagged manifests pin.",
        show_default=False,
    ),
]
OlderThanOption = Annotated[
    str | None,
    typer.Option(
        "--older-than",
        metavar="DURATION",
        help="Also report what deleting the tags of the images created more than DURATION "
        "before --now frees (30d, 12h; units s, m, h, d, w); with --registry-storage, in the "
        "registry's storage too.",
        show_default=False,
    ),
]
NowOption = Annotated[
    str | None,
    typer.Option(
        "--now",
        metavar="TIME",
        help="The time --older-than counts back from, RFC 3339 (2026-01-31T00:00:00Z); "
        "default: the current time.",
        show_default=False,
    ),
]


def _age_query(older_than: str | None, now: str | None) -> AgeQuery | None:
    """`--older-than` counted back from `--now` (default: the current time)."""
    if older_than is None:
        if now is not None:
            raise ConfigError("--now is the time --older-than counts back from: give --older-than")
        return None
    seconds = parse_duration_seconds(older_than)
    moment = parse_now(now) if now is not None else datetime.now(UTC)
    return AgeQuery(older_than, moment, moment - timedelta(seconds=seconds))


def _storage_report(storage: Path | None, age: AgeQuery | None) -> StorageReport | None:
    """The registry storage's figures (`--registry-storage`), read before any image."""
    if storage is None:
        return None
    store = read_registry_storage(storage)
    return StorageReport(
        path=str(storage),
        store=store,
        what_ifs=storage_what_ifs(store, None if age is None else age.cutoff),
    )


@app.command(cls=_Command, short_help="Analyze real images (layouts, archives, registries).")
def analyze(
    paths: PathsArgument,
    platform: PlatformOption = None,
    as_json: JsonFlag = False,
    out: OutFile = None,
    quiet: QuietFlag = False,
    fail_under_efficiency: EfficiencyGate = None,
    fail_over_wasted_bytes: WastedGate = None,
    fail_over_shadowed_bytes: ShadowedGate = None,
    ci_config: CiConfigOption = None,
    tls_verify: TlsVerifyOption = "true",
    timeout: TimeoutOption = DEFAULT_TIMEOUT_SECONDS,
    authfile: AuthFileOption = None,
    cache: CacheOption = None,
    no_cache: NoCacheFlag = False,
    flattened_export: FlattenedExportFlag = False,
    registry_storage: RegistryStorageOption = None,
    older_than: OlderThanOption = None,
    now: NowOption = None,
    cdc_min_bytes: Annotated[
        int, typer.Option(metavar="BYTES", help="FastCDC minimum chunk size in bytes (chunk_cdc).")
    ] = DEFAULT_CDC_MIN_BYTES,
    cdc_avg_bytes: Annotated[
        int, typer.Option(metavar="BYTES", help="FastCDC average chunk size in bytes (chunk_cdc).")
    ] = DEFAULT_CDC_AVG_BYTES,
    cdc_max_bytes: Annotated[
        int, typer.Option(metavar="BYTES", help="FastCDC maximum chunk size in bytes (chunk_cdc).")
    ] = DEFAULT_CDC_MAX_BYTES,
    fixed_chunk_bytes: Annotated[
        int,
        typer.Option(
            metavar="BYTES", help="Fixed chunk size in bytes (chunk_fixed; last chunk shorter)."
        ),
    ] = DEFAULT_FIXED_CHUNK_BYTES,
) -> None:
    """Analyze real images: OCI layouts, docker-archives, registries (docs/analyze.md).

    Every figure of `evaluate` for them: one registry receives them in the order read, one
    node pulls them all; every regular file is cut into chunks as it streams. With gates, exit
    1 if an image breaks one.

    \b
    Example:
      layersim analyze app-v1.tar app-v2.tar --json --out analysis.json
      layersim analyze docker://localhost:5000/team/app:1.2 --tls-verify=false
      layersim analyze docker://localhost:5000 --tls-verify=false \\
          --registry-storage /var/lib/docker-registry --older-than 90d
    """
    with cli_errors():
        if out is not None:
            check_writable(out)
        rules = _gate_rules(
            fail_under_efficiency, fail_over_wasted_bytes, fail_over_shadowed_bytes, ci_config
        )
        chunking = Chunking(
            ChunkSizes(cdc_min_bytes, cdc_avg_bytes, cdc_max_bytes, fixed_chunk_bytes)
        )
        registry = _registry_options(tls_verify, timeout, authfile)
        inputs = _local_inputs(paths)
        age = _age_query(older_than, now)
        storage = _storage_report(registry_storage, age)
        result = _read_with_cache(
            paths,
            platform,
            quiet=quiet,
            registry=registry,
            cache=cache,
            no_cache=no_cache,
            chunking=chunking,
        )
        population = population_of(result.images, chunking=chunking)
        flattened = None
        if flattened_export:
            if any(parse_reference(p).transport is not Transport.PATH for p in paths):
                raise ConfigError(
                    "--flattened-export reads the images again from disk: give plain paths"
                )
            with bytes_progress_bar("compressing flattened exports", quiet=quiet) as progress:
                flattened = measure_flattened_paths(
                    [Path(p) for p in paths], population.images, platform, progress=progress
                )
        metrics = evaluate_population(population)
        doc = analysis_to_json(
            population,
            metrics,
            paths=[str(p) for p in paths],
            platform=platform,
            flattened=flattened,
            cache=result.counts,
            storage=storage,
            age=age,
            created=result.created,
        )
        emit_document(
            doc,
            as_json=as_json,
            out=out,
            render=(lambda doc, console: None) if quiet else render_analysis,
            inputs=inputs,
        )
        failures = check_images(metrics.images, rules)
    for failure in failures:
        typer.echo(f"fail: {failure.summary()}", err=True)
    if failures:
        raise typer.Exit(EXIT_GATE_FAILED)


@app.command(cls=_Command, short_help="Say what to change in real images, and what it saves.")
def advise(
    paths: PathsArgument,
    platform: PlatformOption = None,
    as_json: JsonFlag = False,
    out: OutFile = None,
    quiet: QuietFlag = False,
    no_measure: Annotated[
        bool,
        typer.Option(
            "--no-measure",
            help="Do not write and gzip the new layer of each combine_steps and squash advice "
            "(reads their layer blobs again): their compressed savings are then estimated. "
            "Registry references are never measured.",
        ),
    ] = False,
) -> None:
    """Say what to change in real images, and what it saves (docs/advise.md).

    Layers to build in one step (combine_steps), images or top layers to flatten (squash),
    images to move onto another version of their base (rebase), one base per family
    (consolidate), the files re-cut into shared layers (relayer); every saving measured by
    re-evaluating the changed images.

    \b
    Example:
      layersim advise app-v1.tar app-v2.tar --json
    """
    with cli_errors():
        inputs = _local_inputs(paths)
        if out is not None:
            check_writable(out)
        with bytes_progress_bar("reading layers", quiet=quiet) as progress:
            population = population_of(read(paths, platform, progress).images)
        plain = all(parse_reference(p).transport is Transport.PATH for p in paths)
        measure = None
        if plain and not no_measure:

            def measure(combined):
                with bytes_progress_bar("compressing new layers", quiet=quiet) as progress:
                    sizes = measure_combined_paths(
                        [Path(p) for p in paths],
                        population.images,
                        combined,
                        platform,
                        progress=progress,
                    )
                return [size.gzip_bytes for size in sizes]

        doc = advice_to_json(advise_population(population, measure))
        emit_document(
            doc,
            as_json=as_json,
            out=out,
            render=(lambda doc, console: None) if quiet else render_advice,
            inputs=inputs,
        )


@app.command(cls=_Command, short_help="Fit the generator to real images; write an experiment file.")
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
    tls_verify: TlsVerifyOption = "true",
    timeout: TimeoutOption = DEFAULT_TIMEOUT_SECONDS,
    authfile: AuthFileOption = None,
    cache: CacheOption = None,
    no_cache: NoCacheFlag = False,
) -> None:
    """Fit the generator to real images; write an experiment file (docs/analyze.md).

    Fits layer sizes and counts, files, compressibility and churn between versions.

    \b
    Example:
      layersim calibrate app-v1.tar app-v2.tar -o mine.toml && layersim run --config mine.toml
    """
    with cli_errors():
        if check_seeds < 0:
            fail(f"--check-seeds: must be a non-negative integer, got {check_seeds}")
        load_config(None, scenario)  # an unknown scenario fails before any reading
        check_writable(out)
        registry = _registry_options(tls_verify, timeout, authfile)
        inputs = _local_inputs(paths)
        read_result = _read_with_cache(
            paths, platform, quiet=quiet, registry=registry, cache=cache, no_cache=no_cache
        )
        images = list(read_result.images)
        with progress_bar(quiet=quiet or not stderr_is_terminal()) as stage:
            result = calibrate_images(
                images,
                sources=[str(p) for p in paths],
                scenario=scenario,
                check_seeds=check_seeds,
                progress=stage,
            )
        write_output(out, calibration_toml(result), inputs=inputs)
        if not quiet:
            render_calibration(result, stdout_console(), out=str(out))
