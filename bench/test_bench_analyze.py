"""`analyze` throughput: reading real image blobs (`layersim.readers`, imported lazily) and
evaluating them, against the standard library's floor on the same blobs in the same run:
sha256 of each blob, gunzip, sha256 of the tar (`bench.images.stdlib_digest_pass`)."""

from __future__ import annotations

import pytest

from bench import images


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
    readers = pytest.importorskip(
        "layersim.readers", reason="the image readers (layersim.readers) are not written yet"
    )
    from layersim import engine

    def analyze():
        population = readers.read_population([layout.path])
        return population, engine.evaluate(population)

    population, metrics = timed(analyze, _info(layout), fast=True)
    assert [image.name for image in population.images] == list(layout.images)
    expected = dict(images.stdlib_digest_pass(layout.blobs))
    layers = {layer.blob_digest: layer for image in population.images for layer in image.layers}
    assert {blob: layer.diff_id for blob, layer in layers.items()} == expected
    assert len(metrics.images) == len(layout.images)
    assert metrics.registry_stored_bytes.layer == layout.blob_bytes  # stored bytes, exactly
