"""Tests of `layersim.advice.combine`: a run of layers combined into one leaves the image's
merged view unchanged (random stacks), and what one build step would write (exact examples):
what the run hides is gone, markers that hide nothing below the run are dropped."""

from __future__ import annotations

from hypothesis import assume, given, settings
from hypothesis import strategies as st

from layersim.advice.combine import combine_layers, combined_image_layers
from layersim.errors import ModelError
from layersim.model import EntryKind, Image, make_entry, make_layer
from layersim.model.digest import synthetic_digest
from layersim.model.overlay import merged_view
from layersim.model.sizes import TAR_END_BYTES
from tests.strategies import images


def view_of(layers) -> dict:
    return {
        path: (entry.kind, entry.content, entry.file_bytes, entry.link_target)
        for path, (_, entry) in merged_view(layers).items()
    }


def file(path: str, n_bytes: int):
    return make_entry(path, EntryKind.FILE, n_bytes, content=synthetic_digest(path, n_bytes))


@settings(max_examples=200, deadline=None)
@given(images(), st.data())
def test_combining_keeps_the_merged_view(image: Image, data: st.DataObject) -> None:
    """Any run [start, stop) of any stack: the merged view of the changed stack is the
    original's, path for path and entry for entry."""
    n_layers = len(image.layers)
    start = data.draw(st.integers(0, n_layers - 1))
    stop = data.draw(st.integers(start + 1, n_layers))
    try:
        changed = combined_image_layers(image.layers, start, stop)
    except ModelError as exc:
        # a path below a non-directory: the model stacks a file `a` and a later `a/b`, which
        # no one layer can hold (nor a real tar)
        assert "lies below" in str(exc)
        assume(False)
    assert len(changed) == n_layers - (stop - start) + 1
    assert view_of(changed) == view_of(image.layers)


def test_added_then_deleted_is_gone() -> None:
    """A file added by one layer and deleted by the next: the combined layer holds neither
    the file nor the whiteout (nothing below had it), so its tar is the end blocks alone."""
    base = make_layer([file("etc/a", 100)])
    add = make_layer([file("big", 5000)])
    delete = make_layer([make_entry("big", EntryKind.WHITEOUT)])
    combined = combine_layers([base, add, delete], 1, 3)
    assert combined.entries == ()
    assert combined.tar_bytes == TAR_END_BYTES


def test_markers_that_hide_the_lower_layers_stay() -> None:
    """A whiteout of a file below the run stays; a directory whited out and made again
    inside the run becomes opaque when it had children below."""
    base = make_layer([make_entry("d", EntryKind.DIR), file("d/old", 10), file("gone", 7)])
    first = make_layer(
        [make_entry("d", EntryKind.WHITEOUT), make_entry("gone", EntryKind.WHITEOUT)]
    )
    second = make_layer([make_entry("d", EntryKind.DIR), file("d/new", 3)])
    combined = combine_layers([base, first, second], 1, 3)
    kinds = [(e.path, e.kind) for e in combined.entries]
    assert kinds == [
        ("d", EntryKind.DIR),
        ("d", EntryKind.OPAQUE),
        ("d/new", EntryKind.FILE),
        ("gone", EntryKind.WHITEOUT),
    ]
    assert view_of([base, combined]) == view_of([base, first, second])
