"""Tests of `readers.cache`: per-blob analysis kept by digest, never trusted when corrupt."""

from __future__ import annotations

import sqlite3
import tarfile
import threading
from pathlib import Path

import hypothesis.strategies as st
import pytest
from hypothesis import given

from layersim.errors import ImageFormatError
from layersim.model import Layer
from layersim.model.chunks import ChunkSizes
from layersim.model.digest import BlobDigest, DiffID
from layersim.model.image import Entry, EntryKind
from layersim.readers import CacheCounts, LayerCache, read, read_images
from layersim.readers.cache import decode_layer, default_cache_path, encode_layer
from layersim.readers.chunking import Chunking
from tests.readers.images import APP, BASE, Layout, M, make_tar, sha
from tests.readers.registry_fake import FakeRegistry

DIFF = DiffID("sha256:" + "1" * 64)
BLOB = BlobDigest("sha256:" + "2" * 64)


def _layouts(tmp_path: Path) -> list[Path]:
    """Two layouts: `base:1` (BASE) and `app:1` (BASE + APP): three layer blobs, two distinct."""
    base = Layout(tmp_path / "base")
    base.add(base.image([make_tar(BASE)]), "1")
    app = Layout(tmp_path / "app")
    app.add(app.image([make_tar(BASE), make_tar(APP)]), "1")
    return [base.root, app.root]


def _blob_files(layout: Path) -> list[Path]:
    return sorted((layout / "blobs" / "sha256").iterdir())


def test_a_second_read_reads_no_blob(tmp_path: Path) -> None:
    """The first read streams the two distinct blobs and caches them; the second takes both from
    the cache, streams nothing, and gives the same images. Blob bytes overwritten in between
    (same size) are not noticed: the cache answers for the digest without opening the blob."""
    paths = _layouts(tmp_path)
    cache_path = tmp_path / "cache.sqlite"
    first_cache = LayerCache(cache_path)
    first = read(paths, cache=first_cache)
    first_cache.close()
    stored = sum(layer.compressed_bytes for layer in first.images[1].layers)
    assert first.counts == CacheCounts(hits=0, blob_reads=2, bytes_read=stored)
    for layer in first.images[1].layers:
        blob = paths[1] / "blobs" / "sha256" / layer.blob_digest[7:]
        blob.write_bytes(bytes(blob.stat().st_size))
    second_cache = LayerCache(cache_path)
    second = read(paths, cache=second_cache)
    assert second.counts == CacheCounts(hits=2, blob_reads=0, bytes_read=0)
    assert second.images == first.images
    assert [x.name for x in second.images[1].layers] == [x.name for x in first.images[1].layers]
    assert not second_cache.rebuilt


def test_chunks_come_from_the_cache_per_chunk_sizes(tmp_path: Path) -> None:
    """With chunking, a second read takes each blob's contents' chunks from the cache too and
    gives the same chunks as the first; other chunk sizes are not in the cache, so that read
    streams the blobs again (and then finds them cached)."""
    paths = _layouts(tmp_path)
    cache_path = tmp_path / "cache.sqlite"
    sizes = ChunkSizes(cdc_min_bytes=64, cdc_avg_bytes=256, cdc_max_bytes=1024, fixed_bytes=100)
    runs = []
    for chunk_sizes in (sizes, sizes, ChunkSizes(), ChunkSizes()):
        cache = LayerCache(cache_path)
        chunking = Chunking(chunk_sizes)
        result = read(paths, cache=cache, chunking=chunking)
        cache.close()
        runs.append((result.counts.hits, result.counts.blob_reads, chunking.contents))
    assert [run[:2] for run in runs] == [(0, 2), (2, 0), (0, 2), (2, 0)]
    assert runs[1][2] == runs[0][2] and runs[3][2] == runs[2][2]
    assert runs[0][2] and runs[0][2] != runs[2][2]


def test_a_registry_blob_is_not_downloaded_twice(tmp_path: Path) -> None:
    """Through a registry: the second read sends no GET for a layer blob."""
    from layersim.readers import RegistryOptions

    base = Layout(tmp_path / "base")
    base.add(base.image([make_tar(BASE), make_tar(APP)]), "1")
    cache = LayerCache(tmp_path / "cache.sqlite")
    layers = read_images([base.root])[0].layers
    for expected_gets in (2, 0):
        fake = FakeRegistry({"base": base.root})
        options = RegistryOptions(transport=fake.transport(), auth_file=tmp_path / "none.json")
        result = read(["docker://reg.test/base:1"], registry=options, cache=cache)
        assert result.images[0].layers == layers
        gets = [
            r
            for r in fake.requests
            if r.method == "GET" and any(r.url.path.endswith(x.blob_digest) for x in layers)
        ]
        assert len(gets) == expected_gets


def test_a_bad_read_caches_nothing(tmp_path: Path) -> None:
    """A read that fails on a corrupt blob stores no layer, not even the good blob read
    before the failure; once the blob is repaired, both are read."""
    paths = _layouts(tmp_path)
    [_, app_layer] = read_images([paths[1]])[0].layers
    blob = paths[1] / "blobs" / "sha256" / app_layer.blob_digest[7:]
    good = blob.read_bytes()
    blob.write_bytes(good[:-1] + bytes([good[-1] ^ 1]))
    cache = LayerCache(tmp_path / "cache.sqlite")
    with pytest.raises(ImageFormatError):
        read(paths, cache=cache)
    assert sqlite3.connect(cache.path).execute("SELECT COUNT(*) FROM layers").fetchone() == (0,)
    blob.write_bytes(good)
    assert read(paths, cache=cache).counts.blob_reads == 2


def test_a_corrupt_file_is_rebuilt(tmp_path: Path) -> None:
    """A cache file that is not an SQLite database is removed and rebuilt, then filled."""
    path = tmp_path / "cache.sqlite"
    path.write_bytes(b"this is not a database" * 100)
    cache = LayerCache(path)
    assert cache.rebuilt
    paths = _layouts(tmp_path)
    assert read(paths, cache=cache).counts.blob_reads == 2
    assert read(paths, cache=cache).counts.hits == 2


@pytest.mark.parametrize("damage", ["payload", "checksum", "garbage"])
def test_a_corrupt_row_is_dropped_and_read_again(tmp_path: Path, damage: str) -> None:
    """A row whose payload no longer matches its checksum, or does not decode, is never
    trusted: the blob is read again and the row replaced."""
    paths = _layouts(tmp_path)
    path = tmp_path / "cache.sqlite"
    cache = LayerCache(path)
    first = read(paths, cache=cache)
    db = sqlite3.connect(path)
    if damage == "payload":
        db.execute("UPDATE layers SET payload = substr(payload, 1, length(payload) - 1)")
    elif damage == "checksum":
        db.execute("UPDATE layers SET payload_sha256 = 'x'")
    else:
        import hashlib

        junk = b"\x78\x9c not zlib"
        db.execute(
            "UPDATE layers SET payload = ?, payload_sha256 = ?",
            (junk, hashlib.sha256(junk).hexdigest()),
        )
    db.commit()
    db.close()
    again = read(paths, cache=cache)
    assert again.counts == CacheCounts(hits=0, blob_reads=2, bytes_read=first.counts.bytes_read)
    assert again.images == first.images and cache.rebuilt
    assert read(paths, cache=cache).counts.hits == 2


def test_two_writers_share_the_file(tmp_path: Path) -> None:
    """Two caches on one file (two runs) read and store at once: both runs succeed and the
    file then holds every blob once."""
    paths = _layouts(tmp_path)
    path = tmp_path / "cache.sqlite"
    errors: list[BaseException] = []

    def run() -> None:
        try:
            cache = LayerCache(path)
            for _ in range(5):
                read(paths, cache=cache)
            cache.close()
        except BaseException as exc:  # reported below
            errors.append(exc)

    threads = [threading.Thread(target=run) for _ in range(2)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert errors == []
    rows = sqlite3.connect(path).execute("SELECT COUNT(*) FROM layers").fetchone()
    assert rows == (2,)


def test_default_path_follows_xdg(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    """$XDG_CACHE_HOME/layersim/blobs.sqlite, else ~/.cache/layersim/blobs.sqlite."""
    monkeypatch.setenv("XDG_CACHE_HOME", str(tmp_path))
    assert default_cache_path() == tmp_path / "layersim" / "blobs.sqlite"
    monkeypatch.delenv("XDG_CACHE_HOME")
    monkeypatch.setenv("HOME", str(tmp_path / "home"))
    assert default_cache_path() == tmp_path / "home" / ".cache" / "layersim" / "blobs.sqlite"


def test_real_layers_round_trip(tmp_path: Path) -> None:
    """Layers read from real tars (files, directories, symlinks, hard links, whiteouts,
    opaque markers) decode to equal layers, names included."""
    tar = make_tar(
        [
            *BASE,
            M("etc/link", kind=tarfile.SYMTYPE, link="/bin/sh"),
            M("etc/hard", kind=tarfile.LNKTYPE, link="etc/passwd"),
            M("opt/.wh.gone"),
            M("usr/.wh..wh..opq"),
        ]
    )
    layout = Layout(tmp_path / "l")
    layout.add(layout.image([tar]), "1")
    [layer] = read_images([layout.root])[0].layers
    assert {e.kind for e in layer.entries} >= {EntryKind.WHITEOUT, EntryKind.OPAQUE}
    decoded = decode_layer(encode_layer(layer), layer.diff_id, layer.blob_digest, layer.name)
    assert decoded == layer and decoded.name == layer.name
    assert decoded.diff_id == sha(tar)


_text = st.text(st.characters(blacklist_characters="\0", blacklist_categories=("Cs",)), max_size=12)
_entries = st.lists(
    st.builds(
        Entry,
        path=_text.filter(bool),
        kind=st.sampled_from(list(EntryKind)),
        file_bytes=st.integers(0, 2**62),
        content=st.one_of(st.none(), st.just("sha256:" + "f" * 64)),
        content_class=_text,
        link_target=_text,
        tar_bytes=st.integers(0, 2**62),
        compressed_bytes=st.integers(0, 2**62),
        content_compressed_bytes=st.integers(0, 2**62),
    ),
    max_size=8,
)


@given(_entries, st.integers(0, 2**62), st.integers(0, 2**62))
def test_any_layer_round_trips(entries: list[Entry], tar_bytes: int, compressed: int) -> None:
    """Whatever its entries hold, a layer encoded and decoded is the same layer."""
    layer = Layer(tuple(entries), DIFF, BLOB, tar_bytes, compressed, name="n")
    assert decode_layer(encode_layer(layer), DIFF, BLOB, "n") == layer
