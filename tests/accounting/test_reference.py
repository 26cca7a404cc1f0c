"""Worked examples for `layersim.accounting.reference`, every figure an exact integer computed
by hand.

Unit reminders (default compression model, sizes.py): a 512-byte header compresses to
ceil(512 * 1000 / 10000) = 52 bytes; a blob adds 20 (gzip framing) + ceil(1024 * 1000 / 10000)
= 123 bytes of overhead; binary data compresses at 2400 per-mille (12288 -> 5120 exactly), text at
4000 (100 -> 25), archive at 1000 (no gain). Disk bytes use 4096-byte blocks unless a test says so.
"""

from __future__ import annotations

import pytest

from layersim.accounting import reference
from layersim.accounting.metrics import (
    ContainerUsage,
    ImageDiskUsage,
    ImageMetrics,
    PopulationMetrics,
    PullRecord,
    PushRecord,
    StoredBytes,
)
from layersim.errors import ModelError
from layersim.model import (
    Container,
    ContainerState,
    Entry,
    EntryKind,
    FileModify,
    FileWrite,
    Image,
    Layer,
    Node,
    Population,
    StorageDriver,
    StorageOptions,
    make_entry,
    make_layer,
)
from layersim.model.digest import content_digest


def f(path: str, file_bytes: int, cls: str = "binary", name: str | None = None) -> Entry:
    return make_entry(
        path,
        EntryKind.FILE,
        file_bytes,
        content=content_digest(name or path, file_bytes),
        content_class=cls,
    )


def e(path: str, kind: EntryKind) -> Entry:
    return make_entry(path, kind)


def L(name: str, *entries: Entry) -> Layer:
    return make_layer(entries, name=name)


def evaluate(*images: Image, **kwargs) -> PopulationMetrics:
    return reference.evaluate(Population(images, **kwargs))


def image_metrics(image: Image, options: StorageOptions | None = None) -> ImageMetrics:
    return evaluate(image, options=options or StorageOptions()).images[0]


# --- n apps on one base: the closed form --------------------------------------------------------
#
# base B: one 36864-byte binary file (9 blocks of 4096; compressed 36864 * 1000 / 2400 = 15360)
#   tar 512 + 36864 + 1024 = 38400; compressed 123 + 52 + 15360 = 15535; disk 36864
# app A_i: one 12288-byte binary file of its own (3 blocks; compressed 5120)
#   tar 512 + 12288 + 1024 = 13824; compressed 123 + 52 + 5120 = 5295; disk 12288
# each image [B, A_i]: layered compressed 15535 + 5295 = 20830, disk 49152;
#   flattened compressed 123 + (52 + 15360) + (52 + 5120) = 20707 (one overhead), disk 49152

BASE = L("base", f("usr/lib/libbase.so", 36864))


def app_layer(i: int) -> Layer:
    return L(f"app{i}", f(f"app/app{i}", 12288))


def app_image(i: int) -> Image:
    return Image(f"app{i}:1", (BASE, app_layer(i)))


def test_app_image_metrics_every_figure() -> None:
    """ImageMetrics of one app on the base, every field: layered tar 38400 + 13824 = 52224,
    flattened tar 512 + 36864 + 512 + 12288 + 1024 = 51200; compressed 20830 / 20707; disk
    49152 both; nothing shadowed; dive: two paths each named once, 36864 + 12288 = 49152
    cumulative = min, nothing wasted; user bytes (all but layer 0) 12288."""
    assert image_metrics(app_image(1)) == ImageMetrics(
        name="app1:1",
        layers=("base", "app1"),
        layered_tar_bytes=52224,
        layered_compressed_bytes=20830,
        layered_disk_bytes=49152,
        flattened_tar_bytes=51200,
        flattened_compressed_bytes=20707,
        flattened_disk_bytes=49152,
        shadowed_file_bytes=0,
        dive_min_bytes=49152,
        dive_cumulative_bytes=49152,
        dive_wasted_bytes=0,
        dive_user_bytes=12288,
    )
    assert image_metrics(app_image(1)).dive_efficiency == 1.0


@pytest.mark.parametrize("n", [1, 2, 5])
def test_n_apps_on_one_base_closed_form(n: int) -> None:
    """n apps of app size A on one base B. Node (disk): layer stores B + nA = 36864 + 12288n,
    flattened and logical n(B + A) = 49152n, file B + nA. Registry (compressed): layer
    15535 + 5295n, flattened 20707n, logical 20830n, file 15360 + 5120n."""
    images = [app_image(i) for i in range(n)]
    names = tuple(image.name for image in images)
    m = evaluate(*images, nodes=(Node("node", names),))
    assert m.nodes[0].stored_bytes == StoredBytes(
        logical=49152 * n,
        flattened=49152 * n,
        layer=36864 + 12288 * n,
        file=36864 + 12288 * n,
        chunk_cdc=36864 + 12288 * n,
        chunk_fixed=36864 + 12288 * n,
    )
    assert m.registry_stored_bytes == StoredBytes(
        logical=20830 * n,
        flattened=20707 * n,
        layer=15535 + 5295 * n,
        file=15360 + 5120 * n,
        chunk_cdc=15360 + 5120 * n,
        chunk_fixed=15360 + 5120 * n,
    )


def test_n_apps_pushes_mount_the_base() -> None:
    """Pushing app0 uploads both blobs (20830); app1, in another repository, mounts the base
    and uploads its own layer (5295); each flattened export is a new 20707-byte blob."""
    m = evaluate(app_image(0), app_image(1))
    assert m.pushes == (
        PushRecord("app0:1", 20830, ("base", "app0"), (), (), 20707),
        PushRecord("app1:1", 5295, ("app1",), ("base",), ("base",), 20707),
    )


def test_n_apps_pulls_skip_the_base_and_share_it_in_df() -> None:
    """A node pulling app0 then app1 downloads 20830 and extracts 49152, then skips the base
    (same ChainID) and downloads 5295, extracts 12288. docker system df: each image is
    49152 of which the base's 36864 is shared, 12288 unique."""
    m = evaluate(app_image(0), app_image(1), nodes=(Node("node", ("app0:1", "app1:1")),))
    node = m.nodes[0]
    assert node.pulls == (
        PullRecord("app0:1", 20830, 49152, ("base", "app0"), (), 20707),
        PullRecord("app1:1", 5295, 12288, ("app1",), ("base",), 20707),
    )
    assert node.pulled_bytes == 26125
    assert node.pulled_flattened_bytes == 41414
    assert node.images == (
        ImageDiskUsage("app0:1", 49152, 36864, 12288),
        ImageDiskUsage("app1:1", 49152, 36864, 12288),
    )


def test_single_image_shares_nothing_in_df() -> None:
    """An image alone on a node: shared 0, unique = size."""
    m = evaluate(app_image(0), nodes=(Node("node", ("app0:1",)),))
    assert m.nodes[0].images == (ImageDiskUsage("app0:1", 49152, 0, 49152),)


def test_node_storage_keeping_compressed_blobs() -> None:
    """keep_compressed_blobs adds the blobs beside the extracted layers, 2 apps: layer
    36864 + 2*12288 + (15535 + 2*5295) = 61440 + 26125 = 87565; logical 2*(49152 + 20830) =
    139964; flattened 2*(49152 + 20707) = 139718; file (extracted contents only) 61440."""
    m = evaluate(
        app_image(0),
        app_image(1),
        nodes=(Node("node", ("app0:1", "app1:1")),),
        options=StorageOptions(keep_compressed_blobs=True),
    )
    assert m.nodes[0].stored_bytes == StoredBytes(
        logical=139964,
        flattened=139718,
        layer=87565,
        file=61440,
        chunk_cdc=61440,
        chunk_fixed=61440,
    )


def test_node_storage_with_512_byte_blocks() -> None:
    """Sizes that are multiples of 4096 cost the same on 512-byte blocks: 2 apps on a node:
    layer and file 61440, flattened and logical 98304."""
    m = evaluate(
        app_image(0),
        app_image(1),
        nodes=(Node("node", ("app0:1", "app1:1")),),
        options=StorageOptions(block_bytes=512),
    )
    assert m.nodes[0].stored_bytes == StoredBytes(
        logical=98304, flattened=98304, layer=61440, file=61440, chunk_cdc=61440, chunk_fixed=61440
    )


# --- registry pushes: exists, mounted, uploaded -------------------------------------------------


def test_push_exists_mounted_uploaded_and_twice() -> None:
    """Push order app:1, app:2, other:1, app:1 with app:1 = [base, app1], app:2 = [base, app2]
    (same repository `app`), other:1 = the same stack as app:1 in repository `other`:
    - app:1 uploads base + app1 = 20830; its export 20707;
    - app:2: base *exists* in `app` (skipped, not mounted), app2 uploaded 5295; export 20707;
    - other:1: both blobs *mounted* from `app`, 0 uploaded; its export (same top ChainID) is
      already stored: 0;
    - app:1 again: everything exists, nothing uploaded.
    Registry: layer 15535 + 2*5295 = 26125, flattened 2*20707 = 41414, logical (3 distinct
    images) 3*20830 = 62490, file 15360 + 2*5120 = 25600."""
    app1 = Image("app:1", (BASE, app_layer(1)))
    app2 = Image("app:2", (BASE, app_layer(2)))
    other = Image("other:1", (BASE, app_layer(1)))
    m = evaluate(app1, app2, other, push_order=("app:1", "app:2", "other:1", "app:1"))
    assert m.pushes == (
        PushRecord("app:1", 20830, ("base", "app1"), (), (), 20707),
        PushRecord("app:2", 5295, ("app2",), ("base",), (), 20707),
        PushRecord("other:1", 0, (), ("base", "app1"), ("base", "app1"), 0),
        PushRecord("app:1", 0, (), ("base", "app1"), (), 0),
    )
    assert m.registry_stored_bytes == StoredBytes(
        logical=62490, flattened=41414, layer=26125, file=25600, chunk_cdc=25600, chunk_fixed=25600
    )


def test_pushing_the_same_image_twice_uploads_nothing() -> None:
    """The second push of an image moves no bytes, layered or flattened, and stores nothing."""
    once = evaluate(app_image(0))
    twice = evaluate(app_image(0), push_order=("app0:1", "app0:1"))
    assert twice.pushes[1] == PushRecord("app0:1", 0, (), ("base", "app0"), (), 0)
    assert twice.registry_stored_bytes == once.registry_stored_bytes


def test_identical_layer_under_two_names_is_one_blob() -> None:
    """Two layers built from the same entries at the same time under two names are one
    DiffID: the second image mounts it, labelled by its own name."""
    tool_a = L("tool-a", f("opt/tool", 12288))
    tool_b = L("tool-b", f("opt/tool", 12288))
    m = evaluate(Image("a:1", (tool_a,)), Image("b:1", (tool_b,)))
    assert m.pushes[1] == PushRecord("b:1", 0, (), ("tool-b",), ("tool-b",), 0)
    assert m.registry_stored_bytes.layer == 5295


def test_push_order_subset() -> None:
    """Only pushed images count in the registry: pushing app0 alone of two stores one image."""
    m = evaluate(app_image(0), app_image(1), push_order=("app0:1",))
    assert m.registry_stored_bytes == StoredBytes(
        logical=20830, flattened=20707, layer=20830, file=20480, chunk_cdc=20480, chunk_fixed=20480
    )


# --- node pulls: ChainID skip, another parent, kept blobs ---------------------------------------
#
# other base B2: 36864 bytes of other content (compressed 15535, disk 36864, like B)
# tool layer T: `opt/tool`, 12288 binary bytes (compressed 5295, disk 12288)
# x:1 = [B, T], y:1 = [B2, T]: T on two parents, one blob, two ChainIDs

OTHER_BASE = L("base2", f("usr/lib/libother.so", 36864))
TOOL = L("tool", f("opt/tool", 12288))
X = Image("x:1", (BASE, TOOL))
Y = Image("y:1", (OTHER_BASE, TOOL))


def test_same_layer_on_another_parent_is_downloaded_again() -> None:
    """Without kept blobs, y:1 downloads T again (15535 + 5295 = 20830) and extracts it again:
    the node stores T twice (2*36864 + 2*12288 = 98304) while the file strategy stores its
    content once (2*36864 + 12288 = 86016). docker df: no ChainID in common, nothing shared.
    In the registry T is one blob, mounted into `y`."""
    m = evaluate(X, Y, nodes=(Node("node", ("x:1", "y:1")),))
    node = m.nodes[0]
    assert node.pulls[1] == PullRecord("y:1", 20830, 49152, ("base2", "tool"), (), 20707)
    assert node.stored_bytes == StoredBytes(
        logical=98304, flattened=98304, layer=98304, file=86016, chunk_cdc=86016, chunk_fixed=86016
    )
    assert [u.shared_bytes for u in node.images] == [0, 0]
    assert m.pushes[1] == PushRecord("y:1", 15535, ("base2",), ("tool",), ("tool",), 20707)


def test_kept_blob_skips_the_download_but_extracts() -> None:
    """Keeping compressed blobs, y:1 downloads only B2 (15535); T's blob is already in the
    content store, so T is not downloaded (listed as skipped) but still extracted (49152 in
    all). Stored: layer 98304 + blobs (15535 + 15535 + 5295 = 36365) = 134669; logical
    2*(49152 + 20830) = 139964; flattened 2*(49152 + 20707) = 139718; file 86016."""
    options = StorageOptions(keep_compressed_blobs=True)
    m = evaluate(X, Y, nodes=(Node("node", ("x:1", "y:1")),), options=options)
    node = m.nodes[0]
    assert node.pulls[1] == PullRecord("y:1", 15535, 49152, ("base2",), ("tool",), 20707)
    assert node.stored_bytes == StoredBytes(
        logical=139964,
        flattened=139718,
        layer=134669,
        file=86016,
        chunk_cdc=86016,
        chunk_fixed=86016,
    )


def test_pulling_an_image_twice_moves_nothing() -> None:
    """The second pull of an image skips every layer by ChainID and the flattened export."""
    m = evaluate(X, nodes=(Node("node", ("x:1", "x:1")),))
    assert m.nodes[0].pulls[1] == PullRecord("x:1", 0, 0, (), ("base", "tool"), 0)
    assert (
        m.nodes[0].stored_bytes == evaluate(X, nodes=(Node("n", ("x:1",)),)).nodes[0].stored_bytes
    )


def test_same_stack_under_two_names() -> None:
    """Two names for one stack: the second pull moves nothing (same ChainIDs, same export);
    docker df counts every layer as shared between the two names."""
    alias = Image("alias:1", X.layers)
    m = evaluate(X, alias, nodes=(Node("node", ("x:1", "alias:1")),))
    assert m.nodes[0].pulls[1] == PullRecord("alias:1", 0, 0, (), ("base", "tool"), 0)
    assert m.nodes[0].images[1] == ImageDiskUsage("alias:1", 49152, 49152, 0)
    assert m.nodes[0].stored_bytes.flattened == 49152


# --- waste: add then delete, in two steps or in one ---------------------------------------------
#
# base  {bin/sh: 4096 binary}: tar 512+4096+1024 = 5632; compressed 123+52+1707 = 1882; disk 4096
# fetch {tmp/pkg.tar: 12288 archive, app/conf: 100 text}
#   tar 12800 + 1024 + 1024 = 14848; compressed 123 + (52+12288) + (52+25) = 12540; disk 16384
# unpack {.wh.pkg.tar, app/run: 4096 binary}
#   tar 512 + 4608 + 1024 = 6144; compressed 123 + 52 + 1759 = 1934; disk 4096
# the same two steps without the archive (fetch, unpack and delete in one RUN):
# conf {app/conf}: tar 2048, compressed 200, disk 4096; run {app/run}: tar 5632, 1882, 4096

SH = L("base", f("bin/sh", 4096))
FETCH = L("fetch", f("tmp/pkg.tar", 12288, "archive"), f("app/conf", 100, "text"))
UNPACK = L("unpack", e("tmp/pkg.tar", EntryKind.WHITEOUT), f("app/run", 4096))
CONF = L("conf", f("app/conf", 100, "text"))
RUN = L("run", f("app/run", 4096))
WASTE = Image("waste:1", (SH, FETCH, UNPACK))
CLEAN = Image("clean:1", (SH, CONF, RUN))


def test_add_then_delete_in_separate_steps_every_figure() -> None:
    """The archive added in one layer and deleted in the next still costs its bytes:
    layered tar 5632 + 14848 + 6144 = 26624; compressed 1882 + 12540 + 1934 = 16356; disk
    4096 + 16384 + 4096 = 24576. The export shows bin/sh, app/conf, app/run: tar 4608 + 1024 +
    4608 + 1024 = 11264; compressed 123 + 1759 + 77 + 1759 = 3718; disk 3*4096 = 12288.
    Shadowed: the archive, 12288. dive: bin/sh 4096, tmp/pkg.tar 12288 then 0 (a whiteout of
    a file), app/conf 100, app/run 4096: cumulative 20580, min 8292, wasted 12288 (the path
    named twice); user 12288 + 100 + 4096 = 16484."""
    assert image_metrics(WASTE) == ImageMetrics(
        name="waste:1",
        layers=("base", "fetch", "unpack"),
        layered_tar_bytes=26624,
        layered_compressed_bytes=16356,
        layered_disk_bytes=24576,
        flattened_tar_bytes=11264,
        flattened_compressed_bytes=3718,
        flattened_disk_bytes=12288,
        shadowed_file_bytes=12288,
        dive_min_bytes=8292,
        dive_cumulative_bytes=20580,
        dive_wasted_bytes=12288,
        dive_user_bytes=16484,
    )
    assert image_metrics(WASTE).dive_efficiency == pytest.approx(8292 / 20580)


def test_add_and_delete_in_one_step_costs_nothing() -> None:
    """Without the archive: layered tar 5632 + 2048 + 5632 = 13312, compressed 1882 + 200 +
    1882 = 3964, disk 12288; the same export as the wasteful image; nothing shadowed or
    wasted; user 4196."""
    assert image_metrics(CLEAN) == ImageMetrics(
        name="clean:1",
        layers=("base", "conf", "run"),
        layered_tar_bytes=13312,
        layered_compressed_bytes=3964,
        layered_disk_bytes=12288,
        flattened_tar_bytes=11264,
        flattened_compressed_bytes=3718,
        flattened_disk_bytes=12288,
        shadowed_file_bytes=0,
        dive_min_bytes=8292,
        dive_cumulative_bytes=8292,
        dive_wasted_bytes=0,
        dive_user_bytes=4196,
    )


def test_separate_steps_cost_exactly_the_file_and_the_whiteout() -> None:
    """Wasteful minus clean: tar = the archive's entry (512 + 12288) + the whiteout's header
    (512) = 13312; compressed = 12340 + 52 = 12392; disk = the archive's 12288; shadowed =
    the archive's 12288; flattened figures equal."""
    waste, clean = image_metrics(WASTE), image_metrics(CLEAN)
    assert waste.layered_tar_bytes - clean.layered_tar_bytes == 12800 + 512
    assert waste.layered_compressed_bytes - clean.layered_compressed_bytes == 12340 + 52
    assert waste.layered_disk_bytes - clean.layered_disk_bytes == 12288
    assert waste.shadowed_file_bytes - clean.shadowed_file_bytes == 12288
    assert (waste.flattened_tar_bytes, waste.flattened_compressed_bytes) == (
        clean.flattened_tar_bytes,
        clean.flattened_compressed_bytes,
    )


def test_add_then_delete_dive_efficiency_is_zero_on_that_path() -> None:
    """An image of only the archive and its deletion: min 0, cumulative 12288, efficiency 0.0,
    wasted 12288 (the file); shadowed 12288; the export is empty (tar 1024, compressed 123)."""
    m = image_metrics(
        Image(
            "w:1",
            (L("add", f("tmp/pkg.tar", 12288)), L("rm", e("tmp/pkg.tar", EntryKind.WHITEOUT))),
        )
    )
    assert (m.dive_min_bytes, m.dive_cumulative_bytes, m.dive_wasted_bytes) == (0, 12288, 12288)
    assert m.dive_efficiency == 0.0
    assert m.shadowed_file_bytes == 12288
    assert (m.flattened_tar_bytes, m.flattened_compressed_bytes, m.flattened_disk_bytes) == (
        1024,
        123,
        0,
    )


def test_wasteful_image_costs_the_archive_on_the_wire_and_on_disk() -> None:
    """Pushing/pulling the wasteful image moves 16356 compressed bytes against the clean one's
    3964 (difference 12392 = the archive's and the whiteout's compressed entries) and extracts
    24576 against 12288."""
    m = evaluate(WASTE, CLEAN, nodes=(Node("a", ("waste:1",)), Node("b", ("clean:1",))))
    assert m.pushes[0].uploaded_bytes == 16356
    assert m.pushes[1].uploaded_bytes == 3964 - 1882  # the base is mounted
    assert (m.nodes[0].pulled_bytes, m.nodes[1].pulled_bytes) == (16356, 3964)
    assert m.nodes[0].pulls[0].extracted_disk_bytes == 24576
    assert m.nodes[1].pulls[0].extracted_disk_bytes == 12288


# --- a directory whiteout ------------------------------------------------------------------------
#
# tree {opt/, opt/pkg/, opt/pkg/a: 1000 text, opt/pkg/b: 3000 text, opt/keep: 50 text}
#   tar 512 + 512 + (512+1024) + (512+3072) + (512+512) + 1024 = 8192
#   compressed 123 + 52 + 52 + (52+250) + (52+750) + (52+13) = 1396; disk 5*4096 = 20480
# rm {opt/.wh.pkg}: tar 512 + 1024 = 1536; compressed 123 + 52 = 175; disk 0

TREE = L(
    "tree",
    e("opt", EntryKind.DIR),
    e("opt/pkg", EntryKind.DIR),
    f("opt/pkg/a", 1000, "text"),
    f("opt/pkg/b", 3000, "text"),
    f("opt/keep", 50, "text"),
)
RM_DIR = L("rm", e("opt/pkg", EntryKind.WHITEOUT))


def test_directory_whiteout_every_figure() -> None:
    """A whiteout of a directory: dive counts the deleted subtree (1000 + 3000 = 4000) at the
    directory's path, which no lower *leaf* named: leaves a 1000, b 3000, keep 50, and the
    whiteout 4000 — cumulative 8050 = min, nothing wasted, efficiency 1.0 (dive's rule).
    Shadowed 4000. Export: opt/ and opt/keep: tar 512 + 1024 + 1024 = 2560, compressed
    123 + 52 + 65 = 240, disk 8192."""
    assert image_metrics(Image("d:1", (TREE, RM_DIR))) == ImageMetrics(
        name="d:1",
        layers=("tree", "rm"),
        layered_tar_bytes=9728,
        layered_compressed_bytes=1571,
        layered_disk_bytes=20480,
        flattened_tar_bytes=2560,
        flattened_compressed_bytes=240,
        flattened_disk_bytes=8192,
        shadowed_file_bytes=4000,
        dive_min_bytes=8050,
        dive_cumulative_bytes=8050,
        dive_wasted_bytes=0,
        dive_user_bytes=0,
    )


def test_directory_whiteout_then_recreated_file() -> None:
    """Recreating opt/pkg/a (1000) in a third layer: opt/pkg/a is named by two leaves
    (cumulative 2000, min 1000, wasted 2000 — the kept copy included); totals cumulative 9050,
    min 8050; shadowed still 4000 (the old a and b); user 1000."""
    again = L("again", f("opt/pkg/a", 1000, "text"))
    m = image_metrics(Image("d:2", (TREE, RM_DIR, again)))
    assert (m.dive_cumulative_bytes, m.dive_min_bytes, m.dive_wasted_bytes) == (9050, 8050, 2000)
    assert m.shadowed_file_bytes == 4000
    assert m.dive_user_bytes == 1000


def test_opaque_directory_shadows_lower_children() -> None:
    """An opaque directory hides the lower d/x (10 bytes): shadowed 10; the export holds the
    directory only (tar 512 + 1024, disk 4096)."""
    lower = L("lower", e("d", EntryKind.DIR), f("d/x", 10))
    opaque = L("opaque", e("d", EntryKind.DIR), e("d", EntryKind.OPAQUE))
    m = image_metrics(Image("o:1", (lower, opaque)))
    assert m.shadowed_file_bytes == 10
    assert (m.flattened_tar_bytes, m.flattened_disk_bytes) == (1536, 4096)


def test_dive_sizes_a_directory_whiteout_against_its_own_stacking() -> None:
    """d/x (10) in layer 0; layer 1 makes d opaque (empty); layer 2 deletes d. dive: leaves
    d/x 10, d (dir, 0), whiteout d sized on dive's stack where d/x is still under d: 10.
    Cumulative 10 + 0 + 10 = 20, min 10 + 0 = 10, wasted (d named twice) 0 + 10 = 10."""
    lower = L("lower", e("d", EntryKind.DIR), f("d/x", 10))
    opaque = L("opaque", e("d", EntryKind.DIR), e("d", EntryKind.OPAQUE))
    m = image_metrics(Image("o:2", (lower, opaque, L("rm", e("d", EntryKind.WHITEOUT)))))
    assert (m.dive_cumulative_bytes, m.dive_min_bytes, m.dive_wasted_bytes) == (20, 10, 10)


# --- containers ----------------------------------------------------------------------------------
#
# db:1 = [{data/db: 10000 binary, etc/, etc/conf: 100 text}]

DB = Image(
    "db:1",
    (L("db", f("data/db", 10000), e("etc", EntryKind.DIR), f("etc/conf", 100, "text")),),
)


def container_bytes(container: Container, **options) -> int:
    m = evaluate(DB, nodes=(Node("n", ("db:1",), (container,)),), options=StorageOptions(**options))
    return m.nodes[0].containers[0].writable_bytes


def test_container_overlay2_copies_the_whole_file_up() -> None:
    """overlay2, 4 KiB blocks: a new 5000-byte file costs 8192; changing 100 bytes of the
    10000-byte data/db copies it up whole: 12288; deleting etc/conf costs 0. Total 20480."""
    c = Container(
        "c",
        "db:1",
        writes=(FileWrite("logs/x", 5000),),
        modifies=(FileModify("data/db", 100),),
        deletes=("etc/conf",),
    )
    assert container_bytes(c) == 8192 + 12288 + 0
    m = evaluate(DB, nodes=(Node("n", ("db:1",), (c,)),))
    assert m.nodes[0].containers == (ContainerUsage("c", "db:1", "running", 20480),)


@pytest.mark.parametrize(
    ("changed", "block", "expected"),
    [
        (100, 4096, 4096),  # one changed block
        (None, 4096, 4096),  # None: one block
        (5000, 4096, 8192),  # two blocks
        (20000, 4096, 12288),  # capped at the whole file, pad(10000) = 12288
        (0, 4096, 0),
        (100, 512, 512),
        (None, 512, 512),
        (20000, 512, 10240),  # capped at pad(10000, 512) = 10240
    ],
)
def test_container_block_driver_copies_changed_blocks(
    changed: int | None, block: int, expected: int
) -> None:
    """Block driver: a modify costs its changed bytes in whole blocks, at most the whole file."""
    c = Container("c", "db:1", modifies=(FileModify("data/db", changed),))
    assert container_bytes(c, block_bytes=block, driver=StorageDriver.BLOCK) == expected


def test_container_overlay2_with_512_byte_blocks() -> None:
    """overlay2 on 512-byte blocks: write 5000 -> 5120, modify data/db -> 10240."""
    c = Container(
        "c", "db:1", writes=(FileWrite("logs/x", 5000),), modifies=(FileModify("data/db"),)
    )
    assert container_bytes(c, block_bytes=512) == 5120 + 10240


def test_container_deletes_cost_nothing() -> None:
    """Deleting a file or a whole directory writes whiteouts: 0 bytes."""
    assert container_bytes(Container("c", "db:1", deletes=("etc", "data/db"))) == 0


def test_container_bytes_by_state() -> None:
    """NodeMetrics.container_bytes sums writable layers, all or by state."""
    running = Container("r", "db:1", writes=(FileWrite("a", 1),))
    stopped = Container("s", "db:1", state=ContainerState.STOPPED, writes=(FileWrite("a", 4097),))
    node = evaluate(DB, nodes=(Node("n", ("db:1",), (running, stopped)),)).nodes[0]
    assert node.container_bytes() == 4096 + 8192
    assert node.container_bytes("running") == 4096
    assert node.container_bytes("stopped") == 8192


@pytest.mark.parametrize(
    ("container", "message"),
    [
        (Container("c", "db:1", modifies=(FileModify("etc"),)), "not a file"),
        (Container("c", "db:1", modifies=(FileModify("nope"),)), "not a file"),
        (Container("c", "db:1", deletes=("nope",)), "does not have"),
        (
            Container("c", "db:1", writes=(FileWrite("etc/conf", 1),), deletes=("etc/conf",)),
            "twice",
        ),
        (
            Container("c", "db:1", modifies=(FileModify("data/db"), FileModify("data/db"))),
            "twice",
        ),
    ],
)
def test_container_errors(container: Container, message: str) -> None:
    """Modifying a directory or a missing path, deleting a missing path, touching one path
    twice: ModelError at evaluation."""
    with pytest.raises(ModelError, match=message):
        evaluate(DB, nodes=(Node("n", ("db:1",), (container,)),))


def test_container_cannot_modify_a_file_its_image_deleted() -> None:
    """A file deleted by a whiteout in the image is not there to modify."""
    image = Image("w:1", (L("add", f("x", 10)), L("rm", e("x", EntryKind.WHITEOUT))))
    with pytest.raises(ModelError, match="not a file"):
        evaluate(
            image,
            nodes=(Node("n", ("w:1",), (Container("c", "w:1", modifies=(FileModify("x"),)),)),),
        )


def test_negative_write_is_rejected() -> None:
    """FileWrite("x", -5000) must be a ModelError, not -4096 writable bytes."""
    with pytest.raises(ModelError):
        container_bytes(Container("c", "db:1", writes=(FileWrite("x", -5000),)))


def test_container_paths_are_normalised() -> None:
    """'/data/db' names the image's data/db: overlay2 copy-up 12288."""
    assert container_bytes(Container("c", "db:1", modifies=(FileModify("/data/db"),))) == 12288
