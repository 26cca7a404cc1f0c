"""Tests of `layersim.readers.flatten`: the flattened export of a real image is written and
gzip-compressed for real, and its sizes equal those of an independent build of the same tar
(`make_tar` of the members the merged view shows) compressed in one call by zlib-ng at the
same level; the issue's two cases, where the engine's apportioned estimate is far off."""

from __future__ import annotations

import io
import os
import tarfile
from pathlib import Path

from zlib_ng import zlib_ng

from layersim.accounting.assemble import evaluate
from layersim.accounting.metrics import ImageMetrics
from layersim.advice.combine import combine_layers
from layersim.readers import read_images, read_population
from layersim.readers.flatten import (
    GZIP_LEVEL,
    GZIP_WBITS,
    FlattenedSize,
    combined_range,
    measure_flattened_paths,
    measure_ranges,
    planned,
)
from tests.readers.images import Layout, M, gzip_bytes, make_tar, noise


def expected(members: list[M]) -> FlattenedSize:
    """The flattened tar built independently (`make_tar`), and its zlib-ng gzip."""
    tar = make_tar(members)
    return FlattenedSize(len(tar), gzip_bytes(tar))


def measure(tmp_path: Path, layers: list[list[M]], how: str = "gzip") -> FlattenedSize:
    layout = Layout(tmp_path / "img")
    layout.add(layout.image([make_tar(members) for members in layers], how), "1")
    images = read_images([layout.root])
    (size,) = measure_flattened_paths([layout.root], images).values()
    return size


def test_slices_and_one_shot() -> None:
    """Under one slice, the sliced gzip is zlib-ng's one-call gzip; over several slices the
    export still decompresses to the tar (the count is of a real gzip stream)."""
    small = make_tar([ZEROS])
    assert gzip_bytes(small) == len(zlib_ng.compress(small, GZIP_LEVEL, GZIP_WBITS))


ZEROS = M("zeros", bytes(500_000))
RANDOM = M("random", noise(500_000, 1))
TEXT = M("doc.txt", b"".join(b"line %d of a text file\n" % i for i in range(13_000))[:300_000])
RANDOM_300K = M("data.bin", noise(300_000, 2))


def test_deleted_random_file(tmp_path: Path) -> None:
    """The issue's first case: one layer of 500 KB of zeros and 500 KB of random bytes, the
    random file deleted by the next layer. The export holds the zeros alone: a few hundred
    compressed bytes, where the engine's estimate (the zeros' apportioned share of a blob
    dominated by the random data) is hundreds of times more."""
    size = measure(tmp_path, [[ZEROS, RANDOM], [M(".wh.random")]])
    assert size == expected([ZEROS])
    assert size.gzip_bytes < 1000
    estimate = estimated(tmp_path)
    assert estimate.flattened_tar_bytes == size.tar_bytes
    assert estimate.flattened_compressed_bytes > 100 * size.gzip_bytes


def estimated(tmp_path: Path) -> ImageMetrics:
    """The engine's figures of the image `measure` wrote."""
    (metrics,) = evaluate(read_population([tmp_path / "img"])).images
    return metrics


def test_deleted_random_next_to_text(tmp_path: Path) -> None:
    """The issue's second case: one layer of 300 KB of text and 300 KB of random bytes, the
    random file deleted by the next layer: the export holds the text, and the estimate is
    well above it."""
    size = measure(tmp_path, [[TEXT, RANDOM_300K], [M(".wh.data.bin")]])
    assert size == expected([TEXT])
    estimate = estimated(tmp_path)
    assert estimate.flattened_tar_bytes == size.tar_bytes
    assert estimate.flattened_compressed_bytes > 1.5 * size.gzip_bytes


def test_text_next_to_random(tmp_path: Path) -> None:
    """Text and random bytes in two layers, nothing deleted: the export holds both, in layer
    order."""
    size = measure(tmp_path, [[TEXT], [RANDOM_300K]])
    assert size == expected([TEXT, RANDOM_300K])


def test_overlay_rules_and_order(tmp_path: Path) -> None:
    """Topmost wins, an opaque directory hides what was below it, directories merge and are
    written once (from the topmost layer that has them); zstd and plain layers read alike."""
    base = [
        M("etc", kind=tarfile.DIRTYPE),
        M("etc/a", b"old a"),
        M("etc/b", b"b" * 700),
        M("opt", kind=tarfile.DIRTYPE),
        M("opt/x", b"x" * 900),
    ]
    top = [
        M("etc", kind=tarfile.DIRTYPE),
        M("etc/a", b"new a"),
        M("opt", kind=tarfile.DIRTYPE),
        M("opt/.wh..wh..opq"),
        M("opt/y", b"y"),
        M("bin", kind=tarfile.SYMTYPE, link="usr/bin"),
    ]
    layout = Layout(tmp_path / "img")
    layout.add(layout.image([make_tar(base), make_tar(top)], ["zstd", "none"]), "1")
    images = read_images([layout.root])
    (size,) = measure_flattened_paths([layout.root], images).values()
    # from the base: etc/b only; from the top: everything but the opaque marker
    kept = [base[2], top[0], top[1], top[2], top[4], top[5]]
    assert size == expected(kept)


def test_shared_base_is_read_once_per_group(tmp_path: Path) -> None:
    """Two images on one base layer: each gets its own export, equal to its own build."""
    base = [M("lib", kind=tarfile.DIRTYPE), M("lib/so", os.urandom(0) + b"s" * 4000)]
    layout = Layout(tmp_path / "app")
    layout.add(layout.image([make_tar(base), make_tar([M("one", b"1" * 100)])]), "1")
    layout.add(layout.image([make_tar(base), make_tar([M("two", b"2" * 200)])]), "2")
    images = read_images([layout.root])
    sizes = measure_flattened_paths([layout.root], images)
    assert sizes == {
        "app:1": expected([*base, M("one", b"1" * 100)]),
        "app:2": expected([*base, M("two", b"2" * 200)]),
    }


def test_across_pieces_and_slices(tmp_path: Path) -> None:
    """A layer of several MiB (several decompressed pieces, several 1 MiB compressor slices,
    members cut across both): the export still equals the independent build."""
    big = M("big", noise(3_300_000, 3))
    text = M("text", b"abc\n" * 400_000)
    small = M("small", b"x" * 10)
    size = measure(tmp_path, [[big, text, small], [M(".wh.text")]])
    assert size == expected([big, small])


def combined_tar(tmp_path: Path, layers: list[list[M]], start: int) -> tuple[bytes, FlattenedSize]:
    """The tar (and its sizes) `measure_ranges` writes for the layer that combining layers
    [start, n) of a one-image layout builds (`combine_layers`' layer, `combined_range`)."""
    layout = Layout(tmp_path / "img")
    layout.add(layout.image([make_tar(members) for members in layers]), "1")
    images = read_images([layout.root])
    image_layers = images[0].layers
    combined = combine_layers(image_layers, start, len(image_layers))
    wanted = combined_range(0, image_layers, start, len(image_layers), combined)
    written = bytearray()
    with planned([layout.root], images) as plans:
        (size,) = measure_ranges(plans, [wanted], sinks=[written.extend])
    return bytes(written), size


def names(tar: bytes) -> list[str]:
    with tarfile.open(fileobj=io.BytesIO(tar)) as opened:
        return opened.getnames()


LOWER = [M("opt", kind=tarfile.DIRTYPE), M("opt/old", noise(200_000, 4)), M("opt/keep", b"k" * 900)]
RUN = [
    [M("app", kind=tarfile.DIRTYPE), M("app/tmp", noise(300_000, 5)), M("app/run", b"r" * 1000)],
    [M("opt/.wh.old"), M("app/.wh.tmp"), M("app/conf", b"c = 1\n" * 50)],
]


def test_top_layers_keep_a_whiteout_of_a_lower_file(tmp_path: Path) -> None:
    """Combining the top two layers: the whiteout of `opt/old` (a file of the layer below the
    run) is kept, the whiteout of `app/tmp` (added and deleted inside the run) and `app/tmp`
    itself are dropped; the tar is byte for byte the independent build of exactly those
    members, in layer order, and its gzip is zlib-ng's at level 6 of that build."""
    tar, size = combined_tar(tmp_path, [LOWER, *RUN], start=1)
    members = [RUN[0][0], RUN[0][2], RUN[1][0], RUN[1][2]]
    assert names(tar) == ["app", "app/run", "opt/.wh.old", "app/conf"]
    assert tar == make_tar(members)
    assert size == FlattenedSize(len(tar), gzip_bytes(make_tar(members)))


def test_whole_range_is_the_flattened_export(tmp_path: Path) -> None:
    """Combining every layer (start 0) drops every whiteout, as the flattened export does:
    the same tar and sizes as `measure_flattened_paths`."""
    tar, size = combined_tar(tmp_path, [LOWER, *RUN], start=0)
    assert names(tar) == ["opt", "opt/keep", "app", "app/run", "app/conf"]
    assert size == measure(tmp_path / "flat", [LOWER, *RUN])


def test_made_opaque_marker_is_written_first(tmp_path: Path) -> None:
    """A directory the run deletes and makes again, over a lower directory with files: the
    combination makes an opaque marker no layer holds (`opt/.wh..wh..opq`, an empty file,
    written first), and drops the run's whiteout of `opt`."""
    run = [[M(".wh.opt")], [M("opt", kind=tarfile.DIRTYPE), M("opt/new", b"n" * 300)]]
    tar, size = combined_tar(tmp_path, [LOWER, *run], start=1)
    assert names(tar) == ["opt/.wh..wh..opq", "opt", "opt/new"]
    marker = M("opt/.wh..wh..opq")
    assert tar == make_tar([marker, *run[1]])
    assert size.gzip_bytes == gzip_bytes(tar)
