"""Tests of `layersim.model.overlay`: the merged-view rules one by one, then against an independent
top-down statement of the same rules on generated images; dive's leaves; subtree sizes."""

from __future__ import annotations

from hypothesis import given

from layersim.model import Entry, EntryKind, Image, Layer, make_entry, make_layer
from layersim.model.digest import content_digest
from layersim.model.overlay import (
    dive_leaves,
    hidden_entries,
    is_below,
    merged_entries,
    merged_files,
    merged_view,
    subtree_file_bytes,
)
from tests.strategies import images

F, D, S, H, W, OP = (
    EntryKind.FILE,
    EntryKind.DIR,
    EntryKind.SYMLINK,
    EntryKind.HARDLINK,
    EntryKind.WHITEOUT,
    EntryKind.OPAQUE,
)


def f(path: str, file_bytes: int = 1, name: str | None = None) -> Entry:
    return make_entry(path, F, file_bytes, content=content_digest(name or path, file_bytes))


def e(path: str, kind: EntryKind) -> Entry:
    return make_entry(path, kind, link_target="t" if kind in (S, H) else "")


def L(*entries: Entry) -> Layer:
    return make_layer(entries)


def shown(*layers: Layer) -> dict[str, tuple[int, EntryKind, int]]:
    """The merged view as path -> (providing layer index, kind, file bytes)."""
    return {p: (i, x.kind, x.file_bytes) for p, (i, x) in merged_view(layers).items()}


# --- the rules one by one -------------------------------------------------------------------


def test_topmost_entry_wins() -> None:
    """A file in a higher layer replaces the same path below; other paths stay."""
    assert shown(L(f("a", 10), f("b", 20)), L(f("a", 30))) == {
        "a": (1, F, 30),
        "b": (0, F, 20),
    }


def test_whiteout_of_a_file_deletes_it_and_is_not_shown() -> None:
    """`.wh.a` deletes a lower `a`; the whiteout itself is never visible."""
    assert shown(L(f("a"), f("b")), L(e("a", W))) == {"b": (0, F, 1)}


def test_whiteout_of_a_directory_deletes_the_subtree() -> None:
    """`.wh.d` deletes `d` and everything below it, not its siblings (`dx` is not below `d`)."""
    lower = L(e("d", D), f("d/x"), f("d/e/y"), f("dx"))
    assert shown(lower, L(e("d", W))) == {"dx": (0, F, 1)}


def test_whiteout_of_a_missing_path_does_nothing() -> None:
    """A whiteout of a path the lower view does not have changes nothing."""
    assert shown(L(f("a")), L(e("zz", W))) == {"a": (0, F, 1)}


def test_whiteout_in_the_base_layer_does_nothing() -> None:
    """A whiteout with nothing below is simply not shown."""
    assert shown(L(e("a", W), f("b"))) == {"b": (0, F, 1)}


def test_opaque_directory_hides_lower_children_keeps_its_own() -> None:
    """`d/.wh..wh..opq` hides what lower layers have below `d`, while the children the same
    layer adds stay; the lower `d` entry itself stays unless the layer replaces it."""
    lower = L(e("d", D), f("d/old"), f("d/sub/deep"), f("other"))
    assert shown(lower, L(e("d", D), e("d", OP), f("d/new"))) == {
        "d": (1, D, 0),
        "d/new": (1, F, 1),
        "other": (0, F, 1),
    }
    # without the directory entry beside it: the lower `d` entry remains visible
    assert shown(lower, L(e("d", OP), f("d/new"))) == {
        "d": (0, D, 0),
        "d/new": (1, F, 1),
        "other": (0, F, 1),
    }


def test_opaque_hides_only_lower_layers() -> None:
    """An opaque marker does not hide what higher layers add below the directory."""
    assert shown(L(f("d/a")), L(e("d", OP)), L(f("d/b"))) == {"d/b": (2, F, 1)}


def test_file_replacing_a_directory_hides_the_subtree() -> None:
    """A non-directory at `d` over a directory `d` hides everything below `d` — for a file,
    a symlink and a hard link alike."""
    lower = L(e("d", D), f("d/x"), f("d/e/y"))
    for kind in (F, S, H):
        top = f("d", 7) if kind is F else e("d", kind)
        assert shown(lower, L(top)) == {"d": (1, kind, 7 if kind is F else 0)}


def test_directory_replacing_a_file() -> None:
    """A directory at `a` over a file `a` replaces it; its new children are shown."""
    assert shown(L(f("a", 5)), L(e("a", D), f("a/x"))) == {"a": (1, D, 0), "a/x": (1, F, 1)}


def test_directory_over_directory_merges() -> None:
    """A directory over a directory merges: the lower children stay visible."""
    assert shown(L(e("d", D), f("d/x")), L(e("d", D), f("d/y"))) == {
        "d": (1, D, 0),
        "d/x": (0, F, 1),
        "d/y": (1, F, 1),
    }


def test_recreated_after_whiteout() -> None:
    """Deleted in one layer, created again in a later one: the new entry is shown."""
    assert shown(L(f("a", 1)), L(e("a", W)), L(f("a", 2))) == {"a": (2, F, 2)}


def test_hidden_and_merged_entries() -> None:
    """hidden_entries lists the non-whiteout entries the view does not show, with their layer;
    merged_entries the ones it shows."""
    a0, b0, a1 = f("a", 10), f("b", 20), f("a", 30)
    layers = [L(a0, b0), L(a1, e("b", W))]
    assert sorted(hidden_entries(layers), key=lambda t: t[1].path) == [(0, a0), (0, b0)]
    assert merged_entries(layers) == [a1]


def test_is_below() -> None:
    """Strictly below: `a/b` is below `a`; `a` is not below itself; `ab` is not below `a`."""
    assert is_below("a/b", "a")
    assert is_below("a/b/c", "a")
    assert not is_below("a", "a")
    assert not is_below("ab", "a")


# --- dive's leaves and subtree sizes ---------------------------------------------------------


def test_dive_leaves() -> None:
    """Leaves are entries with nothing of the same layer below them: `a/b` (not `a`), the
    opaque `c` (no directory entry: the marker stands for its directory node), `d` (a directory
    beside its marker: the directory entry is the leaf), the whiteout `e/f` (not `e`, which is
    implicit), the empty directory `g`; `h` is not a leaf as it has a child whiteout."""
    layer = L(
        e("a", D),
        f("a/b"),
        e("c", OP),
        e("d", D),
        e("d", OP),
        e("e/f", W),
        e("g", D),
        e("h", D),
        e("h/i", W),
    )
    leaves = {x.path: x.kind for x in dive_leaves(layer)}
    assert leaves == {"a/b": F, "c": OP, "d": D, "e/f": W, "g": D, "h/i": W}


def test_dive_leaves_opaque_with_children_is_not_a_leaf() -> None:
    """An opaque directory with new children is an inner node: only the children are leaves."""
    leaves = {x.path for x in dive_leaves(L(e("d", D), e("d", OP), f("d/x")))}
    assert leaves == {"d/x"}


def test_subtree_file_bytes() -> None:
    """What a whiteout of `path` removes, as dive counts it: 0 for a non-directory; the file
    bytes below a directory (10 + 20 = 30, not `dx`); below an implicit directory too; 0 for
    nothing."""
    view = merged_view([L(e("d", D), f("d/x", 10), f("d/e/y", 20), f("dx", 5), f("i/j", 7))])
    assert subtree_file_bytes(view, "dx") == 0
    assert subtree_file_bytes(view, "d/x") == 0
    assert subtree_file_bytes(view, "d") == 30
    assert subtree_file_bytes(view, "d/e") == 20
    assert subtree_file_bytes(view, "i") == 7  # `i` is implicit: no entry, still a directory
    assert subtree_file_bytes(view, "nothing") == 0


# --- the rules stated top-down, against the bottom-up implementation -----------------------


def _top_down(layers: tuple[Layer, ...], path: str) -> int | None:
    """The index of the layer whose entry for `path` a container sees, found top-down.

    Walking down from the top layer: a layer with a non-whiteout entry at `path` provides it
    (its own entry wins over its own markers); otherwise a whiteout at `path` or above it, an
    opaque marker strictly above it, or a non-directory strictly above it hides everything
    lower, and the path is not shown; otherwise look one layer lower."""
    for index in range(len(layers) - 1, -1, -1):
        here = layers[index].entries
        if any(x.path == path and not x.is_whiteout for x in here):
            return index
        for x in here:
            above = path.startswith(x.path + "/")
            if x.kind is EntryKind.WHITEOUT and (x.path == path or above):
                return None
            if above and (x.kind is EntryKind.OPAQUE or x.kind not in (D, W, OP)):
                return None
    return None


@given(images())
def test_merged_view_matches_top_down_rules(image: Image) -> None:
    """For every path any layer names, merged_view shows it from exactly the layer the
    top-down statement of the overlay rules picks, and shows nothing else."""
    view = merged_view(image.layers)
    named = {x.path for layer in image.layers for x in layer.entries}
    for path in named:
        expected = _top_down(image.layers, path)
        got = view.get(path)
        assert (got[0] if got else None) == expected, path
    assert set(view) <= named
    assert not any(x.is_whiteout for _, x in view.values())


@given(images())
def test_hidden_and_visible_partition_the_entries(image: Image) -> None:
    """Every non-whiteout entry of the stack is either shown or hidden, never both."""
    everything = sorted(
        (i, x.path, int(x.kind))
        for i, layer in enumerate(image.layers)
        for x in layer.entries
        if not x.is_whiteout
    )
    view = merged_view(image.layers)
    split = sorted([(i, x.path, int(x.kind)) for i, x in view.values()]) + sorted(
        (i, x.path, int(x.kind)) for i, x in hidden_entries(image.layers)
    )
    assert sorted(split) == everything


@given(images())
def test_merged_files_agree_with_merged_view(image: Image) -> None:
    """The one-pass `merged_files` shows the regular files `merged_view` shows, and each
    layer's hidden file bytes are those of its files `hidden_entries` lists."""
    files, hidden = merged_files(image.layers)
    view = merged_view(image.layers)
    assert files == {p: x for p, (_, x) in view.items() if x.kind is F}
    expected = [0] * len(image.layers)
    for i, x in hidden_entries(image.layers):
        if x.kind is F:
            expected[i] += x.file_bytes
    assert hidden == expected


def test_merged_files_worked_example() -> None:
    """A whiteout, an opaque directory and a file replaced by a directory each hide a lower
    file; the hidden bytes go to the layer that held the file."""
    lower = L(f("a/x", 10), f("b/y", 20), f("c", 30), f("keep", 1))
    upper = L(e("a/x", W), e("b", OP), e("c", D), f("b/z", 5))
    files, hidden = merged_files([lower, upper])
    assert set(files) == {"keep", "b/z"}
    assert hidden == [60, 0]
