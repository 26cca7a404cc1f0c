"""Tests of `layersim.calibration.fit`: exact fits of hand-made image sets (the hand-made set,
apps on a runtime, a docker-archive), the typing of fitted values, and the order of the keys."""

from __future__ import annotations

import math
import statistics
import tarfile
from dataclasses import fields
from pathlib import Path

import pytest

from layersim.calibration import calibrate
from layersim.calibration.fit import (
    NEVER_EPOCHS,
    choose_runtime,
    describe_apps,
    fit_apps,
    fit_key,
)
from layersim.calibration.inversions import expected_code_files
from layersim.calibration.roles import cut_apps, leaf_indices
from layersim.config import SECTIONS, load_config
from layersim.readers import read_images
from tests.calibration.conftest import keys
from tests.calibration.image_sets import (
    APPS,
    FETCH_BYTES,
    base_members,
    build_runtime_set,
    code_members,
)
from tests.readers.images import docker_archive, make_tar


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
    assert expected_code_files(got["apps.code_files"], 2) == pytest.approx(12, rel=1e-4)
    assert got["apps.code_file_bytes"] == round((code_mean + 0.5) / math.exp(1.2**2 / 2))
    # 18 of 72 code files changed; 6 files per code layer, one always changes:
    # (0.25 x 6 - 1) / 5 = 0.1
    assert got["apps.code_change_fraction"] == pytest.approx(0.1)
    assert got["apps.waste_probability"] == pytest.approx(1 / 3, rel=1e-5)
    assert got["apps.waste_bytes"] == round((FETCH_BYTES + 0.5) / math.exp(0.8**2 / 2))
    assert got["apps.dep_update_probability"] == 0.0
    assert got["apps.reproducible_probability"] == 1.0
    # 12 files per dependency layer: with the default closure (2 dependencies per package
    # from a core of 50), 10 direct packages make 26.5 packages per layer, more than 12 files:
    # packages of one file, p direct ones with p + 50 (1 - exp(-2 p / 50)) = 12
    assert got["packages.files_mean"] == 1.0
    direct = got["apps.packages_per_layer"]
    assert direct + 50 * -math.expm1(-2 * direct / 50) == pytest.approx(12, rel=1e-6)
    assert (got["nodes.count"], got["nodes.retention"], got["apps.replicas_mean"]) == (1, 3, 1.0)


def test_fit_apps_orders_the_keys_and_types_the_values(fitted) -> None:
    """`fit_apps` gives the description first, then the keys in schema order, each once; an
    int key's value is an int and a float key's a float (6 significant digits), as the config
    holds them; the calibration's config is the scenario's with those values."""
    images, result = fitted
    leaves = leaf_indices(images)
    fit = fit_apps(cut_apps(images, leaves), load_config())
    assert fit.fitted == result.fitted and fit.notes == result.notes
    assert fit.fitted[0].dotted == "description"
    assert (
        fit.fitted[0].value == "calibrated from 9 app images of 3 repositories (layersim calibrate)"
    )
    schema = [f"{name}.{f.name}" for name, cls in SECTIONS.items() for f in fields(cls)]
    dotted = [f.dotted for f in fit.fitted[1:]]
    assert dotted == sorted(dotted, key=schema.index) and len(set(dotted)) == len(dotted)
    for f in fit.fitted[1:]:
        default = getattr(getattr(result.config, f.section), f.key)
        assert type(f.value) is (list if isinstance(default, tuple) else type(default)), f.dotted
        assert getattr(getattr(result.config, f.section), f.key) == (
            tuple(f.value) if isinstance(f.value, list) else f.value
        )
    assert result.config.description == fit.fitted[0].value


def test_fit_key_rounds_by_the_keys_type() -> None:
    """An int key rounds to the nearest int; a float key keeps 6 significant digits; a list
    or a string is kept as given."""
    assert fit_key("time", "epochs", 2.6, "why").value == 3
    assert fit_key("apps", "latest_share", 1 / 3, "why").value == 0.333333
    assert fit_key("apps", "rebuild_every", 2, "why").value == 2.0
    assert fit_key("bases", "families", ["alpine"], "why").value == ["alpine"]
    assert fit_key("", "description", "x", "why").dotted == "description"


def test_describe_apps(fitted) -> None:
    """The set in words, singular and plural."""
    images, _ = fitted
    apps = cut_apps(images, leaf_indices(images))
    assert describe_apps(apps) == "9 app images of 3 repositories"
    assert describe_apps(apps[:1]) == "1 app image of 1 repository"


def test_apps_on_a_runtime(tmp_path: Path) -> None:
    """Three of four apps share three layers above the base (a runtime image is read too):
    the jvm preset (three layers) on its ubuntu base, the parent skew that puts 3/4 of the apps
    on it, its bytes scaled; the dependency layers' text compresses far better than the jvm
    ecosystem's jars, which the file says it cannot express."""
    images = read_images(build_runtime_set(tmp_path))
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
    assert result.config.runtimes.families == ("jvm",)
    assert choose_runtime(cut_apps(images, leaf_indices(images))) == "jvm"


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
    assert result.config.apps.packages_per_layer == 1.0
