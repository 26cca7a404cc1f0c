"""`analyze` throughput: reading real image blobs (`layersim.readers`) and evaluating them,
against the standard library's floor on the same blobs in the same run: sha256 of each blob,
gunzip, sha256 of the tar (`bench.images.stdlib_digest_pass`)."""

from __future__ import annotations

import time

from bench import images, workloads
from layersim.accounting.assemble import evaluate
from layersim.readers import read_population


def _info(layout: images.Layout) -> dict[str, int]:
    return {
        "blob_bytes": layout.blob_bytes,
        "tar_bytes": layout.tar_bytes,
        "files": layout.files,
        "images": len(layout.images),
    }


def test_stdlib_digest_pass(timed, layout: images.Layout) -> None:
    """The floor: blob digest and DiffID of every distinct layer blob, stdlib only."""
    digests = timed(lambda: images.stdlib_digest_pass(layout.blobs), _info(layout), fast=True)
    assert len(digests) == len(layout.blobs)
    assert all(
        blob.endswith(path.name) for (blob, _), path in zip(digests, layout.blobs, strict=True)
    )


def test_analyze(timed, layout: images.Layout) -> None:
    """`analyze`: read the layout (both digests verified, every file hashed) and evaluate it."""

    def analyze():
        population = read_population([layout.path])
        return population, evaluate(population)

    population, metrics = timed(analyze, _info(layout), fast=True)
    assert [image.name for image in population.images] == list(layout.images)
    expected = dict(images.stdlib_digest_pass(layout.blobs))
    layers = {layer.blob_digest: layer for image in population.images for layer in image.layers}
    assert {blob: layer.diff_id for blob, layer in layers.items()} == expected
    assert len(metrics.images) == len(layout.images)
    assert metrics.registry_stored_bytes.layer == layout.blob_bytes  # stored bytes, exactly


def test_analyze_paired(benchmark, layout: images.Layout, rounds: int) -> None:
    """The floor and `analyze` back to back, alternating, round after round: the ratio of each
    pair is taken under the same load, so a change of load on this shared machine between the
    two benchmarks above cannot land on one side only. Timed: one pair per round."""
    ratios: list[float] = []

    def pair() -> None:
        start = time.perf_counter()
        images.stdlib_digest_pass(layout.blobs)
        floor_s = time.perf_counter() - start
        start = time.perf_counter()
        population = read_population([layout.path])
        evaluate(population)
        ratios.append(floor_s / (time.perf_counter() - start))

    benchmark.extra_info["source"] = workloads.SOURCE_AT_IMPORT
    benchmark.extra_info.update(_info(layout))
    benchmark.pedantic(pair, rounds=3 * rounds, iterations=1, warmup_rounds=1)
    benchmark.extra_info["paired_ratios"] = ratios
    assert len(ratios) == 3 * rounds + 1  # the warm-up round is a pair too
    assert all(r > 0 for r in ratios)


def test_analyze_chunking_paired(benchmark, layout: images.Layout, rounds: int) -> None:
    """Reading with chunking (every file cut by FastCDC and fixed-size chunks, sha256 per chunk,
    zstd level 3 per distinct chunk: `read_population`) against the stdlib floor on the same
    blobs (decompress + sha256), back to back each round; `paired_ratios` are floor / read
    (issue 13's goal: >= 0.6). Asserts that every file's chunks cover its bytes."""
    ratios: list[float] = []
    read: list = []

    def pair() -> None:
        start = time.perf_counter()
        images.stdlib_digest_pass(layout.blobs)
        floor_s = time.perf_counter() - start
        start = time.perf_counter()
        read.append(read_population([layout.path]))
        ratios.append(floor_s / (time.perf_counter() - start))

    benchmark.extra_info.update(_info(layout))
    benchmark.pedantic(pair, rounds=rounds, iterations=1, warmup_rounds=0)
    benchmark.extra_info["paired_ratios"] = ratios
    population = read[-1]
    files = [
        e
        for image in population.images
        for layer in image.layers
        for e in layer.entries
        if e.file_bytes
    ]
    assert files and all(population.content_chunks(e).file_bytes == e.file_bytes for e in files)
    assert all(r > 0 for r in ratios)
