"""Union-filesystem (overlay) semantics, written to read like the rules (docs/design.md §3).

Stacking a layer on a lower view, for each of its entries:
- an opaque marker at `d` hides everything strictly below `d` in the lower view;
- a whiteout at `p` deletes `p` and its subtree from the lower view;
- a non-directory at `p` hides a lower directory's subtree at `p` (and replaces `p`);
- any other entry at `p` replaces the lower entry at `p` (directories merge: their lower
  children stay visible).
Whiteouts and opaque markers are never visible themselves. These rules are applied to the lower
view before the layer's own entries are added, so an opaque directory's new children stay.

Pure Python on small inputs: this is the semantics the numpy engine is tested against.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence

from layersim.model import Entry, EntryKind, Layer

# A merged view: path -> (index of the layer that provides it, its entry).
View = dict[str, tuple[int, Entry]]


def is_below(path: str, directory: str) -> bool:
    """Whether `path` lies strictly below `directory`."""
    return path.startswith(directory + "/")


def _drop(view: View, path: str, *, include_self: bool) -> None:
    for p in [p for p in view if is_below(p, path) or (include_self and p == path)]:
        del view[p]


def stack_layer(view: View, layer: Layer, index: int, *, opaque: bool = True) -> None:
    """Apply one layer on top of `view`, in place. `opaque=False` stacks as dive does: its
    trees drop opaque markers, so they hide nothing."""
    for entry in layer.entries:
        if entry.kind is EntryKind.OPAQUE:
            if opaque:
                _drop(view, entry.path, include_self=False)
        elif entry.kind is EntryKind.WHITEOUT:
            _drop(view, entry.path, include_self=True)
        elif entry.kind is not EntryKind.DIR:
            _drop(view, entry.path, include_self=False)
    for entry in layer.entries:
        if not entry.is_whiteout:
            view[entry.path] = (index, entry)


def merged_view(layers: Sequence[Layer]) -> View:
    """The filesystem a container of these layers sees: for every path, the topmost entry."""
    view: View = {}
    for index, layer in enumerate(layers):
        stack_layer(view, layer, index)
    return view


def hidden_entries(layers: Sequence[Layer]) -> list[tuple[int, Entry]]:
    """Entries of the stack that the merged view does not show (whiteouts excluded)."""
    view = merged_view(layers)
    return [
        (index, entry)
        for index, layer in enumerate(layers)
        for entry in layer.entries
        if not entry.is_whiteout and view.get(entry.path, (None, None))[0] != index
    ]


def merged_entries(layers: Sequence[Layer]) -> list[Entry]:
    return [entry for _, entry in merged_view(layers).values()]


def merged_files(layers: Sequence[Layer]) -> tuple[dict[str, Entry], list[int]]:
    """The regular files of the merged view (path -> entry) and, per layer, the file bytes of
    its regular files that a higher layer hides: the rules above, applied top-down in one pass
    (cost: entries x path depth at most, where `merged_view` costs entries x view size), for
    images of any size (`layersim analyze`, `layersim calibrate`).

    A file is hidden by a higher layer's entry at its path (a whiteout, or any other entry but
    an opaque marker), or by a whiteout, an opaque marker or a non-directory at a directory
    above it."""
    exact: set[str] = set()  # paths a higher layer has an entry at (opaque markers excepted)
    cut: set[str] = set()  # paths whose subtree a higher layer hides
    files: dict[str, Entry] = {}
    hidden = [0] * len(layers)
    for index in range(len(layers) - 1, -1, -1):
        entries = layers[index].entries
        below_cut: dict[str, bool] = {"": False}  # directory -> it or one above it is cut
        for entry in entries:
            if entry.kind is not EntryKind.FILE:
                continue
            if entry.path in exact or (cut and marked_above(entry.path, cut, below_cut)):
                hidden[index] += entry.file_bytes
            else:
                files[entry.path] = entry
        for entry in entries:
            if entry.kind is EntryKind.OPAQUE:
                cut.add(entry.path)
                continue
            exact.add(entry.path)
            if entry.kind is not EntryKind.DIR:
                cut.add(entry.path)
    return files, hidden


def marked_above(path: str, cut: set[str], memo: dict[str, bool]) -> bool:
    """Whether a directory strictly above `path` is in `cut`; `memo` remembers the answer per
    directory (files share directories, so most lookups are one dictionary hit). One `memo`
    serves one `cut` set."""
    directory = path.rpartition("/")[0]
    walked: list[str] = []
    while directory not in memo:
        if directory in cut:
            memo[directory] = True
            break
        walked.append(directory)
        directory = directory.rpartition("/")[0]
    answer = memo[directory]
    for d in walked:
        memo[d] = answer
    return answer


def subtree_file_bytes(view: View, path: str) -> int:
    """File bytes that deleting `path` removes from `view`, as dive counts a whiteout:
    0 if `path` is a non-directory, else the file bytes of everything below it."""
    top = view.get(path)
    if top is not None and top[1].kind is not EntryKind.DIR:
        return 0
    return sum(entry.file_bytes for p, (_, entry) in view.items() if is_below(p, path))


def dive_leaves(layer: Layer) -> Iterable[Entry]:
    """The leaves of a layer's file tree as dive builds it: entries with no other entry of the
    same layer below them. Opaque markers are not nodes, but make their directory a node."""
    paths = {entry.path for entry in layer.entries}
    has_child = {p.rsplit("/", 1)[0] for p in paths if "/" in p}
    # every ancestor of an entry is a (possibly implicit) non-leaf node
    ancestors: set[str] = set()
    for p in has_child:
        while p and p not in ancestors:
            ancestors.add(p)
            p = p.rsplit("/", 1)[0] if "/" in p else ""
    leaves: dict[str, Entry] = {}
    for entry in layer.entries:
        if entry.path in ancestors:
            continue
        if entry.kind is EntryKind.OPAQUE:
            leaves.setdefault(entry.path, entry)
        else:
            leaves[entry.path] = entry
    return leaves.values()
