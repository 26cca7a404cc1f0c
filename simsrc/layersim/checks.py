"""Value checks shared by every reader of user input (`config`, `readers.spec`).

A *check* is a callable that takes a value as parsed (TOML, JSON or typed) and returns it,
converted where the check says so (an integer to a float, a list to a tuple), or raises
`CheckFailed` whose text is the "must be ..." part of a message. `checked` runs one at a key
and turns a failure into the caller's error class with the key first:

    checked("apps.count", POSITIVE_INT, -3, ConfigError)
    -> ConfigError("apps.count: must be a positive integer, got -3")

So every message reads `KEY: must be WHAT, got VALUE` whichever file or option the value came
from. This module knows no key and no file format: what a key means, and which check it takes,
is the caller's (the config's field table, the spec's parser).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Sequence
from typing import Any, TypeVar

from layersim.errors import LayersimError

T = TypeVar("T")
E = TypeVar("E", bound=LayersimError)

Check = Callable[[Any], Any]

# A described value is cut to this many characters, so that every message stays one line.
DESCRIBED_CHARS = 60


class CheckFailed(ValueError):
    """A value failed a check; the text is the "must be ..." part of the message (`checked`
    adds the key and the value given)."""


def describe(value: Any, *, show_lists: bool = False) -> str:
    """A value as an error message shows it: `true`/`false`, `a table`, `a list` (its repr with
    `show_lists`), else its repr cut to `DESCRIBED_CHARS` characters."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list) and not show_lists:
        return "a list"
    text = repr(value)
    return text if len(text) <= DESCRIBED_CHARS else text[: DESCRIBED_CHARS - 3] + "..."


def failure(key: str, message: str, error: type[E]) -> E:
    """`error` with the message `key: message` (the key first, as every message reads)."""
    return error(f"{key}: {message}")


def checked(
    key: str, check: Callable[[Any], T], value: Any, error: type[E], *, show_lists: bool = False
) -> T:
    """`check(value)`, or `error("KEY: must be ..., got VALUE")` if it fails (`describe`)."""
    try:
        return check(value)
    except CheckFailed as exc:
        shown = describe(value, show_lists=show_lists)
        raise failure(key, f"{exc}, got {shown}", error) from None


# --------------------------------------------------------------------------- check makers


def _is_integer(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def integer(low: int, high: int | None, what: str) -> Callable[[Any], int]:
    """An integer (not a bool) from `low` to `high` (None: no upper bound); `what` is the
    "must be" text, e.g. "a positive integer"."""

    def check(value: Any) -> int:
        if not _is_integer(value) or value < low or (high is not None and value > high):
            raise CheckFailed(f"must be {what}")
        return value

    return check


def number(
    low: float, high: float | None, what: str, *, low_open: bool = False
) -> Callable[[Any], float]:
    """A finite number (an integer or a float, not a bool) from `low` (excluded with
    `low_open`) to `high` (None: no upper bound), returned as a float."""

    def check(value: Any) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise CheckFailed(f"must be {what}")
        try:
            result = float(value)
        except OverflowError:  # an integer beyond any float (JSON allows one)
            raise CheckFailed(f"must be {what}") from None
        if not math.isfinite(result) or result < low or (low_open and result == low):
            raise CheckFailed(f"must be {what}")
        if high is not None and result > high:
            raise CheckFailed(f"must be {what}")
        return result

    return check


def choice(choices: Sequence[str]) -> Callable[[Any], str]:
    """One of `choices` (strings); the message lists them: "must be 'a' or 'b'"."""

    def check(value: Any) -> str:
        if not isinstance(value, str) or value not in choices:
            raise CheckFailed("must be " + " or ".join(repr(c) for c in choices))
        return value

    return check


def distinct_names(
    choices: Sequence[str], *, allow_empty: bool
) -> Callable[[Any], tuple[str, ...]]:
    """A list (or tuple) of distinct names from `choices`, returned as a tuple; empty only with
    `allow_empty`."""
    what = f"a list of distinct names from {', '.join(choices)}"
    if not allow_empty:
        what = "a non-empty " + what.removeprefix("a ")

    def check(value: Any) -> tuple[str, ...]:
        if not isinstance(value, list | tuple) or (not value and not allow_empty):
            raise CheckFailed(f"must be {what}")
        if any(not isinstance(v, str) or v not in choices for v in value):
            raise CheckFailed(f"must be {what}")
        if len(set(value)) != len(value):
            raise CheckFailed(f"must be {what}")
        return tuple(value)

    return check


def power_of_two(low: int) -> Callable[[Any], int]:
    """An integer power of two >= `low` (itself a power of two); from 1 the message says "a
    positive power of two"."""
    what = "a positive power of two" if low <= 1 else f"a power of two >= {low}"

    def check(value: Any) -> int:
        if not _is_integer(value) or value < max(low, 1) or value & (value - 1):
            raise CheckFailed(f"must be {what}")
        return value

    return check


# --------------------------------------------------------------------------- checks


POSITIVE_INT = integer(1, None, "a positive integer")
NON_NEGATIVE_INT = integer(0, None, "a non-negative integer")
PROBABILITY = number(0.0, 1.0, "a number from 0 to 1")
POSITIVE = number(0.0, None, "a positive number", low_open=True)
NON_NEGATIVE = number(0.0, None, "a number >= 0")
AT_LEAST_ONE = number(1.0, None, "a number >= 1")
# A multiplier of the presets' bytes: beyond 1000x a layer would exceed what the int64 byte
# counts of a fleet can sum (the presets' largest layer is ~600 MB on disk).
BYTES_SCALE = number(0.0, 1000.0, "a positive number up to 1000", low_open=True)


def boolean(value: Any) -> bool:
    """`true` or `false` (not 0 or 1)."""
    if not isinstance(value, bool):
        raise CheckFailed("must be true or false")
    return value


def one_line_text(value: Any) -> str:
    """A string without a line break (it is written into one-line headers and messages)."""
    if not isinstance(value, str) or "\n" in value:
        raise CheckFailed("must be a one-line string")
    return value


def a_table(value: Any) -> dict[str, Any]:
    """A table (a TOML table, a JSON object)."""
    if not isinstance(value, dict):
        raise CheckFailed("must be a table")
    return value


def a_list(value: Any) -> list[Any]:
    """A list (a TOML array, a JSON array)."""
    if not isinstance(value, list):
        raise CheckFailed("must be a list")
    return value
