"""Read one layer blob as a stream: verify its two identities and turn it into a `Layer`.

A layer blob is read once, front to back, in chunks (`decompress`):

- sha256 of the bytes as stored is the **blob digest** (checked against the manifest's
  descriptor, with the byte count);
- they are decompressed (gzip, zstd or none), and sha256 of the decompressed tar is the
  **DiffID** (checked against the image config's `rootfs.diff_ids`);
- the tar is parsed as it passes (`tar_stream`), every regular file's bytes hashed into its
  `ContentDigest` (and, when asked, cut into chunks: `chunking`), and its members become the layer's entries (`entries`). Nothing is
  extracted and no layer, nor any file, is ever held whole in memory.

Blobs of `THREADED_MIN_BYTES` or more run as a pipeline on threads (read + decompress | blob
digest + DiffID | tar + file digests): hashlib and zlib/zstd release the GIL on large buffers,
so the stages use more than one core (and distinct blobs are read several at a time: `blobs`).
An uncompressed blob is its own tar: its DiffID is its blob digest, hashed once.

Every failure is an `ImageFormatError` naming the blob (`LayerBlob.where`).
"""

from __future__ import annotations

import hashlib
import queue
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass

from layersim.errors import ImageFormatError, ModelError
from layersim.model import Layer, check_layer_entries
from layersim.model.digest import BlobDigest, DiffID
from layersim.model.sizes import CompressionModel
from layersim.readers.chunking import Chunking
from layersim.readers.decompress import (
    BlobTap,
    Compression,
    Readable,
    decompressed_pieces,
    sniffed,
)
from layersim.readers.entries import build_entries
from layersim.readers.tar_stream import TarScanner

THREADED_MIN_BYTES = 4 << 20  # blobs smaller than this are read on the calling thread
QUEUE_PIECES = 4  # pieces in flight between pipeline stages (bounds memory)


@dataclass(frozen=True, slots=True)
class LayerBlob:
    """What is known of a layer blob before it is read, to be verified while reading it.

    `where` names the blob in messages (e.g. `blob sha256:ab.. in ./layout`). `digest` is the
    descriptor's (None where the format declares none, as a legacy docker-archive, whose layer
    is identified by its DiffID alone); `stored_bytes` is the descriptor's size, or the stored
    file's where there is no descriptor. `name` labels the layer (default: 12 hex of the DiffID).
    """

    where: str
    compression: Compression | None  # None: sniff from the first bytes
    digest: BlobDigest | None
    stored_bytes: int
    diff_id: DiffID
    name: str = ""


@dataclass(slots=True)
class _StreamOffsets:
    """How far the stream has come, after each decompressed piece: the tar bytes out and the
    stored bytes in (`entries.build_entries` interpolates entries' compressed bytes in them)."""

    tar_ends: list[int]
    stored_ends: list[int]
    tar_bytes: int = 0
    stored_bytes: int = 0


class _Cancelled(Exception):
    """Raised inside a pipeline thread once the caller has given up."""


_END = object()


class _Pipeline:
    """Reading a blob on three threads: `decode` reads and decompresses, `digest` hashes (the
    stored chunks for the blob digest, the decompressed pieces for the DiffID), and the
    caller's thread parses the tar and hashes the files. Each stage gets a core's worth of
    work; bounded queues keep at most a few MiB in flight."""

    def __init__(self) -> None:
        self.cancel = threading.Event()
        self.to_digest: queue.Queue[object] = queue.Queue(maxsize=2 * QUEUE_PIECES)
        self.to_tar: queue.Queue[object] = queue.Queue(maxsize=QUEUE_PIECES)
        self.errors: list[BaseException] = []

    def put(self, q: queue.Queue[object], item: object) -> None:
        while True:
            if self.cancel.is_set():
                raise _Cancelled
            try:
                q.put(item, timeout=0.05)
                return
            except queue.Full:
                pass

    def hash_later(self, hasher: hashlib._Hash) -> Callable[[bytes], None]:
        """A callable that queues its bytes for `hasher` on the digest thread, in order."""
        return lambda data: self.put(self.to_digest, (hasher, data))

    def run(
        self,
        pieces: Iterator[tuple[bytes, int]],
        diff_hash: hashlib._Hash | None,
        consume: Callable[[bytes, int], None],
    ) -> None:
        def decode() -> None:
            try:
                for piece, consumed in pieces:
                    if diff_hash is not None and piece:
                        self.put(self.to_digest, (diff_hash, piece))
                    self.put(self.to_tar, (piece, consumed))
            except _Cancelled:
                return
            except BaseException as exc:  # re-raised on the caller's thread
                self.errors.append(exc)
            for q in (self.to_digest, self.to_tar):
                try:
                    self.put(q, _END)
                except _Cancelled:
                    return

        def digest() -> None:
            while True:
                try:
                    item = self.to_digest.get(timeout=0.05)
                except queue.Empty:
                    if self.cancel.is_set():
                        return
                    continue
                if item is _END:
                    return
                hasher, data = item  # type: ignore[misc]
                hasher.update(data)

        workers = [threading.Thread(target=decode, daemon=True)]
        workers.append(threading.Thread(target=digest, daemon=True))
        for worker in workers:
            worker.start()
        try:
            while True:
                item = self.to_tar.get()
                if item is _END:
                    break
                piece, consumed = item  # type: ignore[misc]
                consume(piece, consumed)
        except BaseException:
            self.cancel.set()
            raise
        finally:
            for worker in workers:
                worker.join()
        if self.errors:
            raise self.errors[0]


def read_layer(
    file: Readable,
    blob: LayerBlob,
    compression_model: CompressionModel | None = None,
    on_bytes: Callable[[int], None] | None = None,
    chunking: Chunking | None = None,
) -> Layer:
    """Stream one stored layer blob into a `Layer`, verifying its digest, size and DiffID;
    with `chunking`, its regular files are cut into chunks too (collected there).

    `on_bytes(n)` is called on the calling thread as every `n` stored bytes are processed.
    Every failure is an `ImageFormatError` that names the blob.
    """
    compression_model = compression_model or CompressionModel()
    try:
        return _read_layer(file, blob, compression_model, on_bytes, chunking)
    except ImageFormatError as exc:
        raise ImageFormatError(f"{blob.where}: {exc}") from None
    except (ValueError, ModelError) as exc:
        raise ImageFormatError(f"{blob.where}: {exc}") from None


def _read_layer(
    file: Readable,
    blob: LayerBlob,
    compression_model: CompressionModel,
    on_bytes: Callable[[int], None] | None,
    chunking: Chunking | None,
) -> Layer:
    if blob.compression is None:
        compression, file = sniffed(file)
    else:
        compression = blob.compression
    blob_hash = hashlib.sha256()
    # an uncompressed blob is its own tar: its DiffID is its blob digest, hashed once
    diff_hash = blob_hash if compression is Compression.NONE else hashlib.sha256()
    threaded = blob.stored_bytes >= THREADED_MIN_BYTES
    pipeline = _Pipeline() if threaded else None
    tap = BlobTap(file, pipeline.hash_later(blob_hash) if pipeline else blob_hash.update)
    scanner = TarScanner(chunking)
    offsets = _StreamOffsets([], [])

    def consume(piece: bytes, consumed: int) -> None:
        scanner.feed(piece)
        offsets.tar_bytes += len(piece)
        offsets.stored_bytes += consumed
        offsets.tar_ends.append(offsets.tar_bytes)
        offsets.stored_ends.append(offsets.stored_bytes)
        if on_bytes is not None and consumed:
            on_bytes(consumed)

    pieces = decompressed_pieces(tap, compression)
    separate_diff = diff_hash is not blob_hash
    if pipeline is not None:
        pipeline.run(pieces, diff_hash if separate_diff else None, consume)
    else:
        for piece, consumed in pieces:
            if separate_diff:
                diff_hash.update(piece)
            consume(piece, consumed)

    stored_bytes = tap.read_bytes
    if stored_bytes != blob.stored_bytes:
        raise ImageFormatError(f"{stored_bytes} bytes stored, but {blob.stored_bytes} declared")
    blob_digest = BlobDigest("sha256:" + blob_hash.hexdigest())
    if blob.digest is not None and blob_digest != blob.digest:
        raise ImageFormatError(f"content has digest {blob_digest}, not the declared {blob.digest}")
    scanner.finish()
    diff_id = DiffID("sha256:" + diff_hash.hexdigest())
    if diff_id != blob.diff_id:
        raise ImageFormatError(
            f"uncompressed content has DiffID {diff_id}, but the image config says {blob.diff_id}"
        )
    budget = max(0, stored_bytes - compression_model.blob_overhead_bytes())
    entries = build_entries(scanner.members, budget, (offsets.tar_ends, offsets.stored_ends))
    return Layer(
        entries=check_layer_entries(entries),
        diff_id=diff_id,
        blob_digest=blob_digest,
        tar_bytes=offsets.tar_bytes,
        compressed_bytes=stored_bytes,
        name=blob.name or diff_id[7:19],
    )
