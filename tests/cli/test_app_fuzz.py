"""Fuzz tests of the CLI (issue 17): random configs through `run --set` and random specs
through `evaluate`. Whatever the input, the command exits 0 or 2 (one `error:` line), never
with a traceback, and no byte count or count it reports is negative."""

from __future__ import annotations

import json
import math
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from typer.testing import CliRunner

import layersim.cli.app as cli_app
from layersim.cli.app import app
from layersim.config import config_schema
from tests.cli.test_app_run import SETS

runner = CliRunner()
KEYS = [(row[0], row[1]) for row in config_schema()]
# the fuzzed runs are on a machine made small, so that a config the fuzz makes large is
# refused by the memory estimate instead of running for minutes
SMALL_MACHINE_BYTES = 400 * 2**20


def _counted(key: str) -> bool:
    """A key whose value is a byte count or a count: never negative."""
    return key.endswith("bytes") or key in {"images", "layers", "entries", "pulls", "count"}


def negative_figures(value: Any, key: str = "", where: str = "") -> list[str]:
    """The places in a JSON document where a byte count or a count is negative (or not a
    finite number)."""
    if isinstance(value, dict):
        return [n for k, v in value.items() for n in negative_figures(v, k, f"{where}.{k}")]
    if isinstance(value, list):
        return [n for i, v in enumerate(value) for n in negative_figures(v, key, f"{where}[{i}]")]
    number = isinstance(value, int | float) and not isinstance(value, bool)
    if number and _counted(key) and (value < 0 or not math.isfinite(value)):
        return [f"{where} = {value}"]
    return []


def check_outcome(result) -> None:
    """Exit 0, or exit 2 with one `error:` line; no exception escaped, no traceback printed."""
    output = result.stdout + result.stderr
    assert "Traceback" not in output, output
    assert result.exit_code in (0, 2), (result.exit_code, output, result.exception)
    if result.exit_code == 2:
        lines = result.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: "), result.stderr


# --------------------------------------------------------------------------- configs

_INT_TEXT = st.one_of(
    st.integers(-3, 40).map(str),
    st.sampled_from(["0", "1000000", "1000000000000", str(2**63), "1" + "0" * 30, "1e3"]),
)
_FLOAT_TEXT = st.one_of(
    st.floats(-1.0, 40.0, allow_nan=False).map(repr),
    st.sampled_from(["1e9", "1e300", "nan", "inf", "-inf", "0.0", "true", '"x"']),
)
_OTHER_TEXT = st.sampled_from(['"spread"', '"pack"', "x", '["alpine"]', "[]", "true", "1", '""'])


@st.composite
def overrides(draw) -> list[str]:
    """One to three `--set KEY=VALUE` of random keys, values of the key's type or not."""
    args: list[str] = []
    for _ in range(draw(st.integers(1, 3))):
        key, kind = draw(st.sampled_from(KEYS))
        text = {"int": _INT_TEXT, "float": _FLOAT_TEXT}.get(kind, _OTHER_TEXT)
        args += ["--set", f"{key}={draw(text)}"]
    return args


@settings(max_examples=20, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(extra=overrides())
def test_random_configs(tmp_path_factory, monkeypatch_session, extra: list[str]) -> None:
    """`run small` on the tiny config with random overrides: exit 0 or 2, never a traceback;
    when it runs, summary.json has no negative byte count or count."""
    out = tmp_path_factory.mktemp("fuzz") / "run"
    result = runner.invoke(app, ["run", "small", *SETS, *extra, "--out", str(out), "-q"])
    check_outcome(result)
    if result.exit_code == 0:
        summary = json.loads((out / "summary.json").read_text())
        assert negative_figures(summary) == []
    else:
        assert not out.exists()


# --------------------------------------------------------------------------- specs

_SIZES = st.one_of(
    st.integers(0, 10**6),
    st.sampled_from([2**31, 2**53, 4 * 10**18, 2**63 - 1, 2**63, 2**64, -1]),
)
_NAMES = st.sampled_from(["a", "b", "bin", "usr", ".wh.x", "..", ".", "é", "a b", ""])


@st.composite
def paths(draw) -> str:
    depth = draw(st.one_of(st.integers(1, 4), st.sampled_from([1100, 2100])))
    if depth > 4:
        return "/".join(["d"] * depth) + "/f"
    return "/".join(draw(_NAMES) for _ in range(depth))


@st.composite
def specs(draw) -> dict[str, Any]:
    """A spec document, often invalid: random layers of random files (paths, sizes, shared
    contents, deletes), images of them, and maybe a node pulling some with a container."""
    layers: dict[str, Any] = {}
    for index in range(draw(st.integers(1, 3))):
        files = [
            {"path": draw(paths()), "size": draw(_SIZES)}
            | ({"content": draw(st.sampled_from(["c1", "c2"]))} if draw(st.booleans()) else {})
            for _ in range(draw(st.integers(0, 4)))
        ]
        layer: dict[str, Any] = {"files": files}
        if draw(st.booleans()):
            layer["deletes"] = [draw(paths())]
        layers[f"l{index}"] = layer
    names = list(layers)
    images = {
        f"i:{k}": draw(st.lists(st.sampled_from([*names, "nope"]), min_size=0, max_size=3))
        for k in range(draw(st.integers(1, 3)))
    }
    document: dict[str, Any] = {"layers": layers, "images": images}
    if draw(st.booleans()):
        pulled = draw(st.lists(st.sampled_from(list(images)), max_size=3, unique=True))
        node: dict[str, Any] = {"images": pulled}
        if pulled and draw(st.booleans()):
            node["containers"] = [
                {"image": pulled[0], "writes": [{"path": draw(paths()), "size": draw(_SIZES)}]}
            ]
        document["nodes"] = {"n": node}
    return document


@settings(max_examples=150, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(document=specs())
def test_random_specs(tmp_path_factory, document: dict[str, Any]) -> None:
    """`evaluate --json` of a random spec (as JSON, which holds any integer): exit 0 or 2,
    never a traceback; when it evaluates, no negative byte count or count."""
    spec = tmp_path_factory.mktemp("fuzz") / "spec.json"
    spec.write_text(json.dumps(document))
    result = runner.invoke(app, ["evaluate", str(spec), "--json"])
    check_outcome(result)
    if result.exit_code == 0:
        assert negative_figures(json.loads(result.stdout)) == []


@pytest.fixture(scope="module")
def monkeypatch_session():
    """A monkeypatch for the whole module (hypothesis runs every example in one call)."""
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(cli_app, "machine_memory_bytes", lambda: SMALL_MACHINE_BYTES)
        yield patch
