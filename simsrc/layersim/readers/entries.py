"""A layer's model entries, built from its tar members: paths, kinds, and bytes measured or
apportioned.

A member becomes an entry as Docker's extraction reads it: the root directory and AUFS metadata
(`.wh..wh.*`) are no entries, `.wh.<name>` is a whiteout of `<name>`, `.wh..wh..opq` makes its
directory opaque, a hard link keeps its normalized target, a symlink's target is data (never
followed), devices and FIFOs are empty files; of several members of one path the last wins.
Paths that climb out of the root are refused (`ModelError`, named by the caller).

Tar bytes are measured (`tar_stream`). Compressed bytes of an entry cannot be measured inside a
deflate or zstd stream; they are apportioned (`build_entries`): each decompressed piece of the
stream records how many compressed bytes produced it, so an entry's share follows the
compressibility of its own region of the stream, not the layer's average.

This module reads no bytes: it works on the members `tar_stream` found.
"""

from __future__ import annotations

import numpy as np

from layersim.errors import ModelError
from layersim.model import (
    OPAQUE_MARKER,
    WHITEOUT_PREFIX,
    Entry,
    EntryKind,
    normalize_path,
)
from layersim.readers.tar_header import DIRECTORY, HARDLINK, SYMLINK
from layersim.readers.tar_stream import EMPTY_CONTENT, RawMember

# Real files carry no content class; their compressed bytes are measured, not modelled.
READ_CONTENT_CLASS = "binary"
WHITEOUT_META_PREFIX = ".wh..wh."  # AUFS metadata (`.wh..wh.plnk` ...): skipped, as Docker does


def member_entry_fields(member: RawMember) -> tuple[str, EntryKind, str] | None:
    """The path, kind and link target a member stands for in the model, or None if it is not
    an entry (the root directory, AUFS metadata). Raises `ModelError` for hostile paths."""
    raw = member.name
    stripped = raw.strip("/")
    if stripped in ("", "."):
        if member.typeflag != DIRECTORY:
            raise ModelError(f"member {raw!r} replaces the image root with a non-directory")
        return None
    path = normalize_path(raw)
    head, _, tail = path.rpartition("/")
    if tail == OPAQUE_MARKER:
        if not head:
            raise ModelError("an opaque marker at the image root is not supported")
        return head, EntryKind.OPAQUE, ""
    if tail.startswith(WHITEOUT_META_PREFIX) or path.startswith(WHITEOUT_META_PREFIX):
        return None
    if tail.startswith(WHITEOUT_PREFIX):
        deleted = tail[len(WHITEOUT_PREFIX) :]
        if not deleted:
            raise ModelError(f"whiteout {raw!r} names nothing")
        return (f"{head}/{deleted}" if head else deleted), EntryKind.WHITEOUT, ""
    typeflag = member.typeflag
    if typeflag == DIRECTORY:
        return path, EntryKind.DIR, ""
    if typeflag == SYMLINK:
        return path, EntryKind.SYMLINK, member.linkname  # data, never followed
    if typeflag == HARDLINK:
        return path, EntryKind.HARDLINK, normalize_path(member.linkname)
    return path, EntryKind.FILE, ""  # regular files, and devices/FIFOs as empty files


def apportion(total: int, weights: np.ndarray) -> np.ndarray:
    """Split the integer `total` over `weights` in proportion, summing exactly to `total`
    (largest remainders, ties to the earlier index)."""
    if not len(weights) or total <= 0:
        return np.zeros(len(weights), dtype=np.int64)
    weight_sum = float(weights.sum())
    if not weight_sum > 0:
        weights = np.ones(len(weights))
        weight_sum = float(len(weights))
    quotas = weights / weight_sum * total
    shares = np.floor(quotas).astype(np.int64)
    short = int(total - shares.sum())
    if short > 0:
        order = np.argsort(-(quotas - shares), kind="stable")
        shares[order[:short]] += 1
    elif short < 0:  # float rounding pushed the floors over: take back from the smallest parts
        order = np.argsort(quotas - shares, kind="stable")
        shares[order[:-short]] -= 1
    return shares


def build_entries(
    members: list[RawMember],
    compressed_budget: int,
    piece_ends: tuple[list[int], list[int]],
) -> tuple[Entry, ...]:
    """Model entries of a layer's tar members: the last member of a path wins (as extraction
    does), and `compressed_budget` bytes are apportioned over the kept entries.

    An entry's weight is the compressed size of its region of the stream, interpolated within
    the decompressed pieces (`piece_ends`: cumulative decompressed and compressed offsets);
    a file's `content_compressed_bytes` is its data region's share the same way.
    """
    kept: dict[tuple[str, bool], tuple[RawMember, str, EntryKind, str]] = {}
    linkable: set[str] = set()  # paths of the files (and hard links) read so far
    for member in members:
        fields = member_entry_fields(member)
        if fields is None:
            continue
        path, kind, link = fields
        if kind is EntryKind.HARDLINK and link not in linkable:
            # extraction links to a file already unpacked from this tar; there is none
            raise ModelError(
                f"hard link {path!r} points to {link!r}, which no earlier file of the layer is"
            )
        if kind in (EntryKind.FILE, EntryKind.HARDLINK):
            linkable.add(path)
        else:
            linkable.discard(path)
        key = (path, kind is EntryKind.OPAQUE)
        kept.pop(key, None)  # re-insert so that order follows the winning member
        kept[key] = (member, path, kind, link)
    rows = list(kept.values())
    if not rows:
        return ()
    starts = np.fromiter((r[0].start for r in rows), dtype=np.float64, count=len(rows))
    ends = np.fromiter((r[0].end for r in rows), dtype=np.float64, count=len(rows))
    data_starts = np.fromiter((r[0].data_start for r in rows), dtype=np.float64, count=len(rows))
    file_bytes = np.fromiter((r[0].file_bytes for r in rows), dtype=np.float64, count=len(rows))
    u_ends, c_ends = piece_ends
    u = np.asarray([0, *u_ends], dtype=np.float64)
    c = np.asarray([0, *c_ends], dtype=np.float64)

    def compressed_at(x: np.ndarray) -> np.ndarray:
        return np.interp(x, u, c)

    weights = compressed_at(ends) - compressed_at(starts)
    shares = apportion(compressed_budget, weights)
    weight_sum = float(weights.sum())
    scale = compressed_budget / weight_sum if weight_sum > 0 else 0.0
    data_weights = compressed_at(data_starts + file_bytes) - compressed_at(data_starts)
    content_shares = np.minimum(np.rint(data_weights * scale).astype(np.int64), shares)
    entries = []
    for (member, path, kind, link), share, content_share in zip(
        rows, shares.tolist(), content_shares.tolist(), strict=True
    ):
        is_file = kind is EntryKind.FILE
        entries.append(
            Entry(
                path=path,
                kind=kind,
                file_bytes=member.file_bytes if is_file else 0,
                content=(member.content or EMPTY_CONTENT) if is_file else None,
                content_class=READ_CONTENT_CLASS,
                link_target=link,
                tar_bytes=member.end - member.start,
                compressed_bytes=share,
                content_compressed_bytes=content_share if is_file and member.file_bytes else 0,
            )
        )
    return tuple(entries)
