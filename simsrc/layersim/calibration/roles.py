"""Real images cut into the roles the generator builds: base, runtime, and the app's own layers.

The generator builds every app image as base layer + runtime layers + the app's own layers
(dependency layers, an optional add-then-delete archive layer, code layers), so analyzed images
are cut the same way (`cut_apps`):

- an image whose layer stack is a proper prefix of another's is a *parent* (a base or runtime
  image); the others are *apps* (leaf images, `leaf_indices`). Only apps are fitted and measured;
- an app's *parent part* is its longest stack prefix (by ChainID) that a parent image or an app
  of another repository also has, at least the bottom layer: layer 0 is its *base layer*, the
  others its *runtime layers*;
- of its own layers, one that a later layer of the same image shadows for at least
  `WASTE_SHARE` of its file bytes is a *waste* layer (the add-then-delete pattern); of the rest,
  the first is a dependency layer (the first two for an app on a runtime, if it has three or
  more), and the others are *code* layers.

Successive images of one repository, in the order read, are successive versions of it
(`version_pairs`). Beside the roles: the files a layer or a stack shows, how many of them
change between two versions (`churn`), and a file's content class guessed from its name.

What the roles' statistics set in the config is `fit`'s; this module only cuts and counts.
"""

from __future__ import annotations

import itertools
from collections import defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from layersim.model import Entry, EntryKind, Image, Layer
from layersim.model.overlay import merged_files

WASTE_SHARE = 0.5  # a layer shadowed for at least this share of its file bytes is waste

# Content classes by name, for the measured compressibility (comments only: real files carry
# no class, and the class ratios are the model's constants).
_ARCHIVE_SUFFIXES = (
    ".gz", ".tgz", ".xz", ".zst", ".bz2", ".zip", ".jar", ".war", ".whl", ".egg", ".apk",
    ".deb", ".rpm", ".png", ".jpg", ".jpeg", ".gif", ".webp", ".woff", ".woff2", ".7z",
)  # fmt: skip
_TEXT_SUFFIXES = (
    ".py", ".pyi", ".js", ".mjs", ".cjs", ".ts", ".json", ".txt", ".md", ".rst", ".html",
    ".htm", ".css", ".xml", ".yaml", ".yml", ".toml", ".ini", ".cfg", ".conf", ".sh", ".c",
    ".h", ".cc", ".cpp", ".hpp", ".java", ".go", ".rb", ".pl", ".pm", ".php", ".sql", ".csv",
    ".svg", ".map", ".properties", ".in", ".pem", ".crt", ".desktop", ".service",
)  # fmt: skip


def content_class_of(path: str) -> str:
    """A file's content class guessed from its name: `archive` (already compressed), `text`,
    else `binary`. Used only to report measured compressibility by class."""
    name = path.rsplit("/", 1)[-1].lower()
    if name.endswith(_ARCHIVE_SUFFIXES):
        return "archive"
    if name.endswith(_TEXT_SUFFIXES) or "/share/doc/" in f"/{path}" or "/etc/" in f"/{path}":
        return "text"
    return "binary"


# --------------------------------------------------------------------------- files


def regular_files(layer: Layer) -> list[Entry]:
    """The layer's regular files (no directories, links or whiteouts)."""
    return [e for e in layer.entries if e.kind is EntryKind.FILE]


def stack_files(layers: Sequence[Layer]) -> tuple[dict[str, str], list[int]]:
    """The merged view's regular files (path -> content digest) and each layer's hidden file
    bytes (`overlay.merged_files`)."""
    files, hidden = merged_files(layers)
    return {path: entry.content or "" for path, entry in files.items()}, hidden


def role_files(layers: Iterable[Layer]) -> dict[str, str]:
    """Regular files of some layers of one image, a later layer's winning (the role's own view;
    deletions inside the role are not applied: they are rare and the model has none)."""
    out: dict[str, str] = {}
    for layer in layers:
        for entry in regular_files(layer):
            out[entry.path] = entry.content or ""
    return out


def churn(before: Mapping[str, str], after: Mapping[str, str]) -> tuple[int, int]:
    """(changed, common): regular files at paths both versions have, and how many of them have
    other contents in `after`."""
    common = before.keys() & after.keys()
    return sum(1 for p in common if before[p] != after[p]), len(common)


def churn_sum(pairs: Iterable[tuple[Mapping[str, str], Mapping[str, str]]]) -> tuple[int, int]:
    """`churn` summed over (before, after) pairs: (changed, common)."""
    changed = common = 0
    for before, after in pairs:
        c, n = churn(before, after)
        changed, common = changed + c, common + n
    return changed, common


def stored_uncompressed(layer: Layer) -> bool:
    """Whether the layer's blob is a plain tar (docker-archives): its digest is its DiffID."""
    return layer.blob_digest == layer.diff_id


def distinct_layers(layers: Iterable[Layer]) -> list[Layer]:
    """The layers by DiffID, each once, in first-seen order."""
    seen: dict[str, Layer] = {}
    for layer in layers:
        seen.setdefault(layer.diff_id, layer)
    return list(seen.values())


# --------------------------------------------------------------------------- apps and versions


def leaf_indices(images: Sequence[Image]) -> list[int]:
    """Indices of the images whose stack is not a proper prefix of another image's stack."""
    inner: set[str] = set()
    for image in images:
        inner.update(image.chain_ids[:-1])
    return [i for i, image in enumerate(images) if image.chain_ids[-1] not in inner]


def version_pairs(repositories: Sequence[str]) -> list[tuple[int, int]]:
    """Positions (a, b) of successive versions: b follows a among the positions of the same
    repository, repositories in order of first appearance."""
    by_repo: dict[str, list[int]] = defaultdict(list)
    for position, repository in enumerate(repositories):
        by_repo[repository].append(position)
    return [(a, b) for ids in by_repo.values() for a, b in itertools.pairwise(ids)]


@dataclass(frozen=True)
class App:
    """One leaf image cut into the generator's roles (positions in its layers)."""

    image: Image
    parent_length: int  # layers of the parent part: the base layer, then the runtime layers
    visible: Mapping[str, str]  # the merged view's regular files: path -> content
    shadowed: tuple[int, ...]  # per layer, its file bytes a later layer hides
    waste: tuple[int, ...]
    deps: tuple[int, ...]
    code: tuple[int, ...]

    @property
    def base(self) -> Layer:
        return self.image.layers[0]

    @property
    def runtime(self) -> list[Layer]:
        return list(self.image.layers[1 : self.parent_length])

    @property
    def on_runtime(self) -> bool:
        return self.parent_length > 1

    @property
    def parent_chain(self) -> str:
        """The ChainID of the parent part's top layer (a runtime version, on a runtime)."""
        return self.image.chain_ids[self.parent_length - 1]

    def layers(self, positions: Iterable[int]) -> list[Layer]:
        return [self.image.layers[k] for k in positions]


def _parent_lengths(images: Sequence[Image], leaves: Sequence[int]) -> list[int]:
    """Per leaf, the layers of its longest stack prefix that a parent image or an app of
    another repository also has (at least one, and one fewer than the stack if it has more)."""
    leaf_set = set(leaves)
    parent_chains: set[str] = set()
    repos_of: dict[str, set[str]] = defaultdict(set)
    for i, image in enumerate(images):
        if i in leaf_set:
            for chain in image.chain_ids:
                repos_of[chain].add(image.repository)
        else:
            parent_chains.update(image.chain_ids)
    lengths = []
    for i in leaves:
        image = images[i]
        shared = 0
        for chain in image.chain_ids:
            if chain in parent_chains or repos_of[chain] - {image.repository}:
                shared += 1
            else:
                break
        n = len(image.chain_ids)
        lengths.append(max(1, min(shared, n - 1)) if n > 1 else 1)
    return lengths


def _cut_app(image: Image, parent_length: int) -> App:
    visible, shadowed = stack_files(image.layers)
    waste, own_kept = [], []
    for k in range(parent_length, len(image.layers)):
        file_bytes = image.layers[k].file_bytes
        if file_bytes and shadowed[k] >= WASTE_SHARE * file_bytes:
            waste.append(k)
        else:
            own_kept.append(k)
    n_deps = 0
    if len(own_kept) >= 2:
        n_deps = 2 if parent_length > 1 and len(own_kept) >= 3 else 1
    return App(
        image=image,
        parent_length=parent_length,
        visible=visible,
        shadowed=tuple(shadowed),
        waste=tuple(waste),
        deps=tuple(own_kept[:n_deps]),
        code=tuple(own_kept[n_deps:]),
    )


def cut_apps(images: Sequence[Image], leaves: Sequence[int]) -> list[App]:
    """The leaf images `leaves` (`leaf_indices`) cut into their roles, in that order."""
    lengths = _parent_lengths(images, leaves)
    return [_cut_app(images[i], n) for i, n in zip(leaves, lengths, strict=True)]
