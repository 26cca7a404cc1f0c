"""Tests of `layersim.checks`: each check's accepted values and conversions, and the exact
message `checked` raises (the key first, in the caller's error class)."""

from __future__ import annotations

import pytest

from layersim.checks import (
    AT_LEAST_ONE,
    NON_NEGATIVE,
    NON_NEGATIVE_INT,
    POSITIVE,
    POSITIVE_INT,
    PROBABILITY,
    CheckFailed,
    a_list,
    a_table,
    boolean,
    checked,
    choice,
    describe,
    distinct_names,
    failure,
    integer,
    number,
    one_line_text,
    power_of_two,
)
from layersim.errors import ConfigError, SpecError


def message(check, value, error=ConfigError, **kwargs) -> str:
    with pytest.raises(error) as info:
        checked("k.x", check, value, error, **kwargs)
    return str(info.value)


def test_describe_values() -> None:
    """Booleans as TOML spells them, tables and lists by kind (lists by repr on request),
    anything else by repr cut to 60 characters."""
    assert describe(True) == "true" and describe(False) == "false"
    assert describe({"a": 1}) == "a table"
    assert describe([1, 2]) == "a list"
    assert describe([1, 2], show_lists=True) == "[1, 2]"
    assert describe("x") == "'x'" and describe(2.5) == "2.5"
    assert describe("y" * 100) == "'" + "y" * 56 + "..."


def test_failure_puts_the_key_first() -> None:
    """`failure` builds the given error class with `key: message`."""
    error = failure("layers.app", "unknown layer 'x'", SpecError)
    assert isinstance(error, SpecError) and str(error) == "layers.app: unknown layer 'x'"


def test_checked_returns_the_checked_value() -> None:
    """A value that passes comes back, converted where the check converts it."""
    assert checked("k", POSITIVE_INT, 3, ConfigError) == 3
    value = checked("k", PROBABILITY, 1, ConfigError)
    assert value == 1.0 and isinstance(value, float)
    assert checked("k", distinct_names(["a", "b"], allow_empty=False), ["b"], SpecError) == ("b",)


@pytest.mark.parametrize(
    ("check", "value", "expected"),
    [
        (POSITIVE_INT, 0, "k.x: must be a positive integer, got 0"),
        (POSITIVE_INT, True, "k.x: must be a positive integer, got true"),
        (POSITIVE_INT, 2.0, "k.x: must be a positive integer, got 2.0"),
        (NON_NEGATIVE_INT, -5, "k.x: must be a non-negative integer, got -5"),
        (integer(0, 9, "a digit"), 10, "k.x: must be a digit, got 10"),
        (PROBABILITY, 1.5, "k.x: must be a number from 0 to 1, got 1.5"),
        (PROBABILITY, float("nan"), "k.x: must be a number from 0 to 1, got nan"),
        (PROBABILITY, "0.5", "k.x: must be a number from 0 to 1, got '0.5'"),
        (POSITIVE, 0, "k.x: must be a positive number, got 0"),
        (POSITIVE, float("inf"), "k.x: must be a positive number, got inf"),
        (NON_NEGATIVE, -0.1, "k.x: must be a number >= 0, got -0.1"),
        (AT_LEAST_ONE, 0.5, "k.x: must be a number >= 1, got 0.5"),
        (number(1.0, None, "a ratio >= 1.0"), 10**400, "k.x: must be a ratio >= 1.0, got 1000"),
        (
            choice(["spread", "binpack"]),
            "random",
            "k.x: must be 'spread' or 'binpack', got 'random'",
        ),
        (boolean, 1, "k.x: must be true or false, got 1"),
        (one_line_text, "a\nb", "k.x: must be a one-line string, got 'a\\nb'"),
        (power_of_two(512), 1000, "k.x: must be a power of two >= 512, got 1000"),
        (power_of_two(512), 256, "k.x: must be a power of two >= 512, got 256"),
        (power_of_two(1), 0, "k.x: must be a positive power of two, got 0"),
        (a_table, [1], "k.x: must be a table, got a list"),
        (a_list, {}, "k.x: must be a list, got a table"),
    ],
)
def test_messages(check, value, expected: str) -> None:
    """Each failing check gives `KEY: must be WHAT, got VALUE` (a long value cut short)."""
    assert message(check, value).startswith(expected)
    if len(describe(value)) < 60:
        assert message(check, value) == expected


@pytest.mark.parametrize(
    ("value", "show_lists", "expected"),
    [
        (["alpine", "gentoo"], True, "got ['alpine', 'gentoo']"),
        (["alpine", "gentoo"], False, "got a list"),
        ([], False, "got a list"),
        (["alpine", "alpine"], True, "got ['alpine', 'alpine']"),
        ("alpine", True, "got 'alpine'"),
    ],
)
def test_distinct_names(value, show_lists: bool, expected: str) -> None:
    """A non-empty list of distinct known names; the value shown as the caller asks."""
    check = distinct_names(["alpine", "debian"], allow_empty=False)
    assert message(check, value, SpecError, show_lists=show_lists) == (
        f"k.x: must be a non-empty list of distinct names from alpine, debian, {expected}"
    )


def test_distinct_names_may_be_empty_and_a_tuple() -> None:
    """With `allow_empty` an empty list passes (the message drops "non-empty"); a tuple is
    accepted as a list (typed values), and the result is always a tuple."""
    check = distinct_names(["python"], allow_empty=True)
    assert check([]) == () and check(("python",)) == ("python",)
    with pytest.raises(CheckFailed, match=r"^must be a list of distinct names from python$"):
        check(["node"])


def test_powers_of_two() -> None:
    """Every power of two from the least passes."""
    assert [power_of_two(1)(2**k) for k in range(4)] == [1, 2, 4, 8]
    assert power_of_two(512)(4096) == 4096


def test_only_check_failures_become_the_callers_error() -> None:
    """Any other exception of a check is a bug and passes through."""

    def broken(value):
        raise KeyError(value)

    with pytest.raises(KeyError):
        checked("k", broken, 1, ConfigError)
