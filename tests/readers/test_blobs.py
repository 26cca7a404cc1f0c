"""Tests of `layersim.readers.blobs`: the distinct layer blobs of a read streamed several at a
time, with the layers, the progress and the first error of reading them one by one.
"""

from __future__ import annotations

import os
import threading
from pathlib import Path

import pytest

import layersim.readers.blobs as blobs_module
import layersim.readers.decompress as decompress
from layersim.errors import ImageFormatError
from layersim.model.sizes import CompressionModel
from layersim.readers import read_images
from layersim.readers.blobs import available_cores, read_layers
from layersim.readers.oci import plan_layout
from layersim.readers.source import opened
from tests.readers.images import Layout, M, docker_archive, make_tar, sha


def several_blobs(tmp_path: Path) -> list[Path]:
    """An OCI layout and a docker-archive whose images have several distinct layer blobs of
    unlike sizes, in all three compressions (the archive's stored plain or gzip)."""
    tars = [
        make_tar([M(f"l{n}/f{i}", os.urandom(1000 * (n + 1) ** 2) * 3) for i in range(n + 2)])
        for n in range(6)
    ]
    layout = Layout(tmp_path / "layout")
    layout.add(layout.image(tars[:3], ["gzip", "zstd", "none"]), "a:1")
    layout.add(layout.image([tars[0], *tars[3:]], ["gzip", "zstd", "gzip", "none"]), "b:1")
    archive = docker_archive(tmp_path / "a.tar", [(["c:1"], tars[::2]), (["d:1"], tars[1::2])])
    gzipped = docker_archive(tmp_path / "g.tar", [(["e:1"], tars[3:])], "blobs", "gzip")
    return [layout.root, archive, gzipped]


def test_blobs_read_at_once_agree_with_one_at_a_time(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Reading the distinct blobs on several threads (archive members included, read in place
    through one file) gives the very layers, in the very order, of reading them one by one;
    progress is reported on the calling thread, from (0, total) to (total, total)."""
    paths = several_blobs(tmp_path)
    monkeypatch.setattr(blobs_module, "available_cores", lambda: 1)
    one_by_one = read_images(paths)
    monkeypatch.setattr(blobs_module, "available_cores", lambda: 4)
    calls: list[tuple[int, int, int]] = []
    at_once = read_images(paths, progress=lambda d, t: calls.append((d, t, threading.get_ident())))
    assert at_once == one_by_one
    assert [layer.name for i in at_once for layer in i.layers] == [
        layer.name for i in one_by_one for layer in i.layers
    ]
    total = calls[0][1]
    assert calls[0][:2] == (0, total) and calls[-1][:2] == (total, total)
    assert [d for d, _, _ in calls] == sorted(d for d, _, _ in calls)
    assert {thread for _, _, thread in calls} == {threading.get_ident()}


def test_blobs_read_at_once_fail_with_the_first_bad_blob_in_order(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Of two bad blobs read at once, the error is the earlier one's in the image's order (as
    reading one by one reports), even when the later one, far smaller, fails first; no thread
    is left running."""
    monkeypatch.setattr(blobs_module, "available_cores", lambda: 4)
    monkeypatch.setattr(decompress, "CHUNK_BYTES", 16 << 10)
    big = make_tar([M(f"big/f{i}", os.urandom(200_000)) for i in range(10)])
    small = make_tar([M("small", b"s")])
    fine = make_tar([M("fine", b"f")])
    layout = Layout(tmp_path / "l")
    wrong = [sha(b"not big"), sha(fine), sha(b"not small")]
    layout.add(layout.image([big, fine, small], diff_ids=wrong), "x:1")
    before = threading.active_count()
    for _ in range(3):
        with pytest.raises(ImageFormatError, match=r"\(layer 1 of x:1\).*DiffID"):
            read_images([layout.root])
    assert threading.active_count() == before


def test_read_layers_returns_the_layers_in_the_order_asked(tmp_path: Path) -> None:
    """Whatever the number of workers, the layers come back in the order of the plans (here
    smallest first, the reverse of the largest-first order the workers take them in), and the
    byte counts reported add up to the stored bytes."""
    tars = [make_tar([M(f"f{n}", os.urandom(2000 * (n + 1)))]) for n in range(5)]
    layout = Layout(tmp_path / "l")
    layout.add(layout.image(tars, "none"), "x:1")
    with opened(layout.root) as source:
        (plan,) = plan_layout(source, layout.root, None)
        stored = sum(p.blob.stored_bytes for p in plan.layers)
        for workers in (1, 2, 5):
            counted: list[int] = []
            layers = read_layers(plan.layers, CompressionModel(), counted.append, workers)
            assert [layer.diff_id for layer in layers] == [sha(t) for t in tars]
            assert sum(counted) == stored


def test_read_layers_of_no_plan_is_empty() -> None:
    """No blob to read: no layer, no thread."""
    assert read_layers([], CompressionModel()) == []


def test_available_cores_is_what_this_process_may_use() -> None:
    """The size of this process's affinity mask (on Linux, where the tests run)."""
    assert available_cores() == len(os.sched_getaffinity(0))
