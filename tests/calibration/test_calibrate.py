"""Tests of `layersim.calibration.calibrate`: exact fits of hand-made image sets, the written experiment
file, and the round trip calibrate -> generate + simulate -> the analyzed statistics again.

The images are OCI layouts written here (`test_readers` helpers) and read with the real
readers, so every byte count is what a registry would see. Their contents are deterministic:
"binary" files are runs of pseudo-random bytes and zeros (gzip about 2.5x), "text" files are
words from a small vocabulary (gzip about 4.4x).

The hand-made set (`build_set`): a base image `base:1` of one layer (45 files: 40 binary, 5
text), and three apps `alpha`, `beta`, `gamma` in three versions each, every one on that base
with a dependency layer (12 text files, the same tar in every version), two code layers of 6
text files (`app/one`, `app/two`; file 0 of each changes in every version, file 1 once, from
version 2), and for `gamma` an archive layer (60,000 random bytes, the same in every version)
that its first code layer deletes.
"""

from __future__ import annotations

import hashlib
import math
import random
import statistics
import tarfile
import tomllib
from dataclasses import replace
from pathlib import Path

import numpy as np
import pytest

from layersim.accounting.arrays import to_population
from layersim.accounting.assemble import evaluate
from layersim.calibration.calibrate import (
    ABSOLUTE,
    NEVER_EPOCHS,
    TOLERANCES,
    Headline,
    _expected_code_files,
    _forced_fraction,
    calibrate,
    content_class_of,
    headline,
    leaf_indices,
    toml_value,
    within_tolerance,
)
from layersim.config import load_config
from layersim.errors import ConfigError, ModelError
from layersim.fleet import generate
from layersim.readers import read_images, read_population
from layersim.simulation import simulate
from tests.readers.test_readers import Layout, M, docker_archive, make_tar

# The round trip averages this many seeds: with three apps one seed's draws (file sizes are
# log-normal, sigma 1.2 to 1.5) move the means by up to a third; ten seeds' means stay well
# within TOLERANCES for this set (measured over 40 groups of ten seeds: at most 15% off for
# files per layer, 13% for compressed bytes per layer, 9% for the compression ratio, 8% for
# the dedup ratio, 5.4% for layers per image, 0.005 for churn).
ROUND_TRIP_SEEDS = 10
REGISTRY_TOLERANCE = 0.15  # the simulated registry's dedup ratio against `evaluate`'s

WORDS = tuple(
    b"the of and to in is it for on with as by at from def return import class self if else "
    b"print value data item list".split(b" ")
)


def noise(seed: str, n: int) -> bytes:
    return hashlib.shake_256(seed.encode()).digest(n)


def text(seed: str, n: int) -> bytes:
    r = random.Random(seed)
    out = bytearray()
    while len(out) < n:
        out += r.choice(WORDS) + (b"\n" if r.random() < 0.1 else b" ")
    return bytes(out[:n])


def binary(seed: str, n: int) -> bytes:
    out = bytearray()
    k = 0
    while len(out) < n:
        out += noise(f"{seed}/{k}", 410) + bytes(614)
        k += 1
    return bytes(out[:n])


def sizes(seed: str, n: int, median: float) -> list[int]:
    r = random.Random(seed)
    return [max(1, int(median * math.exp(r.gauss(0, 1)))) for _ in range(n)]


def base_members() -> list[M]:
    members = [M(d, kind=tarfile.DIRTYPE) for d in ("bin", "lib", "etc")]
    for i, n in enumerate(sizes("base", 40, 20000)):
        members.append(M(f"{('bin', 'lib')[i % 2]}/f{i}", binary(f"base{i}", n)))
    members += [M(f"etc/conf{i}.conf", text(f"etc{i}", 800)) for i in range(5)]
    return members


def deps_tar(app: str) -> bytes:
    members = [M(d, kind=tarfile.DIRTYPE) for d in ("usr", "usr/lib", f"usr/lib/{app}")]
    for i, n in enumerate(sizes(f"deps{app}", 12, 6000)):
        members.append(M(f"usr/lib/{app}/m{i}.py", text(f"dep{app}{i}", n)))
    return make_tar(members)


def code_members(app: str, block: str, version: int) -> list[M]:
    members = [M("app", kind=tarfile.DIRTYPE), M(f"app/{block}", kind=tarfile.DIRTYPE)]
    for i, n in enumerate(sizes(f"code{app}{block}", 6, 3000)):
        v = version if i == 0 else (2 if i == 1 and version >= 2 else 0)
        members.append(M(f"app/{block}/s{i}.py", text(f"c{app}{block}{i}v{v}", n)))
    return members


APPS = ("alpha", "beta", "gamma")
FETCH_BYTES = 60_000


def build_set(root: Path) -> list[Path]:
    """The hand-made set of the module docstring: one layout per repository."""
    base = make_tar(base_members())
    layout = Layout(root / "base")
    layout.add(layout.image([base]), "1")
    paths = [layout.root]
    for app in APPS:
        layout = Layout(root / app)
        deps = deps_tar(app)
        for version in (1, 2, 3):
            tars = [base, deps]
            first = code_members(app, "one", version)
            if app == "gamma":
                fetched = [
                    M("tmp", kind=tarfile.DIRTYPE),
                    M("tmp/f.tar.gz", noise("f", FETCH_BYTES)),
                ]
                tars.append(make_tar(fetched))
                first.append(M("tmp/.wh.f.tar.gz"))
            tars += [make_tar(first), make_tar(code_members(app, "two", version))]
            layout.add(layout.image(tars), str(version))
        paths.append(layout.root)
    return paths


@pytest.fixture(scope="module")
def hand_made(tmp_path_factory: pytest.TempPathFactory) -> list[Path]:
    return build_set(tmp_path_factory.mktemp("calibrate-set"))


@pytest.fixture(scope="module")
def fitted(hand_made: list[Path]):
    images = read_images(hand_made)
    return images, calibrate(images, sources=[str(p) for p in hand_made], check_seeds=0)


def keys(result) -> dict[str, object]:
    return {f.dotted: f.value for f in result.fitted}


# ---------------------------------------------------------------------------------------------
# exact values


def test_headline_of_the_hand_made_set(fitted) -> None:
    """The statistics of the set, counted by hand: 9 apps (base:1 is their parent) of 4 or 5
    layers; 23 distinct layers (1 base, 3 dependency layers, 18 code layers, 1 archive) holding
    45 + 3x12 + 18x6 + 1 = 190 files; per version pair the merged views share 45 + 12 + 12 =
    69 files of which 4 (1 -> 2) or 2 (2 -> 3) changed."""
    images, result = fitted
    h = result.analyzed
    assert h == headline(images)
    assert [images[i].name for i in leaf_indices(images)] == [
        f"{app}:{v}" for app in APPS for v in (1, 2, 3)
    ]
    assert (h.images, h.layers, h.version_pairs) == (9, 23, 6)
    assert h.layers_per_image == pytest.approx((6 * 4 + 3 * 5) / 9)
    assert h.files_per_layer == pytest.approx(190 / 23)
    assert h.version_churn == pytest.approx(3 * (4 + 2) / (6 * 69))
    distinct = {x.diff_id: x for i in leaf_indices(images) for x in images[i].layers}
    compressed = sum(x.compressed_bytes for x in distinct.values())
    logical = sum(x.compressed_bytes for i in leaf_indices(images) for x in images[i].layers)
    tar = sum(x.tar_bytes for x in distinct.values())
    assert h.compressed_bytes_per_layer == pytest.approx(compressed / 23)
    assert h.compression_ratio == pytest.approx(tar / compressed)
    assert h.layer_dedup_ratio == pytest.approx(logical / compressed)


def test_exact_fit_of_the_hand_made_set(fitted) -> None:
    """Every fitted key, computed by hand from the set (generator presets: alpine 8,300,000
    file bytes in 400 files; code file sizes log-normal sigma 1.2, archives sigma 0.8)."""
    images, result = fitted
    got = keys(result)
    base = images[0].layers[0]
    base_files = [e for e in base.entries if e.kind.name == "FILE"]
    base_bytes = sum(e.file_bytes for e in base_files)
    data = sum(e.content_compressed_bytes for e in base_files)
    code_sizes = [m.data for app in APPS for v in (1, 2, 3) for b in ("one", "two")
                  for m in code_members(app, b, v) if m.kind == tarfile.REGTYPE]  # fmt: skip
    code_mean = statistics.fmean(len(d) for d in code_sizes)
    assert got["time.epochs"] == 3
    assert got["apps.count"] == 3
    assert got["apps.rebuild_every"] == 1.0
    assert got["runtimes.families"] == []
    assert got["bases.families"] == ["alpine"]
    assert got["bases.release_every"] == NEVER_EPOCHS
    assert got["bases.file_scale"] == pytest.approx(45 / 400, rel=1e-6)
    assert got["bases.bytes_scale"] == pytest.approx(base_bytes / 8_300_000, rel=1e-5)
    assert got["bases.compression_ratio"] == pytest.approx(base_bytes / data, rel=1e-5)
    assert got["apps.latest_share"] == 1.0
    assert got["apps.code_layers"] == 2
    # 12 code files per app: E[max(2, round(c exp(0.5 Z)))] = 12
    assert _expected_code_files(got["apps.code_files"], 2) == pytest.approx(12, rel=1e-4)
    assert got["apps.code_file_bytes"] == round((code_mean + 0.5) / math.exp(1.2**2 / 2))
    # 18 of 72 code files changed; 6 files per code layer, one always changes:
    # (0.25 x 6 - 1) / 5 = 0.1
    assert got["apps.code_change_fraction"] == pytest.approx(0.1)
    assert got["apps.waste_probability"] == pytest.approx(1 / 3, rel=1e-5)
    assert got["apps.waste_bytes"] == round((FETCH_BYTES + 0.5) / math.exp(0.8**2 / 2))
    assert got["apps.dep_update_probability"] == 0.0
    assert got["apps.reproducible_probability"] == 1.0
    # 12 files per dependency layer over 10 packages per layer (the company default)
    assert got["packages.files_mean"] == pytest.approx(1.2)
    assert "apps.packages_per_layer" not in got
    assert (got["nodes.count"], got["nodes.retention"], got["apps.replicas_mean"]) == (1, 3, 1.0)


def test_the_file_loads_and_says_where_each_value_came_from(fitted, tmp_path: Path) -> None:
    """The TOML parses, `load_config` accepts it and gives the fit's config; its header names
    the sources and the apps; every fitted key has a comment line just above it."""
    _, result = fitted
    text = result.toml_text()
    path = tmp_path / "fit.toml"
    path.write_text(text)
    loaded = load_config(path)
    assert loaded == result.config()
    assert loaded.apps.code_layers == 2 and loaded.scenario == "company"
    document = tomllib.loads(text)
    assert document["scenario"] == "company"
    lines = text.splitlines()
    for source in result.sources:
        assert f"#   {source}" in lines
    assert any("alpha:1" in line for line in lines if line.startswith("#"))
    for f in result.fitted:
        if not f.section:
            continue
        index = lines.index(f"{f.key} = {toml_value(f.value)}")
        assert lines[index - 1].startswith("# "), f.dotted
        assert document[f.section][f.key] == f.value
    # overrides on the command line still apply over the file
    assert load_config(path, overrides=["time.epochs=2"]).time.epochs == 2


def test_another_scenario_keeps_its_values(fitted) -> None:
    """`scenario` names the built-in scenario whose values the keys not fitted keep."""
    images, _ = fitted
    result = calibrate(images, scenario="small", check_seeds=0)
    config = result.config()
    assert config.scenario == "small"
    assert config.packages.count == load_config(scenario="small").packages.count
    assert 'scenario = "small"' in result.toml_text()
    with pytest.raises(ConfigError, match="unknown scenario"):
        calibrate(images, scenario="nope", check_seeds=0)


# ---------------------------------------------------------------------------------------------
# the round trip


def test_calibrate_then_run_reproduces_the_headline(fitted, hand_made, tmp_path: Path) -> None:
    """calibrate -> the written file -> generate and simulate (10 seeds from the file's) ->
    each headline statistic of the generated apps, averaged over the seeds, is within
    TOLERANCES of the analyzed set's (docs/analyze.md), and so is the dedup ratio of the
    simulated registry (logical / layer, compressed) against `evaluate` of the analyzed set."""
    _, result = fitted
    path = tmp_path / "fit.toml"
    path.write_text(result.toml_text())
    config = load_config(path)
    headlines, registry_ratios = [], []
    for k in range(ROUND_TRIP_SEEDS):
        seeded = replace(config, seed=config.seed + k)
        fleet = generate(seeded, np.random.default_rng(seeded.seed))
        run = simulate(fleet)
        last = run.registry[-1]
        registry_ratios.append(last.logical_bytes / last.layer_bytes)
        headlines.append(headline(to_population(fleet.arrays).images))
    analyzed = result.analyzed
    generated = {
        name: statistics.fmean(getattr(h, name) for h in headlines) for name in Headline.STATISTICS
    }
    for name in Headline.STATISTICS:
        assert within_tolerance(name, getattr(analyzed, name), generated[name]), (
            name,
            getattr(analyzed, name),
            generated[name],
        )
    stored = evaluate(read_population(hand_made)).registry_stored_bytes
    expected = stored.logical / stored.layer
    assert statistics.fmean(registry_ratios) == pytest.approx(expected, rel=REGISTRY_TOLERANCE)


def test_the_check_in_the_file(fitted) -> None:
    """With check seeds the file's header compares both sets, statistic by statistic, and the
    comparison says each is within tolerance for this set."""
    images, _ = fitted
    result = calibrate(images, check_seeds=ROUND_TRIP_SEEDS)
    rows = result.comparison()
    assert [r[0] for r in rows] == list(Headline.STATISTICS)
    assert all(ok for *_, ok in rows), rows
    text = result.toml_text()
    assert f"# Check: this file generated with {ROUND_TRIP_SEEDS} seeds" in text
    for name in Headline.STATISTICS:
        tol = TOLERANCES[name]
        shown = f"{tol:.2f}" if name in ABSOLUTE else f"{tol:.0%}"
        assert any(line.startswith(f"#   {name} ") and shown in line for line in text.splitlines())


# ---------------------------------------------------------------------------------------------
# other shapes


def rt_tar(i: int) -> bytes:
    members = [M(d, kind=tarfile.DIRTYPE) for d in ("usr", "usr/local", f"usr/local/r{i}")]
    for j, n in enumerate(sizes(f"rt{i}", 20, 30000)):
        members.append(M(f"usr/local/r{i}/b{j}", binary(f"rt{i}{j}", n)))
    return make_tar(members)


def test_apps_on_a_runtime(tmp_path: Path) -> None:
    """Three of four apps share three layers above the base (a runtime image is read too):
    the jvm preset (three layers) on its ubuntu base, the parent skew that puts 3/4 of the apps
    on it, its bytes scaled; the dependency layers' text compresses far better than the jvm
    ecosystem's jars, which the file says it cannot express."""
    base = make_tar(base_members())
    runtime = [rt_tar(i) for i in range(3)]
    layout = Layout(tmp_path / "rt")
    layout.add(layout.image([base, *runtime]), "1")
    paths = [layout.root]
    for app, on_runtime in (("alpha", True), ("beta", True), ("delta", True), ("gamma", False)):
        layout = Layout(tmp_path / app)
        for version in (1, 2):
            parent = [base, *runtime] if on_runtime else [base]
            code = make_tar(code_members(app, "one", version))
            layout.add(layout.image([*parent, deps_tar(app), code]), str(version))
        paths.append(layout.root)
    images = read_images(paths)
    result = calibrate(images, check_seeds=0)
    got = keys(result)
    assert got["runtimes.families"] == ["jvm"]
    assert got["bases.families"] == ["ubuntu"]
    assert got["apps.parent_zipf_exponent"] == pytest.approx(math.log2(3), rel=1e-5)
    assert got["apps.system_deps_probability"] == 0.0
    assert got["apps.code_layers"] == 1
    assert got["runtimes.rebuild_every"] == NEVER_EPOCHS
    runtime_bytes = sum(x.file_bytes for x in images[0].layers[1:])
    jvm_file_bytes = round(16_000_000 * 2.0) + round(55_000_000 * 2.0) + round(10_000 * 2.0)
    assert got["runtimes.bytes_scale"] == pytest.approx(runtime_bytes / jvm_file_bytes, rel=1e-5)
    assert got["runtimes.file_scale"] == pytest.approx(60 / 122, rel=1e-5)
    assert any(note.startswith("dependency layers: file data compresses") for note in result.notes)
    assert result.config().runtimes.families == ("jvm",)


def test_a_docker_archive_is_not_fitted_for_compression(tmp_path: Path) -> None:
    """docker-archives store layers as plain tars: no compressibility is fitted and the file
    says why; one own layer per app is below what the model builds, and the file says so."""
    base = make_tar(base_members())
    archive = docker_archive(
        tmp_path / "a.tar",
        [([f"app:{v}"], [base, make_tar(code_members("a", "one", v))]) for v in (1, 2)],
    )
    result = calibrate(read_images([archive]), check_seeds=0)
    got = keys(result)
    assert "bases.compression_ratio" not in got
    assert any("stored uncompressed" in note for note in result.notes)
    assert any("fewer than two own layers" in note for note in result.notes)
    # no dependency layer to fit: the smallest the model makes
    assert got["apps.packages_per_layer"] == 1.0 and got["packages.files_mean"] == 1.0
    result.config()


def test_one_image_of_one_layer(tmp_path: Path) -> None:
    """A single base image is an app of its own: no versions, no code, still a valid file."""
    layout = Layout(tmp_path / "one")
    layout.add(layout.image([make_tar(base_members())]), "1")
    result = calibrate(read_images([layout.root]), check_seeds=1)
    assert result.analyzed.version_churn is None
    assert keys(result)["apps.code_files"] == 1.0
    assert "version_churn" not in [r[0] for r in result.comparison()]
    tomllib.loads(result.toml_text())
    with pytest.raises(ModelError):
        calibrate([])


# ---------------------------------------------------------------------------------------------
# the inversions


def test_forced_fraction_inverts_the_generators_churn() -> None:
    """A tree of n files with rewrite fraction f changes 1 + (n - 1) f files per version (one
    is forced): the inverse, clamped to [0, 1]."""
    for n, f in ((6, 0.1), (10, 0.0), (100, 0.37), (2, 1.0)):
        assert _forced_fraction((1 + (n - 1) * f) / n, n) == pytest.approx(f)
    assert _forced_fraction(0.01, 10) == 0.0
    assert _forced_fraction(0.3, 1) == 0.3


def test_expected_code_files_matches_the_generators_draws() -> None:
    """`_expected_code_files` is the mean of the generator's draw of code files per app."""
    config = load_config(
        scenario="small",
        overrides=["apps.count=4000", "apps.code_files=7.5", "apps.code_layers=3", "time.epochs=1"],
    )
    fleet = generate(config, np.random.default_rng(1))
    got = fleet_code_files(fleet)
    assert got.mean() == pytest.approx(_expected_code_files(7.5, 3), rel=0.02)


def fleet_code_files(fleet) -> np.ndarray:
    from layersim.fleet.generate import ImageKind, LayerKind
    from layersim.model import EntryKind

    a = fleet.arrays
    counts = []
    for i in np.flatnonzero(fleet.image_kind == ImageKind.APP).tolist():
        layers = a.image_layers[a.image_offsets[i] : a.image_offsets[i + 1]]
        n = 0
        for lid in layers.tolist():
            if fleet.layer_kind[lid] == LayerKind.CODE:
                lo, hi = a.layer_offsets[lid], a.layer_offsets[lid + 1]
                n += int((a.entry_kind[lo:hi] == EntryKind.FILE).sum())
        counts.append(n)
    return np.asarray(counts)


def test_content_classes_by_name() -> None:
    assert content_class_of("usr/lib/python3/x.py") == "text"
    assert content_class_of("app/lib/dep.jar") == "archive"
    assert content_class_of("usr/bin/busybox") == "binary"
    assert content_class_of("etc/passwd") == "text"


def test_toml_values() -> None:
    assert toml_value(["a", 'b"c']) == '["a", "b\\"c"]'
    assert toml_value(2.0) == "2.0" and toml_value(3) == "3" and toml_value(True) == "true"
    assert tomllib.loads(f"x = {toml_value(1e-07)}")["x"] == 1e-07
    with pytest.raises(ModelError):
        toml_value(float("nan"))
