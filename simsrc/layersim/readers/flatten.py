"""The flattened export of real images, and the layer that combining some of an image's layers
builds, written and gzip-compressed for real, never held whole.

The engine's `flattened_compressed_bytes` apportions each layer's stored bytes to its entries
and adds those the merged view keeps (`entries`): an estimate, far off when the compressor's
work does not split along files (500 KB of zeros next to 500 KB of random data that a later
layer deletes: the estimate keeps the zeros' share of a blob dominated by the random data).
Where the layer blobs are at hand, this module measures instead. Both tars are a `LayerRange`
of an image, written by one code path (`measure_ranges`):

- **the flattened tar** (`flattened_range`, layers [0, n)): for each layer of the image, base
  first, each member the merged view shows from that layer (`model.overlay.merged_view`:
  topmost wins, whiteouts and opaque markers applied and dropped), in the layer's tar order;
  then the two 512-byte zero blocks. A path a layer's tar holds twice is written twice.
- **a combined layer** (`combined_range`, layers [start, stop)): the members of the one layer
  `advice.combine.combine_layers` builds, each copied from the topmost layer of the run that
  holds it (entries a later layer of the run hides are dropped; whiteouts and opaque markers
  that hide a path of the layers below `start` are kept, as their members; with `start` = 0
  there are none, and the layer is the flattened tar). An opaque marker the combination makes
  that no layer of the run holds (a directory made again where the run deleted one) is
  written first, as an empty regular file `DIR/.wh..wh..opq` (mode 0644, time 0).
- every copied member's header is written again as Python's `tarfile` writes PAX (metadata
  kept: mode, owners, times, PAX records) and its data copied.
- **compressed** by zlib-ng's deflate in a gzip container at `GZIP_LEVEL` (6: the default of
  zlib and of Go's `compress/gzip`, which Docker, containerd and buildah use; the level an image
  was written at is not recorded in it), streamed in 1 MiB slices of the tar (`FEED_BYTES`):
  only the byte count is kept.

Layers are streamed again (after `read_images` verified them) in 1 MiB pieces; a blob that is
the next layer of several ranges is read once for all of them (shared bases).
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack, contextmanager
from dataclasses import dataclass
from pathlib import Path

from zlib_ng import zlib_ng

from layersim.errors import ImageFormatError, ModelError
from layersim.model import EntryKind, Image, Layer
from layersim.model.image import tar_name
from layersim.model.overlay import merged_view
from layersim.model.sizes import TAR_END_BYTES
from layersim.readers.decompress import BlobTap, Readable, decompressed_pieces, sniffed
from layersim.readers.entries import member_entry_fields
from layersim.readers.plan import ImagePlan, LayerPlan, Platform
from layersim.readers.source import open_source
from layersim.readers.tar_stream import RawMember

GZIP_LEVEL = 6
GZIP_WBITS = 31  # deflate in a gzip container (header and CRC trailer)
COPY_BYTES = 1 << 20
FEED_BYTES = 1 << 20  # the slices the compressor is fed (see `_Export`)


@dataclass(frozen=True, slots=True)
class FlattenedSize:
    """One image's flattened export as written here: `tar_bytes` of the tar, `gzip_bytes` of
    it compressed at `gzip_level` (zlib-ng)."""

    tar_bytes: int
    gzip_bytes: int
    gzip_level: int = GZIP_LEVEL


class _Export:
    """One image's flattened tar being written: counted, and compressed in `FEED_BYTES` slices.

    zlib-ng's output depends on how its input is cut into calls (bytes differ by a few per
    MiB); feeding fixed slices of the tar stream makes `gzip_bytes` a function of the tar
    alone, whatever the layers' member boundaries: compressing the same tar in the same slices
    gives the same bytes (the tests do)."""

    def __init__(self, level: int, sink: Callable[[bytes], None] | None = None) -> None:
        self.level = level
        self._sink = sink
        self.tar_bytes = 0
        self.gzip_bytes = 0
        self._pending = bytearray()
        self._deflate = zlib_ng.compressobj(level, zlib_ng.DEFLATED, GZIP_WBITS)

    def write(self, data: bytes) -> None:
        self.tar_bytes += len(data)
        if self._sink is not None:
            self._sink(data)
        self._pending += data
        while len(self._pending) >= FEED_BYTES:
            self.gzip_bytes += len(self._deflate.compress(self._pending[:FEED_BYTES]))
            del self._pending[:FEED_BYTES]

    def close(self) -> FlattenedSize:
        self.write(bytes(TAR_END_BYTES))
        self.gzip_bytes += len(self._deflate.compress(self._pending))
        self.gzip_bytes += len(self._deflate.flush())
        return FlattenedSize(self.tar_bytes, self.gzip_bytes, self.level)


class _Pieces:
    """The decompressed tar of a blob as a file object, for `tarfile`'s stream mode: reads
    are served from the current piece by offset (no copy of what remains of it)."""

    def __init__(self, pieces: Iterator[tuple[bytes, int]]) -> None:
        self._pieces = pieces
        self._piece = b""
        self._at = 0

    def read(self, n: int = -1) -> bytes:
        out: list[bytes] = []
        wanted = n
        while wanted != 0:
            if self._at == len(self._piece):
                piece = next(self._pieces, None)
                if piece is None:
                    break
                self._piece, self._at = piece[0], 0
                continue
            end = len(self._piece) if wanted < 0 else min(len(self._piece), self._at + wanted)
            out.append(self._piece[self._at : end])
            if wanted > 0:
                wanted -= end - self._at
            self._at = end
        return b"".join(out)


def _model_key(info: tarfile.TarInfo) -> tuple[str, EntryKind] | None:
    """The path and kind the readers gave this member in the model (None: not an entry)."""
    raw = RawMember(0, 0, 0, info.type, info.name, info.linkname, info.size, None)
    if info.isdir() and not raw.name.endswith("/"):
        raw.name += "/"
    fields = member_entry_fields(raw)
    return None if fields is None else (fields[0], fields[1])


def _copy_members(
    file: Readable, plan: LayerPlan, takers: list[tuple[_Export, frozenset[MemberKey]]]
) -> None:
    """Stream one layer blob; write each member a taker keeps into its export."""
    compression = plan.blob.compression
    if compression is None:
        compression, file = sniffed(file)
    pieces = decompressed_pieces(BlobTap(file, lambda chunk: None), compression)
    stream = _Pieces(pieces)
    with tarfile.open(fileobj=stream, mode="r|", bufsize=COPY_BYTES) as tar:  # type: ignore[call-overload]
        for info in tar:
            key = _model_key(info)
            keeping = [export for export, kept in takers if key is not None and key in kept]
            if not keeping:
                continue
            header = info.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "surrogateescape")
            for export in keeping:
                export.write(header)
            if info.isreg() and info.size:
                data = tar.extractfile(info)
                assert data is not None
                while chunk := data.read(COPY_BYTES):
                    for export in keeping:
                        export.write(chunk)
                padding = bytes(-info.size % tarfile.BLOCKSIZE)
                for export in keeping:
                    export.write(padding)


MemberKey = tuple[str, EntryKind]  # a member as the model names it: path and kind


@dataclass(frozen=True, slots=True)
class LayerRange:
    """One tar to write from layers [start, stop) of the image `image` (an index into the
    plans): `members[i]`, the members copied from layer start + i; `markers`, tar names of
    opaque markers no layer holds, written first (module docstring)."""

    image: int
    start: int
    stop: int
    members: tuple[frozenset[MemberKey], ...]
    markers: tuple[str, ...] = ()


def flattened_range(index: int, image: Image) -> LayerRange:
    """The flattened export of `image` (the `index`-th of the plans) as a range: per layer,
    the paths the merged view takes from it."""
    kept: list[set[MemberKey]] = [set() for _ in image.layers]
    for path, (layer, entry) in merged_view(image.layers).items():
        kept[layer].add((path, entry.kind))
    return LayerRange(index, 0, len(image.layers), tuple(frozenset(k) for k in kept))


def combined_range(
    index: int, layers: Sequence[Layer], start: int, stop: int, combined: Layer
) -> LayerRange:
    """The tar of `combined`, the layer that combining `layers[start:stop]` builds
    (`advice.combine.combine_layers`): each of its entries taken from the topmost layer of
    the run that holds the same entry; an entry none holds (an opaque marker the combination
    makes) is a marker written first. Raises `ModelError` for any other entry none holds."""
    held = [{(e.path, e.kind): e for e in layers[i].entries} for i in range(start, stop)]
    kept: list[set[MemberKey]] = [set() for _ in held]
    markers: list[str] = []
    for entry in combined.entries:
        key = (entry.path, entry.kind)
        top = next((i for i in range(len(held) - 1, -1, -1) if held[i].get(key) == entry), None)
        if top is not None:
            kept[top].add(key)
        elif entry.kind is EntryKind.OPAQUE:
            markers.append(tar_name(entry.path, entry.kind))
        else:
            raise ModelError(f"{entry.path!r} of the combined layer is in no layer it combines")
    return LayerRange(index, start, stop, tuple(frozenset(k) for k in kept), tuple(markers))


def _marker_header(name: str) -> bytes:
    info = tarfile.TarInfo(name)
    info.mode, info.mtime = 0o644, 0
    return info.tobuf(tarfile.PAX_FORMAT, tarfile.ENCODING, "surrogateescape")


def measure_ranges(
    plans: Sequence[ImagePlan],
    ranges: Sequence[LayerRange],
    level: int = GZIP_LEVEL,
    progress: Callable[[int, int], None] | None = None,
    sinks: Sequence[Callable[[bytes], None]] | None = None,
) -> list[FlattenedSize]:
    """Per range, its tar written and compressed (module docstring), in the order given.
    `progress(done, total)` counts stored layer bytes streamed for this; `sinks`, one per
    range, are given the tar's bytes as they are written (the tests read the tar)."""
    exports = [_Export(level, sink) for sink in (sinks or [None] * len(ranges))]
    for export, wanted in zip(exports, ranges, strict=True):
        for marker in wanted.markers:
            export.write(_marker_header(marker))
    position = [wanted.start for wanted in ranges]

    def layer_of(i: int) -> LayerPlan:
        return plans[ranges[i].image].layers[position[i]]

    total = sum(
        plans[r.image].layers[i].blob.stored_bytes for r in ranges for i in range(r.start, r.stop)
    )
    done = 0
    while True:
        waiting = [i for i, wanted in enumerate(ranges) if position[i] < wanted.stop]
        if not waiting:
            break
        layer_plan = layer_of(waiting[0])
        group = [i for i in waiting if layer_of(i).key == layer_plan.key]
        takers = [(exports[i], ranges[i].members[position[i] - ranges[i].start]) for i in group]
        try:
            with layer_plan.source.open(layer_plan.member) as file:
                _copy_members(file, layer_plan, takers)
        except (ImageFormatError, ModelError, tarfile.TarError, ValueError) as exc:
            raise ImageFormatError(f"{layer_plan.blob.where}: {exc}") from None
        for i in group:
            position[i] += 1
            done += layer_plan.blob.stored_bytes
        if progress is not None:
            progress(done, total)
    return [export.close() for export in exports]


def measure_flattened(
    plans: Sequence[ImagePlan],
    images: Sequence[Image],
    level: int = GZIP_LEVEL,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, FlattenedSize]:
    """Per image (by name), its flattened export written and compressed (module docstring).

    `plans` and `images` are `read_images`' plans and images, in the same order.
    `progress(done, total)` counts stored layer bytes streamed for this."""
    ranges = [flattened_range(i, image) for i, image in enumerate(images)]
    sizes = measure_ranges(plans, ranges, level, progress)
    return {image.name: size for image, size in zip(images, sizes, strict=True)}


@contextmanager
def planned(
    paths: Sequence[Path | str], images: Sequence[Image], platform: str | None = None
) -> Iterator[list[ImagePlan]]:
    """The plans of the images `read_images(paths, platform)` returned, their sources open
    while in the block: the paths are planned again (manifests and configs only) to find the
    layer blobs."""
    from layersim.readers import plan_path  # the package imports its modules, not the reverse

    wanted = Platform.parse(platform) if platform else None
    with ExitStack() as stack:
        plans: list[ImagePlan] = []
        for raw in paths:
            source = open_source(Path(raw))
            stack.callback(source.close)
            plans += plan_path(source, Path(raw), wanted)
        read = [[layer.diff_id for layer in image.layers] for image in images]
        planned_ids = [[layer.blob.diff_id for layer in plan.layers] for plan in plans]
        if read != planned_ids:
            raise ImageFormatError("the images changed on disk while they were read")
        yield plans


def measure_flattened_paths(
    paths: Sequence[Path | str],
    images: Sequence[Image],
    platform: str | None = None,
    level: int = GZIP_LEVEL,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, FlattenedSize]:
    """`measure_flattened` for the images `read_images(paths, platform)` returned."""
    with planned(paths, images, platform) as plans:
        return measure_flattened(plans, images, level, progress)


def measure_combined_paths(
    paths: Sequence[Path | str],
    images: Sequence[Image],
    combined: Sequence[tuple[str, int, int, Layer]],
    platform: str | None = None,
    level: int = GZIP_LEVEL,
    progress: Callable[[int, int], None] | None = None,
) -> list[FlattenedSize]:
    """Per (image name, start, stop, combined layer), the tar of the layer that combining
    that image's layers [start, stop) builds, written and compressed (`combined_range`), for
    the images `read_images(paths, platform)` returned; each blob read once for all."""
    index = {image.name: i for i, image in enumerate(images)}
    ranges = [
        combined_range(index[name], images[index[name]].layers, start, stop, layer)
        for name, start, stop, layer in combined
    ]
    with planned(paths, images, platform) as plans:
        return measure_ranges(plans, ranges, level, progress)
