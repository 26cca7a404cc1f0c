"""Population specs: a fleet written by hand in TOML or JSON, parsed into a `Population`.

A spec lets a user ask what-if questions about a fleet they know (`layersim evaluate SPEC`).
Its form (docs/evaluate.md has the full reference and `examples/fleet.toml` an example):

- `[layers.NAME]`: `files = [{path, size, content?, class?}]`, `deletes = [paths]`,
  `opaque = [dirs]`, `mtime = int` (build time, default 0). The layer's tar holds exactly
  the entries listed (no implicit directories). `content` names the bytes: the same name and
  size are the same bytes (file-level dedup); omitted, the file is unique to that entry.
- `[images]`: `NAME = [layer names, base first]`.
- `[nodes.NAME]`: `images = [...]` (pull order) and `[[nodes.NAME.containers]]` with
  `image`, `name?`, `state?` (running/stopped), `writes = [{path, size}]`,
  `modifies = [path | {path, changed_bytes}]`, `deletes = [paths]`.
- `[registry]`: `push = [image names]` (default: every image, in the order defined).
- `[options]`: `block_bytes`, `driver` ("overlay2" | "block"), `keep_compressed_blobs`.
- `[classes]`: `NAME = ratio` (uncompressed / compressed, >= 1.0), merged into the default
  compressibility classes.

Every key is validated. Any problem raises `SpecError` with a one-line message that starts with
the place, e.g. `layers.app.files[2].size: must be a non-negative integer, got -5` (list
indices count from 0). This module only builds model values; it computes no figure.
"""

from __future__ import annotations

import json
import re
import tomllib
import unicodedata
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any, TypeVar

from layersim.checks import (
    NON_NEGATIVE_INT,
    a_list,
    a_table,
    boolean,
    checked,
    choice,
    describe,
    failure,
    number,
    power_of_two,
)
from layersim.errors import ModelError, SpecError
from layersim.model import (
    WHITEOUT_PREFIX,
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
    normalize_path,
)
from layersim.model.digest import ContentDigest, content_digest
from layersim.model.overlay import View, merged_view
from layersim.model.sizes import (
    DEFAULT_BLOCK_BYTES,
    DEFAULT_CLASS_RATIOS_PERMILLE,
    CompressionModel,
)

SPEC_SUFFIXES = (".toml", ".json")

T = TypeVar("T")

_TOP_KEYS = ("layers", "images", "nodes", "registry", "options", "classes")
_TOP_REQUIRED = ("layers", "images")
_LAYER_KEYS = ("files", "deletes", "opaque", "mtime")
_FILE_KEYS = ("path", "size", "content", "class")
_NODE_KEYS = ("images", "containers")
_CONTAINER_KEYS = ("name", "image", "state", "writes", "modifies", "deletes")
_WRITE_KEYS = ("path", "size")
_MODIFY_KEYS = ("path", "changed_bytes")
_REGISTRY_KEYS = ("push",)
_OPTION_KEYS = ("block_bytes", "driver", "keep_compressed_blobs")
_BARE_KEY = re.compile(r"^[A-Za-z0-9_-]+$")
_CLASS_RATIO = number(1.0, None, "a compression ratio >= 1.0")
_BLOCK_BYTES = power_of_two(1)
# Every figure is counted in signed 64-bit integers (numpy int64, the engine's kernels).
INT64_MAX = 2**63 - 1


# --- reading ---------------------------------------------------------------------------------


def load_spec(path: str | Path) -> Population:
    """Read and parse a spec file (`.toml` or `.json`) into a `Population`.

    Raises `SpecError` (message prefixed with the file name) for a bad spec; `OSError` if the
    file cannot be read.
    """
    source = Path(path)
    try:
        return parse_spec(read_spec_document(source))
    except SpecError as exc:
        raise SpecError(f"{source}: {exc}") from exc


def read_spec_document(path: str | Path) -> dict[str, Any]:
    """The raw document of a spec file, chosen by extension: TOML (tomllib) or JSON.

    JSON objects with a repeated key are flagged so that `parse_spec` can name the place;
    `NaN` and `Infinity` are rejected.
    """
    source = Path(path)
    suffix = source.suffix.lower()
    if suffix not in SPEC_SUFFIXES:
        raise SpecError(f"a spec must be a .toml or .json file, got {source.name!r}")
    data = source.read_bytes()
    if suffix == ".toml":
        try:
            document: Any = tomllib.loads(data.decode("utf-8"))
        except UnicodeDecodeError as exc:
            raise SpecError(f"malformed TOML: not UTF-8 ({exc.reason})") from exc
        except tomllib.TOMLDecodeError as exc:
            raise SpecError(f"malformed TOML: {exc}") from exc
    else:
        try:
            document = json.loads(
                data, object_pairs_hook=_JsonObject.from_pairs, parse_constant=_no_constant
            )
        except ValueError as exc:  # JSONDecodeError, UnicodeDecodeError, _no_constant
            raise SpecError(f"malformed JSON: {exc}") from exc
    return _checked(a_table, document, "")


class _JsonObject(dict[str, Any]):
    """A JSON object that remembers its first repeated key (TOML rejects those itself)."""

    duplicate_key: str | None = None

    @classmethod
    def from_pairs(cls, pairs: list[tuple[str, Any]]) -> _JsonObject:
        obj = cls()
        for key, value in pairs:
            if key in obj and obj.duplicate_key is None:
                obj.duplicate_key = key
            obj[key] = value
        return obj


def _no_constant(name: str) -> Any:
    raise ValueError(f"{name} is not a number a spec accepts")


# --- locations and checks (the value checks are `layersim.checks`, shared with the config) ---


def _key(name: str) -> str:
    return name if _BARE_KEY.match(name) else json.dumps(name, ensure_ascii=False)


def _at(where: str, key: str) -> str:
    return f"{where}.{_key(key)}" if where else _key(key)


def _item(where: str, index: int) -> str:
    return f"{where}[{index}]"


def _place(where: str) -> str:
    return where or "top level"


def _fail(where: str, message: str) -> SpecError:
    return failure(_place(where), message, SpecError)


def _checked(check: Callable[[Any], T], value: Any, where: str) -> T:
    """`check(value)` (a `layersim.checks` check), or a `SpecError` at `where`."""
    return checked(_place(where), check, value, SpecError)


@contextmanager
def _located(where: str) -> Iterator[None]:
    """Re-raise a model invariant violation as a `SpecError` at `where`."""
    try:
        yield
    except ModelError as exc:
        raise _fail(where, str(exc)) from exc


def _table(value: Any, where: str) -> dict[str, Any]:
    _checked(a_table, value, where)
    duplicate = getattr(value, "duplicate_key", None)
    if duplicate is not None:
        raise _fail(where, f"duplicate key {duplicate!r}")
    for key in value:
        _name(key, where, "a key")
    return value


def _keys(
    table: Mapping[str, Any], where: str, allowed: Sequence[str], required: Sequence[str] = ()
) -> None:
    for key in table:
        if key not in allowed:
            raise _fail(where, f"unknown key {key!r} (allowed: {', '.join(sorted(allowed))})")
    for key in required:
        if key not in table:
            raise _fail(where, f"missing key {key!r}")


def _name(value: Any, where: str, what: str = "a name") -> str:
    """A name (of a layer, image, node, container, class or content): a non-empty string
    without control characters, so that every message stays on one line."""
    if not isinstance(value, str):
        raise _fail(where, f"{what} must be a string, got {describe(value)}")
    if not value or any(unicodedata.category(c) == "Cc" for c in value):
        raise _fail(
            where, f"{what} must be a non-empty string without control characters, got {value!r}"
        )
    return value


def _path(value: Any, where: str) -> str:
    """A normalized path inside an image; no component may look like a whiteout."""
    if not isinstance(value, str):
        raise _fail(where, f"a path must be a string, got {describe(value)}")
    with _located(where):
        path = normalize_path(value)
    if any(part.startswith(WHITEOUT_PREFIX) for part in path.split("/")):
        raise _fail(
            where,
            f"path {value!r} has a name starting with {WHITEOUT_PREFIX!r}, which a tar reader "
            "takes for a whiteout (list deleted paths under 'deletes', opaque directories "
            "under 'opaque')",
        )
    return path


def _names(value: Any, where: str, known: Mapping[str, Any], what: str) -> list[str]:
    """A list of distinct names, each naming a known `what`."""
    names: list[str] = []
    first: dict[str, int] = {}
    for index, item in enumerate(_checked(a_list, value, where)):
        here = _item(where, index)
        name = _name(item, here, f"{what} name")
        if name not in known:
            raise _fail(here, f"unknown {what} {name!r}")
        if name in first:
            raise _fail(
                here, f"{what} {name!r} is listed twice (first at {_item(where, first[name])})"
            )
        first[name] = index
        names.append(name)
    return names


# --- the parser ------------------------------------------------------------------------------


@dataclass
class _Parser:
    """State shared while one document is parsed: the compression model that sizes entries
    ([classes] come first), layers and images by spec name, the class and place each named
    content was first given (one content, one class), and each image's merged view (what a
    container of it can modify or delete)."""

    compression: CompressionModel = field(default_factory=CompressionModel)
    layers: dict[str, Layer] = field(default_factory=dict)
    images: dict[str, Image] = field(default_factory=dict)
    content_classes: dict[ContentDigest, tuple[str, str]] = field(default_factory=dict)
    views: dict[str, View] = field(default_factory=dict)

    def classes(self, value: Any, where: str) -> None:
        ratios = dict(DEFAULT_CLASS_RATIOS_PERMILLE)
        for name, ratio in _table(value, where).items():
            here = _at(where, name)
            _checked(_CLASS_RATIO, ratio, here)
            # per-mille, so every size stays an integer; exact, so 1e308 cannot overflow
            ratios[name] = round(Fraction(ratio) * 1000)
        with _located(where):
            self.compression = CompressionModel(class_ratios_permille=ratios)

    def options(self, value: Any, where: str) -> StorageOptions:
        table = _table(value, where)
        _keys(table, where, _OPTION_KEYS)
        block = DEFAULT_BLOCK_BYTES
        if "block_bytes" in table:
            here = _at(where, "block_bytes")
            block = _checked(NON_NEGATIVE_INT, table["block_bytes"], here)
            block = _checked(_BLOCK_BYTES, block, here)
        driver = StorageDriver.OVERLAY2
        if "driver" in table:
            choices = [d.value for d in StorageDriver]
            driver = StorageDriver(_checked(choice(choices), table["driver"], _at(where, "driver")))
        keep = False
        if "keep_compressed_blobs" in table:
            keep = _checked(
                boolean, table["keep_compressed_blobs"], _at(where, "keep_compressed_blobs")
            )
        with _located(where):
            return StorageOptions(block_bytes=block, driver=driver, keep_compressed_blobs=keep)

    def layer(self, name: str, value: Any, where: str) -> Layer:
        table = _table(value, where)
        _keys(table, where, _LAYER_KEYS)
        # path -> (kind, place), to reject a path listed twice or below a file or a whiteout
        listed: dict[str, tuple[EntryKind, str]] = {}
        entries: list[Entry] = []

        def claim(path: str, kind: EntryKind, here: str) -> None:
            previous = listed.get(path)
            if previous is not None:
                raise _fail(here, f"path {path!r} is already listed at {previous[1]}")
            listed[path] = (kind, here)

        files_at = _at(where, "files")
        for index, item in enumerate(_checked(a_list, table.get("files", []), files_at)):
            here = _item(files_at, index)
            entry = self.file(name, item, here)
            claim(entry.path, EntryKind.FILE, here)
            entries.append(entry)
        for key, kind in (("deletes", EntryKind.WHITEOUT), ("opaque", EntryKind.OPAQUE)):
            list_at = _at(where, key)
            for index, item in enumerate(_checked(a_list, table.get(key, []), list_at)):
                here = _item(list_at, index)
                path = _path(item, here)
                claim(path, kind, here)
                with _located(here):
                    entries.append(make_entry(path, kind, compression=self.compression))
        for path, (_, here) in listed.items():
            parent = path
            while "/" in parent:
                parent = parent.rsplit("/", 1)[0]
                above = listed.get(parent)
                if above is not None and above[0] is not EntryKind.OPAQUE:
                    what = "a file" if above[0] is EntryKind.FILE else "deleted"
                    raise _fail(
                        here, f"path {path!r} lies below {parent!r}, which is {what} at {above[1]}"
                    )
        mtime = _checked(NON_NEGATIVE_INT, table.get("mtime", 0), _at(where, "mtime"))
        with _located(where):
            return make_layer(entries, mtime=mtime, name=name, compression=self.compression)

    def file(self, layer_name: str, value: Any, where: str) -> Entry:
        table = _table(value, where)
        _keys(table, where, _FILE_KEYS, required=("path", "size"))
        path = _path(table["path"], _at(where, "path"))
        file_bytes = _checked(NON_NEGATIVE_INT, table["size"], _at(where, "size"))
        content_class = self.compression.default_class
        if "class" in table:
            class_at = _at(where, "class")
            content_class = _name(table["class"], class_at, "a content class")
            if content_class not in self.compression.class_ratios_permille:
                known = ", ".join(sorted(self.compression.class_ratios_permille))
                raise _fail(
                    class_at,
                    f"unknown content class {content_class!r} (known: {known}; add more under [classes])",
                )
        if "content" in table:
            content_at = _at(where, "content")
            content_name = _name(table["content"], content_at, "a content name")
            content = content_digest(content_name, file_bytes)
            first = self.content_classes.setdefault(content, (content_class, content_at))
            if first[0] != content_class:
                raise _fail(
                    _at(where, "class"),
                    f"content {content_name!r} of {file_bytes} bytes is class {content_class!r} "
                    f"here but {first[0]!r} at {first[1]}; the same bytes have one class",
                )
        else:
            # NUL never occurs in a spec name or a normalized path, so this name is unique to
            # this entry and can equal no content name a user writes.
            content = content_digest("\0".join(("unique", layer_name, path)), file_bytes)
        with _located(where):
            return make_entry(
                path,
                EntryKind.FILE,
                file_bytes,
                content,
                content_class,
                compression=self.compression,
            )

    def image(self, name: str, value: Any, where: str) -> Image:
        layers: list[Layer] = []
        items = _checked(a_list, value, where)
        if not items:
            raise _fail(where, "an image needs at least one layer")
        for index, item in enumerate(items):
            here = _item(where, index)
            layer_name = _name(item, here, "a layer name")
            if layer_name not in self.layers:
                raise _fail(here, f"unknown layer {layer_name!r}")
            layers.append(self.layers[layer_name])
        return Image(name=name, layers=tuple(layers))

    def view(self, image_name: str) -> View:
        if image_name not in self.views:
            self.views[image_name] = merged_view(self.images[image_name].layers)
        return self.views[image_name]

    def node(self, name: str, value: Any, where: str) -> Node:
        table = _table(value, where)
        _keys(table, where, _NODE_KEYS)
        images_at = _at(where, "images")
        pulled = _names(table.get("images", []), images_at, self.images, "image")
        containers: list[Container] = []
        first: dict[str, str] = {}
        containers_at = _at(where, "containers")
        for index, item in enumerate(_checked(a_list, table.get("containers", []), containers_at)):
            here = _item(containers_at, index)
            container = self.container(name, index, item, here, pulled, images_at)
            if container.name in first:
                raise _fail(
                    here,
                    f"container name {container.name!r} is already used at {first[container.name]}",
                )
            first[container.name] = here
            containers.append(container)
        return Node(name=name, images=tuple(pulled), containers=tuple(containers))

    def container(
        self, node: str, index: int, value: Any, where: str, pulled: Sequence[str], images_at: str
    ) -> Container:
        table = _table(value, where)
        _keys(table, where, _CONTAINER_KEYS, required=("image",))
        image_at = _at(where, "image")
        image = _name(table["image"], image_at, "an image name")
        if image not in self.images:
            raise _fail(image_at, f"unknown image {image!r}")
        if image not in pulled:
            raise _fail(
                image_at, f"image {image!r} is not on node {node!r} (add it to {images_at})"
            )
        name = f"{node}-{index}"
        if "name" in table:
            name = _name(table["name"], _at(where, "name"), "a container name")
        state = ContainerState.RUNNING
        if "state" in table:
            choices = [s.value for s in ContainerState]
            state = ContainerState(_checked(choice(choices), table["state"], _at(where, "state")))

        view = self.view(image)
        touched: dict[str, str] = {}

        def touch(path: str, here: str) -> None:
            if path in touched:
                raise _fail(here, f"path {path!r} is already touched at {touched[path]}")
            touched[path] = here

        writes: list[FileWrite] = []
        writes_at = _at(where, "writes")
        for i, item in enumerate(_checked(a_list, table.get("writes", []), writes_at)):
            here = _item(writes_at, i)
            write = _table(item, here)
            _keys(write, here, _WRITE_KEYS, required=("path", "size"))
            path = _path(write["path"], _at(here, "path"))
            touch(path, here)
            writes.append(
                FileWrite(
                    path=path,
                    file_bytes=_checked(NON_NEGATIVE_INT, write["size"], _at(here, "size")),
                )
            )

        modifies: list[FileModify] = []
        modifies_at = _at(where, "modifies")
        for i, item in enumerate(_checked(a_list, table.get("modifies", []), modifies_at)):
            here = _item(modifies_at, i)
            changed: int | None = None
            if isinstance(item, str):
                path = _path(item, here)
            else:
                modify = _table(item, here)
                _keys(modify, here, _MODIFY_KEYS, required=("path",))
                path = _path(modify["path"], _at(here, "path"))
                if "changed_bytes" in modify:
                    changed = _checked(
                        NON_NEGATIVE_INT, modify["changed_bytes"], _at(here, "changed_bytes")
                    )
            lower = view.get(path)
            if lower is None or lower[1].kind is not EntryKind.FILE:
                raise _fail(here, f"image {image!r} has no file {path!r} to modify")
            touch(path, here)
            modifies.append(FileModify(path=path, changed_bytes=changed))

        deletes: list[str] = []
        deletes_at = _at(where, "deletes")
        for i, item in enumerate(_checked(a_list, table.get("deletes", []), deletes_at)):
            here = _item(deletes_at, i)
            path = _path(item, here)
            if path not in view:
                raise _fail(
                    here,
                    f"image {image!r} has no path {path!r} to delete "
                    "(its layers list no entry there)",
                )
            touch(path, here)
            deletes.append(path)

        return Container(
            name=name,
            image=image,
            state=state,
            writes=tuple(writes),
            modifies=tuple(modifies),
            deletes=tuple(deletes),
        )


def parse_spec(document: Mapping[str, Any]) -> Population:
    """Validate a spec document (as `tomllib` or `json` returns it) and build its `Population`.

    Images keep the order they are defined in; layers are named by their spec names.
    """
    top = _table(document, "")
    _keys(top, "", _TOP_KEYS, required=_TOP_REQUIRED)
    parser = _Parser()
    if "classes" in top:
        parser.classes(top["classes"], "classes")
    options = parser.options(top.get("options", {}), "options")

    for name, value in _table(top["layers"], "layers").items():
        parser.layers[name] = parser.layer(name, value, _at("layers", name))
    for name, value in _table(top["images"], "images").items():
        parser.images[name] = parser.image(name, value, _at("images", name))

    push_order: tuple[str, ...] | None = None
    if "registry" in top:
        registry = _table(top["registry"], "registry")
        _keys(registry, "registry", _REGISTRY_KEYS)
        if "push" in registry:
            push_order = tuple(_names(registry["push"], "registry.push", parser.images, "image"))

    nodes = [
        parser.node(name, value, _at("nodes", name))
        for name, value in _table(top.get("nodes", {}), "nodes").items()
    ]
    with _located("spec"):
        population = Population(
            images=tuple(parser.images.values()),
            nodes=tuple(nodes),
            push_order=push_order,
            options=options,
            compression=parser.compression,
        )
    check_totals(population)
    return population


def figure_bound_bytes(population: Population) -> int:
    """An upper bound, in bytes, of every figure `evaluate` computes for `population` (exact
    Python integers, so it cannot overflow itself).

    Each figure adds up bytes of layers (tar, compressed, on disk: a file's disk bytes exceed
    its file bytes by less than a block) and of container writes, each counted at most once per
    image that lists the layer, per node that pulls it and per container. So the bound is
    (layer bytes + write bytes) x (layer references + 1) x (nodes + containers + 1), with layer
    bytes = sum over distinct layers of tar + compressed + entries x block bytes, and write
    bytes = sum over containers of (written + changed bytes + a block per path touched)."""
    block = population.options.block_bytes
    layers = {id(layer): layer for image in population.images for layer in image.layers}
    layer_bytes = sum(
        layer.tar_bytes + layer.compressed_bytes + len(layer.entries) * block
        for layer in layers.values()
    )
    containers = [c for node in population.nodes for c in node.containers]
    write_bytes = sum(
        sum(w.file_bytes for w in c.writes)
        + sum(m.changed_bytes or 0 for m in c.modifies)
        + block * (len(c.writes) + len(c.modifies) + len(c.deletes))
        for c in containers
    )
    references = sum(len(image.layers) for image in population.images)
    return (
        (layer_bytes + write_bytes)
        * (references + 1)
        * (len(population.nodes) + len(containers) + 1)
    )


def check_totals(population: Population) -> None:
    """Raise `SpecError` if a figure of `population` might not fit in a signed 64-bit count
    (`figure_bound_bytes` above `INT64_MAX`): sizes of exabytes, whose sums would wrap to
    negative numbers. Conservative: a population refused here is one whose sizes add up to
    more than INT64_MAX / (references x pullers), about 9.2e18 bytes over both."""
    bound = figure_bound_bytes(population)
    if bound > INT64_MAX:
        raise SpecError(
            f"sizes too large: the figures of this spec could reach {bound:.3g} bytes, more "
            f"than a 64-bit count holds ({INT64_MAX:.3g}); use smaller sizes"
        )
