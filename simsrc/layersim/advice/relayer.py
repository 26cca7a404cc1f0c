"""Re-partitioning the files of a set of images into layers that share the most: the change
`relayer` advises, applied to the model (after Skourtis et al., "Carving perfect layers out
of Docker images", HotCloud'19).

1. Every entry an image shows (its merged view: files, directories, links; whiteouts and
   what they hide are gone) is keyed by what it is (`entry_identity`: path, kind, content,
   file bytes, link target, content class), and **grouped by the exact set of images that
   show it**. One layer per group: every byte an image set shares is stored once.
2. **Layers per image are bounded** (`LAYER_BOUND`, 125: Docker's layer store refuses deeper
   images, `maxLayerDepth`; overlay2 mounts about 127 lower directories at most; OCI sets no
   limit). While an image has more groups than the bound, two of its groups are merged
   greedily: the pair whose merging stores the fewest extra tar bytes. Merging groups `g` and
   `h` gives the images holding both one layer of both; an image holding only one keeps that
   one as it was, so the merged layer stores again the bytes of each group some image still
   holds alone (the extra bytes). Ties: the smaller pair, then the earlier.
3. **Order**: every image takes its groups in one global order, the groups held by more
   images first (then more tar bytes, then the images' order): where the image sets nest (a
   base's files, then a runtime's, then an app's) images then share prefixes of layers, which
   nodes need to share them (a node keys layers by ChainID); the registry shares blobs in any
   order.

No image breaks: within one image the groups hold disjoint paths of its merged view, so any
order stacks to the same view (tests check every image's merged view before and after). A
view that shows a path below a non-directory (the model stacks a file `a` and a later `a/b`;
no real tar does) cannot be cut into layers: `ModelError`, as `make_layer` says.

The new layers keep their entries' tar and compressed bytes (for real images, compressed
bytes are apportioned shares: the new layers' compressed sizes are estimates); their DiffIDs
are synthetic (`model.make_layer`), their names `relayer<N>` in the global order.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field

from layersim.errors import ModelError
from layersim.model import Entry, EntryKind, Image, Layer, make_layer
from layersim.model.overlay import marked_above, merged_view
from layersim.model.sizes import CompressionModel

# Docker's layer store refuses images deeper than this (moby layer/layer_store.go maxLayerDepth)
LAYER_BOUND = 125

EntryIdentity = tuple[str, EntryKind, str | None, int, str, str]


def entry_identity(entry: Entry) -> EntryIdentity:
    """What an entry is, whichever layer holds it: two images showing equal identities show
    the same thing at that path (compressed shares of real layers differ per layer, so they
    are not part of it)."""
    return (
        entry.path,
        entry.kind,
        entry.content,
        entry.file_bytes,
        entry.link_target,
        entry.content_class,
    )


def visible_identities(image: Image) -> dict[str, EntryIdentity]:
    """Path -> identity of every entry the image shows."""
    return {path: entry_identity(e) for path, (_, e) in merged_view(image.layers).items()}


@dataclass(eq=False)
class _Group:
    holders: frozenset[int]
    entries: list[Entry]
    order: int  # position in the global order
    tar_bytes: int = field(init=False)

    def __post_init__(self) -> None:
        self.tar_bytes = sum(e.tar_bytes for e in self.entries)


def shown_entries(layers: Sequence[Layer]) -> dict[str, Entry]:
    """Path -> entry of everything the stack shows: `overlay.merged_view`'s entries, found
    top-down in one pass as `overlay.merged_files` finds files (cost: entries x path depth,
    where `merged_view` costs entries x view size: too slow for a fleet's images)."""
    exact: set[str] = set()  # paths a higher layer has an entry at (opaque markers excepted)
    cut: set[str] = set()  # paths whose strict subtree a higher layer hides
    shown: dict[str, Entry] = {}
    for layer in reversed(layers):
        memo: dict[str, bool] = {"": False}
        for entry in layer.entries:
            if entry.is_whiteout or entry.path in exact:
                continue
            if not (cut and marked_above(entry.path, cut, memo)):
                shown[entry.path] = entry
        for entry in layer.entries:
            if entry.kind is EntryKind.OPAQUE:
                cut.add(entry.path)
                continue
            exact.add(entry.path)
            if entry.kind is not EntryKind.DIR:
                cut.add(entry.path)
    return shown


def _check_tree(name: str, view: dict[str, Entry]) -> None:
    """`ModelError` if the view shows a path below a non-directory it also shows."""
    leaves = {path for path, entry in view.items() if entry.kind is not EntryKind.DIR}
    memo: dict[str, bool] = {"": False}
    for path in view:
        if marked_above(path, leaves, memo):
            parent = path.rpartition("/")[0]
            while parent not in leaves:
                parent = parent.rpartition("/")[0]
            raise ModelError(
                f"{name}: {path!r} lies below {parent!r}, a non-directory the image shows: "
                "no layers hold both"
            )


def _groups(images: Sequence[Image]) -> list[_Group]:
    """Step 1 and 3: the groups, in the global order."""
    holders: dict[EntryIdentity, set[int]] = {}
    first: dict[EntryIdentity, Entry] = {}
    for index, image in enumerate(images):
        view = shown_entries(image.layers)
        _check_tree(image.name, view)
        for entry in view.values():
            key = entry_identity(entry)
            holders.setdefault(key, set()).add(index)
            first.setdefault(key, entry)
    by_set: dict[frozenset[int], list[Entry]] = {}
    for key, held in holders.items():
        by_set.setdefault(frozenset(held), []).append(first[key])
    groups = [_Group(h, entries, 0) for h, entries in by_set.items()]
    groups.sort(key=lambda g: (-len(g.holders), -g.tar_bytes, sorted(g.holders)))
    for order, group in enumerate(groups):
        group.order = order
    return groups


def _merge_cost(g: _Group, h: _Group) -> tuple[int, int, int, int]:
    extra = (g.tar_bytes if g.holders - h.holders else 0) + (
        h.tar_bytes if h.holders - g.holders else 0
    )
    return extra, g.tar_bytes + h.tar_bytes, g.order, h.order


def _bound(groups: list[_Group], n_images: int, bound: int) -> list[_Group]:
    """Step 2: merge groups until no image holds more than `bound`."""
    for image in range(n_images):
        while True:
            mine = [g for g in groups if image in g.holders]
            if len(mine) <= bound:
                break
            g, h = min(
                ((g, h) for i, g in enumerate(mine) for h in mine[i + 1 :]),
                key=lambda pair: _merge_cost(*pair),
            )
            both = g.holders & h.holders
            merged = _Group(both, g.entries + h.entries, min(g.order, h.order))
            g.holders, h.holders = g.holders - both, h.holders - both
            groups = [x for x in groups if x.holders] + [merged]
            groups.sort(key=lambda x: x.order)
    return groups


def relayered(
    images: Sequence[Image],
    bound: int = LAYER_BOUND,
    compression: CompressionModel | None = None,
) -> tuple[Image, ...]:
    """The images re-layered (module docstring), in the order given, same names. An image
    that shows nothing gets one empty layer (an image has at least one)."""
    compression = compression or CompressionModel()
    groups = _bound(_groups(images), len(images), bound)
    layers = [
        make_layer(g.entries, name=f"relayer{k}", compression=compression)
        for k, g in enumerate(groups)
    ]
    out = []
    for index, image in enumerate(images):
        own = tuple(layer for g, layer in zip(groups, layers, strict=True) if index in g.holders)
        out.append(Image(image.name, own or (make_layer([], name="empty"),)))
    return tuple(out)


def layer_counts(images: Sequence[Image]) -> list[int]:
    """Layers per image, in order."""
    return [len(i.layers) for i in images]


def distinct_layers(images: Sequence[Image]) -> int:
    """Distinct layers (by DiffID) of the images."""
    return len({layer.diff_id for i in images for layer in i.layers})
