"""Tests of `layersim.model.chunks`: the chunkers' sizes, checked once, and the modelled chunks
of contents nobody has the bytes of."""

from __future__ import annotations

import pytest

from layersim.errors import ModelError
from layersim.model.chunks import (
    Chunk,
    ChunkSizes,
    ContentChunks,
    even_cuts,
    modelled_chunks,
)
from layersim.model.digest import ChunkDigest, content_digest
from layersim.model.sizes import CompressionModel


def test_default_sizes_are_fastcdc_avg_64k_and_1mib_fixed() -> None:
    """The defaults are pyfastcdc's `FastCDC(avg_size=65536)` (min avg/4, max avg*4) and
    Nydus's 1 MiB chunks."""
    sizes = ChunkSizes()
    assert (sizes.cdc_min_bytes, sizes.cdc_avg_bytes, sizes.cdc_max_bytes) == (
        16384,
        65536,
        262144,
    )
    assert sizes.fixed_bytes == 1 << 20


@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"fixed_bytes": 0}, "fixed chunk size must be a positive number"),
        ({"cdc_avg_bytes": -1}, "CDC average chunk size must be a positive number"),
        ({"cdc_min_bytes": 70000}, "min <= avg <= max"),
        ({"cdc_max_bytes": 100}, "CDC maximum chunk size must be within 1024"),
        ({"cdc_min_bytes": 2 << 20}, "CDC minimum chunk size must be within 64"),
    ],
)
def test_bad_sizes_are_refused(kwargs: dict[str, int], message: str) -> None:
    """A size of 0 or below, out of pyfastcdc's range, or min > avg: a `ModelError` naming it."""
    with pytest.raises(ModelError, match=message):
        ChunkSizes(**kwargs)


def test_even_cuts() -> None:
    """Cuts every n bytes, the last piece shorter; nothing for an empty file."""
    assert even_cuts(2500, 1000) == [1000, 1000, 500]
    assert even_cuts(2000, 1000) == [1000, 1000]
    assert even_cuts(0, 1000) == []


def test_modelled_chunks_exact() -> None:
    """A 150000-byte binary content with the defaults: CDC at the average, 65536 + 65536 +
    18928; fixed: one chunk of 150000; compressed bytes ceil(n * 1000 / 2400) each; ids
    distinct within and across contents, the same for the same content."""
    compression = CompressionModel()
    content = content_digest("lib.so", 150000)
    chunks = modelled_chunks(content, 150000, "binary", ChunkSizes(), compression)
    assert [c.file_bytes for c in chunks.cdc] == [65536, 65536, 18928]
    assert [c.compressed_bytes for c in chunks.cdc] == [27307, 27307, 7887]
    assert [(c.file_bytes, c.compressed_bytes) for c in chunks.fixed] == [(150000, 62500)]
    assert len({c.digest for c in chunks.cdc + chunks.fixed}) == 4
    again = modelled_chunks(content, 150000, "binary", ChunkSizes(), compression)
    assert again == chunks
    other = modelled_chunks(
        content_digest("x", 150000), 150000, "binary", ChunkSizes(), compression
    )
    assert not {c.digest for c in other.cdc} & {c.digest for c in chunks.cdc}


def test_content_chunks_must_cover_one_length() -> None:
    """A content's CDC and fixed chunk lists cover the same bytes, or it is refused."""
    one = Chunk(ChunkDigest("sha256:" + "0" * 64), 10, 5)
    with pytest.raises(ModelError, match="different lengths"):
        ContentChunks((one,), ())
    assert ContentChunks((one,), (one,)).file_bytes == 10
