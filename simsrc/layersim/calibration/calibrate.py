"""Fit the generator's settings to real images: the core of `layersim calibrate`.

    calibrate(images, sources=..., scenario=None, check_seeds=10) -> Calibration
    Calibration.toml_text() -> the experiment file (`layersim run --config` reads it)
    headline(images) -> Headline: the statistics a calibration is judged by

The images are what `readers.read_images` returns, in the order read. Successive images of one
repository (`repo:1`, `repo:2`, ... in read order) are successive versions of it.

**Roles.** The generator builds every app image as base layer + runtime layers + the app's own
layers (dependency layers, an optional add-then-delete archive layer, code layers), so the
analyzed images are cut the same way:

- an image whose layer stack is a proper prefix of another's is a *parent* (a base or runtime
  image); the others are *apps* (leaf images). Only apps are fitted and measured;
- an app's *parent part* is its longest stack prefix (by ChainID) that a parent image or an app
  of another repository also has, at least the bottom layer: layer 0 is its *base layer*, the
  others its *runtime layers*;
- of its own layers, one that a later layer of the same image shadows for at least half of its
  file bytes is a *waste* layer (the add-then-delete pattern); of the rest, the first is a
  dependency layer (the first two for an app on a runtime, if it has three or more), and the
  others are *code* layers.

**Fit.** Each role's statistics set the keys that drive that role in `generator` (the table in
docs/analyze.md; every key's provenance is written beside it in the file). Expected values of
the generator's draws are matched exactly where the draw is known (a lognormal's mean is
`median * exp(sigma**2 / 2)`; a code layer always changes at least one file per build). What
the config cannot express is measured and written as a comment, never as an invented key.

**Check.** With `check_seeds > 0` the fitted config is generated (`generator.generate`, one
seed after another from the config's) and its apps measured with the same `headline`; the
file's header shows both, their relative difference and whether it is within `TOLERANCES`.

Pure: no printing and no files; progress goes out through a callback.
"""

from __future__ import annotations

import itertools
import math
import statistics
import textwrap
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field, fields, replace
from typing import Any

import numpy as np

from layersim import __version__
from layersim.accounting.arrays import to_population
from layersim.accounting.metrics import dedup_ratio
from layersim.config import (
    DEFAULT_SCENARIO,
    MAX_CLASS_RATIO,
    MIN_CLASS_RATIO,
    RUNTIME_BASE,
    SECTIONS,
    ExperimentConfig,
    load_config,
)
from layersim.errors import ModelError
from layersim.fleet import generate
from layersim.fleet.presets import (
    BASE_PRESETS,
    CLASS_NAMES,
    CODE_CLASS_MIX,
    CODE_COUNT_SIGMA,
    CODE_FILE_SIGMA,
    ECOSYSTEMS,
    RUNTIME_PRESETS,
    WASTE_SIGMA,
)
from layersim.model import Entry, EntryKind, Image, Layer
from layersim.model.overlay import merged_files
from layersim.model.sizes import DEFAULT_CLASS_RATIOS_PERMILLE
from layersim.progress import Progress

# How far a generated statistic may be from the analyzed one, relative
# (|generated - analyzed| / analyzed; version churn: absolute, in share of files). These hold
# for image sets the model can express (docs/analyze.md); the file's header shows the rest.
TOLERANCES: Mapping[str, float] = {
    "layers_per_image": 0.10,
    "compressed_bytes_per_layer": 0.25,
    "compression_ratio": 0.15,
    "files_per_layer": 0.25,
    "layer_dedup_ratio": 0.15,
    "version_churn": 0.05,
}
ABSOLUTE = frozenset({"version_churn"})

# A release cadence longer than any horizon: what "never changed" is written as.
NEVER_EPOCHS = 1000
# Zipf exponent giving one of two parents all the apps (2**-30 of them to the other).
MAX_PARENT_SKEW = 30.0
WASTE_SHARE = 0.5  # a layer shadowed for at least this share of its file bytes is waste

_QUANTILES = np.array(
    [statistics.NormalDist().inv_cdf((k + 0.5) / 4000) for k in range(4000)], dtype=np.float64
)

# Content classes by name, for the measured compressibility (comments only: real files carry
# no class, and the class ratios are the model's constants).
_ARCHIVE_SUFFIXES = (
    ".gz", ".tgz", ".xz", ".zst", ".bz2", ".zip", ".jar", ".war", ".whl", ".egg", ".apk",
    ".deb", ".rpm", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".7z",
)  # fmt: skip
_TEXT_SUFFIXES = (
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".json", ".txt", ".md", ".rst", ".html",
    ".htm", ".css", ".xml", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".sh", ".c",
    ".h", ".cc", ".cpp", ".hpp", ".java", ".go", ".rb", ".pl", ".pm", ".php", ".sql", ".csv",
    ".svg", ".map", ".properties", ".in", ".pem", ".crt", ".desktop", ".service",
)  # fmt: skip


def content_class_of(path: str) -> str:
    """A file's content class guessed from its name: `archive` (already compressed), `text`,
    else `binary`. Used only to report measured compressibility by class."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith(_ARCHIVE_SUFFIXES):
        return "archive"
    if name.endswith(_TEXT_SUFFIXES) or "/share/doc/" in f"/{path}" or "/etc/" in f"/{path}":
        return "text"
    return "binary"


# --------------------------------------------------------------------------- stacks


def stack_files(layers: Sequence[Layer]) -> tuple[dict[str, str], list[int]]:
    """The merged view's regular files (path -> content digest) and each layer's hidden file
    bytes (`overlay.merged_files`)."""
    files, hidden = merged_files(layers)
    return {path: entry.content or "" for path, entry in files.items()}, hidden


def _files(layer: Layer) -> list[Entry]:
    return [e for e in layer.entries if e.kind is EntryKind.FILE]


def _role_files(layers: Iterable[Layer]) -> dict[str, str]:
    """Regular files of some layers of one image, a later layer's winning (the role's own view;
    deletions inside the role are not applied: they are rare and the model has none)."""
    out: dict[str, str] = {}
    for layer in layers:
        for entry in _files(layer):
            out[entry.path] = entry.content or ""
    return out


def _churn(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[int, int]:
    """(changed, common): regular files at paths both versions have, and how many of them have
    other contents in `after`."""
    common = before.keys() & after.keys()
    return sum(1 for p in common if before[p] != after[p]), len(common)


def _uncompressed(layer: Layer) -> bool:
    # a blob stored as a plain tar (docker-archives): its digest is its DiffID
    return layer.blob_digest == layer.diff_id


# --------------------------------------------------------------------------- headline


@dataclass(frozen=True)
class Headline:
    """The statistics of a set of images that a calibration is judged by, over its *apps* (leaf
    images, module docstring) and their distinct layers (by DiffID).

    - `layers_per_image`: mean layers per app;
    - `compressed_bytes_per_layer`: mean compressed bytes of a distinct layer;
    - `compression_ratio`: their tar bytes over their compressed bytes;
    - `files_per_layer`: mean regular files of a distinct layer;
    - `layer_dedup_ratio`: the apps' layers' compressed bytes summed app by app (`logical`)
      over the compressed bytes of their distinct layers (`layer`): what a registry holding
      the apps saves by storing each layer once, as `metrics.dedup_ratio`;
    - `version_churn`: over successive versions of each repository (in the order given), the
      share of the regular files at paths both versions' merged views have whose contents
      differ (None without two versions of a repository).
    """

    images: int
    layers: int
    layers_per_image: float
    compressed_bytes_per_layer: float
    compression_ratio: float
    files_per_layer: float
    layer_dedup_ratio: float
    version_pairs: int
    version_churn: float | None

    STATISTICS = (
        "layers_per_image",
        "compressed_bytes_per_layer",
        "compression_ratio",
        "files_per_layer",
        "layer_dedup_ratio",
        "version_churn",
    )


def leaf_indices(images: Sequence[Image]) -> list[int]:
    """Indices of the images whose stack is not a proper prefix of another image's stack."""
    inner: set[str] = set()
    for image in images:
        inner.update(image.chain_ids[:-1])
    return [i for i, image in enumerate(images) if image.chain_ids[-1] not in inner]


def _version_pairs(images: Sequence[Image], leaves: Sequence[int]) -> list[tuple[int, int]]:
    by_repo: dict[str, list[int]] = defaultdict(list)
    for i in leaves:
        by_repo[images[i].repository].append(i)
    return [(a, b) for ids in by_repo.values() for a, b in itertools.pairwise(ids)]


def headline(
    images: Sequence[Image], views: Mapping[int, Mapping[str, str]] | None = None
) -> Headline:
    """The `Headline` statistics of `images` (see there). `views`: merged-view files of some
    images by index (`stack_files`), already computed."""
    if not images:
        raise ModelError("no images to measure")
    leaves = leaf_indices(images)
    distinct: dict[str, Layer] = {}
    for i in leaves:
        for layer in images[i].layers:
            distinct.setdefault(layer.diff_id, layer)
    layers = list(distinct.values())
    tar = sum(layer.tar_bytes for layer in layers)
    compressed = sum(layer.compressed_bytes for layer in layers)
    logical = sum(layer.compressed_bytes for i in leaves for layer in images[i].layers)
    pairs = _version_pairs(images, leaves)
    changed = common = 0
    known = views or {}
    cache: dict[int, Mapping[str, str]] = {}
    for a, b in pairs:
        for i in (a, b):
            if i not in cache:
                cache[i] = known[i] if i in known else stack_files(images[i].layers)[0]
        c, n = _churn(cache[a], cache[b])
        changed, common = changed + c, common + n
        cache.pop(a, None)
    return Headline(
        images=len(leaves),
        layers=len(layers),
        layers_per_image=sum(len(images[i].layers) for i in leaves) / len(leaves),
        compressed_bytes_per_layer=compressed / len(layers),
        compression_ratio=tar / compressed if compressed else 1.0,
        files_per_layer=sum(len(_files(layer)) for layer in layers) / len(layers),
        layer_dedup_ratio=dedup_ratio(logical, compressed),
        version_pairs=len(pairs),
        version_churn=changed / common if common else None,
    )


def mean_headline(headlines: Sequence[Headline]) -> Headline:
    """The mean of each statistic over several headlines (e.g. of several seeds)."""
    churns = [h.version_churn for h in headlines if h.version_churn is not None]
    return Headline(
        images=round(statistics.fmean(h.images for h in headlines)),
        layers=round(statistics.fmean(h.layers for h in headlines)),
        layers_per_image=statistics.fmean(h.layers_per_image for h in headlines),
        compressed_bytes_per_layer=statistics.fmean(
            h.compressed_bytes_per_layer for h in headlines
        ),
        compression_ratio=statistics.fmean(h.compression_ratio for h in headlines),
        files_per_layer=statistics.fmean(h.files_per_layer for h in headlines),
        layer_dedup_ratio=statistics.fmean(h.layer_dedup_ratio for h in headlines),
        version_pairs=round(statistics.fmean(h.version_pairs for h in headlines)),
        version_churn=statistics.fmean(churns) if churns else None,
    )


def difference(statistic: str, analyzed: float, generated: float) -> float:
    """How far `generated` is from `analyzed`: relative, or absolute for `ABSOLUTE` ones."""
    if statistic in ABSOLUTE:
        return generated - analyzed
    return (generated - analyzed) / analyzed if analyzed else (0.0 if not generated else math.inf)


def within_tolerance(statistic: str, analyzed: float, generated: float) -> bool:
    return abs(difference(statistic, analyzed, generated)) <= TOLERANCES[statistic]


# --------------------------------------------------------------------------- roles


@dataclass
class _App:
    """One leaf image cut into the generator's roles (indices into its layers)."""

    image: Image
    parent_length: int
    visible: dict[str, str] = field(default_factory=dict)  # merged view: path -> content
    waste: list[int] = field(default_factory=list)
    deps: list[int] = field(default_factory=list)
    code: list[int] = field(default_factory=list)
    shadowed: list[int] = field(default_factory=list)

    @property
    def base(self) -> Layer:
        return self.image.layers[0]

    @property
    def runtime(self) -> list[Layer]:
        return list(self.image.layers[1 : self.parent_length])

    @property
    def on_runtime(self) -> bool:
        return self.parent_length > 1

    def layers(self, positions: Iterable[int]) -> list[Layer]:
        return [self.image.layers[k] for k in positions]


def _cut(images: Sequence[Image], leaves: Sequence[int]) -> list[_App]:
    leaf_set = set(leaves)
    parent_chains: set[str] = set()
    repos_of: dict[str, set[str]] = defaultdict(set)
    for i, image in enumerate(images):
        if i in leaf_set:
            for chain in image.chain_ids:
                repos_of[chain].add(image.repository)
        else:
            parent_chains.update(image.chain_ids)
    apps = []
    for i in leaves:
        image = images[i]
        chains = image.chain_ids
        shared = 0
        for chain in chains:
            if chain in parent_chains or repos_of[chain] - {image.repository}:
                shared += 1
            else:
                break
        n = len(chains)
        parent = max(1, min(shared, n - 1)) if n > 1 else 1
        app = _App(image=image, parent_length=parent)
        app.visible, app.shadowed = stack_files(image.layers)
        own_kept = []
        for k in range(parent, n):
            file_bytes = image.layers[k].file_bytes
            if file_bytes and app.shadowed[k] >= WASTE_SHARE * file_bytes:
                app.waste.append(k)
            else:
                own_kept.append(k)
        n_deps = 0
        if len(own_kept) >= 2:
            n_deps = 2 if app.on_runtime and len(own_kept) >= 3 else 1
        app.deps, app.code = own_kept[:n_deps], own_kept[n_deps:]
        apps.append(app)
    return apps


# --------------------------------------------------------------------------- the result


@dataclass(frozen=True)
class Fitted:
    """One key of the experiment file and where its value came from (one line)."""

    section: str  # "" for a top-level key
    key: str
    value: Any
    why: str

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}" if self.section else self.key


@dataclass(frozen=True)
class Calibration:
    """A fit: the keys, the measured facts the config cannot express (`notes`), and the
    statistics of the analyzed apps beside those of the generated config (`generated`: the
    mean over `check_seeds` seeds, None if not checked)."""

    sources: tuple[str, ...]
    images: tuple[str, ...]
    apps: tuple[str, ...]
    scenario: str
    fitted: tuple[Fitted, ...]
    notes: tuple[str, ...]
    analyzed: Headline
    generated: Headline | None = None
    check_seeds: int = 0

    def overrides(self) -> list[str]:
        """The fitted keys as `--set` overrides (`section.key=value`, `description=...`)."""
        return [f"{f.dotted}={toml_value(f.value)}" for f in self.fitted]

    def config(self) -> ExperimentConfig:
        """The experiment the file describes (validated by `config.load_config`)."""
        return load_config(None, self.scenario, self.overrides())

    def comparison(self) -> list[tuple[str, float, float | None, float | None, bool | None]]:
        """Per statistic: (name, analyzed, generated, difference, within tolerance); None
        where not checked or not measured."""
        rows = []
        for name in Headline.STATISTICS:
            analyzed = getattr(self.analyzed, name)
            if analyzed is None:
                continue
            generated = getattr(self.generated, name) if self.generated else None
            if generated is None:
                rows.append((name, analyzed, None, None, None))
                continue
            rows.append(
                (
                    name,
                    analyzed,
                    generated,
                    difference(name, analyzed, generated),
                    within_tolerance(name, analyzed, generated),
                )
            )
        return rows

    def toml_text(self) -> str:
        return _toml_text(self)


# --------------------------------------------------------------------------- fitting


class _Fit:
    """Collects fitted keys and notes, in order."""

    def __init__(self, base: ExperimentConfig) -> None:
        self.base = base
        self.keys: dict[str, Fitted] = {}
        self.notes: list[str] = []

    def set(self, section: str, key: str, value: Any, why: str) -> None:
        current = getattr(getattr(self.base, section), key)
        if isinstance(current, int) and not isinstance(current, bool):
            value = round(value)
        elif isinstance(current, float):
            value = _round(float(value))
        self.keys[f"{section}.{key}"] = Fitted(section, key, value, why)

    def note(self, text: str) -> None:
        self.notes.append(text)

    def ordered(self) -> tuple[Fitted, ...]:
        schema = [f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in fields(cls)]
        order = {key: n for n, key in enumerate(schema)}
        return tuple(sorted(self.keys.values(), key=lambda f: order[f.dotted]))


def _round(x: float) -> float:
    return float(f"{x:.6g}")


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.fmean(values) if values else None


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _distinct(layers: Iterable[Layer]) -> list[Layer]:
    seen: dict[str, Layer] = {}
    for layer in layers:
        seen.setdefault(layer.diff_id, layer)
    return list(seen.values())


def _data_ratio(layers: Sequence[Layer]) -> float | None:
    """File bytes per compressed byte of the files' data (the compressed bytes the readers
    apportion to file contents), over the layers stored compressed; None if there are none."""
    stored = [layer for layer in layers if not _uncompressed(layer)]
    file_bytes = sum(e.file_bytes for layer in stored for e in _files(layer))
    data = sum(e.content_compressed_bytes for layer in stored for e in _files(layer))
    return file_bytes / data if data else None


def _mix_ratio(mix: Sequence[float]) -> float:
    """File bytes per compressed byte of files drawn with these class shares (text, binary,
    archive), as the generator draws them."""
    ratios = [DEFAULT_CLASS_RATIOS_PERMILLE[c] / 1000 for c in CLASS_NAMES]
    return 1 / sum(share / r for share, r in zip(mix, ratios, strict=True)) * sum(mix)


def _note_ratio(fit: _Fit, what: str, layers: Sequence[Layer], model: float) -> None:
    """A note when the measured compressibility of some layers is more than 15% away from
    what the model gives them (a class mix the config cannot change)."""
    measured = _data_ratio(layers)
    if measured is not None and abs(math.log(measured / model)) > math.log(1.15):
        fit.note(
            f"{what}: file data compresses {measured:.3g}x, the model's class mix "
            f"{model:.3g}x (not configurable)"
        )


def _clamped_ratio(ratio: float) -> float:
    return min(max(ratio, MIN_CLASS_RATIO), MAX_CLASS_RATIO)


def _lognormal_median(mean: float, sigma: float) -> float:
    """The median of a log-normal with this mean (the generator floors draws: +0.5)."""
    return (mean + 0.5) / math.exp(sigma**2 / 2)


def _expected_code_files(code_files: float, code_layers: int) -> float:
    """E[max(code_layers, round(code_files * exp(0.5 Z)))], as the generator draws it."""
    draws = np.round(code_files * np.exp(CODE_COUNT_SIGMA * _QUANTILES))
    return float(np.maximum(code_layers, draws).mean())


def _solve_increasing(f: Callable[[float], float], target: float, low: float, high: float):
    """x in [low, high] with f(x) = target for an increasing f (clamped to the ends)."""
    if f(low) >= target:
        return low
    if f(high) <= target:
        return high
    for _ in range(100):
        mid = math.sqrt(low * high) if low > 0 else (low + high) / 2
        if f(mid) < target:
            low = mid
        else:
            high = mid
    return (low + high) / 2


def _forced_fraction(churn: float, files: float) -> float:
    """The rewrite fraction f whose expected churn is `churn` for a tree of `files` files that
    the generator forces to change at least one file per version: churn = (1 + (n-1) f) / n."""
    if files <= 1:
        return min(max(churn, 0.0), 1.0)
    return min(max((churn * files - 1) / (files - 1), 0.0), 1.0)


def _pairs_of(apps: Sequence[_App]) -> list[tuple[_App, _App]]:
    by_repo: dict[str, list[_App]] = defaultdict(list)
    for app in apps:
        by_repo[app.image.repository].append(app)
    return [(a, b) for group in by_repo.values() for a, b in itertools.pairwise(group)]


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


@dataclass
class _Set:
    """The analyzed apps and what every role's fit needs."""

    apps: list[_App]
    pairs: list[tuple[_App, _App]]
    base: ExperimentConfig  # the scenario's values
    runtime: str | None = None  # the runtime preset chosen

    @property
    def n(self) -> int:
        return len(self.apps)

    @property
    def on_runtime(self) -> list[_App]:
        return [a for a in self.apps if a.on_runtime and self.runtime is not None]


def calibrate(
    images: Sequence[Image],
    *,
    sources: Sequence[str] = (),
    scenario: str | None = None,
    check_seeds: int = 10,
    progress: Progress | None = None,
) -> Calibration:
    """Fit the experiment config to `images` (see the module docstring).

    `scenario` is the built-in scenario whose values the keys not fitted keep (default
    `company`, the documented defaults). `check_seeds` seeds of the fitted config are
    generated and measured (0: no check). Raises `ModelError` for an empty set and
    `ConfigError` for an unknown scenario."""
    if not images:
        raise ModelError("calibrate needs at least one image")
    report = progress or (lambda stage, fraction: None)
    name = scenario or DEFAULT_SCENARIO
    fit = _Fit(load_config(None, name))
    report("calibrate: measure", 0.0)
    leaves = leaf_indices(images)
    apps = _cut(images, leaves)
    data = _Set(apps=apps, pairs=_pairs_of(apps), base=fit.base)
    what = _fit_scale(fit, data)
    _fit_parents(fit, data)
    _fit_base(fit, data)
    _fit_runtime(fit, data)
    _fit_waste(fit, data)
    _fit_code(fit, data)
    _fit_dependencies(fit, data)
    _note_classes(fit, images, leaves)
    description = f"calibrated from {what} (layersim calibrate)"
    result = Calibration(
        sources=tuple(sources),
        images=tuple(image.name for image in images),
        apps=tuple(images[i].name for i in leaves),
        scenario=name,
        fitted=(Fitted("", "description", description, "what the file is"), *fit.ordered()),
        notes=tuple(fit.notes),
        analyzed=headline(images, {i: app.visible for i, app in zip(leaves, apps, strict=True)}),
    )
    config = result.config()  # validates every key
    if check_seeds > 0:
        generated = check(config, check_seeds, report)
        result = replace(result, generated=generated, check_seeds=check_seeds)
    report("calibrate: done", 1.0)
    return result


def _fit_scale(fit: _Fit, data: _Set) -> str:
    """Counts and time: one app per repository, one epoch per version, the one registry and
    the one node of the analyzed population. Returns the set described in words."""
    repos = Counter(app.image.repository for app in data.apps)
    versions = list(repos.values())
    epochs, mean_versions = max(versions), statistics.fmean(versions)
    what = f"{_plural(data.n, 'app image')} of {_plural(len(repos), 'repository', 'repositories')}"
    fit.set("time", "epochs", epochs, f"versions of the repository with the most ({what})")
    fit.set("apps", "count", len(repos), "repositories of the app images")
    fit.set(
        "apps",
        "rebuild_every",
        (epochs - 1) / (mean_versions - 1) if mean_versions > 1 else 1.0,
        f"one epoch per version; versions per repository: {mean_versions:.3g} on average, "
        f"{epochs} at most",
    )
    fit.set("nodes", "count", 1, "the analyzed population: one node pulls every image")
    fit.set("apps", "deployed_fraction", 1.0, "every analyzed image is on the node")
    fit.set("apps", "replicas_mean", 1.0, "images only: no containers were analyzed")
    fit.set("nodes", "retention", epochs, "the node keeps every version it pulled")
    fit.set(
        "registry",
        "retention",
        max(epochs, data.base.registry.retention),
        "the registry keeps every version pushed",
    )
    return what


def _fit_parents(fit: _Fit, data: _Set) -> None:
    """A runtime (the preset with the nearest layer count) if a quarter of the apps or more
    share layers above their base, and the Zipf skew that puts that share of apps on it."""
    shared = [a for a in data.apps if a.on_runtime]
    share = len(shared) / data.n
    if not shared or share < 0.25:
        fit.set(
            "runtimes",
            "families",
            [],
            f"apps sharing layers above their base layer with another repository: "
            f"{len(shared)} of {data.n}",
        )
        if shared:
            fit.note(
                f"{len(shared)} of {data.n} apps sit on a shared multi-layer parent: too few "
                "for a runtime (a quarter at least), fitted as apps on the base"
            )
        return
    layers = statistics.fmean(a.parent_length - 1 for a in shared)

    def distance(name: str) -> tuple[float, str]:
        return abs(len(RUNTIME_PRESETS[name].layer_compressed_bytes) - layers), name

    data.runtime = min(RUNTIME_PRESETS, key=distance)
    preset_layers = len(RUNTIME_PRESETS[data.runtime].layer_compressed_bytes)
    fit.set(
        "runtimes",
        "families",
        [data.runtime],
        f"apps on a shared multi-layer parent: {len(shared)} of {data.n}, with {layers:.3g} "
        f"layers above the base; the preset with the nearest layer count ({preset_layers})",
    )
    if abs(preset_layers - layers) >= 0.5:
        fit.note(
            f"runtime layers: {layers:.3g} per app on a runtime, the {data.runtime} preset has "
            f"{preset_layers} (a runtime's layer count is not configurable)"
        )
    if share == 1.0:
        skew, why = MAX_PARENT_SKEW, "every app sits on the runtime: all but 2**-30 of them"
    else:
        skew = min(math.log2(share / (1 - share)), MAX_PARENT_SKEW) if share > 0.5 else 0.0
        why = (
            f"share of the apps on the runtime, the others on the base: {share:.3g} = "
            f"1 / (1 + 2**-s)"
        )
        if share < 0.5:
            fit.note(
                f"apps on a runtime: {share:.3g} of them; with Zipf popularity the first parent "
                "gets at least half (0.5 generated)"
            )
    fit.set("apps", "parent_zipf_exponent", skew, why)


def _fit_base(fit: _Fit, data: _Set) -> None:
    """The base family (the runtime's, else the preset nearest in size), its size, files and
    compressibility, and how often and how much it changes between successive versions."""
    bases = _distinct(a.base for a in data.apps)
    base_files = statistics.fmean(len(_files(layer)) for layer in bases)
    base_bytes = statistics.fmean(layer.file_bytes for layer in bases)
    if data.runtime is not None:
        family = RUNTIME_BASE[data.runtime]
        why = f"the base of the {data.runtime} runtime"
    else:
        family = min(
            BASE_PRESETS,
            key=lambda f: abs(math.log(max(base_bytes, 1) / BASE_PRESETS[f].file_bytes)),
        )
        why = "the preset nearest in file bytes"
    preset = BASE_PRESETS[family]
    fit.set(
        "bases",
        "families",
        [family],
        f"distinct base layers (layer 0 of the apps): {len(bases)}, taken as versions of one "
        f"family; {why}",
    )
    fit.set(
        "bases",
        "bytes_scale",
        max(base_bytes, 1) / preset.file_bytes,
        f"file bytes per base layer: {_fmt(base_bytes)}, over the {family} preset's "
        f"{preset.file_bytes:,}",
    )
    fit.set(
        "bases",
        "file_scale",
        max(base_files, 1) / preset.files,
        f"regular files per base layer: {_fmt(base_files)}, over the {family} preset's "
        f"{preset.files:,}",
    )
    ratio = _data_ratio(bases)
    if ratio is None:
        fit.note(
            "base layers stored uncompressed (docker-archive): compressibility not fitted, and "
            "compressed bytes of uncompressed layers are their tar bytes (read OCI layouts "
            "for registry figures)"
        )
    else:
        clamped = _clamped_ratio(ratio)
        why = f"file bytes per compressed byte of file data in the base layers: {ratio:.3g}"
        if clamped != ratio:
            why += f" (the model's range is {MIN_CLASS_RATIO:g} to {MAX_CLASS_RATIO:g})"
        fit.set("bases", "compression_ratio", clamped, why)
    if len(bases) == 1:
        fit.set("apps", "latest_share", 1.0, "one base layer: every app on the same version")
    if not data.pairs:
        return
    changes = [(a, b) for a, b in data.pairs if a.base.diff_id != b.base.diff_id]
    if not changes:
        fit.set(
            "bases",
            "release_every",
            NEVER_EPOCHS,
            f"the base layer changed in none of {_plural(len(data.pairs), 'pair')} of "
            "successive versions: no release within the horizon",
        )
        return
    fit.set(
        "bases",
        "release_every",
        max(1, round(len(data.pairs) / len(changes))),
        f"the base layer changed in {len(changes)} of {_plural(len(data.pairs), 'pair')} of "
        "successive versions",
    )
    changed, common = _churn_sum((_role_files([a.base]), _role_files([b.base])) for a, b in changes)
    if common:
        fit.set(
            "bases",
            "rewrite_fraction",
            _forced_fraction(changed / common, base_files),
            f"base files changed where the base changed: {changed} of {common} (a release "
            "changes at least one)",
        )


def _fit_runtime(fit: _Fit, data: _Set) -> None:
    """The runtime preset's size, files and compressibility, and how often it changes."""
    if data.runtime is None:
        return
    preset = RUNTIME_PRESETS[data.runtime]
    stacks: dict[str, list[Layer]] = {}
    for app in data.on_runtime:
        stacks.setdefault(app.image.chain_ids[app.parent_length - 1], app.runtime)
    file_bytes = statistics.fmean(sum(x.file_bytes for x in s) for s in stacks.values())
    files = statistics.fmean(sum(len(_files(x)) for x in s) for s in stacks.values())
    preset_bytes = sum(round(c * preset.ratio) for c in preset.layer_compressed_bytes)
    fit.set(
        "runtimes",
        "bytes_scale",
        max(file_bytes, 1) / preset_bytes,
        f"file bytes per runtime: {_fmt(file_bytes)}, over the {data.runtime} preset's "
        f"{preset_bytes:,}",
    )
    fit.set(
        "runtimes",
        "file_scale",
        max(files, 1) / sum(preset.layer_files),
        f"regular files per runtime: {_fmt(files)}, over the {data.runtime} preset's "
        f"{sum(preset.layer_files):,}",
    )
    ratio = _data_ratio([x for s in stacks.values() for x in s])
    if ratio is not None:
        fit.set(
            "runtimes",
            "compression_ratio",
            _clamped_ratio(ratio),
            f"file bytes per compressed byte of file data in the runtime layers: {ratio:.3g}",
        )
    if data.pairs:
        top = {id(a): a.image.chain_ids[a.parent_length - 1] for a in data.on_runtime}
        changes = sum(
            1 for a, b in data.pairs if id(a) in top and id(b) in top and top[id(a)] != top[id(b)]
        )
        fit.set(
            "runtimes",
            "rebuild_every",
            max(1, round(len(data.pairs) / changes)) if changes else NEVER_EPOCHS,
            f"the runtime layers changed in {changes} of "
            f"{_plural(len(data.pairs), 'pair')} of successive versions",
        )


def _fit_waste(fit: _Fit, data: _Set) -> None:
    """The add-then-delete pattern: how many apps have it, and the bytes they delete."""
    wasters = [a for a in data.apps if a.waste]
    fit.set(
        "apps",
        "waste_probability",
        len(wasters) / data.n,
        f"apps with an own layer that a later layer shadows for at least {WASTE_SHARE:.0%} of "
        f"its file bytes (add-then-delete): {len(wasters)} of {data.n}",
    )
    if wasters:
        mean = statistics.fmean(sum(a.shadowed[k] for k in a.waste) for a in wasters)
        fit.set(
            "apps",
            "waste_bytes",
            max(1, round(_lognormal_median(mean, WASTE_SIGMA))),
            f"the median of a log-normal (sigma {WASTE_SIGMA}) of mean {_fmt(mean)}, the "
            "shadowed file bytes per such app",
        )


def _fit_code(fit: _Fit, data: _Set) -> None:
    """Code layers: how many, their files and sizes, and their churn between versions."""
    counts = [len(a.code) for a in data.apps]
    layers = max(1, round(statistics.fmean(counts)))
    fit.set(
        "apps",
        "code_layers",
        layers,
        f"own layers after the dependency layer(s): {statistics.fmean(counts):.3g} per app",
    )
    short = [a for a in data.apps if not a.deps]
    if short:
        fit.note(
            f"{len(short)} of {data.n} apps have fewer than two own layers besides waste; the "
            "model's apps always have a dependency layer and a code layer"
        )
    with_code = [a for a in data.apps if a.code]
    if not with_code:
        sizes = [e.file_bytes for a in data.apps for x in a.image.layers for e in _files(x)]
        fit.set("apps", "code_files", 1.0, "no code layer in the apps: the model's smallest")
        fit.set(
            "apps",
            "code_file_bytes",
            max(1, round(_lognormal_median(_mean(sizes) or 1.0, CODE_FILE_SIGMA))),
            "no code layer in the apps: files of the apps' mean file size",
        )
        return
    per_app = statistics.fmean(sum(len(_files(x)) for x in a.layers(a.code)) for a in with_code)
    fit.set(
        "apps",
        "code_files",
        _solve_increasing(lambda c: _expected_code_files(c, layers), max(per_app, 1.0), 1.0, 1e7),
        f"regular files in an app's code layers: {per_app:.3g} (the generator draws "
        f"max({layers}, round(c * exp({CODE_COUNT_SIGMA} Z))))",
    )
    sizes = [e.file_bytes for a in with_code for x in a.layers(a.code) for e in _files(x)]
    if sizes:
        mean = statistics.fmean(sizes)
        fit.set(
            "apps",
            "code_file_bytes",
            max(1, round(_lognormal_median(mean, CODE_FILE_SIGMA))),
            f"the median of a log-normal (sigma {CODE_FILE_SIGMA}) of mean {_fmt(mean)}, the "
            "mean code file size",
        )
        logs = [math.log(s) for s in sizes if s > 0]
        if len(logs) >= 2:
            fit.note(
                f"code file sizes: log-normal sigma {statistics.stdev(logs):.3g} measured, "
                f"{CODE_FILE_SIGMA} in the model (not configurable)"
            )
    seen = _distinct(x for a in with_code for x in a.layers(a.code))
    _note_ratio(fit, "code layers", seen, _mix_ratio(CODE_CLASS_MIX))
    changed, common = _churn_sum(
        (_role_files(a.layers(a.code)), _role_files(b.layers(b.code)))
        for a, b in data.pairs
        if a.code and b.code
    )
    if not common:
        return
    per_layer = per_app / layers
    fit.set(
        "apps",
        "code_change_fraction",
        _forced_fraction(changed / common, per_layer),
        f"code files changed between successive versions: {changed} of {common} (a build "
        "changes at least one per code layer)",
    )
    if changed / common < 1 / max(per_layer, 1):
        fit.note(
            f"code churn {changed / common:.3g} is below one file per code layer "
            f"({1 / max(per_layer, 1):.3g}), the model's least"
        )


def _churn_sum(pairs: Iterable[tuple[Mapping[str, str], Mapping[str, str]]]) -> tuple[int, int]:
    changed = common = 0
    for before, after in pairs:
        c, n = _churn(before, after)
        changed, common = changed + c, common + n
    return changed, common


def _fit_dependencies(fit: _Fit, data: _Set) -> None:
    """Dependency layers: files per layer and their sizes (through the package universe's
    ecosystems, as the generator draws them), and how they change between versions."""
    on_runtime = data.on_runtime
    if on_runtime:
        with_system = sum(1 for a in on_runtime if len(a.deps) == 2)
        fit.set(
            "apps",
            "system_deps_probability",
            with_system / len(on_runtime),
            f"apps on the runtime with two dependency layers (system packages, then the "
            f"runtime's): {with_system} of {len(on_runtime)}",
        )
    # the model's dependency layers by ecosystem: an app on a base has one system layer, an app
    # on the runtime one of its ecosystem and a system layer with the probability above
    system = fit.keys["apps.system_deps_probability"].value if on_runtime else 0.0
    weights = {"system": data.n - len(on_runtime) + system * len(on_runtime)}
    if data.runtime is not None and on_runtime:
        eco = RUNTIME_PRESETS[data.runtime].ecosystem
        weights[eco] = weights.get(eco, 0.0) + len(on_runtime)
    total = sum(weights.values())

    def files_per_layer(files_mean: float, packages: float) -> float:
        per_eco = (
            w * max(files_mean * ECOSYSTEMS[e].files_factor, 1.0) for e, w in weights.items()
        )
        return packages * sum(per_eco) / total

    dep_layers = _distinct(x for a in data.apps for x in a.layers(a.deps))
    if dep_layers:
        observed = statistics.fmean(len(_files(x)) for x in dep_layers)
        sizes = [e.file_bytes for x in dep_layers for e in _files(x)]
        what_size = "bytes per dependency file"
    else:  # nothing to fit: the smallest dependency layer, of files of the apps' mean size
        observed = 1.0
        sizes = [e.file_bytes for a in data.apps for x in a.image.layers for e in _files(x)]
        what_size = "bytes per file of the apps (no dependency layer to fit)"
    packages = data.base.apps.packages_per_layer
    if files_per_layer(1.0, packages) > observed:
        packages, files_mean = max(1.0, observed / files_per_layer(1.0, 1.0)), 1.0
        fit.set(
            "apps",
            "packages_per_layer",
            packages,
            f"regular files per dependency layer: {observed:.3g}, fewer than the scenario's "
            "packages of one file"
            if dep_layers
            else "no dependency layer in the apps: the model's smallest, one package",
        )
    else:
        files_mean = _solve_increasing(lambda m: files_per_layer(m, packages), observed, 1.0, 1e7)
    fit.set(
        "packages",
        "files_mean",
        files_mean,
        f"regular files per dependency layer: {observed:.3g} = {packages:.3g} packages x "
        "files per package",
    )
    if sizes:
        mean = statistics.fmean(sizes)
        # the model's mean file size: the ecosystems' log-normals, weighted by their files
        eco_files = {
            e: w * max(files_mean * ECOSYSTEMS[e].files_factor, 1.0) for e, w in weights.items()
        }
        eco_bytes = {
            e: n
            * ECOSYSTEMS[e].file_bytes_median
            * math.exp(ECOSYSTEMS[e].file_bytes_sigma ** 2 / 2)
            for e, n in eco_files.items()
        }
        model_mean = sum(eco_bytes.values()) / sum(eco_files.values())
        fit.set(
            "packages",
            "file_bytes_scale",
            max(mean, 1.0) / model_mean,
            f"{what_size}: {_fmt(mean)}, over the ecosystems' mean {_fmt(model_mean)}",
        )
        if dep_layers:
            model_ratio = sum(eco_bytes.values()) / sum(
                b / _mix_ratio(ECOSYSTEMS[e].class_mix) for e, b in eco_bytes.items()
            )
            _note_ratio(fit, "dependency layers", dep_layers, model_ratio)
    if dep_layers:
        _fit_dependency_churn(fit, data)


def _fit_dependency_churn(fit: _Fit, data: _Set) -> None:
    """Successive versions either refresh their dependencies (other files: a refresh in the
    model, where every package releases each epoch so that a refresh changes files) or keep
    them (the same files: the same layer if the build is reproducible)."""
    pairs = [(a, b) for a, b in data.pairs if a.deps and b.deps]
    if not pairs:
        return
    refreshed = kept = same_layer = 0
    changed = common = 0
    for a, b in pairs:
        before, after = _role_files(a.layers(a.deps)), _role_files(b.layers(b.deps))
        if before != after:
            refreshed += 1
            c, n = _churn(before, after)
            changed, common = changed + c, common + n
        else:
            kept += 1
            same_layer += [x.diff_id for x in a.layers(a.deps)] == [
                x.diff_id for x in b.layers(b.deps)
            ]
    fit.set(
        "apps",
        "dep_update_probability",
        refreshed / len(pairs),
        f"the dependency files changed in {refreshed} of {_plural(len(pairs), 'pair')} of "
        "successive versions",
    )
    if refreshed and common:
        fit.set(
            "packages",
            "release_every",
            1.0,
            "every package releases each epoch, so that a refresh always changes files",
        )
        fit.set(
            "packages",
            "rewrite_fraction",
            changed / common,
            f"dependency files changed where they changed: {changed} of {common}",
        )
    if kept:
        fit.set(
            "apps",
            "reproducible_probability",
            same_layer / kept,
            f"unchanged dependency files that were the same layer (DiffID): in {same_layer} of "
            f"{_plural(kept, 'pair')} of successive versions",
        )


def _note_classes(fit: _Fit, images: Sequence[Image], leaves: Sequence[int]) -> None:
    """Measured compressibility by content class (guessed from file names): comments only,
    since the class ratios are constants of the size model."""
    layers = _distinct(x for i in leaves for x in images[i].layers if not _uncompressed(x))
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for layer in layers:
        for entry in _files(layer):
            cls = content_class_of(entry.path)
            totals[cls][0] += entry.file_bytes
            totals[cls][1] += entry.content_compressed_bytes
    all_bytes = sum(t[0] for t in totals.values())
    if not all_bytes:
        return
    parts = []
    for cls in ("text", "binary", "archive"):
        file_bytes, data = totals.get(cls, [0, 0])
        if file_bytes:
            model = DEFAULT_CLASS_RATIOS_PERMILLE[cls] / 1000
            measured = f"{file_bytes / data:.3g}x" if data else "n/a"
            parts.append(
                f"{cls} {file_bytes / all_bytes:.0%} of file bytes, {measured} (model {model:g}x)"
            )
    fit.note(
        "compressibility by content class (by file name; class ratios are not configurable, "
        "the code and package class mixes neither): " + "; ".join(parts)
    )


# --------------------------------------------------------------------------- the check


def check(config: ExperimentConfig, seeds: int, progress: Progress | None = None) -> Headline:
    """The mean `Headline` of `config` generated with `seeds` seeds from `config.seed`."""
    report = progress or (lambda stage, fraction: None)
    headlines = []
    for k in range(seeds):
        report("calibrate: check", k / seeds)
        seeded = replace(config, seed=config.seed + k)
        fleet = generate(seeded, np.random.default_rng(seeded.seed))
        headlines.append(headline(to_population(fleet.arrays).images))
    return mean_headline(headlines)


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


def _comment(text: str, width: int = 98, hanging: str = "") -> list[str]:
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


def _toml_text(result: Calibration) -> str:
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
    out += ["#"]
    if result.generated is not None:
        out += [
            f"# Check: this file generated with {_plural(result.check_seeds, 'seed')} from its "
            "seed, its apps measured as the analyzed ones",
            "# (tolerance: relative, churn absolute; docs/analyze.md):",
            f"#   {'statistic':<28} {'analyzed':>14} {'generated':>14} {'difference':>11}"
            f" {'tolerance':>10}",
        ]
        for name, analyzed, generated, diff, ok in result.comparison():
            if generated is None or diff is None:
                out.append(f"#   {name:<28} {_fmt(analyzed):>14} {'n/a':>14}")
                continue
            shown = f"{diff:+.3f}" if name in ABSOLUTE else f"{diff:+.1%}"
            tol = TOLERANCES[name]
            tol_text = f"{tol:.2f}" if name in ABSOLUTE else f"{tol:.0%}"
            out.append(
                f"#   {name:<28} {_fmt(analyzed):>14} {_fmt(generated):>14} {shown:>11} "
                f"{tol_text:>6} {'ok' if ok else 'OUT'}"
            )
    else:
        out += ["# Analyzed statistics (not checked against a generated run):"]
        for name, analyzed, *_ in result.comparison():
            out.append(f"#   {name:<28} {_fmt(analyzed):>14}")
    out += ["", f"scenario = {toml_value(result.scenario)}"]
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
    return "\n".join(out) + "\n"
