"""Tests of `accounting.registry_ops`: the registry operator's what-ifs, worked exactly and as
properties over generated populations."""

from __future__ import annotations

import tomllib

from hypothesis import given

from layersim.accounting.assemble import evaluate
from layersim.accounting.registry_ops import (
    mount_saved_bytes,
    registry_what_ifs,
    tag_deletion_frees_bytes,
)
from layersim.model import Population
from layersim.readers.spec import parse_spec
from tests.strategies import populations

SPEC = """
[layers.base]
files = [{ path = "bin/sh", size = 100000 }]
[layers.lib]
files = [{ path = "lib/x.so", size = 50000 }]
[layers.app]
files = [{ path = "app/main.py", size = 5000, class = "text" }]
[layers.tool]
files = [{ path = "tool/t", size = 7000 }]
[images]
"base:1" = ["base"]
"app:1" = ["base", "lib", "app"]
"app:2" = ["base", "lib"]
"tool:1" = ["base", "tool"]
[nodes.node]
images = ["base:1", "app:1", "app:2", "tool:1"]
"""


def _population() -> Population:
    return parse_spec(tomllib.loads(SPEC))


def test_worked_example() -> None:
    """base:1 uploads the base; app:1 mounts it from base (saving its bytes); app:2 finds base
    and lib in its own repository (nothing mounted); tool:1 mounts the base again. Deleting
    app:1 frees only `app` (lib is app:2's too); tool:1 frees `tool`; base:1 and app:2 free
    nothing, every blob of theirs being another image's too."""
    population = _population()
    layers = {layer.name: layer for image in population.images for layer in image.layers}
    base = layers["base"].compressed_bytes
    metrics = evaluate(population)
    assert mount_saved_bytes(population, metrics.pushes) == [0, base, 0, base]
    assert tag_deletion_frees_bytes(population) == [
        0,
        layers["app"].compressed_bytes,
        0,
        layers["tool"].compressed_bytes,
    ]
    what_ifs = registry_what_ifs(population, metrics.pushes)
    assert what_ifs.total_mount_saved_bytes == 2 * base
    assert [name for name, _ in what_ifs.tag_deletion_frees_bytes] == [
        "base:1",
        "app:1",
        "app:2",
        "tool:1",
    ]


@given(populations())
def test_frees_and_savings_are_bounded(population: Population) -> None:
    """Deleting every tag one by one frees at most the registry's distinct blob bytes (each
    blob is freed by at most one single-tag deletion); a push's mount savings never exceed the
    compressed bytes of its image's distinct layers, and is zero for the first push."""
    distinct = {
        layer.blob_digest: layer.compressed_bytes
        for image in population.images
        for layer in image.layers
    }
    assert sum(tag_deletion_frees_bytes(population)) <= sum(distinct.values())
    metrics = evaluate(population)
    by_name = {image.name: image for image in population.images}
    for push, saved in zip(
        metrics.pushes, mount_saved_bytes(population, metrics.pushes), strict=True
    ):
        own = {layer.blob_digest: layer.compressed_bytes for layer in by_name[push.image].layers}
        assert 0 <= saved <= sum(own.values())
    if metrics.pushes:
        assert mount_saved_bytes(population, metrics.pushes[:1]) == [0]
