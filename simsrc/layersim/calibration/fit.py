"""The fit: each role's statistics set the config keys that drive that role in the generator.

    fit_apps(apps, base) -> Fit: the fitted keys (`Fitted`, each with where its value came
    from) and the measured facts the config cannot express (`notes`)

The apps are `roles.cut_apps`' (leaf images cut into base, runtime and own layers). One step
per role, each a function of the analyzed set (`AppSet`) returning its keys and notes
(`FitStep`): scale and time, parents (the runtime chosen once, by `choose_runtime`, before any
step), base, runtime, waste, code, dependencies, and the content classes (notes only). The table
of which statistic sets which key is in docs/analyze.md.

Expected values of the generator's draws are matched exactly where the draw is known
(`inversions`). What the config cannot express is measured and written as a note, never as an
invented key. Values are typed (an int for an int key, a float rounded to 6 significant digits,
a list of names); `config.apply_values` checks them. Writing them out is `report.calibration`'s.
"""

from __future__ import annotations

import math
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, fields
from typing import Any

from layersim.calibration.inversions import (
    clamped_ratio,
    expected_code_files,
    forced_fraction,
    lognormal_median,
    mix_ratio,
    solve_increasing,
)
from layersim.calibration.roles import (
    WASTE_SHARE,
    App,
    churn,
    churn_sum,
    content_class_of,
    distinct_layers,
    regular_files,
    role_files,
    stored_uncompressed,
    version_pairs,
)
from layersim.config import (
    MAX_CLASS_RATIO,
    MIN_CLASS_RATIO,
    RUNTIME_BASE,
    SECTIONS,
    ExperimentConfig,
    layer_packages,
)
from layersim.fleet.presets import (
    BASE_PRESETS,
    CODE_CLASS_MIX,
    CODE_COUNT_SIGMA,
    CODE_FILE_SIGMA,
    ECOSYSTEMS,
    RUNTIME_PRESETS,
    WASTE_SIGMA,
)
from layersim.model import Layer
from layersim.model.sizes import DEFAULT_CLASS_RATIOS_PERMILLE

# A release cadence longer than any horizon: what "never changed" is written as.
NEVER_EPOCHS = 1000
# Zipf exponent giving one of two parents all the apps (2**-30 of them to the other).
MAX_PARENT_SKEW = 30.0
# A runtime is fitted when at least this share of the apps sit on a shared multi-layer parent.
RUNTIME_MIN_SHARE = 0.25
# A measured compressibility this far (as a factor) from the model's is noted.
RATIO_NOTE_FACTOR = 1.15

_DEFAULTS = ExperimentConfig()  # the type of each key (int or float) for rounding


# --------------------------------------------------------------------------- results


@dataclass(frozen=True)
class Fitted:
    """One key of the experiment and where its value came from (one line)."""

    section: str  # "" for a top-level key
    key: str
    value: Any
    why: str

    @property
    def dotted(self) -> str:
        return f"{self.section}.{self.key}" if self.section else self.key


@dataclass(frozen=True)
class FitStep:
    """What one step fitted (keys, in the order set) and noted."""

    fitted: tuple[Fitted, ...] = ()
    notes: tuple[str, ...] = ()


@dataclass(frozen=True)
class Fit:
    """A whole fit: `description` first, then the keys in schema order; the notes in the
    order the steps made them."""

    fitted: tuple[Fitted, ...]
    notes: tuple[str, ...]

    def values(self) -> dict[str, Any]:
        """The fitted values by key (`section.key`, `description`), as `apply_values` takes."""
        return {f.dotted: f.value for f in self.fitted}


def fit_key(section: str, key: str, value: Any, why: str) -> Fitted:
    """A key's value as the config types it: an int key rounded to an int, a float key to 6
    significant digits (what a file shows is what a run reads)."""
    current = getattr(getattr(_DEFAULTS, section), key) if section else getattr(_DEFAULTS, key)
    if isinstance(current, int) and not isinstance(current, bool):
        value = round(value)
    elif isinstance(current, float):
        value = float(f"{float(value):.6g}")
    return Fitted(section, key, value, why)


class _Step:
    """Collects one step's keys and notes, in order; local to the step function."""

    def __init__(self) -> None:
        self.fitted: list[Fitted] = []
        self.notes: list[str] = []

    def set(self, section: str, key: str, value: Any, why: str) -> Any:
        """Fit a key; returns its value as typed (rounded), which later fits in the step use."""
        self.fitted.append(fit_key(section, key, value, why))
        return self.fitted[-1].value

    def note(self, text: str) -> None:
        self.notes.append(text)

    def add(self, other: FitStep) -> None:
        self.fitted.extend(other.fitted)
        self.notes.extend(other.notes)

    def done(self) -> FitStep:
        return FitStep(tuple(self.fitted), tuple(self.notes))


# --------------------------------------------------------------------------- the set


@dataclass(frozen=True)
class AppSet:
    """The analyzed apps and what every role's fit needs: successive versions (`pairs`), the
    scenario's config (`base`: the values the fit starts from) and the runtime chosen."""

    apps: tuple[App, ...]
    pairs: tuple[tuple[App, App], ...]
    base: ExperimentConfig
    runtime: str | None

    @property
    def n(self) -> int:
        return len(self.apps)

    @property
    def on_runtime(self) -> list[App]:
        return [a for a in self.apps if a.on_runtime and self.runtime is not None]


def _runtime_layers(shared: Sequence[App]) -> float:
    return statistics.fmean(a.parent_length - 1 for a in shared)


def choose_runtime(apps: Sequence[App]) -> str | None:
    """The runtime preset with the layer count nearest the apps' runtime layers, if at least
    `RUNTIME_MIN_SHARE` of the apps share layers above their base; else None."""
    shared = [a for a in apps if a.on_runtime]
    if not shared or len(shared) / len(apps) < RUNTIME_MIN_SHARE:
        return None
    layers = _runtime_layers(shared)

    def distance(name: str) -> tuple[float, str]:
        return abs(len(RUNTIME_PRESETS[name].layer_compressed_bytes) - layers), name

    return min(RUNTIME_PRESETS, key=distance)


def describe_apps(apps: Sequence[App]) -> str:
    """The set in words: `9 app images of 3 repositories`."""
    repos = {app.image.repository for app in apps}
    return (
        f"{_plural(len(apps), 'app image')} of {_plural(len(repos), 'repository', 'repositories')}"
    )


def fit_apps(apps: Sequence[App], base: ExperimentConfig) -> Fit:
    """Every step over `apps` (`roles.cut_apps`), from the scenario config `base`."""
    pairs = tuple((apps[a], apps[b]) for a, b in version_pairs([x.image.repository for x in apps]))
    data = AppSet(apps=tuple(apps), pairs=pairs, base=base, runtime=choose_runtime(apps))
    steps = [
        fit_scale(data),
        fit_parents(data),
        fit_base(data),
        fit_runtime(data),
        fit_waste(data),
        fit_code(data),
        fit_dependencies(data),
        note_classes(data.apps),
    ]
    keys = {f.dotted: f for step in steps for f in step.fitted}
    schema = [f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in fields(cls)]
    order = {key: n for n, key in enumerate(schema)}
    description = f"calibrated from {describe_apps(apps)} (layersim calibrate)"
    return Fit(
        fitted=(
            fit_key("", "description", description, "what the file is"),
            *sorted(keys.values(), key=lambda f: order[f.dotted]),
        ),
        notes=tuple(note for step in steps for note in step.notes),
    )


# --------------------------------------------------------------------------- helpers


def _mean(values: Iterable[float]) -> float | None:
    values = list(values)
    return statistics.fmean(values) if values else None


def _fmt(x: float) -> str:
    return f"{x:,.0f}" if abs(x) >= 100 else f"{x:.3g}"


def _plural(n: int, word: str, words: str | None = None) -> str:
    return f"{n} {word if n == 1 else (words or word + 's')}"


def _data_ratio(layers: Sequence[Layer]) -> float | None:
    """File bytes per compressed byte of the files' data (the compressed bytes the readers
    apportion to file contents), over the layers stored compressed; None if there are none."""
    stored = [layer for layer in layers if not stored_uncompressed(layer)]
    file_bytes = sum(e.file_bytes for layer in stored for e in regular_files(layer))
    data = sum(e.content_compressed_bytes for layer in stored for e in regular_files(layer))
    return file_bytes / data if data else None


def _ratio_note(what: str, layers: Sequence[Layer], model: float) -> str | None:
    """A note when the measured compressibility of some layers is more than
    `RATIO_NOTE_FACTOR` away from what the model gives them (a class mix the config cannot
    change)."""
    measured = _data_ratio(layers)
    if measured is not None and abs(math.log(measured / model)) > math.log(RATIO_NOTE_FACTOR):
        return (
            f"{what}: file data compresses {measured:.3g}x, the model's class mix "
            f"{model:.3g}x (not configurable)"
        )
    return None


# --------------------------------------------------------------------------- the steps


def fit_scale(data: AppSet) -> FitStep:
    """Counts and time: one app per repository, one epoch per version, the one registry and
    the one node of the analyzed population."""
    step = _Step()
    repos = Counter(app.image.repository for app in data.apps)
    versions = list(repos.values())
    epochs, mean_versions = max(versions), statistics.fmean(versions)
    what = describe_apps(data.apps)
    step.set("time", "epochs", epochs, f"versions of the repository with the most ({what})")
    step.set("apps", "count", len(repos), "repositories of the app images")
    step.set(
        "apps",
        "rebuild_every",
        (epochs - 1) / (mean_versions - 1) if mean_versions > 1 else 1.0,
        f"one epoch per version; versions per repository: {mean_versions:.3g} on average, "
        f"{epochs} at most",
    )
    step.set("nodes", "count", 1, "the analyzed population: one node pulls every image")
    step.set("apps", "deployed_fraction", 1.0, "every analyzed image is on the node")
    step.set("apps", "replicas_mean", 1.0, "images only: no containers were analyzed")
    step.set("nodes", "retention", epochs, "the node keeps every version it pulled")
    step.set(
        "registry",
        "retention",
        max(epochs, data.base.registry.retention),
        "the registry keeps every version pushed",
    )
    return step.done()


def fit_parents(data: AppSet) -> FitStep:
    """The runtime (`choose_runtime`), and the Zipf skew that puts the share of apps on it."""
    step = _Step()
    shared = [a for a in data.apps if a.on_runtime]
    share = len(shared) / data.n
    if data.runtime is None:
        step.set(
            "runtimes",
            "families",
            [],
            f"apps sharing layers above their base layer with another repository: "
            f"{len(shared)} of {data.n}",
        )
        if shared:
            step.note(
                f"{len(shared)} of {data.n} apps sit on a shared multi-layer parent: too few "
                "for a runtime (a quarter at least), fitted as apps on the base"
            )
        return step.done()
    layers = _runtime_layers(shared)
    preset_layers = len(RUNTIME_PRESETS[data.runtime].layer_compressed_bytes)
    step.set(
        "runtimes",
        "families",
        [data.runtime],
        f"apps on a shared multi-layer parent: {len(shared)} of {data.n}, with {layers:.3g} "
        f"layers above the base; the preset with the nearest layer count ({preset_layers})",
    )
    if abs(preset_layers - layers) >= 0.5:
        step.note(
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
            step.note(
                f"apps on a runtime: {share:.3g} of them; with Zipf popularity the first parent "
                "gets at least half (0.5 generated)"
            )
    step.set("apps", "parent_zipf_exponent", skew, why)
    return step.done()


def fit_base(data: AppSet) -> FitStep:
    """The base family (the runtime's, else the preset nearest in size), its size, files and
    compressibility, and how often and how much it changes between successive versions."""
    step = _Step()
    bases = distinct_layers(a.base for a in data.apps)
    base_files = statistics.fmean(len(regular_files(layer)) for layer in bases)
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
    step.set(
        "bases",
        "families",
        [family],
        f"distinct base layers (layer 0 of the apps): {len(bases)}, taken as versions of one "
        f"family; {why}",
    )
    step.set(
        "bases",
        "bytes_scale",
        max(base_bytes, 1) / preset.file_bytes,
        f"file bytes per base layer: {_fmt(base_bytes)}, over the {family} preset's "
        f"{preset.file_bytes:,}",
    )
    step.set(
        "bases",
        "file_scale",
        max(base_files, 1) / preset.files,
        f"regular files per base layer: {_fmt(base_files)}, over the {family} preset's "
        f"{preset.files:,}",
    )
    ratio = _data_ratio(bases)
    if ratio is None:
        step.note(
            "base layers stored uncompressed (docker-archive): compressibility not fitted, and "
            "compressed bytes of uncompressed layers are their tar bytes (read OCI layouts "
            "for registry figures)"
        )
    else:
        clamped = clamped_ratio(ratio)
        why = f"file bytes per compressed byte of file data in the base layers: {ratio:.3g}"
        if clamped != ratio:
            why += f" (the model's range is {MIN_CLASS_RATIO:g} to {MAX_CLASS_RATIO:g})"
        step.set("bases", "compression_ratio", clamped, why)
    if len(bases) == 1:
        step.set("apps", "latest_share", 1.0, "one base layer: every app on the same version")
    if data.pairs:
        step.add(_fit_base_releases(data, base_files))
    return step.done()


def _fit_base_releases(data: AppSet, base_files: float) -> FitStep:
    """How often the base layer changes between successive versions, and how much."""
    step = _Step()
    changes = [(a, b) for a, b in data.pairs if a.base.diff_id != b.base.diff_id]
    if not changes:
        step.set(
            "bases",
            "release_every",
            NEVER_EPOCHS,
            f"the base layer changed in none of {_plural(len(data.pairs), 'pair')} of "
            "successive versions: no release within the horizon",
        )
        return step.done()
    step.set(
        "bases",
        "release_every",
        max(1, round(len(data.pairs) / len(changes))),
        f"the base layer changed in {len(changes)} of {_plural(len(data.pairs), 'pair')} of "
        "successive versions",
    )
    changed, common = churn_sum((role_files([a.base]), role_files([b.base])) for a, b in changes)
    if common:
        step.set(
            "bases",
            "rewrite_fraction",
            forced_fraction(changed / common, base_files),
            f"base files changed where the base changed: {changed} of {common} (a release "
            "changes at least one)",
        )
    return step.done()


def fit_runtime(data: AppSet) -> FitStep:
    """The runtime preset's size, files and compressibility, and how often it changes."""
    step = _Step()
    if data.runtime is None:
        return step.done()
    preset = RUNTIME_PRESETS[data.runtime]
    stacks: dict[str, list[Layer]] = {}
    for app in data.on_runtime:
        stacks.setdefault(app.parent_chain, app.runtime)
    file_bytes = statistics.fmean(sum(x.file_bytes for x in s) for s in stacks.values())
    files = statistics.fmean(sum(len(regular_files(x)) for x in s) for s in stacks.values())
    preset_bytes = sum(round(c * preset.ratio) for c in preset.layer_compressed_bytes)
    step.set(
        "runtimes",
        "bytes_scale",
        max(file_bytes, 1) / preset_bytes,
        f"file bytes per runtime: {_fmt(file_bytes)}, over the {data.runtime} preset's "
        f"{preset_bytes:,}",
    )
    step.set(
        "runtimes",
        "file_scale",
        max(files, 1) / sum(preset.layer_files),
        f"regular files per runtime: {_fmt(files)}, over the {data.runtime} preset's "
        f"{sum(preset.layer_files):,}",
    )
    ratio = _data_ratio([x for s in stacks.values() for x in s])
    if ratio is not None:
        step.set(
            "runtimes",
            "compression_ratio",
            clamped_ratio(ratio),
            f"file bytes per compressed byte of file data in the runtime layers: {ratio:.3g}",
        )
    if data.pairs:
        # the runtime changed: both versions on it, on other runtime versions
        changes = sum(
            1
            for a, b in data.pairs
            if a.on_runtime and b.on_runtime and a.parent_chain != b.parent_chain
        )
        step.set(
            "runtimes",
            "rebuild_every",
            max(1, round(len(data.pairs) / changes)) if changes else NEVER_EPOCHS,
            f"the runtime layers changed in {changes} of "
            f"{_plural(len(data.pairs), 'pair')} of successive versions",
        )
    return step.done()


def fit_waste(data: AppSet) -> FitStep:
    """The add-then-delete pattern: how many apps have it, and the bytes they delete."""
    step = _Step()
    wasters = [a for a in data.apps if a.waste]
    step.set(
        "apps",
        "waste_probability",
        len(wasters) / data.n,
        f"apps with an own layer that a later layer shadows for at least {WASTE_SHARE:.0%} of "
        f"its file bytes (add-then-delete): {len(wasters)} of {data.n}",
    )
    if wasters:
        mean = statistics.fmean(sum(a.shadowed[k] for k in a.waste) for a in wasters)
        step.set(
            "apps",
            "waste_bytes",
            max(1, round(lognormal_median(mean, WASTE_SIGMA))),
            f"the median of a log-normal (sigma {WASTE_SIGMA}) of mean {_fmt(mean)}, the "
            "shadowed file bytes per such app",
        )
    return step.done()


def fit_code(data: AppSet) -> FitStep:
    """Code layers: how many, their files and sizes, and their churn between versions."""
    step = _Step()
    counts = [len(a.code) for a in data.apps]
    layers = max(1, round(statistics.fmean(counts)))
    step.set(
        "apps",
        "code_layers",
        layers,
        f"own layers after the dependency layer(s): {statistics.fmean(counts):.3g} per app",
    )
    short = [a for a in data.apps if not a.deps]
    if short:
        step.note(
            f"{len(short)} of {data.n} apps have fewer than two own layers besides waste; the "
            "model's apps always have a dependency layer and a code layer"
        )
    with_code = [a for a in data.apps if a.code]
    if not with_code:
        sizes = [e.file_bytes for a in data.apps for x in a.image.layers for e in regular_files(x)]
        step.set("apps", "code_files", 1.0, "no code layer in the apps: the model's smallest")
        step.set(
            "apps",
            "code_file_bytes",
            max(1, round(lognormal_median(_mean(sizes) or 1.0, CODE_FILE_SIGMA))),
            "no code layer in the apps: files of the apps' mean file size",
        )
        return step.done()
    per_app = statistics.fmean(
        sum(len(regular_files(x)) for x in a.layers(a.code)) for a in with_code
    )
    step.set(
        "apps",
        "code_files",
        solve_increasing(lambda c: expected_code_files(c, layers), max(per_app, 1.0), 1.0, 1e7),
        f"regular files in an app's code layers: {per_app:.3g} (the generator draws "
        f"max({layers}, round(c * exp({CODE_COUNT_SIGMA} Z))))",
    )
    sizes = [e.file_bytes for a in with_code for x in a.layers(a.code) for e in regular_files(x)]
    if sizes:
        mean = statistics.fmean(sizes)
        step.set(
            "apps",
            "code_file_bytes",
            max(1, round(lognormal_median(mean, CODE_FILE_SIGMA))),
            f"the median of a log-normal (sigma {CODE_FILE_SIGMA}) of mean {_fmt(mean)}, the "
            "mean code file size",
        )
        logs = [math.log(s) for s in sizes if s > 0]
        if len(logs) >= 2:
            step.note(
                f"code file sizes: log-normal sigma {statistics.stdev(logs):.3g} measured, "
                f"{CODE_FILE_SIGMA} in the model (not configurable)"
            )
    seen = distinct_layers(x for a in with_code for x in a.layers(a.code))
    note = _ratio_note("code layers", seen, mix_ratio(CODE_CLASS_MIX))
    if note:
        step.note(note)
    step.add(_fit_code_churn(data, per_app / layers))
    return step.done()


def _fit_code_churn(data: AppSet, per_layer: float) -> FitStep:
    """How many code files change between successive versions (`per_layer`: code files per
    code layer, of which a build changes at least one)."""
    step = _Step()
    changed, common = churn_sum(
        (role_files(a.layers(a.code)), role_files(b.layers(b.code)))
        for a, b in data.pairs
        if a.code and b.code
    )
    if not common:
        return step.done()
    step.set(
        "apps",
        "code_change_fraction",
        forced_fraction(changed / common, per_layer),
        f"code files changed between successive versions: {changed} of {common} (a build "
        "changes at least one per code layer)",
    )
    if changed / common < 1 / max(per_layer, 1):
        step.note(
            f"code churn {changed / common:.3g} is below one file per code layer "
            f"({1 / max(per_layer, 1):.3g}), the model's least"
        )
    return step.done()


def fit_dependencies(data: AppSet) -> FitStep:
    """Dependency layers: files per layer and their sizes (through the package universe's
    ecosystems, as the generator draws them), and how they change between versions."""
    step = _Step()
    on_runtime = data.on_runtime
    system = 0.0
    if on_runtime:
        with_system = sum(1 for a in on_runtime if len(a.deps) == 2)
        system = step.set(
            "apps",
            "system_deps_probability",
            with_system / len(on_runtime),
            f"apps on the runtime with two dependency layers (system packages, then the "
            f"runtime's): {with_system} of {len(on_runtime)}",
        )
    # the model's dependency layers by ecosystem: an app on a base has one system layer, an app
    # on the runtime one of its ecosystem and a system layer with the probability above
    weights = {"system": data.n - len(on_runtime) + system * len(on_runtime)}
    if data.runtime is not None and on_runtime:
        eco = RUNTIME_PRESETS[data.runtime].ecosystem
        weights[eco] = weights.get(eco, 0.0) + len(on_runtime)
    total = sum(weights.values())

    def files_per_layer(files_mean: float, packages: float) -> float:
        """Files per dependency layer with `packages` direct packages (and their closure)."""
        per_eco = (
            w * max(files_mean * ECOSYSTEMS[e].files_factor, 1.0) for e, w in weights.items()
        )
        return layer_packages(packages, data.base.packages) * sum(per_eco) / total

    dep_layers = distinct_layers(x for a in data.apps for x in a.layers(a.deps))
    if dep_layers:
        observed = statistics.fmean(len(regular_files(x)) for x in dep_layers)
        sizes = [e.file_bytes for x in dep_layers for e in regular_files(x)]
        what_size = "bytes per dependency file"
    else:  # nothing to fit: the smallest dependency layer, of files of the apps' mean size
        observed = 1.0
        sizes = [e.file_bytes for a in data.apps for x in a.image.layers for e in regular_files(x)]
        what_size = "bytes per file of the apps (no dependency layer to fit)"
    packages = data.base.apps.packages_per_layer
    if files_per_layer(1.0, packages) > observed:
        fewest = files_per_layer(1.0, 1.0)
        if observed > fewest:  # direct packages of one file each (with their closure)
            packages = solve_increasing(lambda p: files_per_layer(1.0, p), observed, 1.0, packages)
        else:
            packages = 1.0
        files_mean = 1.0
        step.set(
            "apps",
            "packages_per_layer",
            packages,
            f"regular files per dependency layer: {observed:.3g}, fewer than the scenario's "
            "packages of one file"
            if dep_layers
            else "no dependency layer in the apps: the model's smallest, one package",
        )
    else:
        files_mean = solve_increasing(lambda m: files_per_layer(m, packages), observed, 1.0, 1e7)
    step.set(
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
        step.set(
            "packages",
            "file_bytes_scale",
            max(mean, 1.0) / model_mean,
            f"{what_size}: {_fmt(mean)}, over the ecosystems' mean {_fmt(model_mean)}",
        )
        if dep_layers:
            model_ratio = sum(eco_bytes.values()) / sum(
                b / mix_ratio(ECOSYSTEMS[e].class_mix) for e, b in eco_bytes.items()
            )
            note = _ratio_note("dependency layers", dep_layers, model_ratio)
            if note:
                step.note(note)
    if dep_layers:
        step.add(_fit_dependency_churn(data))
    return step.done()


def _fit_dependency_churn(data: AppSet) -> FitStep:
    """Successive versions either refresh their dependencies (other files: a refresh in the
    model, where every package releases each epoch so that a refresh changes files) or keep
    them (the same files: the same layer if the build is reproducible)."""
    step = _Step()
    pairs = [(a, b) for a, b in data.pairs if a.deps and b.deps]
    if not pairs:
        return step.done()
    refreshed = kept = same_layer = 0
    changed = common = 0
    for a, b in pairs:
        before, after = role_files(a.layers(a.deps)), role_files(b.layers(b.deps))
        if before != after:
            refreshed += 1
            c, n = churn(before, after)
            changed, common = changed + c, common + n
        else:
            kept += 1
            same_layer += [x.diff_id for x in a.layers(a.deps)] == [
                x.diff_id for x in b.layers(b.deps)
            ]
    step.set(
        "apps",
        "dep_update_probability",
        refreshed / len(pairs),
        f"the dependency files changed in {refreshed} of {_plural(len(pairs), 'pair')} of "
        "successive versions",
    )
    if refreshed and common:
        step.set(
            "packages",
            "release_every",
            1.0,
            "every package releases each epoch, so that a refresh always changes files",
        )
        step.set(
            "packages",
            "rewrite_fraction",
            changed / common,
            f"dependency files changed where they changed: {changed} of {common}",
        )
    if kept:
        step.set(
            "apps",
            "reproducible_probability",
            same_layer / kept,
            f"unchanged dependency files that were the same layer (DiffID): in {same_layer} of "
            f"{_plural(kept, 'pair')} of successive versions",
        )
    return step.done()


def note_classes(apps: Sequence[App]) -> FitStep:
    """Measured compressibility by content class (guessed from file names): notes only,
    since the class ratios are constants of the size model."""
    step = _Step()
    layers = distinct_layers(x for a in apps for x in a.image.layers if not stored_uncompressed(x))
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0])
    for layer in layers:
        for entry in regular_files(layer):
            cls = content_class_of(entry.path)
            totals[cls][0] += entry.file_bytes
            totals[cls][1] += entry.content_compressed_bytes
    all_bytes = sum(t[0] for t in totals.values())
    if not all_bytes:
        return step.done()
    parts = []
    for cls in ("text", "binary", "archive"):
        file_bytes, data = totals.get(cls, [0, 0])
        if file_bytes:
            model = DEFAULT_CLASS_RATIOS_PERMILLE[cls] / 1000
            measured = f"{file_bytes / data:.3g}x" if data else "n/a"
            parts.append(
                f"{cls} {file_bytes / all_bytes:.0%} of file bytes, {measured} (model {model:g}x)"
            )
    step.note(
        "compressibility by content class (by file name; class ratios are not configurable, "
        "the code and package class mixes neither): " + "; ".join(parts)
    )
    return step.done()
