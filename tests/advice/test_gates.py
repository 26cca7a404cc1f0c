"""Tests of `layersim.advice.gates`: sizes with units parse to exact bytes (or one-line errors),
rules come from a CI file or `[tool.layersim]` (the CI file wins, the command line overrides
each rule), and an image fails exactly the rules its figures break."""

from __future__ import annotations

from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from layersim.accounting.metrics import ImageMetrics
from layersim.advice.gates import (
    UNIT_BYTES,
    GateFailure,
    GateRules,
    check_images,
    discover_rules,
    load_rules_file,
    merge_rules,
    parse_byte_size,
    rules_from_table,
)
from layersim.errors import ConfigError


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("0", 0),
        ("1048576", 1048576),
        ("10MB", 10_000_000),
        ("10mb", 10_000_000),
        ("5MiB", 5 * 1024 * 1024),
        ("1.5 kB", 1500),
        ("0.5KiB", 512),
        ("2GB", 2_000_000_000),
        ("1TiB", 1024**4),
        ("7B", 7),
        ("  3 KB ", 3000),
    ],
)
def test_parse_byte_size_exact(text: str, expected: int) -> None:
    """SI units are powers of 1000, IEC units powers of 1024, case does not matter."""
    assert parse_byte_size(text) == expected


@pytest.mark.parametrize(
    ("text", "message"),
    [
        ("10XB", "size: unknown unit 'XB' in '10XB' (use B, kB, MB, GB, TB, KiB, MiB, GiB or TiB)"),
        ("-1", "size: '-1' is not a size: expected bytes or a number and a unit"),
        ("", "size: '' is not a size: expected bytes or a number and a unit"),
        ("MB", "size: 'MB' is not a size: expected bytes or a number and a unit"),
        ("1.5", "size: '1.5' is not a whole number of bytes (1.5 bytes)"),
        ("1.0001kB", "size: '1.0001kB' is not a whole number of bytes (1000.1000 bytes)"),
    ],
)
def test_parse_byte_size_errors(text: str, message: str) -> None:
    """A bad size raises ConfigError with one line that names the option and the problem."""
    with pytest.raises(ConfigError) as caught:
        parse_byte_size(text)
    assert str(caught.value).startswith(message)
    assert "\n" not in str(caught.value)


@given(st.integers(0, 10**6), st.sampled_from(sorted(UNIT_BYTES)))
def test_parse_byte_size_is_number_times_unit(number: int, unit: str) -> None:
    """Any whole number with any unit is that number times the unit's bytes."""
    assert parse_byte_size(f"{number}{unit}") == number * UNIT_BYTES[unit]


def image(name: str, *, min_bytes: int, cumulative: int, wasted: int, shadowed: int):
    return ImageMetrics(
        name=name,
        layers=("a", "b"),
        layered_tar_bytes=0,
        layered_compressed_bytes=0,
        layered_disk_bytes=0,
        flattened_tar_bytes=0,
        flattened_compressed_bytes=0,
        flattened_disk_bytes=0,
        shadowed_file_bytes=shadowed,
        dive_min_bytes=min_bytes,
        dive_cumulative_bytes=cumulative,
        dive_wasted_bytes=wasted,
        dive_user_bytes=0,
    )


WASTE = image("waste:1", min_bytes=1000, cumulative=4000, wasted=3000, shadowed=2500)
CLEAN = image("clean:1", min_bytes=1000, cumulative=1000, wasted=0, shadowed=0)


def test_check_images_bounds() -> None:
    """Efficiency fails strictly under its bound, bytes strictly over theirs; every broken rule
    is one reason of the image's one line; an image that breaks nothing is not listed."""
    assert check_images([WASTE, CLEAN], GateRules()) == ()
    at_bounds = GateRules(0.25, 3000, 2500)
    assert check_images([WASTE, CLEAN], at_bounds) == ()
    (failure,) = check_images([CLEAN, WASTE], GateRules(0.5, 2999, 2499))
    assert failure == GateFailure(
        "waste:1",
        (
            "efficiency 0.250000 is under 0.500000",
            "wasted bytes 3,000 are over 2,999",
            "shadowed bytes 2,500 are over 2,499",
        ),
    )
    assert failure.summary() == (
        "waste:1: efficiency 0.250000 is under 0.500000; wasted bytes 3,000 are over 2,999; "
        "shadowed bytes 2,500 are over 2,499"
    )
    (only,) = check_images([WASTE], GateRules(fail_over_shadowed_bytes=0))
    assert only.reasons == ("shadowed bytes 2,500 are over 0",)


def test_rules_from_table() -> None:
    """File keys are the option names; sizes may be integers or strings with units."""
    rules = rules_from_table(
        {
            "fail-under-efficiency": 0.9,
            "fail-over-wasted-bytes": "10MB",
            "fail-over-shadowed-bytes": 4096,
        },
        "ci.toml",
    )
    assert rules == GateRules(0.9, 10_000_000, 4096)
    assert rules.active and not GateRules().active


@pytest.mark.parametrize(
    ("table", "message"),
    [
        ({"lowest-efficiency": 0.9}, "ci.toml: unknown key 'lowest-efficiency' (known: "),
        ({"fail-under-efficiency": 1.5}, "ci.toml: fail-under-efficiency: expected a number from"),
        ({"fail-under-efficiency": "90%"}, "ci.toml: fail-under-efficiency: expected a number"),
        ({"fail-over-wasted-bytes": -1}, "ci.toml: fail-over-wasted-bytes: expected a non-neg"),
        ({"fail-over-wasted-bytes": True}, "ci.toml: fail-over-wasted-bytes: expected bytes or"),
        ({"fail-over-shadowed-bytes": "3 parsecs"}, "ci.toml: fail-over-shadowed-bytes: unknown"),
    ],
)
def test_rules_from_table_errors(table: dict, message: str) -> None:
    """A bad file value raises ConfigError naming the file and the key."""
    with pytest.raises(ConfigError) as caught:
        rules_from_table(table, "ci.toml")
    assert str(caught.value).startswith(message)


def test_discovery_and_precedence(tmp_path: Path) -> None:
    """Nothing found: no rules. pyproject's [tool.layersim] alone is read; with a
    .layersim-ci.toml next to it, only the CI file is; the command line replaces a file's rule
    and keeps its others."""
    assert discover_rules(tmp_path) == GateRules()
    pyproject = tmp_path / "pyproject.toml"
    pyproject.write_text('[project]\nname = "x"\n')
    assert discover_rules(tmp_path) == GateRules()
    pyproject.write_text('[tool.layersim]\nfail-over-wasted-bytes = "1KiB"\n')
    assert discover_rules(tmp_path) == GateRules(fail_over_wasted_bytes=1024)
    (tmp_path / ".layersim-ci.toml").write_text("fail-under-efficiency = 0.75\n")
    from_file = discover_rules(tmp_path)
    assert from_file == GateRules(fail_under_efficiency=0.75)
    assert load_rules_file(pyproject) == GateRules(fail_over_wasted_bytes=1024)
    merged = merge_rules(from_file, GateRules(fail_under_efficiency=0.5, fail_over_wasted_bytes=9))
    assert merged == GateRules(0.5, 9, None)
    assert merge_rules(from_file, GateRules()) == from_file


def test_bad_toml(tmp_path: Path) -> None:
    """A file that is not TOML is one ConfigError line naming it."""
    bad = tmp_path / ".layersim-ci.toml"
    bad.write_text("fail-under-efficiency = \n")
    with pytest.raises(ConfigError) as caught:
        discover_rules(tmp_path)
    assert str(caught.value).startswith(f"{bad}: invalid TOML: ")
