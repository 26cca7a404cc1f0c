"""The flattened export of real images, written and gzip-compressed for real, never held whole.

The engine's `flattened_compressed_bytes` apportions each layer's stored bytes to its entries
and adds those the merged view keeps (`entries`): an estimate, far off when the compressor's
work does not split along files (500 KB of zeros next to 500 KB of random data that a later
layer deletes: the estimate keeps the zeros' share of a blob dominated by the random data).
Where the layer blobs are at hand, this module measures instead:

- **the flattened tar**: for each layer of the image, base first, each member the merged
  view shows from that layer (`model.overlay.merged_view`: topmost wins, whiteouts and opaque
  markers applied and dropped), in the layer's tar order, its header written again as Python's
  `tarfile` writes PAX (metadata kept: mode, owners, times, PAX records) and its data copied;
  then the two 512-byte zero blocks. A path a layer's tar holds twice is written twice.
- **compressed** by zlib-ng's deflate in a gzip container at `GZIP_LEVEL` (6: the default of
  zlib and of Go's `compress/gzip`, which Docker, containerd and buildah use; the level an image
  was written at is not recorded in it), streamed in 1 MiB slices of the tar (`FEED_BYTES`):
  only the byte count is kept.

Layers are streamed again (after `read_images` verified them) in 1 MiB pieces; a blob that is
the next layer of several images is read once for all of them (shared bases).
"""

from __future__ import annotations

import tarfile
from collections.abc import Callable, Iterator, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from zlib_ng import zlib_ng

from layersim.errors import ImageFormatError, ModelError
from layersim.model import EntryKind, Image
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

    def __init__(self, level: int) -> None:
        self.level = level
        self.tar_bytes = 0
        self.gzip_bytes = 0
        self._pending = bytearray()
        self._deflate = zlib_ng.compressobj(level, zlib_ng.DEFLATED, GZIP_WBITS)

    def write(self, data: bytes) -> None:
        self.tar_bytes += len(data)
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


def _model_path(info: tarfile.TarInfo) -> str | None:
    """The path the readers gave this member in the model (None: not an entry, or a whiteout
    or opaque marker, which the merged view never shows)."""
    raw = RawMember(0, 0, 0, info.type, info.name, info.linkname, info.size, None)
    if info.isdir() and not raw.name.endswith("/"):
        raw.name += "/"
    fields = member_entry_fields(raw)
    if fields is None:
        return None
    path, kind, _ = fields
    return None if kind in (EntryKind.WHITEOUT, EntryKind.OPAQUE) else path


def _copy_members(file: Readable, plan: LayerPlan, takers: list[tuple[_Export, set[str]]]) -> None:
    """Stream one layer blob; write each member whose path a taker keeps into its export."""
    compression = plan.blob.compression
    if compression is None:
        compression, file = sniffed(file)
    pieces = decompressed_pieces(BlobTap(file, lambda chunk: None), compression)
    stream = _Pieces(pieces)
    with tarfile.open(fileobj=stream, mode="r|", bufsize=COPY_BYTES) as tar:  # type: ignore[call-overload]
        for info in tar:
            path = _model_path(info)
            keeping = [export for export, kept in takers if path is not None and path in kept]
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


def _kept_paths(image: Image) -> list[set[str]]:
    """Per layer of `image`, the paths the merged view takes from it."""
    kept: list[set[str]] = [set() for _ in image.layers]
    for path, (index, _) in merged_view(image.layers).items():
        kept[index].add(path)
    return kept


def measure_flattened(
    plans: Sequence[ImagePlan],
    images: Sequence[Image],
    level: int = GZIP_LEVEL,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, FlattenedSize]:
    """Per image (by name), its flattened export written and compressed (module docstring).

    `plans` and `images` are `read_images`' plans and images, in the same order.
    `progress(done, total)` counts stored layer bytes streamed for this."""
    exports = [_Export(level) for _ in images]
    kept = [_kept_paths(image) for image in images]
    position = [0] * len(images)
    total = sum(layer.blob.stored_bytes for plan in plans for layer in plan.layers)
    done = 0
    while True:
        waiting = [i for i, plan in enumerate(plans) if position[i] < len(plan.layers)]
        if not waiting:
            break
        layer_plan = plans[waiting[0]].layers[position[waiting[0]]]
        group = [i for i in waiting if plans[i].layers[position[i]].key == layer_plan.key]
        takers = [(exports[i], kept[i][position[i]]) for i in group]
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
    return {image.name: export.close() for image, export in zip(images, exports, strict=True)}


def measure_flattened_paths(
    paths: Sequence[Path | str],
    images: Sequence[Image],
    platform: str | None = None,
    level: int = GZIP_LEVEL,
    progress: Callable[[int, int], None] | None = None,
) -> dict[str, FlattenedSize]:
    """`measure_flattened` for the images `read_images(paths, platform)` returned: the paths
    are planned again (manifests and configs only) to find the layer blobs."""
    from layersim.readers import plan_path  # the package imports its modules, not the reverse

    wanted = Platform.parse(platform) if platform else None
    with ExitStack() as stack:
        plans: list[ImagePlan] = []
        for raw in paths:
            source = open_source(Path(raw))
            stack.callback(source.close)
            plans += plan_path(source, Path(raw), wanted)
        read = [[layer.diff_id for layer in image.layers] for image in images]
        planned = [[layer.blob.diff_id for layer in plan.layers] for plan in plans]
        if read != planned:
            raise ImageFormatError("the images changed on disk while they were read")
        return measure_flattened(plans, images, level, progress)
