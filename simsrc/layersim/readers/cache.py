"""The content-addressed cache of per-blob analysis: a layer blob read once is never read again.

A layer blob's analysis (its `Layer`: entries, DiffID, tar and compressed bytes) depends only on
its bytes, which its digest names, and on the blob overhead the compression model keeps out of
the entries' compressed bytes. So it is cached under (blob digest, DiffID, overhead bytes, cache
format) in one SQLite file (default `$XDG_CACHE_HOME/layersim/blobs.sqlite`, else
`~/.cache/layersim/blobs.sqlite`) and a later read of the same blob, from a registry or from
disk, takes it from there without opening the blob at all.

What makes it safe to trust:

- only layers read whole and verified (digest, size, DiffID) are stored, after the read has
  succeeded; a failed read stores nothing;
- each row carries the sha256 of its payload, checked on every load; a row that fails the check
  or does not decode is deleted and the blob read again; a file that is not a readable SQLite
  database of this format is removed and rebuilt;
- SQLite's WAL journal and one transaction per store let two runs share the file at once (a
  writer waits for the other, up to `BUSY_TIMEOUT_SECONDS`).

Blobs whose format declares no digest (legacy docker-archive layers) are not cached: their
identity is only known once read. The cache is used on the calling thread only.
"""

from __future__ import annotations

import contextlib
import hashlib
import json
import os
import sqlite3
import struct
import time
import zlib
from array import array
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from layersim.errors import ImageFormatError, ModelError
from layersim.model import Layer
from layersim.model.chunks import Chunk, ChunkSizes, ContentChunks
from layersim.model.digest import BlobDigest, ChunkDigest, ContentDigest, DiffID
from layersim.model.image import Entry, EntryKind

# Bumped whenever the payload layout or what a Layer holds changes: older rows are then ignored.
CACHE_FORMAT = 2
CACHE_FILE = "blobs.sqlite"
BUSY_TIMEOUT_SECONDS = 60.0
_HEADER = struct.Struct("<qqI")  # tar_bytes, compressed_bytes, entry count
_LAYER_KEY = "blob_digest = ? AND diff_id = ? AND overhead_bytes = ?"
_CHUNKS_KEY = "blob_digest = ? AND diff_id = ? AND chunk_sizes = ?"
_INT_FIELDS = ("file_bytes", "tar_bytes", "compressed_bytes", "content_compressed_bytes")
_SCHEMA = """
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS layers (
    blob_digest TEXT NOT NULL,
    diff_id TEXT NOT NULL,
    overhead_bytes INTEGER NOT NULL,
    payload BLOB NOT NULL,
    payload_sha256 TEXT NOT NULL,
    PRIMARY KEY (blob_digest, diff_id, overhead_bytes)
);
CREATE TABLE IF NOT EXISTS layer_chunks (
    blob_digest TEXT NOT NULL,
    diff_id TEXT NOT NULL,
    chunk_sizes TEXT NOT NULL,
    payload BLOB NOT NULL,
    payload_sha256 TEXT NOT NULL,
    PRIMARY KEY (blob_digest, diff_id, chunk_sizes)
);
"""


def default_cache_path() -> Path:
    """`$XDG_CACHE_HOME/layersim/blobs.sqlite`, else `~/.cache/layersim/blobs.sqlite`."""
    root = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(root) / "layersim" / CACHE_FILE


@dataclass(frozen=True, slots=True)
class CacheCounts:
    """What a read took from the cache and what it read: `hits` layer blobs found analysed,
    `blob_reads` blobs streamed, `bytes_read` stored bytes streamed (B)."""

    hits: int
    blob_reads: int
    bytes_read: int


def encode_layer(layer: Layer) -> bytes:
    """A layer's analysis as a compact payload: columns of entries, zlib-compressed."""
    entries = layer.entries
    strings = "\0".join(
        f"{e.path}\0{e.content_class}\0{e.link_target}\0{e.content or ''}" for e in entries
    ).encode()
    kinds = bytes(int(e.kind) for e in entries)
    columns = b"".join(
        array("q", (getattr(e, name) for e in entries)).tobytes() for name in _INT_FIELDS
    )
    head = _HEADER.pack(layer.tar_bytes, layer.compressed_bytes, len(entries))
    return zlib.compress(head + kinds + columns + strings, 6)


def decode_layer(payload: bytes, diff_id: DiffID, blob_digest: BlobDigest, name: str) -> Layer:
    """The layer `encode_layer` wrote; ValueError (or struct/zlib errors) if malformed."""
    data = zlib.decompress(payload)
    tar_bytes, compressed_bytes, count = _HEADER.unpack_from(data)
    offset = _HEADER.size
    kinds = data[offset : offset + count]
    offset += count
    columns = []
    for _ in _INT_FIELDS:
        column = array("q")
        column.frombytes(data[offset : offset + 8 * count])
        columns.append(column)
        offset += 8 * count
    strings = data[offset:].decode().split("\0") if count else []
    if len(kinds) != count or len(strings) != 4 * count or any(len(c) != count for c in columns):
        raise ValueError("payload length does not match its entry count")
    entries = tuple(
        Entry(
            path=strings[4 * i],
            kind=EntryKind(kinds[i]),
            file_bytes=columns[0][i],
            content=ContentDigest(strings[4 * i + 3]) if strings[4 * i + 3] else None,
            content_class=strings[4 * i + 1],
            link_target=strings[4 * i + 2],
            tar_bytes=columns[1][i],
            compressed_bytes=columns[2][i],
            content_compressed_bytes=columns[3][i],
        )
        for i in range(count)
    )
    return Layer(
        entries=entries,
        diff_id=diff_id,
        blob_digest=blob_digest,
        tar_bytes=tar_bytes,
        compressed_bytes=compressed_bytes,
        name=name,
    )


def sizes_key(sizes: ChunkSizes) -> str:
    """The chunkers' parameters as the cache keys them: `min/avg/max/fixed` bytes."""
    return f"{sizes.cdc_min_bytes}/{sizes.cdc_avg_bytes}/{sizes.cdc_max_bytes}/{sizes.fixed_bytes}"


def encode_chunks(chunks: Mapping[ContentDigest, ContentChunks]) -> bytes:
    """The chunks of a layer's contents as a compact payload: JSON of
    `{content: [[cdc chunks], [fixed chunks]]}`, each chunk `[digest, file, compressed bytes]`,
    zlib-compressed."""
    doc = {
        str(content): [
            [[str(c.digest), c.file_bytes, c.compressed_bytes] for c in found.cdc],
            [[str(c.digest), c.file_bytes, c.compressed_bytes] for c in found.fixed],
        ]
        for content, found in chunks.items()
    }
    return zlib.compress(json.dumps(doc, separators=(",", ":")).encode(), 6)


def decode_chunks(payload: bytes) -> dict[ContentDigest, ContentChunks]:
    """The chunks `encode_chunks` wrote; ValueError (or zlib/JSON errors) if malformed."""
    doc = json.loads(zlib.decompress(payload))
    if not isinstance(doc, dict):
        raise ValueError("chunk payload is not a table")
    return {
        ContentDigest(content): ContentChunks(
            cdc=tuple(Chunk(ChunkDigest(d), int(f), int(c)) for d, f, c in cdc),
            fixed=tuple(Chunk(ChunkDigest(d), int(f), int(c)) for d, f, c in fixed),
        )
        for content, (cdc, fixed) in doc.items()
    }


class LayerCache:
    """The cache file at `path`, opened (created, or rebuilt if unreadable)."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self.rebuilt = False  # whether a corrupt file or row was found and dropped
        try:
            path.parent.mkdir(parents=True, exist_ok=True)
        except OSError as exc:
            raise ImageFormatError(f"cache {path}: cannot create its directory: {exc}") from None
        try:
            self._db = self._open_when_free()
        except sqlite3.OperationalError as exc:  # busy or unreadable for now: not corrupt
            raise ImageFormatError(f"cache {path}: cannot be opened: {exc}") from None
        except sqlite3.DatabaseError:
            self._remove()
            self.rebuilt = True
            try:
                self._db = self._open()
            except sqlite3.Error as exc:
                raise ImageFormatError(f"cache {path}: cannot be rebuilt: {exc}") from None
        except sqlite3.Error as exc:
            raise ImageFormatError(f"cache {path}: cannot be opened: {exc}") from None

    def _open_when_free(self) -> sqlite3.Connection:
        """`_open`, retried while another run holds the file: switching to WAL and creating the
        tables take locks SQLite's busy handler does not always wait for, and a lock is no
        sign of corruption (removing a file another run has mapped would crash it)."""
        deadline = time.monotonic() + BUSY_TIMEOUT_SECONDS
        while True:
            try:
                return self._open()
            except sqlite3.OperationalError as exc:
                busy = "locked" in str(exc) or "busy" in str(exc)
                if not busy or time.monotonic() >= deadline:
                    raise
                time.sleep(0.05)

    def _open(self) -> sqlite3.Connection:
        db = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_SECONDS, isolation_level=None)
        try:
            db.execute("PRAGMA journal_mode=WAL")
            db.executescript(_SCHEMA)
            row = db.execute("SELECT value FROM meta WHERE key = 'format'").fetchone()
            if row is None:
                db.execute("INSERT OR IGNORE INTO meta VALUES ('format', ?)", (str(CACHE_FORMAT),))
            elif row[0] != str(CACHE_FORMAT):
                with db:
                    db.execute("BEGIN IMMEDIATE")
                    db.execute("DELETE FROM layers")
                    db.execute("DELETE FROM layer_chunks")
                    db.execute(
                        "UPDATE meta SET value = ? WHERE key = 'format'", (str(CACHE_FORMAT),)
                    )
            return db
        except BaseException:
            db.close()
            raise

    def _remove(self) -> None:
        for suffix in ("", "-wal", "-shm"):
            with contextlib.suppress(FileNotFoundError):
                os.unlink(f"{self.path}{suffix}")

    def _payload(self, table: str, where: str, key: tuple[object, ...]) -> bytes | None:
        """The payload of `table`'s row at `key` (`where` names the key's columns), checked
        against its sha256; None if absent, or if corrupt (the row is then dropped)."""
        try:
            row = self._db.execute(
                f"SELECT payload, payload_sha256 FROM {table} WHERE {where}", key
            ).fetchone()
        except sqlite3.OperationalError as exc:
            raise ImageFormatError(f"cache {self.path}: cannot be read: {exc}") from None
        except sqlite3.DatabaseError:
            self._reset()
            return None
        if row is None:
            return None
        payload, checksum = row
        if isinstance(payload, bytes) and hashlib.sha256(payload).hexdigest() == checksum:
            return payload
        self._drop(table, where, key)
        return None

    def _drop(self, table: str, where: str, key: tuple[object, ...]) -> None:
        """Delete a row found corrupt: the blob is read again and the row rewritten."""
        self.rebuilt = True
        with contextlib.suppress(sqlite3.Error):
            self._db.execute(f"DELETE FROM {table} WHERE {where}", key)

    def _store_rows(self, table: str, rows: list[tuple[object, ...]]) -> None:
        """Insert (key..., payload) rows with their payload's sha256, in one transaction."""
        rows = [(*row, hashlib.sha256(row[-1]).hexdigest()) for row in rows]  # type: ignore[arg-type]
        try:
            with self._db:
                self._db.execute("BEGIN IMMEDIATE")
                self._db.executemany(f"INSERT OR REPLACE INTO {table} VALUES (?, ?, ?, ?, ?)", rows)
        except sqlite3.OperationalError as exc:  # busy past the timeout, disk full: not corrupt
            raise ImageFormatError(f"cache {self.path}: cannot be written: {exc}") from None
        except sqlite3.DatabaseError:
            self._reset()
        except sqlite3.Error as exc:
            raise ImageFormatError(f"cache {self.path}: cannot be written: {exc}") from None

    def load(
        self, blob_digest: BlobDigest, diff_id: DiffID, overhead_bytes: int, name: str
    ) -> Layer | None:
        """The cached analysis of a blob, or None (absent, or corrupt and now dropped)."""
        key = (blob_digest, diff_id, overhead_bytes)
        payload = self._payload("layers", _LAYER_KEY, key)
        if payload is None:
            return None
        try:
            return decode_layer(payload, diff_id, blob_digest, name)
        except (ValueError, struct.error, zlib.error, UnicodeDecodeError):
            self._drop("layers", _LAYER_KEY, key)
            return None

    def store(self, layers: list[Layer], overhead_bytes: int) -> None:
        """Keep the analysis of layers read whole and verified, in one transaction."""
        self._store_rows(
            "layers",
            [(x.blob_digest, x.diff_id, overhead_bytes, encode_layer(x)) for x in layers],
        )

    def load_chunks(
        self, blob_digest: BlobDigest, diff_id: DiffID, sizes: ChunkSizes
    ) -> dict[ContentDigest, ContentChunks] | None:
        """The cached chunks of a blob's file contents under `sizes`, or None (absent, or
        corrupt and now dropped: the blob is then read again)."""
        key = (blob_digest, diff_id, sizes_key(sizes))
        payload = self._payload("layer_chunks", _CHUNKS_KEY, key)
        if payload is None:
            return None
        try:
            return decode_chunks(payload)
        except (ValueError, TypeError, zlib.error, UnicodeDecodeError, ModelError):
            self._drop("layer_chunks", _CHUNKS_KEY, key)
            return None

    def store_chunks(
        self,
        layers: list[Layer],
        sizes: ChunkSizes,
        contents: Mapping[ContentDigest, ContentChunks],
    ) -> None:
        """Keep the chunks of the file contents of layers read whole and verified, under
        `sizes`, in one transaction."""
        rows: list[tuple[object, ...]] = []
        for layer in layers:
            mine = {
                e.content: contents[e.content]
                for e in layer.entries
                if e.kind is EntryKind.FILE and e.content is not None and e.content in contents
            }
            rows.append((layer.blob_digest, layer.diff_id, sizes_key(sizes), encode_chunks(mine)))
        self._store_rows("layer_chunks", rows)

    def _reset(self) -> None:
        """The file turned out corrupt in use: drop it and start an empty one."""
        self.rebuilt = True
        with contextlib.suppress(sqlite3.Error):
            self._db.close()
        self._remove()
        self._db = self._open_when_free()

    def close(self) -> None:
        self._db.close()
