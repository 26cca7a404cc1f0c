"""Tests of `layersim.advice.bases`: which image is built on which, the natural order of
versions, the closest base by shared file bytes, and rebasing and consolidating on a
hand-built set (exact stacks)."""

from __future__ import annotations

from layersim.advice.bases import (
    base_families,
    bases_of,
    closest_base,
    consolidated,
    newest,
    rebased,
    retires_base,
    shared_file_bytes,
    version_key,
)
from layersim.model import EntryKind, Image, Population, make_entry, make_layer
from layersim.model.digest import synthetic_digest


def file(path: str, n_bytes: int, version: str = ""):
    return make_entry(
        path, EntryKind.FILE, n_bytes, content=synthetic_digest(path, n_bytes, version)
    )


# three versions of a base: v2 keeps v1's `bin/sh`, v3 shares nothing with v1
V1 = make_layer([file("bin/sh", 100_000), file("lib/c", 50_000)], name="v1")
V2 = make_layer([file("bin/sh", 100_000), file("lib/c", 50_000, "2")], name="v2")
V3 = make_layer([file("bin/sh", 100_000, "3"), file("lib/c", 50_000, "3")], name="v3")
RT = make_layer([file("usr/py", 30_000)], name="rt")
APP = make_layer([file("app/main", 10_000)], name="app")


def sample() -> Population:
    return Population(
        images=(
            Image("base:v1", (V1,)),
            Image("base:v2", (V2,)),
            Image("base:v10", (V3,)),
            Image("py:1", (V1, RT)),
            Image("svc:1", (V1, RT, APP)),
        )
    )


def test_versions_sort_naturally() -> None:
    """`v10` is newer than `v9` and `v2`; `12.10` newer than `12.9`."""
    assert version_key("base:v2") < version_key("base:v9") < version_key("base:v10")
    assert version_key("reg:5000/x:12.9") < version_key("reg:5000/x:12.10")
    assert newest(sample(), "base") == "base:v10"


def test_bases_are_the_longest_prefix_images() -> None:
    """svc:1's base is py:1 (the longest prefix), py:1's is base:v1; `base` is the only
    family with versions to move between (py has one)."""
    population = sample()
    assert bases_of(population) == {"py:1": "base:v1", "svc:1": "py:1"}
    assert base_families(population) == ["base"]


def test_closest_base_shares_the_most_file_bytes() -> None:
    """py:1 is on base:v1, which shares bin/sh (100,000 bytes) with base:v2 and nothing with
    base:v10: base:v2 is the closest, however new base:v10 is."""
    population = sample()
    by_name = population.image_by_name
    assert shared_file_bytes(by_name["base:v1"], by_name["base:v2"]) == 100_000
    assert shared_file_bytes(by_name["base:v1"], by_name["base:v10"]) == 0
    assert closest_base(population, "py:1", bases_of(population)) == "base:v2"


def test_rebase_moves_one_image() -> None:
    """Rebasing py:1 onto base:v2 replaces its base layer and keeps its own; svc:1, built on
    py:1, keeps its stack; base:v1, on which nothing else is built, is retired (it becomes
    base:v2)."""
    population = sample()
    assert retires_base(population, "py:1")
    changed = rebased(population, "py:1", "base:v2").image_by_name
    assert changed["py:1"].layers == (V2, RT)
    assert changed["svc:1"].layers == (V1, RT, APP)
    assert changed["base:v1"].layers == (V2,)


def test_rebase_keeps_a_base_others_use() -> None:
    """With another image on base:v1, rebasing py:1 leaves base:v1 as it is."""
    population = Population(images=(*sample().images, Image("tool:1", (V1, APP))))
    assert not retires_base(population, "py:1")
    changed = rebased(population, "py:1", "base:v2").image_by_name
    assert changed["base:v1"].layers == (V1,) and changed["tool:1"].layers == (V1, APP)


def test_consolidate_moves_everything_onto_the_newest() -> None:
    """Consolidating `base` retires v1 and v2 (they become v10) and rebuilds py:1 and svc:1
    (through py:1) on v10, their own layers kept."""
    changed = consolidated(sample(), "base").image_by_name
    assert [changed[n].layers for n in ("base:v1", "base:v2", "base:v10")] == [(V3,)] * 3
    assert changed["py:1"].layers == (V3, RT)
    assert changed["svc:1"].layers == (V3, RT, APP)
