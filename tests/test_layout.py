"""The package's architecture, checked: layers import one way, the core stays pure, modules stay
readable, tests mirror the subpackages.

These read the source (ast), not the running package, so they hold for code that is never
imported by a test too.
"""

from __future__ import annotations

import ast
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "simsrc" / "layersim"
TESTS = ROOT / "tests"

# The layers, lowest first. A module may import from its own subpackage or root module and from
# any lower rank, never from its own rank's other members or a higher one.
RANKS: dict[str, int] = {
    "errors": 0,
    "progress": 0,
    "checks": 1,
    "model": 2,
    "config": 3,
    "accounting": 3,
    "readers": 4,
    "fleet": 4,
    "simulation": 5,
    "advice": 5,
    "experiment": 6,
    "calibration": 6,
    "report": 7,
    "distributed": 7,  # runs experiment's tasks on Dask; only the CLI calls it
    "cli": 8,
}
# The core never prints nor draws: these belong to report and cli.
PRESENTATION = {"typer", "rich", "matplotlib"}
PRESENTATION_ALLOWED = {"report", "cli"}

MAX_ROOT_MODULES = 6
MIN_SUBPACKAGES = 5
MAX_FUNCTION_LINES = 120
MAX_CLASS_LINES = 300


def _modules() -> list[Path]:
    return sorted(PACKAGE.rglob("*.py"))


def _part(path: Path) -> str:
    """The top-level part of the package a source file belongs to: a subpackage or a root module."""
    rel = path.relative_to(PACKAGE)
    return rel.parts[0] if len(rel.parts) > 1 else rel.stem


def _imports(path: Path) -> list[tuple[int, str]]:
    """(line, module) for every import in a file, relative imports resolved to `layersim.`."""
    tree = ast.parse(path.read_text(), filename=str(path))
    found: list[tuple[int, str]] = []
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.extend((node.lineno, alias.name) for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                pytest.fail(
                    f"{path}:{node.lineno}: relative import; the package uses absolute ones"
                )
            module = node.module or ""
            if module == "layersim":
                # `from layersim import x` names a part of the package
                found.extend((node.lineno, f"layersim.{alias.name}") for alias in node.names)
            else:
                found.append((node.lineno, module))
    return found


def test_every_part_has_a_rank() -> None:
    """Every subpackage and root module is placed in the layer order (a new one must be, too)."""
    parts = {_part(p) for p in _modules()} - {"__init__"}
    assert parts <= set(RANKS), f"unranked: {sorted(parts - set(RANKS))}"


def test_imports_run_one_way() -> None:
    """No module imports a part of the package at its own rank (other than itself) or above."""
    upward: list[str] = []
    for path in _modules():
        part = _part(path)
        if part == "__init__":
            continue
        for line, module in _imports(path):
            names = module.split(".")
            if names[0] != "layersim" or len(names) < 2 or names[1] == "__version__":
                continue
            target = names[1]
            if target != part and RANKS[target] >= RANKS[part]:
                upward.append(f"{path.relative_to(ROOT)}:{line} ({part}) imports {module}")
    assert upward == []


def test_core_never_imports_presentation_libraries() -> None:
    """Only `report` and `cli` import typer, rich or matplotlib: the core never prints or plots."""
    found = [
        f"{path.relative_to(ROOT)}:{line} imports {module}"
        for path in _modules()
        if _part(path) not in PRESENTATION_ALLOWED
        for line, module in _imports(path)
        if module.split(".")[0] in PRESENTATION
    ]
    assert found == []


def test_package_root_is_small_and_split_in_subpackages() -> None:
    """At most six modules sit at the package root beside `__init__`; at least five subpackages."""
    root_modules = [p.stem for p in PACKAGE.glob("*.py") if p.stem != "__init__"]
    subpackages = [p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file()]
    assert len(root_modules) <= MAX_ROOT_MODULES, sorted(root_modules)
    assert len(subpackages) >= MIN_SUBPACKAGES, sorted(subpackages)


def _is_compiled_kernel(node: ast.FunctionDef) -> bool:
    """A numba kernel (`@njit`, `@numba.njit(...)`, `@jit`): a compiled loop, exempt from the
    length rule because per-call overhead forbids splitting its hot path into helpers."""
    for decorator in node.decorator_list:
        target = decorator.func if isinstance(decorator, ast.Call) else decorator
        name = target.attr if isinstance(target, ast.Attribute) else getattr(target, "id", "")
        if name in {"njit", "jit"}:
            return True
    return False


@pytest.mark.parametrize("where", ["simsrc", "bench"])
def test_functions_and_classes_stay_readable(where: str) -> None:
    """No function over 120 lines (numba kernels aside) and no class over 300 lines."""
    long: list[str] = []
    for path in sorted((ROOT / where).rglob("*.py")):
        for node in ast.walk(ast.parse(path.read_text())):
            lines = getattr(node, "end_lineno", 0) - getattr(node, "lineno", 0) + 1
            if isinstance(node, ast.FunctionDef | ast.AsyncFunctionDef):
                if lines > MAX_FUNCTION_LINES and not _is_compiled_kernel(node):
                    long.append(f"{path.relative_to(ROOT)}:{node.lineno} {node.name} {lines}")
            elif isinstance(node, ast.ClassDef) and lines > MAX_CLASS_LINES:
                long.append(f"{path.relative_to(ROOT)}:{node.lineno} class {node.name} {lines}")
    assert long == []


def test_tests_mirror_the_subpackages() -> None:
    """Every subpackage has a test folder of the same name, and every test module in it names a
    module of that subpackage (`test_<module>.py`, or `test_<module>_<aspect>.py`)."""
    subpackages = sorted(p.name for p in PACKAGE.iterdir() if (p / "__init__.py").is_file())
    missing = [name for name in subpackages if not (TESTS / name).is_dir()]
    assert missing == []
    strays: list[str] = []
    for name in subpackages:
        modules = {p.stem for p in (PACKAGE / name).glob("*.py")} | {"package", "init"}
        for test in (TESTS / name).glob("test_*.py"):
            stem = test.stem.removeprefix("test_")
            if not any(stem == m or stem.startswith(m + "_") for m in modules):
                strays.append(str(test.relative_to(ROOT)))
    assert strays == []
