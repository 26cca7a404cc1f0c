"""Hypothesis strategies for valid `layersim.model` values that exercise every overlay rule.

The universe is deliberately small so that collisions are the common case: paths are 1- to
3-level trees over three names (39 paths) plus a few long and non-ASCII ones (USTAR split,
PAX records); file contents come from a small pool, so the same content recurs across layers and
images; layers are reused on other parents, rebuilt at another mtime, and renamed. Whiteouts,
modifies and deletes are drawn mostly from what the stack below actually shows
(`overlay.merged_view`), so they usually hit something.

Every value respects the model's invariants (one entry per path per layer, except a directory
beside its own opaque marker) and, beyond them, the shape of a real layer tar: nothing of a layer
sits below a non-directory or a whiteout of the same layer. One `CompressionModel` per population
is used for every entry, layer and the population itself, and a content's size and content class
are a function of its name, as for real bytes.

Public strategies: `populations()` (the top level), `images()`, `layer_stacks()`, `layers()`,
`entries()`, `paths()`, `contents()`, `storage_options()`, `compression_models()`, and
`tar_names()` for the size tests. Generation goes through a few module-level strategies and
plain helpers that take `draw` (see the note above `entries`), which keeps it fast enough for
300 populations per property in a few seconds.
"""

from __future__ import annotations

import dataclasses
import itertools

from hypothesis import strategies as st

from layersim.model import (
    Container,
    ContainerState,
    Entry,
    EntryKind,
    FileModify,
    FileWrite,
    Image,
    Layer,
    Node,
    Population,
    StorageDriver,
    StorageOptions,
    make_entry,
    make_layer,
)
from layersim.model.chunks import Chunk, ContentChunks, even_cuts
from layersim.model.digest import ChunkDigest, ContentDigest, content_digest, synthetic_digest
from layersim.model.overlay import merged_view
from layersim.model.sizes import CompressionModel

NAMES = ("a", "b", "c")
SHORT_PATHS: tuple[str, ...] = tuple(
    "/".join(parts) for depth in (1, 2, 3) for parts in itertools.product(NAMES, repeat=depth)
)
LONG_PATHS: tuple[str, ...] = (
    "a/" + "x" * 120,  # 122 chars; the only '/' leaves a 120-char name: PAX
    "a/" + "y" * 60 + "/" + "z" * 70,  # 133 chars; splits at the last '/': USTAR prefix + name
    "b/" + "w" * 98,  # 100 chars: fits the name field; as a directory `.../` it is 101 and splits
    "c/" + "v" * 99,  # 101 chars; splits into `c` + 99
    "c/caf\u00e9",  # non-ASCII: always a PAX record
)
PATHS = SHORT_PATHS + LONG_PATHS

# (name, file bytes, content class): the size cases of the tar and disk models — 0, below 512,
# exact multiples of 512 and 4096, one more than those, and a few large ones.
CONTENTS: tuple[tuple[str, int, str], ...] = (
    ("empty", 0, "text"),
    ("one", 1, "text"),
    ("small", 100, "text"),
    ("b511", 511, "binary"),
    ("b512", 512, "binary"),
    ("b513", 513, "text"),
    ("b4095", 4095, "binary"),
    ("b4096", 4096, "binary"),
    ("b4097", 4097, "archive"),
    ("b8192", 8192, "text"),
    ("large", 3_000_001, "binary"),
    ("huge", 2**31 + 5, "archive"),
)
CLASSES = ("text", "binary", "archive")

LINK_TARGETS = (
    "a",
    "b/c",
    "../a/b",
    "/usr/lib/libc.so.6",
    "/" + "t" * 120,  # a long link target: a PAX `linkpath` record (link names never split)
    "lib/" + "u" * 60 + "/" + "s" * 60,  # 125 chars with '/' — still PAX: link names never split
)

IMAGE_NAMES = (
    *(
        f"{repo}:{tag}"
        for repo in ("app", "base", "reg:5000/team/app", "lib/tool")
        for tag in ("1", "2", "latest")
    ),
    "app@sha256:" + "0" * 64,
)

# One draw picks what an entry is (kind and, for files and symlinks, content or target); the
# repetitions are the weights: about 40% files, every other kind regularly.
RECIPES: tuple[tuple, ...] = (
    *(("file", c) for c in CONTENTS * 2),
    ("file", None),  # a content of random size
    ("file", None),
    *(("dir", None),) * 10,
    *(("symlink", t) for t in LINK_TARGETS),
    *(("hardlink", None),) * 4,
    *(("whiteout", None),) * 10,
    *(("opaque", "with-dir"),) * 3,
    *(("opaque", "alone"),) * 3,
)


_DEFAULT_COMPRESSION = CompressionModel()


def compression_models() -> st.SearchStrategy[CompressionModel]:
    """The default model, or another one with every ratio different (still exact integers)."""
    return st.sampled_from(
        (
            _DEFAULT_COMPRESSION,
            CompressionModel(
                class_ratios_permille={"text": 3000, "binary": 2000, "archive": 1000},
                metadata_ratio_permille=8000,
                default_class="text",
            ),
        )
    )


def storage_options() -> st.SearchStrategy[StorageOptions]:
    return st.builds(
        StorageOptions,
        block_bytes=st.sampled_from((512, 4096)),
        driver=st.sampled_from(tuple(StorageDriver)),
        keep_compressed_blobs=st.booleans(),
    )


# Module-level strategies: hypothesis validates each strategy object on first use, so building
# them once (rather than per draw) keeps generation cheap.
_RANDOM_CONTENT = st.integers(0, 300_000).map(lambda n: (f"r{n}", n, CLASSES[n % 3]))
_POOL_CONTENT = st.sampled_from(CONTENTS)
_CONTENT = st.one_of(_POOL_CONTENT, _POOL_CONTENT, _RANDOM_CONTENT)
_PATH = st.sampled_from(PATHS)
_RECIPE = st.sampled_from(RECIPES)
_BOOL = st.booleans()
_INDEX = st.integers(0, 2**16)
_MTIME = st.integers(0, 2)
_LABEL = st.sampled_from(("", "L", "step"))
_HOW = st.sampled_from(("fresh", "fresh", "fresh", "reuse", "rebuild", "rename"))


def contents() -> st.SearchStrategy[tuple[str, int, str]]:
    """A content (name, file bytes, class): mostly from the pool, sometimes an arbitrary size
    (whose class is still a function of its name)."""
    return _CONTENT


def _pick(draw: st.DrawFn, items: tuple | list):
    """One of `items` (non-empty), through a shared integer strategy."""
    return items[draw(_INDEX) % len(items)]


def _draw_path(draw: st.DrawFn, existing: tuple[str, ...]) -> str:
    """A path of the universe, about half the time one of `existing` (when given); one draw."""
    index = draw(_INDEX)
    if existing and index % 2:
        return existing[(index // 2) % len(existing)]
    return PATHS[(index // 2) % len(PATHS)]


def paths(existing: tuple[str, ...] = ()) -> st.SearchStrategy[str]:
    """A path of the universe, drawn about half the time from `existing` when given."""
    return st.composite(lambda draw: _draw_path(draw, existing))()


def _is_below(path: str, directory: str) -> bool:
    return path.startswith(directory + "/")


def _entries(
    draw: st.DrawFn,
    existing: tuple[str, ...] = (),
    compression: CompressionModel | None = None,
    max_paths: int = 6,
) -> list[Entry]:
    """The entries of one layer, as a real layer tar could hold them.

    Paths are distinct except that an opaque marker may come with or without its directory's
    own entry; entries below a non-directory or a whiteout of the same layer are dropped.
    """
    compression = compression or _DEFAULT_COMPRESSION
    # directories (explicit or implicit) of what is below: where an opaque marker has
    # something to hide
    dirs = tuple(p for p in existing if any(_is_below(q, p) for q in existing))
    planned: dict[str, tuple] = {}
    for _ in range(draw(_INDEX) % (max_paths + 1)):
        recipe = draw(_RECIPE)
        aim = dirs if recipe[0] == "opaque" and dirs else existing
        planned.setdefault(_draw_path(draw, aim), recipe)
    blockers: list[str] = []
    out: list[Entry] = []
    # parents before children, for the drop rule
    for path in sorted(planned, key=lambda p: (p.count("/"), p)):
        if any(_is_below(path, b) for b in blockers):
            continue
        what, detail = planned[path]
        if what == "file":
            name, file_bytes, content_class = detail or draw(_RANDOM_CONTENT)
            out.append(
                make_entry(
                    path,
                    EntryKind.FILE,
                    file_bytes,
                    content=content_digest(name, file_bytes),
                    content_class=content_class,
                    compression=compression,
                )
            )
        elif what in ("symlink", "hardlink"):
            kind = EntryKind.SYMLINK if what == "symlink" else EntryKind.HARDLINK
            target = detail or draw(_PATH)
            out.append(make_entry(path, kind, link_target=target, compression=compression))
        elif what == "opaque":
            out.append(make_entry(path, EntryKind.OPAQUE, compression=compression))
            if detail == "with-dir":
                out.append(make_entry(path, EntryKind.DIR, compression=compression))
        else:
            kind = EntryKind.DIR if what == "dir" else EntryKind.WHITEOUT
            out.append(make_entry(path, kind, compression=compression))
        if what not in ("dir", "opaque"):
            blockers.append(path)
    return out


def _layer(
    draw: st.DrawFn,
    existing: tuple[str, ...] = (),
    compression: CompressionModel | None = None,
    label: str | None = None,
) -> Layer:
    """One modelled layer (possibly empty), built at one of a few mtimes so that the same
    entries are sometimes the same layer and sometimes a rebuild."""
    compression = compression or _DEFAULT_COMPRESSION
    chosen = _entries(draw, existing, compression)
    mtime = draw(_MTIME)
    name = label if label is not None else draw(_LABEL)
    return make_layer(chosen, mtime=mtime, name=name, compression=compression)


def _visible(stack: list[Layer]) -> tuple[str, ...]:
    """What the stack shows, and the (possibly implicit) directories above it: the paths a
    whiteout, an opaque marker or a replacement can usefully aim at."""
    shown = set(merged_view(stack))
    for path in list(shown):
        while "/" in path:
            path = path.rsplit("/", 1)[0]
            shown.add(path)
    return tuple(sorted(shown))


def _layer_stack(
    draw: st.DrawFn,
    compression: CompressionModel | None = None,
    base: tuple[Layer, ...] = (),
    pool: tuple[Layer, ...] = (),
    max_layers: int = 6,
    label_prefix: str = "L",
) -> tuple[Layer, ...]:
    """A stack of 1..max_layers layers on `base`: fresh layers aimed at what the stack below
    shows, and (given a `pool`) layers reused on another parent, rebuilt at another mtime, or
    the same layer under another name."""
    compression = compression or _DEFAULT_COMPRESSION
    stack = list(base)
    low = 0 if stack else 1
    n_new = low + draw(_INDEX) % (max(low, max_layers - len(stack)) - low + 1)
    made = list(pool)
    for i in range(n_new):
        how = draw(_HOW)
        if not made:
            how = "fresh"
        label = f"{label_prefix}{i}"
        if how == "fresh":
            layer = _layer(draw, _visible(stack), compression, label=label)
        elif how == "reuse":  # the same layer on (usually) another parent
            layer = _pick(draw, made)
        elif how == "rebuild":  # the same entries at an mtime: usually another layer
            src = _pick(draw, made)
            layer = make_layer(
                src.entries,
                mtime=draw(_MTIME),
                name=label + "-rebuilt",
                compression=compression,
            )
        else:  # identical layer, another name
            src = _pick(draw, made)
            layer = dataclasses.replace(src, name=label + "-alias")
        stack.append(layer)
        made.append(layer)
    return tuple(stack)


# Public strategies over the helpers above. The helpers take `draw` directly: a composite
# strategy built inside another one is a new strategy object per call, which hypothesis
# validates each time, and that cost dominated generation.


@st.composite
def entries(
    draw: st.DrawFn,
    existing: tuple[str, ...] = (),
    compression: CompressionModel | None = None,
    max_paths: int = 6,
) -> list[Entry]:
    """The entries of one layer (see `_entries`)."""
    return _entries(draw, existing, compression, max_paths)


@st.composite
def layers(
    draw: st.DrawFn,
    existing: tuple[str, ...] = (),
    compression: CompressionModel | None = None,
    label: str | None = None,
) -> Layer:
    """One layer (see `_layer`)."""
    return _layer(draw, existing, compression, label)


@st.composite
def layer_stacks(
    draw: st.DrawFn,
    compression: CompressionModel | None = None,
    base: tuple[Layer, ...] = (),
    pool: tuple[Layer, ...] = (),
    max_layers: int = 6,
) -> tuple[Layer, ...]:
    """A stack of layers (see `_layer_stack`)."""
    return _layer_stack(draw, compression, base, pool, max_layers)


_IMAGE_NAME = st.sampled_from(IMAGE_NAMES)
_STATE = st.sampled_from(tuple(ContainerState))
_COMPRESSION = compression_models()
_OPTIONS = storage_options()


def _count(draw: st.DrawFn, low: int, high: int) -> int:
    """An integer in [low, high] through the shared integer strategy."""
    return low + draw(_INDEX) % (high - low + 1)


def _some(draw: st.DrawFn, items: list | tuple, max_size: int) -> list:
    """Up to max_size distinct items, in drawn order."""
    out: list = []
    for _ in range(_count(draw, 0, max_size) if items else 0):
        item = _pick(draw, items)
        if item not in out:
            out.append(item)
    return out


@st.composite
def images(
    draw: st.DrawFn,
    compression: CompressionModel | None = None,
    name: str | None = None,
) -> Image:
    """One image of 1..6 layers whose later layers mostly touch what the earlier ones show."""
    stack = _layer_stack(draw, compression or _DEFAULT_COMPRESSION)
    return Image(name or draw(_IMAGE_NAME), stack)


def _container(draw: st.DrawFn, name: str, image: Image, options: StorageOptions) -> Container:
    """A container of `image`: modifies of files its merged view shows, deletes of anything
    it shows, writes anywhere else; each path touched once."""
    view = merged_view(image.layers)
    files = sorted(p for p, (_, e) in view.items() if e.kind is EntryKind.FILE)
    modified = _some(draw, files, 2)
    deleted = _some(draw, sorted(set(view) - set(modified)), 2)
    written = _some(draw, sorted(set(PATHS) - set(modified) - set(deleted)), 2)

    def changed() -> int | None:
        return None if draw(_BOOL) else _count(draw, 0, 3 * options.block_bytes + 1)

    return Container(
        name=name,
        image=image.name,
        state=draw(_STATE),
        writes=tuple(FileWrite(p, draw(_CONTENT)[1]) for p in written),
        modifies=tuple(FileModify(p, changed()) for p in modified),
        deletes=tuple(deleted),
    )


def _distinct(draw: st.DrawFn, items: tuple | list, n: int) -> list:
    """n distinct items (n <= len(items)) with exactly n draws: a partial Fisher-Yates."""
    pool = list(items)
    out = []
    for _ in range(n):
        out.append(pool.pop(_count(draw, 0, len(pool) - 1)))
    return out


def _push_order(draw: st.DrawFn, names: list[str]) -> tuple[str, ...] | None:
    """A permutation of the image names, sometimes with an image pushed twice; or None
    (the default: the order images are listed)."""
    if _count(draw, 0, 4) == 0:
        return None
    order = list(names)
    for i in range(len(order) - 1, 0, -1):  # Fisher-Yates, shrinking towards the listed order
        j = _count(draw, 0, i)
        order[i], order[j] = order[j], order[i]
    for _ in range(_count(draw, 0, 2)):
        order.insert(_count(draw, 0, len(order)), _pick(draw, names))
    return tuple(order)


@st.composite
def populations(
    draw: st.DrawFn, max_images: int = 6, min_nodes: int = 0, max_nodes: int = 3
) -> Population:
    """A population: 1..max_images images that share bases and layers, a registry push order,
    and min_nodes..max_nodes nodes pulling subsets in random order (an image may be pulled
    twice) with 0..3 containers each."""
    compression = draw(_COMPRESSION)
    options = draw(_OPTIONS)
    n_images = _count(draw, 1, max_images)
    names = _distinct(draw, IMAGE_NAMES, n_images)
    stacks: list[tuple[Layer, ...]] = []
    pool: list[Layer] = []
    for i in range(n_images):
        base: tuple[Layer, ...] = ()
        if stacks and draw(_BOOL):  # on a shared base: a prefix of an earlier image
            src = _pick(draw, stacks)
            base = src[: _count(draw, 1, len(src))]
        stack = _layer_stack(draw, compression, base=base, pool=tuple(pool), label_prefix=f"i{i}L")
        stacks.append(stack)
        pool.extend(layer for layer in stack if layer not in pool)
    image_list = tuple(Image(n, s) for n, s in zip(names, stacks, strict=True))

    nodes = []
    for k in range(_count(draw, min_nodes, max_nodes)):
        pulled = [_pick(draw, names) for _ in range(_count(draw, 0, len(names) + 1))]
        on_node = sorted(set(pulled))
        containers = []
        for j in range(_count(draw, 0, 3) if on_node else 0):
            image = image_list[names.index(_pick(draw, on_node))]
            containers.append(_container(draw, f"n{k}c{j}", image, options))
        nodes.append(Node(f"node{k}", tuple(pulled), tuple(containers)))

    return Population(
        images=image_list,
        nodes=tuple(nodes),
        push_order=_push_order(draw, names),
        options=options,
        compression=compression,
        chunks=_chunk_lists(draw, image_list),
    )


_PIECE = st.sampled_from((4096, 20_000, 65_536))
_VARIANT = st.integers(0, 1)


def _chunks(draw: st.DrawFn, file_bytes: int) -> tuple[Chunk, ...]:
    """A content's chunks: pieces of one drawn length (the last shorter), each identified by its
    length and a drawn variant, so that contents share chunks (and a chunk digest always means
    one length and one compressed size)."""
    # at most 32 pieces, so that the 2 GiB content stays cheap (its pieces then rarely shared)
    piece, variant = max(draw(_PIECE), -(-file_bytes // 32)), draw(_VARIANT)
    return tuple(
        Chunk(ChunkDigest(synthetic_digest("pool-chunk", n, variant)), n, -(-n * 1000 // 2400))
        for n in even_cuts(file_bytes, piece)
    )


# Contents from this size on always get a read-like chunk list: modelled, the 2 GiB content
# would be 32,768 content-defined chunks per population, most of a property's run time, for
# no case the smaller modelled contents do not reach (tests/model/test_chunks.py checks the
# modelled chunks of a content that large once).
ALWAYS_LISTED_FROM = 1 << 30


def _chunk_lists(draw: st.DrawFn, images: tuple[Image, ...]) -> dict[ContentDigest, ContentChunks]:
    """Read-like chunk lists for some of the images' contents (the others are modelled)."""
    found: dict[ContentDigest, int] = {}
    for image in images:
        for layer in image.layers:
            for e in layer.entries:
                if e.kind is EntryKind.FILE and e.content is not None:
                    found.setdefault(e.content, e.file_bytes)
    return {
        content: ContentChunks(_chunks(draw, n), _chunks(draw, n))
        for content, n in found.items()
        if n >= ALWAYS_LISTED_FROM or draw(_BOOL)
    }


@st.composite
def tar_names(draw: st.DrawFn, max_parts: int = 4) -> str:
    """A relative tar name over a few ASCII letters: 1..max_parts components of 1..160
    characters, so that some fit the name field, some split into USTAR prefix + name, some
    need a PAX record (for the size tests)."""
    parts = draw(
        st.lists(st.text("ab01", min_size=1, max_size=160), min_size=1, max_size=max_parts)
    )
    return "/".join(parts)
