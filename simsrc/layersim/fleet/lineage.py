"""Chunks of a generated fleet's file contents: each content's chunks, by its file's lineage.

A generated content has no bytes, so its chunks are modelled (docs/semantics.md, "Chunks in
generated fleets"). A file of a tree keeps its size across versions (`contents.py`); each new
version of it (a *birth*, used by some layer or not) derives from the version before by one
edit, and shares every chunk the edit does not touch:

- the file is cut into chunk *slots* once: fixed-size slots of `fixed_bytes` (the last one
  shorter), and content-defined slots whose lengths are drawn from FastCDC 2020's distribution
  (`cdc_lengths`: no cut before `min`, a cut chance of 2^-(b+1) per byte up to `avg` and
  2^-(b-1) after it, b = log2(avg) rounded, a forced cut at `max`; the last chunk whatever is
  left), as pyfastcdc with normalized chunking 1 cuts random bytes;
- an edit rewrites `edit_fraction` of the file's bytes (at least one byte) at a uniformly drawn
  place; with `insert_probability` it is an insertion. The slots it touches get new chunks:
  fixed-size, the slots overlapping the edit (an overwrite) or every slot from the edit point on
  (an insertion shifts every later boundary); content-defined, the slots overlapping the edit
  and the one after it (a cut found inside the edit moves where the next chunk starts; the
  chunker is back on the old cut points within one chunk), whatever the kind;
- a chunk is (slot, version that last rewrote it): two contents of one file share exactly the
  slots no edit between them touched. The replaced slots keep their lengths (new chunks of
  the same distribution over the same bytes), so every version of a file has the same cuts.

Chunks are per file: contents of different files share no chunk (the generator never gives
two files equal bytes). Compressed bytes of a chunk: its content class's ratio, as the
content's own (`contents.py`). Draws come from the generator passed in, which `generate`
spawns from the run's, so that the lineage leaves every other draw of the fleet unchanged.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np

from layersim.accounting.arrays import I8, I64, Bool, ChunkArrays, csr_offsets
from layersim.accounting.sortops import combine, group_ids, ranges
from layersim.fleet.contents import Contents
from layersim.fleet.trees import CLASS_RATIO_PERMILLE
from layersim.model.chunks import ChunkSizes


@dataclass(frozen=True, slots=True)
class EditModel:
    """How a new version of a file derives from the one before (`ChunksConfig`)."""

    edit_fraction: float
    insert_probability: float


@dataclass(frozen=True, eq=False)
class FileSlots:
    """One chunker's slots of the files that have a used content: file `f`'s slots are
    `offsets[f]:offsets[f + 1]`, each slot's file bytes in `slot_bytes`."""

    offsets: I64
    slot_bytes: I64

    def starts(self, file_base: I64) -> I64:
        """Every slot's first byte, in one byte space where file `f` begins at `file_base[f]`."""
        file_of = np.repeat(np.arange(self.offsets.size - 1), np.diff(self.offsets))
        before = np.cumsum(self.slot_bytes) - self.slot_bytes
        return file_base[file_of] + before - before[self.offsets[:-1]][file_of]


def cdc_cut_chances(sizes: ChunkSizes) -> tuple[float, float]:
    """FastCDC 2020's chance of a cut per byte before the average size and after it
    (normalized chunking 1: masks of b+1 and b-1 bits, b = log2(avg) rounded)."""
    bits = int(np.floor(np.log2(sizes.cdc_avg_bytes) + 0.5))
    return 2.0 ** -(bits + 1), 2.0 ** -(bits - 1)


def cdc_lengths(sizes: ChunkSizes, n: int, rng: np.random.Generator) -> I64:
    """`n` chunk lengths as FastCDC 2020 cuts random bytes with no end in sight: the first cut
    chance at `min`, the small chance up to `avg`, the large one up to `max`, a cut at `max`."""
    small, large = cdc_cut_chances(sizes)
    first = sizes.cdc_min_bytes + rng.geometric(small, n) - 1
    later = np.minimum(sizes.cdc_avg_bytes + rng.geometric(large, n) - 1, sizes.cdc_max_bytes)
    return np.where(first < sizes.cdc_avg_bytes, first, later).astype(np.int64)


def cdc_slots(file_bytes: I64, sizes: ChunkSizes, rng: np.random.Generator) -> FileSlots:
    """Content-defined slots of files of `file_bytes`: lengths drawn (`cdc_lengths`) until a
    file is covered, its last chunk what is left (none for an empty file). Drawn in rounds of
    about one file's worth each, in file order, until every file is covered."""
    small, _ = cdc_cut_chances(sizes)
    remaining = np.asarray(file_bytes, dtype=np.int64).copy()
    pieces_file: list[I64] = []
    pieces_bytes: list[I64] = []
    # mean length, for how many to draw per round (a shortfall is drawn in the next round)
    mean = sizes.cdc_min_bytes + min(1 / small, sizes.cdc_avg_bytes - sizes.cdc_min_bytes)
    while True:
        active = np.flatnonzero(remaining > 0)
        if active.size == 0:
            break
        want = remaining[active] // int(mean) + 4
        drawn = cdc_lengths(sizes, int(want.sum()), rng)
        offsets = csr_offsets(want)
        ends = np.cumsum(drawn)
        begin = ends - drawn - np.repeat(ends[offsets[:-1]] - drawn[offsets[:-1]], want)
        left = np.repeat(remaining[active], want) - begin
        take = left > 0
        file_of = np.repeat(active, want)[take]
        pieces_file.append(file_of)
        pieces_bytes.append(np.minimum(drawn, left)[take])
        remaining[active] = np.maximum(left[offsets[1:] - 1] - drawn[offsets[1:] - 1], 0)
    if not pieces_file:
        return FileSlots(np.zeros(file_bytes.size + 1, dtype=np.int64), np.zeros(0, np.int64))
    file_of = np.concatenate(pieces_file)
    order = np.argsort(file_of, kind="stable")  # rounds in order: a file's pieces stay in order
    return FileSlots(
        csr_offsets(np.bincount(file_of, minlength=file_bytes.size)),
        np.concatenate(pieces_bytes)[order],
    )


def fixed_slots(file_bytes: I64, chunk_bytes: int) -> FileSlots:
    """Fixed-size slots: ceil(size / chunk) per file, the last one shorter."""
    counts = -(-file_bytes // chunk_bytes)
    offsets = csr_offsets(counts)
    local = ranges(np.zeros(counts.size, dtype=np.int64), counts)
    file_of = np.repeat(np.arange(counts.size), counts)
    slot_bytes = np.minimum(file_bytes[file_of] - local * chunk_bytes, chunk_bytes)
    return FileSlots(offsets, slot_bytes.astype(np.int64))


@dataclass(frozen=True, eq=False)
class Edits:
    """Per edit (a birth after version 0, of a file with a used content): its file, its
    version, and the bytes it rewrites, `[start, start + length)` within the file."""

    file: I64
    version: I64
    start: I64
    length: I64
    insertion: Bool


def touched_slots(
    slots: FileSlots, file_base: I64, edits: Edits, *, fixed: bool
) -> tuple[I64, I64]:
    """The slots `[lo, hi)` (global slot ids) each edit gives new chunks (module docstring)."""
    starts = slots.starts(file_base)
    base = file_base[edits.file]
    lo = np.searchsorted(starts, base + edits.start, side="right") - 1
    last = np.searchsorted(starts, base + edits.start + edits.length - 1, side="right") - 1
    end = slots.offsets[edits.file + 1]
    hi = np.where(edits.insertion, end, last + 1) if fixed else np.minimum(last + 2, end)
    return lo, hi


def _edits(
    contents: Contents,
    versions: I64,
    files: I64,
    file_bytes: I64,
    model: EditModel,
    rng: np.random.Generator,
) -> Edits:
    """The births after version 0 of the files whose first position is `files`, and each one's
    drawn edit (place, kind)."""
    tree = np.searchsorted(contents.tfv_offsets, files, side="right") - 1
    n_versions = versions[tree]
    position = ranges(files, n_versions)
    file_of = np.repeat(np.arange(files.size), n_versions)
    version = position - files[file_of]
    born = (contents.birth[position] == position) & (version > 0)
    file_of, version = file_of[born], version[born]
    size = file_bytes[file_of]
    length = np.clip(np.rint(model.edit_fraction * size).astype(np.int64), 1, np.maximum(size, 1))
    start = np.floor(rng.random(file_of.size) * (size - length + 1)).astype(np.int64)
    insertion = rng.random(file_of.size) < model.insert_probability
    return Edits(file_of, version, start, length, insertion)


def lineage_chunks(
    contents: Contents,
    versions: I64,
    sizes: ChunkSizes,
    model: EditModel,
    rng: np.random.Generator,
) -> tuple[ChunkArrays, ChunkArrays]:
    """The content-defined and the fixed-size `ChunkArrays` of every used content (content id
    order), by lineage (module docstring). `versions`: each tree's version count."""
    born_used = np.zeros(contents.birth.size, dtype=np.bool_)
    born_used[contents.birth[contents.content >= 0]] = True
    content_birth = np.flatnonzero(born_used)  # content ids number these births in order
    tree = np.searchsorted(contents.tfv_offsets, content_birth, side="right") - 1
    local = content_birth - contents.tfv_offsets[tree]
    first = content_birth - local % versions[tree]  # the file's version-0 position
    content_version = local % versions[tree]
    # a file's positions are contiguous, so `first` is sorted: files are its runs
    new_file = np.concatenate(([True], first[1:] != first[:-1])) if first.size else first > 0
    files = first[new_file]
    content_file = np.cumsum(new_file) - 1
    file_bytes = np.zeros(files.size, dtype=np.int64)
    file_bytes[content_file] = contents.content_file_bytes
    file_class = np.zeros(files.size, dtype=np.int8)
    file_class[content_file] = contents.content_class
    file_base = np.cumsum(file_bytes) - file_bytes
    edits = _edits(contents, versions, files, file_bytes, model, rng)
    cdc = cdc_slots(file_bytes, sizes, rng)
    fixed = fixed_slots(file_bytes, sizes.fixed_bytes)
    return (
        _chunk_arrays(
            cdc, file_base, file_class, content_file, content_version, edits, fixed=False
        ),
        _chunk_arrays(
            fixed, file_base, file_class, content_file, content_version, edits, fixed=True
        ),
    )


def _chunk_arrays(
    slots: FileSlots,
    file_base: I64,
    file_class: I8,
    content_file: I64,
    content_version: I64,
    edits: Edits,
    *,
    fixed: bool,
) -> ChunkArrays:
    """One chunker's chunks of every content: sweep the versions in order, each edit marking
    the slots it touches with its version, each content reading its file's slots' marks."""
    n_slots = np.diff(slots.offsets)
    content_offsets = csr_offsets(n_slots[content_file])
    keys = np.empty(int(content_offsets[-1]), dtype=np.int64)
    mark = np.zeros(slots.slot_bytes.size, dtype=np.int64)  # version that last rewrote a slot
    live = n_slots[edits.file] > 0
    lo, hi = touched_slots(slots, file_base, _select(edits, live), fixed=fixed)
    edit_version = edits.version[live]
    span = int(max(content_version.max(initial=0), edit_version.max(initial=0))) + 1
    # edits and contents by version (stable: ties keep their order), walked once
    edit_order, edit_at = _by_version(edit_version, span)
    content_order, content_at = _by_version(content_version, span)
    for v in range(span):
        at = edit_order[edit_at[v] : edit_at[v + 1]]
        mark[ranges(lo[at], hi[at] - lo[at])] = v
        now = content_order[content_at[v] : content_at[v + 1]]
        f = content_file[now]
        slot = ranges(slots.offsets[f], n_slots[f])
        keys[ranges(content_offsets[now], n_slots[f])] = combine(slot, mark[slot], span)
    chunk_ids, uniques = group_ids(keys)
    chunk_bytes = slots.slot_bytes[uniques // span]
    file_of_slot = np.repeat(np.arange(n_slots.size), n_slots)
    ratio = CLASS_RATIO_PERMILLE[file_class[file_of_slot[uniques // span]]]
    return ChunkArrays(
        content_offsets=content_offsets,
        content_chunks=chunk_ids,
        chunk_file_bytes=chunk_bytes,
        chunk_compressed_bytes=np.where(chunk_bytes > 0, -(-chunk_bytes * 1000 // ratio), 0),
    )


def _by_version(version: I64, span: int) -> tuple[I64, I64]:
    """Positions ordered by version (stable) and where each version's run starts; versions
    are small, so a counting sort (numpy's radix sort on 16 bits) where they fit."""
    key = version.astype(np.int16) if span < 2**15 else version
    order = np.argsort(key, kind="stable")
    return order, csr_offsets(np.bincount(version, minlength=span))


def _select(edits: Edits, keep: np.ndarray) -> Edits:
    return Edits(
        edits.file[keep],
        edits.version[keep],
        edits.start[keep],
        edits.length[keep],
        edits.insertion[keep],
    )
