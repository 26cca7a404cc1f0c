"""Combining consecutive layers of an image into one: the change `combine_steps` and `squash`
advise, applied to the model.

`combine_layers(layers, start, stop)` returns the one layer that stacks like
`layers[start:stop]` on `layers[:start]`: the merged view of the whole stack is unchanged
(tests check it on random stacks). What one build step (a `RUN` that adds and deletes) would
have written: an entry a later layer of the run hides is gone; a whiteout or opaque marker of
the run stays only if it hides something below the run; a directory made again inside the run
where the run deleted or replaced one becomes opaque when something below the run would
otherwise show again.

A run that shows a path below a non-directory it also shows (the model stacks a file `a`
and a later `a/b` without complaint; a real tar cannot) cannot be one layer: `ModelError`.

The new layer's entries keep their tar and compressed bytes (for real images, compressed
bytes are apportioned shares: the combined layer's compressed size is an estimate, which
`advise` replaces by the blob's real bytes where the blobs are at hand:
`readers.flatten.combined_range`); its DiffID is synthetic (`model.make_layer`).
"""

from __future__ import annotations

from collections.abc import Sequence

from layersim.errors import ModelError
from layersim.model import Entry, EntryKind, Layer, make_entry, make_layer
from layersim.model.image import parent_path
from layersim.model.overlay import View, is_below, merged_view
from layersim.model.sizes import CompressionModel


def _drop_below(table: dict[str, Entry], path: str, *, include_self: bool) -> None:
    for p in [p for p in table if is_below(p, path) or (include_self and p == path)]:
        del table[p]


def _has_below(paths: set[str] | dict, path: str, *, include_self: bool) -> bool:
    return any(is_below(p, path) or (include_self and p == path) for p in paths)


def _reopen_parents(
    path: str,
    whiteouts: dict[str, Entry],
    opaques: dict[str, Entry],
    lower_view: View,
    compression: CompressionModel,
) -> None:
    """An entry made below a directory the run deleted: the directory exists again, so its
    whiteout becomes an opaque marker (hiding what lay below). A deleted non-directory cannot
    become a directory in one layer: `ModelError`."""
    parent = parent_path(path)
    while parent:
        if parent in whiteouts:
            below = lower_view.get(parent)
            if below is not None and below[1].kind is not EntryKind.DIR:
                raise ModelError(
                    f"{path!r} lies below {parent!r}, a non-directory the run deletes: not one "
                    "layer"
                )
            del whiteouts[parent]
            opaques[parent] = make_entry(parent, EntryKind.OPAQUE, compression=compression)
        parent = parent_path(parent)


def combine_layers(
    layers: Sequence[Layer],
    start: int,
    stop: int,
    compression: CompressionModel | None = None,
    name: str = "",
) -> Layer:
    """One layer equivalent to `layers[start:stop]` stacked on `layers[:start]` (module
    docstring). `compression` builds an opaque marker the run did not have."""
    compression = compression or CompressionModel()
    lower_view = merged_view(layers[:start])
    lower = set(lower_view)
    kept: dict[str, Entry] = {}  # what the run shows: path -> entry
    whiteouts: dict[str, Entry] = {}
    opaques: dict[str, Entry] = {}
    for layer in layers[start:stop]:
        for entry in layer.entries:  # the deletions first, as overlay.stack_layer does
            if entry.kind is EntryKind.OPAQUE:
                _drop_below(kept, entry.path, include_self=False)
                _drop_below(whiteouts, entry.path, include_self=False)
                _drop_below(opaques, entry.path, include_self=False)
                opaques[entry.path] = entry
            elif entry.kind is EntryKind.WHITEOUT:
                _drop_below(kept, entry.path, include_self=True)
                _drop_below(whiteouts, entry.path, include_self=False)
                _drop_below(opaques, entry.path, include_self=True)
                whiteouts[entry.path] = entry
            elif entry.kind is not EntryKind.DIR:
                _drop_below(kept, entry.path, include_self=False)
                _drop_below(whiteouts, entry.path, include_self=False)
                _drop_below(opaques, entry.path, include_self=True)
        for entry in layer.entries:
            if entry.is_whiteout:
                continue
            _reopen_parents(entry.path, whiteouts, opaques, lower_view, compression)
            deleted = whiteouts.pop(entry.path, None)
            replaced = kept.get(entry.path)
            kept[entry.path] = entry
            hid_lower = deleted is not None or (
                replaced is not None and replaced.kind is not EntryKind.DIR
            )
            if (
                hid_lower
                and entry.kind is EntryKind.DIR
                and entry.path not in opaques
                and _has_below(lower, entry.path, include_self=False)
            ):
                # a directory made again where the run deleted or replaced one: what lay
                # below it must stay hidden
                opaques[entry.path] = make_entry(
                    entry.path, EntryKind.OPAQUE, compression=compression
                )
    # a marker that hides nothing below the run is not written by one step
    marks = [e for p, e in whiteouts.items() if _has_below(lower, p, include_self=True)]
    marks += [e for p, e in opaques.items() if _has_below(lower, p, include_self=False)]
    return make_layer([*kept.values(), *marks], name=name, compression=compression)


def combined_image_layers(
    layers: Sequence[Layer],
    start: int,
    stop: int,
    compression: CompressionModel | None = None,
) -> tuple[Layer, ...]:
    """`layers` with `layers[start:stop]` replaced by their combination."""
    label = "+".join(layer.label[:12] for layer in layers[start:stop])
    combined = combine_layers(layers, start, stop, compression, name=label)
    return (*layers[:start], combined, *layers[stop:])
