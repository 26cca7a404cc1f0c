"""The experiment config: what fleet to generate and how to run its time simulation.

An experiment is a TOML file, a built-in scenario, or both, plus `--set section.key=value`
overrides and a seed. Layers of settings, each over the one before:

1. the defaults below, which *are* the `company` scenario;
2. a built-in scenario (`small`, `company`, `hub`; `list_scenarios()`), named by the `scenario`
   argument or by a top-level `scenario = "..."` key of the file;
3. the file's own keys;
4. the overrides, in order (each value is parsed as a TOML value; a bare word is a string).

Every key is validated: an unknown section or key, a wrong type or an out-of-range value raises
`ConfigError` with a one-line message that starts with the key, e.g.
`apps.count: must be a positive integer, got -3`.

Every default says where it comes from: a line of ANCHORS.md (the table and row, quoted), or
plainly "assumption" where no published figure fixes it. This module only reads and checks
settings; what they mean is `generator` and `simulate`.
"""

from __future__ import annotations

import math
import tomllib
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from importlib import resources
from pathlib import Path
from typing import Any

from layersim.errors import ConfigError
from layersim.model import StorageDriver
from layersim.model.sizes import DEFAULT_CLASS_RATIOS_PERMILLE

DEFAULT_SCENARIO = "company"

# The presets a config may name; their figures live in `generator` (each cited there).
BASE_FAMILIES = ("alpine", "debian", "ubuntu")
RUNTIME_FAMILIES = ("python", "node", "jvm")
RUNTIME_BASE = {"python": "debian", "node": "debian", "jvm": "ubuntu"}
PLACEMENTS = ("spread", "binpack")


# --------------------------------------------------------------------------- value checks
# A check returns the (possibly converted) value or raises ValueError with the "must be ..."
# part of the message; `_check` adds the key and the value given.


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    text = repr(value)
    return text if len(text) <= 60 else text[:57] + "..."


def _integer(low: int, high: int | None, what: str) -> Callable[[Any], int]:
    def check(value: Any) -> int:
        if (
            not isinstance(value, int)
            or isinstance(value, bool)
            or value < low
            or (high is not None and value > high)
        ):
            raise ValueError(f"must be {what}")
        return value

    return check


def _number(low: float, high: float | None, what: str, *, low_open: bool = False):
    def check(value: Any) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise ValueError(f"must be {what}")
        number = float(value)
        if not math.isfinite(number) or number < low or (low_open and number == low):
            raise ValueError(f"must be {what}")
        if high is not None and number > high:
            raise ValueError(f"must be {what}")
        return number

    return check


POSITIVE_INT = _integer(1, None, "a positive integer")
NON_NEGATIVE_INT = _integer(0, None, "a non-negative integer")
SEED = _integer(0, 2**63 - 1, "an integer from 0 to 2**63-1")
PROBABILITY = _number(0.0, 1.0, "a number from 0 to 1")
POSITIVE = _number(0.0, None, "a positive number", low_open=True)
AT_LEAST_ONE = _number(1.0, None, "a number >= 1")


def _choice(choices: Sequence[str]) -> Callable[[Any], str]:
    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise ValueError("must be " + " or ".join(repr(c) for c in choices))
        return value

    return check


def _names(choices: Sequence[str], *, allow_empty: bool) -> Callable[[Any], tuple[str, ...]]:
    def check(value: Any) -> tuple[str, ...]:
        what = f"a list of distinct names from {', '.join(choices)}"
        if not allow_empty:
            what = "a non-empty " + what.removeprefix("a ")
        if not isinstance(value, list) or (not value and not allow_empty):
            raise ValueError(f"must be {what}")
        if any(not isinstance(v, str) or v not in choices for v in value):
            raise ValueError(f"must be {what}")
        if len(set(value)) != len(value):
            raise ValueError(f"must be {what}")
        return tuple(value)

    return check


def _boolean(value: Any) -> bool:
    if not isinstance(value, bool):
        raise ValueError("must be true or false")
    return value


def _text(value: Any) -> str:
    if not isinstance(value, str) or "\n" in value:
        raise ValueError("must be a one-line string")
    return value


def _power_of_two(value: Any) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < 512 or value & (value - 1):
        raise ValueError("must be a power of two >= 512")
    return value


# The data compression ratios a generated layer can have: its files' content classes mix
# between the least and the most compressible class of `sizes` (generator.class_mix_for_ratio).
MIN_CLASS_RATIO = min(DEFAULT_CLASS_RATIOS_PERMILLE.values()) / 1000
MAX_CLASS_RATIO = max(DEFAULT_CLASS_RATIOS_PERMILLE.values()) / 1000


def _preset_or_ratio(value: Any) -> float:
    what = f"0 (the preset's) or a number from {MIN_CLASS_RATIO:g} to {MAX_CLASS_RATIO:g}"
    if not isinstance(value, int | float) or isinstance(value, bool):
        raise ValueError(f"must be {what}")
    number = float(value)
    if number != 0.0 and not MIN_CLASS_RATIO <= number <= MAX_CLASS_RATIO:
        raise ValueError(f"must be {what}")
    return number


def _option(check: Callable[[Any], Any], doc: str) -> dict[str, Any]:
    return {"check": check, "doc": doc}


# --------------------------------------------------------------------------- sections


@dataclass(frozen=True)
class TimeConfig:
    """The simulated horizon."""

    # Issue 3: "company ... a year of epochs"; one epoch is a week (assumption).
    epochs: int = field(default=52, metadata=_option(POSITIVE_INT, "number of epochs"))
    # Label only (tables say "epoch", docs say "week"). Assumption.
    epoch_days: int = field(default=7, metadata=_option(POSITIVE_INT, "days per epoch (label)"))
    # Stored bytes (registry, nodes) are computed every N epochs and at the last one; transfers
    # every epoch. A cost knob for large scenarios, not a model parameter.
    storage_every: int = field(
        default=1, metadata=_option(POSITIVE_INT, "compute stored bytes every N epochs")
    )


@dataclass(frozen=True)
class BasesConfig:
    """Base image families (one layer each, like the official base images)."""

    # ANCHORS "Real images": alpine:3.22, debian:bookworm, ubuntu:24.04 (sizes in generator).
    families: tuple[str, ...] = field(
        default=BASE_FAMILIES,
        metadata=_option(_names(BASE_FAMILIES, allow_empty=False), "base families"),
    )
    # Assumption: a patch release about monthly (4 weekly epochs); ANCHORS has no cadence.
    release_every: int = field(
        default=4, metadata=_option(POSITIVE_INT, "epochs between patch releases")
    )
    # ANCHORS "Versions of one base": 10 ubuntu:jammy versions, 766.1 MiB as tars, 109.5 MiB
    # file-deduplicated: (109.5 - 76.6) / 9 = 3.7 MiB new per version of 76.6 MiB, about 5%.
    rewrite_fraction: float = field(
        default=0.05, metadata=_option(PROBABILITY, "share of files each release rewrites")
    )
    # Multiplies the preset file counts (assumptions, see generator); bytes stay calibrated.
    file_scale: float = field(default=1.0, metadata=_option(POSITIVE, "file count multiplier"))
    # 1.0: the presets' bytes (ANCHORS "Real images"). Set by `layersim calibrate` to fit the
    # base layers of analyzed images.
    bytes_scale: float = field(
        default=1.0, metadata=_option(POSITIVE, "file bytes multiplier of every base family")
    )
    # 0: each family's preset (ANCHORS "Real images": on-disk / compressed, 2.2x to 2.6x). Set
    # by `layersim calibrate` from the base layers of analyzed images.
    compression_ratio: float = field(
        default=0.0,
        metadata=_option(_preset_or_ratio, "file bytes per compressed byte (0: preset)"),
    )


@dataclass(frozen=True)
class RuntimesConfig:
    """Language runtimes (python-like, node-like, jvm-like) built on base versions."""

    # ANCHORS "Real images": python:3.12-bookworm and node:24-trixie rows; jvm: assumption.
    families: tuple[str, ...] = field(
        default=RUNTIME_FAMILIES,
        metadata=_option(_names(RUNTIME_FAMILIES, allow_empty=True), "runtime families"),
    )
    # Assumption: rebuilt every 2 weeks on the newest base then released, not in lockstep
    # with it (ANCHORS "Real images": python and debian published on different days had
    # different base-layer digests).
    rebuild_every: int = field(default=2, metadata=_option(POSITIVE_INT, "epochs between rebuilds"))
    # Assumption: like the bases (ANCHORS "Versions of one base", about 5% per version).
    rewrite_fraction: float = field(
        default=0.05, metadata=_option(PROBABILITY, "share of files each rebuild rewrites")
    )
    # Multiplies the preset file counts (assumptions, see generator); bytes stay calibrated.
    file_scale: float = field(default=1.0, metadata=_option(POSITIVE, "file count multiplier"))
    # 1.0: the presets' bytes (ANCHORS "Real images"). Set by `layersim calibrate`.
    bytes_scale: float = field(
        default=1.0, metadata=_option(POSITIVE, "file bytes multiplier of every runtime layer")
    )
    # 0: each family's preset (python, node: 2.72, from ANCHORS "Real images"; jvm: 2.0,
    # assumption). Set by `layersim calibrate`.
    compression_ratio: float = field(
        default=0.0,
        metadata=_option(_preset_or_ratio, "file bytes per compressed byte (0: preset)"),
    )


@dataclass(frozen=True)
class PackagesConfig:
    """The shared package universe dependency layers draw from (one per ecosystem: system
    packages, python, node, jvm)."""

    # Assumption: distinct packages a company's apps draw from, per ecosystem.
    count: int = field(default=1000, metadata=_option(POSITIVE_INT, "packages per ecosystem"))
    # Assumption: ANCHORS "Docker Hub at scale" says popularity is "heavily skewed toward a few
    # images" without an exponent; the classic Zipf exponent 1 is used for packages too.
    zipf_exponent: float = field(
        default=1.0, metadata=_option(_number(0.0, None, "a number >= 0"), "popularity skew")
    )
    # Assumption (scaled down to keep populations tractable; bytes per file scale up instead).
    files_mean: float = field(
        default=12.0, metadata=_option(AT_LEAST_ONE, "mean files per package")
    )
    # Assumption: a package releases a new version about twice a year.
    release_every: float = field(
        default=26.0, metadata=_option(AT_LEAST_ONE, "mean epochs between releases")
    )
    # Assumption: a new package version changes half of its files.
    rewrite_fraction: float = field(
        default=0.5, metadata=_option(PROBABILITY, "share of files a release rewrites")
    )
    # 1.0: the ecosystems' preset median file sizes (assumptions, see generator). Set by
    # `layersim calibrate` to fit the dependency layers of analyzed images.
    file_bytes_scale: float = field(
        default=1.0, metadata=_option(POSITIVE, "package file size multiplier")
    )


@dataclass(frozen=True)
class AppsConfig:
    """The apps: a parent, dependency layers, code, and sometimes the add-then-delete waste."""

    # Issue 3: "company ... hundreds of apps".
    count: int = field(default=300, metadata=_option(POSITIVE_INT, "number of apps"))
    # Parents (runtimes in config order, then bases) by Zipf popularity. ANCHORS "Docker Hub at
    # scale": popularity "heavily skewed toward a few images"; the exponent is an assumption.
    parent_zipf_exponent: float = field(
        default=1.0, metadata=_option(_number(0.0, None, "a number >= 0"), "parent popularity skew")
    )
    # Assumption: most apps track the newest parent; the others lag behind by a few versions.
    latest_share: float = field(
        default=0.7, metadata=_option(PROBABILITY, "share of apps on the newest parent")
    )
    lag_mean: float = field(
        default=2.0, metadata=_option(AT_LEAST_ONE, "mean lag in versions of the others")
    )
    # Assumption: an app rebuilds about every 2 weeks (geometric, per app).
    rebuild_every: float = field(
        default=2.0, metadata=_option(AT_LEAST_ONE, "mean epochs between rebuilds")
    )
    # Assumption: half the apps on a runtime also install system packages (`apt-get install`)
    # in a layer of their own; apps directly on a base always do.
    system_deps_probability: float = field(
        default=0.5, metadata=_option(PROBABILITY, "share of runtime apps with a system layer")
    )
    # Assumption.
    packages_per_layer: float = field(
        default=10.0, metadata=_option(AT_LEAST_ONE, "mean packages per dependency layer")
    )
    # Assumption: a build refreshes its dependency lock (newest package versions) 30% of the time.
    dep_update_probability: float = field(
        default=0.3, metadata=_option(PROBABILITY, "chance a build refreshes dependencies")
    )
    # Assumption: few build pipelines are reproducible; a reproducible app rebuilding unchanged
    # dependencies gets the same DiffID, any other build a new one (DESIGN.md §2).
    reproducible_probability: float = field(
        default=0.1, metadata=_option(PROBABILITY, "share of apps with reproducible builds")
    )
    # Assumption.
    code_files: float = field(
        default=60.0, metadata=_option(AT_LEAST_ONE, "mean files of app code")
    )
    # Assumption: source files are a few KB.
    code_file_bytes: int = field(
        default=8192, metadata=_option(POSITIVE_INT, "median bytes of a code file")
    )
    # Assumption: one `COPY` of the code. More: the code files split in order over this many
    # layers (Dockerfile steps); `layersim calibrate` fits it to the analyzed images' layers.
    code_layers: int = field(
        default=1, metadata=_option(POSITIVE_INT, "layers the code files are split over")
    )
    # Assumption: a rebuild changes a fifth of the code files (at least one).
    code_change_fraction: float = field(
        default=0.2, metadata=_option(PROBABILITY, "share of code files a rebuild changes")
    )
    # Assumption: DESIGN.md §8 "with some probability"; one app in five fetches an archive in one
    # step and deletes it in a later one (the pattern dive flags as wasted space).
    waste_probability: float = field(
        default=0.2, metadata=_option(PROBABILITY, "share of apps with add-then-delete")
    )
    # Assumption: a downloaded source archive of about 5 MB (median).
    waste_bytes: int = field(
        default=5_000_000, metadata=_option(POSITIVE_INT, "median bytes of that archive")
    )
    # Assumption: every app of a company runs on its nodes; on a hub most images never do.
    deployed_fraction: float = field(
        default=1.0, metadata=_option(PROBABILITY, "share of apps running on the nodes")
    )
    # Assumption: about three replicas per deployed app.
    replicas_mean: float = field(
        default=3.0, metadata=_option(AT_LEAST_ONE, "mean replicas of a deployed app")
    )


@dataclass(frozen=True)
class NodesConfig:
    """The machines that run app replicas, and their containers."""

    # Issue 3: "company ... tens of nodes".
    count: int = field(default=40, metadata=_option(POSITIVE_INT, "number of nodes"))
    # Issue 3: "spread" (least loaded) or "binpack" (by shared layers).
    placement: str = field(
        default="spread", metadata=_option(_choice(PLACEMENTS), "replica placement policy")
    )
    # Assumption: a node keeps the running version and the one before (rollback).
    retention: int = field(
        default=2, metadata=_option(POSITIVE_INT, "versions of an app a node keeps")
    )
    # Assumption: three stopped containers in ten linger until their image is removed.
    linger_probability: float = field(
        default=0.3, metadata=_option(PROBABILITY, "chance a stopped container lingers")
    )
    # Assumption: a few files written per container (logs, caches, temp files).
    writes_mean: float = field(
        default=4.0, metadata=_option(_number(0.0, None, "a number >= 0"), "mean files written")
    )
    # Assumption: 1 MB median per written file.
    write_bytes: int = field(
        default=1_000_000, metadata=_option(POSITIVE_INT, "median bytes of a written file")
    )
    # Assumption: about one image file modified per container (copied up whole by overlay2).
    modifies_mean: float = field(
        default=1.0, metadata=_option(_number(0.0, None, "a number >= 0"), "mean files modified")
    )
    # 0: every node's stored bytes are exact; N > 0: only N evenly spaced nodes are measured and
    # the fleet totals are estimates with a 95% interval (DESIGN.md §5). Cost knob.
    stats_sample: int = field(
        default=0, metadata=_option(NON_NEGATIVE_INT, "nodes measured per epoch (0: all)")
    )


@dataclass(frozen=True)
class RegistryConfig:
    """The registry every new image is pushed to."""

    # Assumption: a registry cleanup policy keeping the last 10 tags of each repository.
    retention: int = field(
        default=10, metadata=_option(POSITIVE_INT, "versions of a repository the registry keeps")
    )


@dataclass(frozen=True)
class TransferConfig:
    """The pull-time model: per node, `ceil(blobs / parallel_downloads) * blob_latency +
    bytes / bandwidth`; start-up = pull time + container start."""

    # Assumption: a 1 Gbit/s node link.
    bandwidth_mbit: float = field(
        default=1000.0, metadata=_option(POSITIVE, "node link bandwidth, Mbit/s")
    )
    # Assumption: 50 ms per blob (registry round trips: HEAD, token, GET redirect).
    blob_latency_ms: float = field(
        default=50.0, metadata=_option(_number(0.0, None, "a number >= 0"), "latency per blob, ms")
    )
    # Docker's daemon default `max-concurrent-downloads` is 3 (issue 3).
    parallel_downloads: int = field(
        default=3, metadata=_option(POSITIVE_INT, "parallel blob downloads per node")
    )
    # Calibrated to ANCHORS "Transfer and start-up": pulling is 76% of start-up (Slacker). A cold
    # pull of python:3.12-bookworm (ANCHORS "Real images": 7 blobs, 380.6 MB compressed) over the
    # default link takes ceil(7/3) * 0.05 + 380.6e6 * 8 / 1e9 = 3.2 s; 3.2 / (3.2 + 1.0) = 76%.
    container_start_seconds: float = field(
        default=1.0,
        metadata=_option(_number(0.0, None, "a number >= 0"), "start-up time besides the pull, s"),
    )


@dataclass(frozen=True)
class StorageConfig:
    """How nodes store what they pull (`model.StorageOptions`)."""

    # DESIGN.md §4: 4 KiB filesystem blocks by default.
    block_bytes: int = field(default=4096, metadata=_option(_power_of_two, "filesystem block"))
    # DESIGN.md §3: overlay2 copies a modified file up whole.
    driver: str = field(
        default="overlay2",
        metadata=_option(_choice([d.value for d in StorageDriver]), "storage driver"),
    )
    # DESIGN.md §5 / ANCHORS "How the real tools count": containerd keeps compressed blobs beside
    # the snapshots unless told not to; Docker's overlay2 store does not (default off).
    keep_compressed_blobs: bool = field(
        default=False, metadata=_option(_boolean, "keep compressed blobs on nodes")
    )


SECTIONS: Mapping[str, type] = {
    "time": TimeConfig,
    "bases": BasesConfig,
    "runtimes": RuntimesConfig,
    "packages": PackagesConfig,
    "apps": AppsConfig,
    "nodes": NodesConfig,
    "registry": RegistryConfig,
    "transfer": TransferConfig,
    "storage": StorageConfig,
}
TOP_KEYS = ("scenario", "description", "seed")


@dataclass(frozen=True)
class ExperimentConfig:
    """A whole experiment. `seed` seeds the one `numpy.random.Generator` of a run."""

    scenario: str = DEFAULT_SCENARIO
    description: str = ""
    seed: int = 42  # a modelling choice; any seed is as good
    time: TimeConfig = field(default_factory=TimeConfig)
    bases: BasesConfig = field(default_factory=BasesConfig)
    runtimes: RuntimesConfig = field(default_factory=RuntimesConfig)
    packages: PackagesConfig = field(default_factory=PackagesConfig)
    apps: AppsConfig = field(default_factory=AppsConfig)
    nodes: NodesConfig = field(default_factory=NodesConfig)
    registry: RegistryConfig = field(default_factory=RegistryConfig)
    transfer: TransferConfig = field(default_factory=TransferConfig)
    storage: StorageConfig = field(default_factory=StorageConfig)


_TOP_CHECKS: Mapping[str, Callable[[Any], Any]] = {
    "scenario": _text,
    "description": _text,
    "seed": SEED,
}


# --------------------------------------------------------------------------- scenarios


def _scenario_dir() -> Any:
    return resources.files("layersim") / "scenarios"


def scenario_names() -> tuple[str, ...]:
    """Names of the built-in scenarios, sorted."""
    return tuple(
        sorted(
            entry.name.removesuffix(".toml")
            for entry in _scenario_dir().iterdir()
            if entry.name.endswith(".toml")
        )
    )


def _scenario_document(name: str) -> dict[str, Any]:
    if name not in scenario_names():
        known = ", ".join(scenario_names())
        raise ConfigError(f"scenario: unknown scenario {name!r} (built-in: {known})")
    text = (_scenario_dir() / f"{name}.toml").read_text(encoding="utf-8")
    return _parse_toml(text, f"scenario {name}")


def list_scenarios() -> list[tuple[str, str]]:
    """The built-in scenarios as (name, one-line description), sorted by name."""
    return [
        (name, str(_scenario_document(name).get("description", ""))) for name in scenario_names()
    ]


# --------------------------------------------------------------------------- loading


def _parse_toml(text: str, where: str) -> dict[str, Any]:
    try:
        return tomllib.loads(text)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{where}: malformed TOML: {exc}") from None


def _check(where: str, check: Callable[[Any], Any], value: Any) -> Any:
    try:
        return check(value)
    except ValueError as exc:
        raise ConfigError(f"{where}: {exc}, got {_describe(value)}") from None


def _section_keys(cls: type) -> list[str]:
    return [f.name for f in fields(cls)]


def _apply(config: ExperimentConfig, document: Mapping[str, Any]) -> ExperimentConfig:
    """`config` with every key of `document` checked and applied."""
    top: dict[str, Any] = {}
    for key, value in document.items():
        if key in SECTIONS:
            if not isinstance(value, dict):
                raise ConfigError(f"{key}: must be a table, got {_describe(value)}")
            section_cls = SECTIONS[key]
            known = {f.name: f for f in fields(section_cls)}
            changes: dict[str, Any] = {}
            for name, item in value.items():
                if name not in known:
                    allowed = ", ".join(sorted(known))
                    raise ConfigError(f"{key}.{name}: unknown key (known: {allowed})")
                changes[name] = _check(f"{key}.{name}", known[name].metadata["check"], item)
            top[key] = replace(getattr(config, key), **changes)
        elif key in _TOP_CHECKS:
            top[key] = _check(key, _TOP_CHECKS[key], value)
        else:
            allowed = ", ".join([*TOP_KEYS, *SECTIONS])
            raise ConfigError(f"{key}: unknown key or section (known: {allowed})")
    return replace(config, **top)


def parse_override(text: str) -> dict[str, Any]:
    """One `--set key=value` as a document: `apps.count=5` -> {"apps": {"count": 5}}.

    The value is read as a TOML value (`5`, `0.3`, `true`, `"x"`, `["a", "b"]`); a bare word
    that is not TOML (`binpack`) is taken as a string.
    """
    key, sep, raw = text.partition("=")
    key = key.strip()
    raw = raw.strip()
    parts = key.split(".")
    if not sep or not key or not raw or len(parts) > 2 or not all(parts):
        raise ConfigError(f"--set {text}: expected section.key=value (or seed=N)")
    try:
        value = tomllib.loads(f"v = {raw}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw
    if len(parts) == 1:
        return {parts[0]: value}
    return {parts[0]: {parts[1]: value}}


def _cross_checks(config: ExperimentConfig) -> None:
    for runtime in config.runtimes.families:
        base = RUNTIME_BASE[runtime]
        if base not in config.bases.families:
            raise ConfigError(
                f"runtimes.families: {runtime} is built on base family {base}, "
                "which bases.families does not list"
            )


def load_config(
    path: str | Path | None = None,
    scenario: str | None = None,
    overrides: Iterable[str] = (),
) -> ExperimentConfig:
    """The experiment: defaults, then a scenario, then the file, then the overrides.

    The scenario is `scenario` if given, else the file's top-level `scenario` key, else
    `company` when no file is given (a file without `scenario` starts from the defaults,
    which are the `company` scenario). Raises `ConfigError` (one line, naming the key) for any
    invalid setting and for an unreadable file.
    """
    document: dict[str, Any] = {}
    if path is not None:
        source = Path(path)
        try:
            text = source.read_text(encoding="utf-8")
        except (OSError, UnicodeDecodeError) as exc:
            raise ConfigError(f"{source}: cannot read the config: {exc}") from None
        document = _parse_toml(text, str(source))
        if "scenario" in document:
            _check("scenario", _text, document["scenario"])
    name = scenario or document.get("scenario") or DEFAULT_SCENARIO
    config = _apply(ExperimentConfig(), _scenario_document(name))
    config = replace(config, scenario=name)
    config = _apply(config, {k: v for k, v in document.items() if k != "scenario"})
    for text in overrides:
        config = _apply(config, parse_override(text))
    _cross_checks(config)
    return config


def config_to_dict(config: ExperimentConfig) -> dict[str, Any]:
    """The config as plain JSON-able data (tuples as lists), in schema order."""
    out: dict[str, Any] = {
        "scenario": config.scenario,
        "description": config.description,
        "seed": config.seed,
    }
    for name in SECTIONS:
        section = getattr(config, name)
        out[name] = {
            f.name: list(v) if isinstance(v := getattr(section, f.name), tuple) else v
            for f in fields(section)
        }
    return out


def config_schema() -> list[tuple[str, str, Any, str]]:
    """Every key as (key, type, default, description) rows, for docs and `--help`."""
    rows: list[tuple[str, str, Any, str]] = []
    defaults = ExperimentConfig()
    rows.append(("seed", "int", defaults.seed, "seed of the run's random generator"))
    for name, cls in SECTIONS.items():
        section = getattr(defaults, name)
        for f in fields(cls):
            rows.append(
                (
                    f"{name}.{f.name}",
                    type(getattr(section, f.name)).__name__,
                    getattr(section, f.name),
                    f.metadata["doc"],
                )
            )
    return rows
