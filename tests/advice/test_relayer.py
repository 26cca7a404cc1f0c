"""Tests of `layersim.advice.relayer`: its one-pass view is the overlay's, no image breaks (every image's merged view is the same
before and after, random populations and random bounds), no image exceeds the bound, and
exact examples: files shared by the same images land in one layer; over the bound, the pair
of groups that stores the fewest extra bytes is merged."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from layersim.advice.relayer import (
    LAYER_BOUND,
    entry_identity,
    layer_counts,
    relayered,
    shown_entries,
    visible_identities,
)
from layersim.errors import ModelError
from layersim.model import EntryKind, Image, Population, make_entry, make_layer
from layersim.model.digest import synthetic_digest
from layersim.model.overlay import merged_view
from tests.strategies import images, populations


def file(path: str, n_bytes: int):
    return make_entry(path, EntryKind.FILE, n_bytes, content=synthetic_digest(path, n_bytes))


@settings(max_examples=60, deadline=None)
@given(populations(max_images=5, max_nodes=0), st.integers(1, 4))
def test_relayer_never_breaks_an_image(population: Population, bound: int) -> None:
    """Every image shows the same entries (by identity) after re-layering, has at most
    `bound` layers, and keeps its name; files held by the same images share one layer."""
    try:
        after = relayered(population.images, bound, population.compression)
    except ModelError as exc:
        # the model stacks a file `a` and a later `a/b` (no real tar does): no layer holds both
        assert "lies below" in str(exc)
        assume(False)
    assert [i.name for i in after] == [i.name for i in population.images]
    for old, new in zip(population.images, after, strict=True):
        assert visible_identities(new) == visible_identities(old)
        assert len(new.layers) <= bound
        assert all(not e.is_whiteout for layer in new.layers for e in layer.entries)


@settings(max_examples=200, deadline=None)
@given(images())
def test_shown_entries_are_the_merged_view(image: Image) -> None:
    """The one-pass top-down view is `overlay.merged_view`'s, path for path and entry for
    entry, on random stacks."""
    expected = {path: entry for path, (_, entry) in merged_view(image.layers).items()}
    assert shown_entries(image.layers) == expected


def test_files_shared_by_the_same_images_share_a_layer() -> None:
    """x:1 and y:1 hold the same two files in layers built apart (two DiffIDs): re-layered,
    they share one layer of both files and keep one layer each of their own file."""
    a, b = file("lib/a", 40_000), file("lib/b", 20_000)
    x = Image("x:1", (make_layer([a, b], mtime=1), make_layer([file("x", 5_000)])))
    y = Image("y:1", (make_layer([a, b], mtime=2), make_layer([file("y", 7_000)])))
    new_x, new_y = relayered((x, y))
    assert new_x.layers[0] == new_y.layers[0]
    assert [e.path for e in new_x.layers[0].entries] == ["lib/a", "lib/b"]
    assert new_x.layers[0].tar_bytes == x.layers[0].tar_bytes
    assert [e.path for e in new_x.layers[1].entries] == ["x"]
    assert [e.path for e in new_y.layers[1].entries] == ["y"]
    assert layer_counts((new_x, new_y)) == [2, 2]


def test_over_the_bound_the_cheapest_pair_merges() -> None:
    """a shows p (shared with b), q (shared with c) and r (its own): three groups, bound 2.
    Merging p's group with r's stores p again (b still holds p alone): 1,536 tar bytes extra,
    less than q's 5,632 (any pair with q): a gets q's layer (more bytes: first), then one of p
    and r; b and c keep their groups as they were."""
    p, q, r = file("p", 1_000), file("q", 5_000), file("r", 9_000)
    s, t = file("s", 100), file("t", 100)
    images = (
        Image("a:1", (make_layer([p, q, r]),)),
        Image("b:1", (make_layer([p, s]),)),
        Image("c:1", (make_layer([q, t]),)),
    )
    new_a, new_b, new_c = relayered(images, bound=2)
    paths = [[[e.path for e in la.entries] for la in i.layers] for i in (new_a, new_b, new_c)]
    assert paths == [[["q"], ["p", "r"]], [["p"], ["s"]], [["q"], ["t"]]]
    assert p.tar_bytes == 1_536 and q.tar_bytes == 5_632
    assert entry_identity(new_a.layers[1].entries[0]) == entry_identity(p)
    assert LAYER_BOUND == 125
