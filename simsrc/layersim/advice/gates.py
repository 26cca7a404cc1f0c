"""CI gates on image waste: the rules `layersim analyze` checks every image against.

A rule is a bound on one per-image figure of `accounting.metrics.ImageMetrics`: dive's
efficiency (fail under), dive's wasted bytes and the shadowed file bytes (fail over). Rules
come from the command line, from `.layersim-ci.toml`, or from the `[tool.layersim]` section of
`pyproject.toml` (as dive reads `.dive-ci`); `merge_rules` says which wins. Sizes are written
with units (`parse_byte_size`). This module decides pass or fail; it does not print.
"""

from __future__ import annotations

import re
import tomllib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, fields, replace
from decimal import Decimal, InvalidOperation
from pathlib import Path

from layersim.accounting.metrics import ImageMetrics
from layersim.errors import ConfigError

# SI prefixes are powers of 1000 (`10MB` = 10,000,000), IEC ones powers of 1024 (`5MiB`), as
# dive, docker and the OCI tools print sizes. Units are matched without regard to case.
UNIT_BYTES: Mapping[str, int] = {
    "b": 1,
    "kb": 1000,
    "mb": 1000**2,
    "gb": 1000**3,
    "tb": 1000**4,
    "kib": 1024,
    "mib": 1024**2,
    "gib": 1024**3,
    "tib": 1024**4,
}
_SIZE = re.compile(r"(?P<number>[0-9]+(?:\.[0-9]+)?)\s*(?P<unit>[a-zA-Z]*)")

CI_FILE = ".layersim-ci.toml"
PYPROJECT = "pyproject.toml"


def parse_byte_size(text: str, what: str = "size") -> int:
    """The bytes `text` names: plain bytes (`1048576`) or a number and a unit (`10MB`, `5MiB`,
    `1.5 kB`); the result must be a whole number of bytes. Raises `ConfigError` naming `what`."""
    match = _SIZE.fullmatch(text.strip())
    if match is None:
        raise ConfigError(
            f"{what}: {text!r} is not a size: expected bytes or a number and a unit "
            f"({', '.join(('B', 'kB', 'MB', 'GB', 'TB', 'KiB', 'MiB', 'GiB', 'TiB'))})"
        )
    unit = match["unit"].lower() or "b"
    if unit not in UNIT_BYTES:
        raise ConfigError(
            f"{what}: unknown unit {match['unit']!r} in {text!r} (use B, kB, MB, GB, TB, KiB, "
            f"MiB, GiB or TiB)"
        )
    try:
        exact = Decimal(match["number"]) * UNIT_BYTES[unit]
    except InvalidOperation:  # pragma: no cover - the pattern admits only decimal numbers
        raise ConfigError(f"{what}: {text!r} is not a size") from None
    if exact != exact.to_integral_value():
        raise ConfigError(f"{what}: {text!r} is not a whole number of bytes ({exact} bytes)")
    return int(exact)


def _efficiency(value: object, what: str) -> float:
    if isinstance(value, bool) or not isinstance(value, int | float):
        raise ConfigError(f"{what}: expected a number from 0 to 1, got {value!r}")
    if not 0.0 <= value <= 1.0:
        raise ConfigError(f"{what}: expected a number from 0 to 1, got {value}")
    return float(value)


def _bytes(value: object, what: str) -> int:
    if isinstance(value, str):
        return parse_byte_size(value, what)
    if isinstance(value, bool) or not isinstance(value, int):
        raise ConfigError(f'{what}: expected bytes or a size such as "10MB", got {value!r}')
    if value < 0:
        raise ConfigError(f"{what}: expected a non-negative size, got {value}")
    return value


@dataclass(frozen=True, slots=True)
class GateRules:
    """The bounds an image must meet; `None` checks nothing.

    - `fail_under_efficiency`: an image fails if its dive efficiency is below it (0 to 1);
    - `fail_over_wasted_bytes`: ... if its dive wasted bytes are above it (file bytes);
    - `fail_over_shadowed_bytes`: ... if its shadowed file bytes are above it (file bytes).
    """

    fail_under_efficiency: float | None = None
    fail_over_wasted_bytes: int | None = None
    fail_over_shadowed_bytes: int | None = None

    def __post_init__(self) -> None:
        if self.fail_under_efficiency is not None:
            _efficiency(self.fail_under_efficiency, "--fail-under-efficiency")
        for name in ("fail_over_wasted_bytes", "fail_over_shadowed_bytes"):
            value = getattr(self, name)
            if value is not None:
                _bytes(value, "--" + name.replace("_", "-"))

    @property
    def active(self) -> bool:
        """Whether any rule is set."""
        return any(getattr(self, f.name) is not None for f in fields(self))


# the file keys are the option names without their dashes
_KEYS = {"--" + f.name.replace("_", "-"): f.name for f in fields(GateRules)}
FILE_KEYS = tuple(key[2:] for key in _KEYS)


def rules_from_table(table: Mapping[str, object], source: str) -> GateRules:
    """The rules of a TOML table (`.layersim-ci.toml`'s top level, `[tool.layersim]`): the
    keys `fail-under-efficiency` (a number), `fail-over-wasted-bytes` and
    `fail-over-shadowed-bytes` (bytes, or a string with a unit). Unknown keys are errors."""
    unknown = sorted(set(table) - set(FILE_KEYS))
    if unknown:
        raise ConfigError(f"{source}: unknown key {unknown[0]!r} (known: {', '.join(FILE_KEYS)})")
    values: dict[str, object] = {}
    for key, value in table.items():
        what = f"{source}: {key}"
        if key == "fail-under-efficiency":
            values[_KEYS["--" + key]] = _efficiency(value, what)
        else:
            values[_KEYS["--" + key]] = _bytes(value, what)
    return GateRules(**values)  # type: ignore[arg-type]


def _read_toml(path: Path) -> dict[str, object]:
    try:
        with path.open("rb") as handle:
            return tomllib.load(handle)
    except tomllib.TOMLDecodeError as exc:
        raise ConfigError(f"{path}: invalid TOML: {exc}") from None


def load_rules_file(path: Path) -> GateRules:
    """The rules of one file: a `pyproject.toml` (its `[tool.layersim]` section, none if it
    has none) or a CI file (its top-level keys)."""
    document = _read_toml(path)
    if path.name == PYPROJECT:
        tool = document.get("tool", {})
        section = tool.get("layersim", {}) if isinstance(tool, dict) else {}
        if not isinstance(section, dict):
            raise ConfigError(f"{path}: [tool.layersim] must be a table")
        return rules_from_table(section, f"{path} [tool.layersim]")
    return rules_from_table(document, str(path))


def discover_rules(directory: Path) -> GateRules:
    """The rules found in `directory`: `.layersim-ci.toml` if it exists (then `pyproject.toml`
    is not read), else the `[tool.layersim]` section of `pyproject.toml`, else none. Only that
    directory is searched, not its parents."""
    for name in (CI_FILE, PYPROJECT):
        path = directory / name
        if path.is_file():
            return load_rules_file(path)
    return GateRules()


def merge_rules(from_file: GateRules, from_cli: GateRules) -> GateRules:
    """Each rule given on the command line replaces the file's; the file's others stay."""
    given = {
        f.name: getattr(from_cli, f.name)
        for f in fields(GateRules)
        if getattr(from_cli, f.name) is not None
    }
    return replace(from_file, **given)


@dataclass(frozen=True, slots=True)
class GateFailure:
    """An image that broke one or more rules, and how."""

    image: str
    reasons: tuple[str, ...]

    def summary(self) -> str:
        """One line: the image and every rule it broke, with its figure and the bound."""
        return f"{self.image}: {'; '.join(self.reasons)}"


def _reasons(image: ImageMetrics, rules: GateRules) -> tuple[str, ...]:
    reasons = []
    bound = rules.fail_under_efficiency
    if bound is not None and image.dive_efficiency < bound:
        reasons.append(f"efficiency {image.dive_efficiency:.6f} is under {bound:.6f}")
    limit = rules.fail_over_wasted_bytes
    if limit is not None and image.dive_wasted_bytes > limit:
        reasons.append(f"wasted bytes {image.dive_wasted_bytes:,} are over {limit:,}")
    limit = rules.fail_over_shadowed_bytes
    if limit is not None and image.shadowed_file_bytes > limit:
        reasons.append(f"shadowed bytes {image.shadowed_file_bytes:,} are over {limit:,}")
    return tuple(reasons)


def check_images(images: Sequence[ImageMetrics], rules: GateRules) -> tuple[GateFailure, ...]:
    """The images that break a rule, in the order given (none when no rule is set)."""
    failures = []
    for image in images:
        reasons = _reasons(image, rules)
        if reasons:
            failures.append(GateFailure(image.name, reasons))
    return tuple(failures)
