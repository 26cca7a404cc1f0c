"""A layer's tar, parsed as it streams: its members, each with exact offsets and a content
digest per regular file.

`TarScanner` is a push parser: it is fed the decompressed pieces in order, wherever they are
cut, and never holds a file, nor the layer, whole. Headers are read by `tar_header` (Go's
`archive/tar` rules: what Docker, containerd and buildah read and write): USTAR, PAX (`path`,
`linkpath`, `size`) and GNU long names; a tar may end without its two zero blocks; bytes after
them are part of the DiffID only (the caller's concern).

Each member's span is measured exactly: from its first header (PAX and GNU long-name headers
included) to the next member's first header or the end-of-archive blocks, so the spans of the
members and the end blocks add up to the tar.

With a `Chunking` (`chunking`), every regular file's bytes are also cut into chunks as they pass
(per file); the chunks of each content are collected there, not on the members.

This module builds no model entries (`entries` does: paths, whiteouts, the last member of a path
winning) and knows nothing of compression (`decompress`).
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass

from layersim.model.digest import ContentDigest
from layersim.model.sizes import TAR_BLOCK_BYTES, pad_to_block
from layersim.readers.chunking import Chunking, FileChunker
from layersim.readers.tar_header import (
    EXTENDED,
    REGULAR,
    ZERO_BLOCK,
    Extended,
    parse_header,
)

# The content digest of an empty file (and of a device or FIFO, which the model holds as one).
EMPTY_CONTENT = ContentDigest("sha256:" + hashlib.sha256(b"").hexdigest())


@dataclass(slots=True)
class RawMember:
    """One tar member as read: offsets into the uncompressed stream, raw names, kind."""

    start: int  # offset of its first header (PAX / GNU long-name headers included)
    data_start: int
    end: int  # offset of the next member's first header, or of the end-of-archive blocks
    typeflag: bytes
    name: str
    linkname: str
    file_bytes: int
    content: ContentDigest | None


# The most members one layer may hold: a stated limit, so that a hostile layer of millions of
# empty members fails at once instead of taking gigabytes (each member costs a RawMember here,
# an Entry later: measured near 800 bytes together). Real layers hold well under 10^5.
MEMBERS_PER_LAYER_MAX = 1_000_000


class TarScanner:
    """A push parser of a tar stream: feed it the decompressed pieces in order.

    Regular files' bytes go to a sha256 each as they pass (memoryview slices, no copies);
    other data (directories with a size, links, devices) is skipped.
    """

    def __init__(self, chunking: Chunking | None = None) -> None:
        self.members: list[RawMember] = []
        self._chunking = chunking
        self._chunker: FileChunker | None = None
        self.end_offset: int | None = None  # where the end-of-archive blocks start
        self._offset = 0  # stream offset of the piece being fed
        self._block = bytearray()  # a header block split across pieces
        self._data_left = 0  # data bytes of the current member still to come
        self._pad = 0  # padding (or skipped data) still to come
        self._hash: hashlib._Hash | None = None
        self._ext: bytearray | None = None  # data of an extended header being collected
        self._ext_type = b""
        self._extended = Extended()
        self._start: int | None = None  # first header of the member being read
        self._open: RawMember | None = None  # member whose end offset is not known yet
        self._zero_at: int | None = None
        self._done = False

    def feed(self, piece: bytes) -> None:
        if self._done:
            self._offset += len(piece)
            return
        view = memoryview(piece)
        n = len(piece)
        i = 0
        while i < n:
            if self._data_left:
                take = min(self._data_left, n - i)
                if self._hash is not None:
                    self._hash.update(view[i : i + take])
                    if self._chunker is not None:
                        self._chunker.update(view[i : i + take])
                elif self._ext is not None:
                    self._ext += view[i : i + take]
                self._data_left -= take
                i += take
                if not self._data_left:
                    self._data_done()
                continue
            if self._pad:
                take = min(self._pad, n - i)
                self._pad -= take
                i += take
                continue
            if not self._block and n - i >= TAR_BLOCK_BYTES:
                block = piece[i : i + TAR_BLOCK_BYTES]
                i += TAR_BLOCK_BYTES
            else:
                take = min(TAR_BLOCK_BYTES - len(self._block), n - i)
                self._block += view[i : i + take]
                i += take
                if len(self._block) < TAR_BLOCK_BYTES:
                    continue
                block = bytes(self._block)
                self._block.clear()
            self._header(block, self._offset + i - TAR_BLOCK_BYTES)
            if self._done:
                break
        self._offset += n

    def _close_open(self, at: int) -> None:
        if self._open is not None:
            self._open.end = at
            self._open = None

    def _header(self, block: bytes, at: int) -> None:
        if block == ZERO_BLOCK:
            if self._zero_at is None:
                self._zero_at = at
                self._close_open(at)
                if self._start is not None:
                    raise ValueError("an extended header is followed by the end of the archive")
                self.end_offset = at
            else:
                self._done = True
            return
        if self._zero_at is not None:
            raise ValueError(f"a zero block is followed by a header at offset {at}")
        self._close_open(at)
        if self._start is None:
            self._start = at
        header = parse_header(block, at)
        if header.typeflag in EXTENDED:
            Extended.check_size(header, at)
            self._ext = bytearray()
            self._ext_type = header.typeflag
            self._begin_data(header.size)
            return
        header = self._extended.apply(header, at)
        typeflag, size = header.typeflag, header.size
        member = RawMember(
            start=self._start,
            data_start=at + TAR_BLOCK_BYTES,
            end=-1,
            typeflag=typeflag,
            name=header.name,
            linkname=header.linkname,
            file_bytes=size if typeflag in REGULAR else 0,
            content=None,
        )
        self._start = None
        if len(self.members) >= MEMBERS_PER_LAYER_MAX:
            raise ValueError(
                f"the layer holds more than {MEMBERS_PER_LAYER_MAX:,} members, layersim's limit"
            )
        self.members.append(member)
        self._open = member
        if typeflag in REGULAR:
            if size:
                self._hash = hashlib.sha256()
                if self._chunking is not None:
                    self._chunker = self._chunking.file(size)
                self._begin_data(size)
            else:
                member.content = EMPTY_CONTENT
        else:  # data of directories, links, devices (normally none) is skipped
            self._pad = pad_to_block(size, TAR_BLOCK_BYTES)

    def _begin_data(self, size: int) -> None:
        self._data_left = size
        self._pad = pad_to_block(size, TAR_BLOCK_BYTES) - size
        if not size:
            self._data_done()

    def _data_done(self) -> None:
        if self._hash is not None:
            assert self._open is not None
            self._open.content = ContentDigest("sha256:" + self._hash.hexdigest())
            self._hash = None
            if self._chunker is not None:
                self._chunker.finish(self._open.content, wait=False)
                self._chunker = None
        elif self._ext is not None:
            data, self._ext = bytes(self._ext), None
            self._extended.collect(self._ext_type, data)

    def finish(self) -> None:
        """The stream has ended: close the last member, or fail if it was cut short."""
        if self._done:
            return
        if self._zero_at is not None:
            if self._block:
                raise ValueError("truncated tar stream (inside the end-of-archive blocks)")
            return
        if self._data_left or self._pad or self._block:
            raise ValueError(f"truncated tar stream (at offset {self._offset})")
        if self._start is not None:
            raise ValueError("truncated tar stream (an extended header has no member)")
        # Go's archive/tar accepts a tar that ends at a member boundary without zero blocks
        self._close_open(self._offset)
        self.end_offset = self._offset
