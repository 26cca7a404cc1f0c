"""Tests of `layersim.config`: scenarios, layering of settings, overrides, every error path."""

from __future__ import annotations

import json
from dataclasses import fields

import pytest

from layersim.config import (
    SECTIONS,
    ExperimentConfig,
    apply_values,
    config_schema,
    config_to_dict,
    list_scenarios,
    load_config,
    parse_override,
    scenario_names,
)
from layersim.errors import ConfigError


def _error(*args, **kwargs) -> str:
    with pytest.raises(ConfigError) as info:
        load_config(*args, **kwargs)
    message = str(info.value)
    assert "\n" not in message
    return message


def _write(tmp_path, text: str):
    path = tmp_path / "experiment.toml"
    path.write_text(text, encoding="utf-8")
    return path


# --------------------------------------------------------------------------- scenarios


def test_builtin_scenarios_are_listed_with_descriptions():
    """`list_scenarios` names at least small, company and hub, each with a one-line text."""
    listed = dict(list_scenarios())
    assert {"small", "company", "hub"} <= set(listed)
    assert tuple(sorted(listed)) == scenario_names()
    for description in listed.values():
        assert description and "\n" not in description


@pytest.mark.parametrize("name", ["small", "company", "hub"])
def test_every_scenario_loads(name):
    """Each built-in scenario loads, records its name and keeps the seed default."""
    config = load_config(scenario=name)
    assert config.scenario == name
    assert config.seed == 42


def test_defaults_are_the_company_scenario():
    """With no file and no scenario the config is `company`, whose settings are the defaults."""
    config = load_config()
    assert config.scenario == "company"
    for name in SECTIONS:
        assert getattr(config, name) == getattr(ExperimentConfig(), name)


def test_scenario_changes_only_what_it_sets():
    """`small` overrides some keys; an unset key keeps its default."""
    config = load_config(scenario="small")
    assert config.apps.count == 20
    assert config.time.epochs == 12
    assert config.transfer == ExperimentConfig().transfer


def test_unknown_scenario():
    """An unknown scenario names the built-in ones."""
    message = _error(scenario="galaxy")
    assert message.startswith("scenario: unknown scenario 'galaxy'")
    assert "small" in message


# --------------------------------------------------------------------------- layering


def test_file_over_scenario_over_defaults(tmp_path):
    """A file's `scenario` key picks the base; its own keys win over the scenario's."""
    path = _write(tmp_path, 'scenario = "small"\n[apps]\ncount = 7\n')
    config = load_config(path)
    assert config.scenario == "small"
    assert config.apps.count == 7
    assert config.nodes.count == 4  # from small


def test_scenario_argument_wins_over_the_file_key(tmp_path):
    """An explicit scenario argument is used even when the file names another."""
    path = _write(tmp_path, 'scenario = "hub"\n')
    assert load_config(path, scenario="small").scenario == "small"


def test_overrides_over_file(tmp_path):
    """`--set` values apply last, in order, and are parsed as TOML values."""
    path = _write(tmp_path, "[apps]\ncount = 7\n")
    config = load_config(
        path,
        overrides=[
            "apps.count=9",
            "apps.count=11",
            "seed=7",
            "nodes.placement=binpack",  # a bare word is a string
            'bases.families=["debian", "ubuntu"]',
            "apps.latest_share=0.5",
            "storage.keep_compressed_blobs=true",
        ],
    )
    assert config.apps.count == 11
    assert config.seed == 7
    assert config.nodes.placement == "binpack"
    assert config.bases.families == ("debian", "ubuntu")
    assert config.apps.latest_share == 0.5
    assert config.storage.keep_compressed_blobs is True


def test_integer_accepted_for_a_float_key():
    """A TOML integer is a valid value of a float key and becomes a float."""
    config = load_config(overrides=["apps.rebuild_every=3"])
    assert config.apps.rebuild_every == 3.0
    assert isinstance(config.apps.rebuild_every, float)


def test_parse_override_shapes():
    """`section.key=value` and `seed=value` become nested documents."""
    assert parse_override("apps.count=5") == {"apps": {"count": 5}}
    assert parse_override("seed = 3") == {"seed": 3}
    assert parse_override('description="x y"') == {"description": "x y"}


def test_config_to_dict_round_trips():
    """The dict written into summary.json is JSON-able and is itself a valid document that
    rebuilds the same config."""
    config = load_config(scenario="small", overrides=["seed=5", "nodes.placement=binpack"])
    data = config_to_dict(config)
    assert json.loads(json.dumps(data)) == data
    assert apply_values(ExperimentConfig(), data) == config


def test_schema_checks_accept_every_default():
    """Every key has a check and a description, and every default passes its own check."""
    defaults = ExperimentConfig()
    for name, cls in SECTIONS.items():
        section = getattr(defaults, name)
        for f in fields(cls):
            value = getattr(section, f.name)
            raw = list(value) if isinstance(value, tuple) else value
            assert f.metadata["check"](raw) == value
            assert f.metadata["doc"]
    keys = [row[0] for row in config_schema()]
    assert "apps.count" in keys and "seed" in keys


# --------------------------------------------------------------------------- errors


@pytest.mark.parametrize(
    ("override", "expected"),
    [
        ("apps.count=-3", "apps.count: must be a positive integer, got -3"),
        ("apps.count=0", "apps.count: must be a positive integer, got 0"),
        ("apps.count=2.5", "apps.count: must be a positive integer, got 2.5"),
        ("apps.count=true", "apps.count: must be a positive integer, got true"),
        ('apps.count="many"', "apps.count: must be a positive integer, got 'many'"),
        ("nodes.stats_sample=-1", "nodes.stats_sample: must be a non-negative integer, got -1"),
        ("apps.latest_share=1.5", "apps.latest_share: must be a number from 0 to 1, got 1.5"),
        ("apps.latest_share=nan", "apps.latest_share: must be a number from 0 to 1, got nan"),
        ("apps.latest_share=yes", "apps.latest_share: must be a number from 0 to 1, got 'yes'"),
        ("transfer.bandwidth_mbit=0", "transfer.bandwidth_mbit: must be a positive number, got 0"),
        (
            "transfer.bandwidth_mbit=inf",
            "transfer.bandwidth_mbit: must be a positive number, got inf",
        ),
        ("lazy.chunk_bytes=0", "lazy.chunk_bytes: must be a positive integer, got 0"),
        ("lazy.read_fraction=1.5", "lazy.read_fraction: must be a number from 0 to 1, got 1.5"),
        (
            "lazy.request_latency_ms=-1",
            "lazy.request_latency_ms: must be a number >= 0, got -1",
        ),
        ("lazy.background=1", "lazy.background: must be true or false, got 1"),
        ("apps.lag_mean=0.5", "apps.lag_mean: must be a number >= 1, got 0.5"),
        ("packages.zipf_exponent=-1", "packages.zipf_exponent: must be a number >= 0, got -1"),
        ("nodes.placement=random", "nodes.placement: must be 'spread' or 'binpack', got 'random'"),
        ("storage.driver=zfs", "storage.driver: must be 'overlay2' or 'block', got 'zfs'"),
        (
            "storage.block_bytes=1000",
            "storage.block_bytes: must be a power of two >= 512, got 1000",
        ),
        (
            "storage.keep_compressed_blobs=1",
            "storage.keep_compressed_blobs: must be true or false, got 1",
        ),
        (
            "chunks.fixed_bytes=0",
            "chunks.fixed_bytes: must be an integer from 4096 to 1073741824 (bytes), got 0",
        ),
        (
            "chunks.cdc_avg_bytes=0",
            "chunks.cdc_avg_bytes: must be an integer from 256 to 4194304 (bytes), got 0",
        ),
        (
            "chunks.cdc_min_bytes=131072",
            "chunks.cdc_min_bytes: must be at most chunks.cdc_avg_bytes (65536), got 131072",
        ),
        (
            "chunks.cdc_max_bytes=32768",
            "chunks.cdc_max_bytes: must be at least chunks.cdc_avg_bytes (65536), got 32768",
        ),
        (
            "chunks.edit_fraction=2",
            "chunks.edit_fraction: must be a number from 0 to 1, got 2",
        ),
        ("seed=-1", "seed: must be an integer from 0 to 2**63-1, got -1"),
        ('description="""a\nb"""', "description: must be a one-line string"),
        ("apps.colour=1", "apps.colour: unknown key (known: "),
        ("colour=1", "colour: unknown key or section (known: scenario, description, seed, time,"),
        ("apps=3", "apps: must be a table, got 3"),
    ],
)
def test_invalid_values(override, expected):
    """A wrong key or value gets a one-line message that starts with the key."""
    assert _error(overrides=[override]).startswith(expected)


@pytest.mark.parametrize(
    ("value", "what"),
    [
        ('["alpine", "gentoo"]', "unknown family"),
        ('["alpine", "alpine"]', "repeated family"),
        ("[]", "empty list"),
        ('"alpine"', "not a list"),
    ],
)
def test_invalid_family_lists(value, what):
    """Base families must be a non-empty list of distinct known names."""
    message = _error(overrides=[f"bases.families={value}"])
    assert message.startswith(
        "bases.families: must be a non-empty list of distinct names from alpine, debian, ubuntu"
    ), what


def test_runtimes_may_be_empty_but_need_their_base():
    """No runtimes is allowed; a runtime whose base family is not generated is an error."""
    assert load_config(overrides=["runtimes.families=[]"]).runtimes.families == ()
    message = _error(overrides=['bases.families=["alpine"]'])
    assert message.startswith("runtimes.families: python is built on base family debian")


@pytest.mark.parametrize(
    "override", ["apps.count", "apps.count=", "=5", "a.b.c=1", ".count=1", "apps.=1"]
)
def test_malformed_override(override):
    """An override that is not `section.key=value` is rejected before anything else."""
    assert _error(overrides=[override]) == (
        f"--set {override}: expected section.key=value (or seed=N)"
    )


def test_malformed_file(tmp_path):
    """Broken TOML names the file."""
    path = _write(tmp_path, "[apps\ncount = 1\n")
    message = _error(path)
    assert message.startswith(f"{path}: malformed TOML:")


def test_missing_file(tmp_path):
    """An unreadable file is a ConfigError naming it, not an OSError."""
    path = tmp_path / "missing.toml"
    assert _error(path).startswith(f"{path}: cannot read the config:")


def test_error_in_file_names_the_key(tmp_path):
    """Errors inside a file name the key the same way as overrides."""
    path = _write(tmp_path, "[nodes]\nretention = 0\n")
    assert _error(path) == "nodes.retention: must be a positive integer, got 0"


def test_bad_scenario_key_type(tmp_path):
    """The file's `scenario` key must be a string."""
    path = _write(tmp_path, "scenario = 3\n")
    assert _error(path) == "scenario: must be a one-line string, got 3"


def test_calibration_keys_default_to_the_presets():
    """The keys `layersim calibrate` writes default to the presets' behaviour: scales 1, one
    code layer, compression ratio 0 (the preset's); a ratio must be 0 or within the classes'."""
    config = load_config()
    assert (config.bases.bytes_scale, config.runtimes.bytes_scale) == (1.0, 1.0)
    assert (config.bases.compression_ratio, config.runtimes.compression_ratio) == (0.0, 0.0)
    assert (config.packages.file_bytes_scale, config.apps.code_layers) == (1.0, 1)
    assert load_config(overrides=["bases.compression_ratio=2.5"]).bases.compression_ratio == 2.5
    assert load_config(overrides=["runtimes.compression_ratio=1"]).runtimes.compression_ratio == 1
    for bad in ("0.5", "4.5", "-1", "true"):
        message = _error(overrides=[f"bases.compression_ratio={bad}"])
        assert message.startswith("bases.compression_ratio: must be 0 (the preset's) or a number")
    assert _error(overrides=["apps.code_layers=0"]).startswith("apps.code_layers: must be")
    assert _error(overrides=["bases.bytes_scale=0"]).startswith("bases.bytes_scale: must be")


# --------------------------------------------------------------------------- typed values


def test_apply_values_sets_typed_values():
    """Typed values go through the field table as a file's do: an int for a float key becomes
    a float, a list or a tuple of names becomes a tuple; the rest of the config is kept."""
    base = load_config(scenario="small")
    config = apply_values(
        base,
        {
            "apps.count": 300,
            "seed": 7,
            "apps.rebuild_every": 3,
            "bases.families": ["debian"],
            "runtimes.families": ("python",),
            "description": "typed",
        },
    )
    assert (config.apps.count, config.seed, config.description) == (300, 7, "typed")
    assert config.apps.rebuild_every == 3.0 and isinstance(config.apps.rebuild_every, float)
    assert config.bases.families == ("debian",) and config.runtimes.families == ("python",)
    assert config.nodes == base.nodes and config.scenario == "small"
    assert apply_values(base, {}) == base


def test_apply_values_equals_the_same_overrides():
    """The typed apply and `--set` strings give the same config."""
    typed = apply_values(load_config(), {"apps.latest_share": 0.5, "nodes.placement": "binpack"})
    assert typed == load_config(overrides=["apps.latest_share=0.5", "nodes.placement=binpack"])


def test_load_config_applies_typed_values_last():
    """`values` apply after the overrides (the CLI's --seed after --set seed=...)."""
    config = load_config(scenario="small", overrides=["seed=5"], values={"seed": 9})
    assert config.seed == 9


@pytest.mark.parametrize(
    ("values", "expected"),
    [
        ({"apps.colour": 1}, "apps.colour: unknown key (known: "),
        ({"colour": 1}, "colour: unknown key or section (known: scenario, description, seed,"),
        (
            {"a.b.c": 1},
            "a.b.c: expected section.key or a top-level key (scenario, description, seed)",
        ),
        (
            {"apps.": 1},
            "apps.: expected section.key or a top-level key (scenario, description, seed)",
        ),
        ({"apps.count": "300"}, "apps.count: must be a positive integer, got '300'"),
        ({"apps.count": 2.5}, "apps.count: must be a positive integer, got 2.5"),
        ({"seed": True}, "seed: must be an integer from 0 to 2**63-1, got true"),
        ({"seed": -1}, "seed: must be an integer from 0 to 2**63-1, got -1"),
        ({"seed": 2**63}, "seed: must be an integer from 0 to 2**63-1, got 9223372036854775808"),
        ({"apps.latest_share": 1.5}, "apps.latest_share: must be a number from 0 to 1, got 1.5"),
        (
            {"bases.families": ["alpine", "gentoo"]},
            "bases.families: must be a non-empty list of distinct names from alpine, debian, "
            "ubuntu, got ['alpine', 'gentoo']",
        ),
        ({"apps": 3}, "apps: must be a table, got 3"),
        (
            {"bases.families": ["alpine"]},
            "runtimes.families: python is built on base family debian, which bases.families "
            "does not list",
        ),
    ],
)
def test_apply_values_errors(values, expected):
    """A bad key, a bad type, an out-of-range value or a config the cross checks reject: one
    line that starts with the key."""
    with pytest.raises(ConfigError) as info:
        apply_values(load_config(), values)
    message = str(info.value)
    assert message.startswith(expected) and "\n" not in message
    if "(known: " not in expected:
        assert message == expected
