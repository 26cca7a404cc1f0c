"""Tests of `accounting.registry_ops`: the registry operator's what-ifs, worked exactly and as
properties over generated populations."""

from __future__ import annotations

import tomllib
from datetime import UTC, datetime, timedelta

from hypothesis import given
from hypothesis import strategies as st

from layersim.accounting.assemble import evaluate
from layersim.accounting.registry_ops import (
    StoredRegistry,
    StoredRepository,
    deletion_frees_bytes,
    garbage_collect,
    gc_marked,
    images_older_than,
    mount_saved_bytes,
    older_than,
    registry_what_ifs,
    storage_what_ifs,
    tag_deletion_frees_bytes,
    untagged_pinned,
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


# ------------------------------------------------------------------------------- storage


def _d(name: str) -> str:
    """A readable stand-in digest."""
    return "sha256:" + name


def _store() -> StoredRegistry:
    """`app`: 1 -> M1 (created 2020), 2 -> M2 (2026), M3 untagged; the manifest MG deleted
    (its blobs still stored); an orphan blob X; `multi`: 1 -> index I over the untagged
    child A. Bytes chosen so that every sum is distinct."""
    sizes = {
        "M1": 10, "C1": 1, "L0": 100, "L1": 20, "M2": 11, "C2": 2, "L2": 30, "M3": 12, "C3": 3,
        "L3": 40, "MG": 13, "CG": 4, "LG": 50, "X": 5, "I": 6, "A": 7, "CA": 8, "LA": 60,
    }  # fmt: skip
    refs = {
        "M1": ("C1", "L0", "L1"),
        "M2": ("C2", "L0", "L2"),
        "M3": ("C3", "L0", "L3"),
        "I": ("A",),
        "A": ("CA", "LA"),
    }
    return StoredRegistry(
        blob_bytes={_d(k): v for k, v in sizes.items()},
        repositories=(
            StoredRepository(
                "app", (_d("M1"), _d("M2"), _d("M3")), (("1", _d("M1")), ("2", _d("M2")))
            ),
            StoredRepository("multi", (_d("A"), _d("I")), (("1", _d("I")),)),
        ),
        references={_d(k): tuple(_d(r) for r in v) for k, v in refs.items()},
        created={
            _d("M1"): datetime(2020, 1, 1, tzinfo=UTC),
            _d("M2"): datetime(2026, 1, 1, tzinfo=UTC),
            _d("I"): None,
        },
    )


def test_garbage_collection_worked_example() -> None:
    """A plain collection frees the deleted manifest's blobs and the orphan (MG, CG, LG, X:
    72 B); `--delete-untagged` also frees the untagged M3 with its own config and layer (55 B)
    and, as distribution 2.8 marks an index one level deep, the config and layer of the index's
    untagged child (CA, LA: 68 B), the child manifest itself staying marked by the index;
    deleting the 2020 tag frees M1, C1, L1 on top (31 B), L0 staying with M2; multi:1 has no
    creation time and is kept."""
    store = _store()
    plain = garbage_collect(store)
    assert plain.blobs == tuple(sorted(_d(k) for k in ("MG", "CG", "LG", "X")))
    assert plain.frees_bytes == 72 and plain.manifests == ()
    pinned = untagged_pinned(store)
    assert set(pinned.blobs) == {_d(k) for k in ("M3", "C3", "L3", "CA", "LA")}
    assert pinned.frees_bytes == 55 + 68
    assert pinned.manifests == (("app", _d("M3")), ("multi", _d("A")))
    older = older_than(store, datetime(2025, 1, 1, tzinfo=UTC))
    assert older.deleted_tags == (("app", "1"),)
    assert older.tags_without_created == (("multi", "1"),)
    assert set(older.frees.blobs) == {_d("M1"), _d("C1"), _d("L1")}
    assert older.frees.frees_bytes == 31 and older.frees.manifests == (("app", _d("M1")),)
    what_ifs = storage_what_ifs(store, datetime(2025, 1, 1, tzinfo=UTC))
    assert (what_ifs.collection, what_ifs.untagged_pinned, what_ifs.older_than) == (
        plain,
        pinned,
        older,
    )
    assert storage_what_ifs(store).older_than is None


@st.composite
def stored_registries(draw: st.DrawFn) -> StoredRegistry:
    """Random storages: blobs, some of them manifests referencing others, repositories
    linking some manifests as revisions and tagging some (revisions or not)."""
    n = draw(st.integers(1, 12))
    digests = [_d(f"b{i}") for i in range(n)]
    sizes = {d: draw(st.integers(0, 1000)) for d in digests}
    manifests = draw(st.lists(st.sampled_from(digests), unique=True, max_size=n))
    references = {
        m: tuple(draw(st.lists(st.sampled_from(digests), unique=True, max_size=4)))
        for m in manifests
    }
    repositories = []
    for r in range(draw(st.integers(0, 3))):
        revisions = draw(st.lists(st.sampled_from(manifests), unique=True)) if manifests else []
        tags = (
            draw(st.dictionaries(st.sampled_from("abcd"), st.sampled_from(manifests)))
            if manifests
            else {}
        )
        repositories.append(
            StoredRepository(f"r{r}", tuple(sorted(revisions)), tuple(sorted(tags.items())))
        )
    times = st.none() | st.datetimes(timezones=st.just(UTC))
    created = {d: draw(times) for repo in repositories for _, d in repo.tags}
    return StoredRegistry(sizes, tuple(repositories), references, created)


@given(stored_registries(), st.datetimes(timezones=st.just(UTC)))
def test_collections_nest_and_add_up(store: StoredRegistry, cutoff: datetime) -> None:
    """What a plain collection frees, `--delete-untagged` frees too; deleting old tags frees
    more again; each figure is the bytes of its blobs; the three add up to collecting with
    `--delete-untagged` once the old tags are gone; a cutoff before every image deletes no
    tag and frees nothing; the blobs marked and the blobs freed partition the store."""
    plain = garbage_collect(store)
    untagged = garbage_collect(store, True)
    assert set(plain.blobs) <= set(untagged.blobs)
    older = older_than(store, cutoff)
    for collection in (plain, untagged, older.frees):
        assert collection.frees_bytes == sum(store.blob_bytes[d] for d in collection.blobs)
    total = plain.frees_bytes + untagged_pinned(store).frees_bytes + older.frees.frees_bytes
    gone = set(older.deleted_tags)
    after = StoredRegistry(
        store.blob_bytes,
        tuple(
            StoredRepository(
                r.name, r.revisions, tuple(t for t in r.tags if (r.name, t[0]) not in gone)
            )
            for r in store.repositories
        ),
        store.references,
        store.created,
    )
    assert total == garbage_collect(after, True).frees_bytes
    assert set(gc_marked(store, False)) & set(store.blob_bytes) == set(store.blob_bytes) - set(
        plain.blobs
    )
    assert older_than(store, datetime.min.replace(tzinfo=UTC)).frees.blobs == ()


@given(populations())
def test_deleting_images_reuses_the_tag_deletion(population: Population) -> None:
    """Deleting one image's tag is `deletion_frees_bytes` of that image alone; deleting
    every tag frees every distinct layer blob; deleting more never frees less."""
    names = [image.name for image in population.images]
    assert tag_deletion_frees_bytes(population) == [
        deletion_frees_bytes(population, {name}) for name in names
    ]
    distinct = {
        layer.blob_digest: layer.compressed_bytes
        for image in population.images
        for layer in image.layers
    }
    assert deletion_frees_bytes(population, set(names)) == sum(distinct.values())
    half = set(names[: len(names) // 2])
    assert deletion_frees_bytes(population, half) <= deletion_frees_bytes(population, set(names))


def test_images_older_than_worked_example() -> None:
    """With app:1 and tool:1 created before the cutoff, app:2 after and base:1 unknown, their
    deletion frees `app` and `tool` (lib stays with app:2, base with base:1 and app:2); base:1
    is counted as without a creation time and kept."""
    population = _population()
    layers = {layer.name: layer for image in population.images for layer in image.layers}
    cutoff = datetime(2025, 1, 1, tzinfo=UTC)
    created = {
        "base:1": None,
        "app:1": cutoff - timedelta(days=1),
        "app:2": cutoff,
        "tool:1": datetime(2000, 1, 1, tzinfo=UTC),
    }
    older = images_older_than(population, created, cutoff)
    assert older.deleted == ("app:1", "tool:1")
    assert older.without_created == ("base:1",)
    assert older.frees_bytes == layers["app"].compressed_bytes + layers["tool"].compressed_bytes
