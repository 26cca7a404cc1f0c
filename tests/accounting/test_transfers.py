"""Pushes and pulls (`accounting.transfers`): each layer's outcome, the bytes and layers moved,
over one sequence and over epochs, on worked examples."""

from __future__ import annotations

import numpy as np

from layersim.accounting.arrays import canonical, from_population
from layersim.accounting.images import image_table
from layersim.accounting.transfers import (
    PullOutcome,
    PushOutcome,
    pull_sequences,
    pull_timeline,
    push_sequence,
    push_timeline,
)
from layersim.model import (
    EntryKind,
    Image,
    Node,
    Population,
    StorageOptions,
    make_entry,
    make_layer,
)
from layersim.model.digest import content_digest

UPLOAD, EXISTS, MOUNT = (int(PushOutcome.UPLOAD), int(PushOutcome.EXISTS), int(PushOutcome.MOUNT))
DOWNLOAD, SKIP, KEPT = (int(PullOutcome.DOWNLOAD), int(PullOutcome.SKIP), int(PullOutcome.KEPT))


def _file(path: str, size: int, content: str | None = None):
    return make_entry(path, EntryKind.FILE, size, content_digest(content or path, size))


BASE = make_layer([_file("etc/os", 40960, "base")])
OTHER_BASE = make_layer([_file("etc/os", 40960, "other base")])
APP = make_layer([_file("app/bin", 8192, "app")])
APP2 = make_layer([_file("app/bin", 8192, "app v2")])


def test_outcome_codes_keep_their_values() -> None:
    """The codes the tables hold: pushes 0/1/2 = upload/exists/mount, pulls 0/1/2 =
    download/skip/kept (what the tables held as bare integers before the enums)."""
    assert [(o.name, int(o)) for o in PushOutcome] == [("UPLOAD", 0), ("EXISTS", 1), ("MOUNT", 2)]
    assert [(o.name, int(o)) for o in PullOutcome] == [("DOWNLOAD", 0), ("SKIP", 1), ("KEPT", 2)]


def test_push_uploads_then_skips_then_mounts() -> None:
    """a:1 (base, app) uploads both blobs; a:2 (base, app2) in the same repository finds the
    base there and uploads app2; b:1 (base, app) in another repository mounts both."""
    population = Population(
        (Image("a:1", (BASE, APP)), Image("a:2", (BASE, APP2)), Image("b:1", (BASE, APP))),
        push_order=("a:1", "a:2", "b:1"),
    )
    arrays = from_population(population)
    pushes = push_sequence(arrays, arrays.push_order, image_table(canonical(arrays)))
    assert pushes.layer_outcome.tolist() == [UPLOAD, UPLOAD, EXISTS, UPLOAD, MOUNT, MOUNT]
    assert pushes.row_offsets.tolist() == [0, 2, 4, 6]
    assert pushes.uploaded_layers.tolist() == [2, 1, 0]
    assert pushes.skipped_layers.tolist() == [0, 1, 2]
    assert pushes.mounted_layers.tolist() == [0, 0, 2]
    blob = arrays.layer_compressed_bytes
    assert pushes.uploaded_bytes.tolist() == [blob[0] + blob[1], blob[2], 0]
    assert pushes.flattened_uploaded_bytes[2] == 0  # b:1 exports the same blob as a:1


def test_push_timeline_uploads_again_after_garbage_collection() -> None:
    """a:1 pushed at epoch 0 and collected after it, pushed again at epoch 1: uploaded again;
    a third push at epoch 1, while the second is held, skips every blob."""
    arrays = from_population(Population((Image("a:1", (BASE, APP)),)))
    images = image_table(canonical(arrays))
    pushes = push_timeline(
        arrays, np.array([0, 0, 0]), images, start=np.array([0, 1, 1]), until=np.array([0, 1, 1])
    )
    assert pushes.layer_outcome.tolist() == [UPLOAD, UPLOAD, UPLOAD, UPLOAD, EXISTS, EXISTS]
    assert pushes.uploaded_layers.tolist() == [2, 2, 0]
    assert (pushes.flattened_uploaded_bytes > 0).tolist() == [True, True, False]


def _pulls(options: StorageOptions):
    """One node pulls x:1 (base, app), y:1 (other base, app), then x:1 again."""
    population = Population(
        (Image("x:1", (BASE, APP)), Image("y:1", (OTHER_BASE, APP))),
        nodes=(Node("n", ("x:1", "y:1", "x:1")),),
        options=options,
    )
    arrays = from_population(population)
    images = image_table(canonical(arrays))
    return arrays, pull_sequences(arrays, arrays.node_offsets, arrays.node_images, images)


def test_pull_downloads_skips_and_extracts_a_kept_blob() -> None:
    """Keeping blobs, the app layer on another base is a new ChainID whose blob the node
    already has: extracted, not downloaded (KEPT); the second x:1 skips both layers."""
    arrays, pulls = _pulls(StorageOptions(keep_compressed_blobs=True))
    assert pulls.layer_outcome.tolist() == [DOWNLOAD, DOWNLOAD, DOWNLOAD, KEPT, SKIP, SKIP]
    assert pulls.node.tolist() == [0, 0, 0]
    assert pulls.downloaded_layers.tolist() == [2, 1, 0]
    assert pulls.skipped_layers.tolist() == [0, 1, 2]
    blob = arrays.layer_compressed_bytes
    assert pulls.downloaded_bytes.tolist() == [blob[0] + blob[1], blob[2], 0]
    assert pulls.extracted_disk_bytes.tolist() == [40960 + 8192, 40960 + 8192, 0]


def test_pull_without_kept_blobs_downloads_the_layer_again() -> None:
    """Without kept blobs the app layer on another base is downloaded again."""
    _, pulls = _pulls(StorageOptions())
    assert pulls.layer_outcome.tolist() == [DOWNLOAD, DOWNLOAD, DOWNLOAD, DOWNLOAD, SKIP, SKIP]
    assert pulls.downloaded_layers.tolist() == [2, 2, 0]


def test_pull_timeline_downloads_again_after_garbage_collection() -> None:
    """x:1 pulled at epoch 0 and collected after it, then pulled at epoch 2: downloaded again."""
    arrays = from_population(Population((Image("x:1", (BASE, APP)),), nodes=(Node("n", ()),)))
    images = image_table(canonical(arrays))
    pulls = pull_timeline(
        arrays,
        np.array([0, 2]),
        np.array([0, 0]),
        images,
        start=np.array([0, 2]),
        until=np.array([0, 2]),
    )
    assert pulls.layer_outcome.tolist() == [DOWNLOAD] * 4
    assert pulls.downloaded_layers.tolist() == [2, 2]
