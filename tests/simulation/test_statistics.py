"""Tests of `layersim.simulation.statistics`: each anchor's statistic on a hand-made registry
(three images on one base, and one image the registry no longer holds) against a hand count,
the anchors a fleet gets and their order, sharing (its saved bytes are logical - layer) and
waste."""

from __future__ import annotations

import dataclasses
import math

import numpy as np
import pytest

from layersim.accounting import reference
from layersim.accounting.arrays import canonical, from_population
from layersim.accounting.images import image_table
from layersim.fleet.presets import BASE_PRESETS, ImageKind
from layersim.model import EntryKind, Image, Node, Population, make_entry, make_layer
from layersim.model.digest import content_digest
from layersim.simulation import statistics
from layersim.simulation.results import LazyEpoch, NodeEpoch
from layersim.simulation.statistics import (
    ANCHORS,
    Anchor,
    Bounds,
    FinalState,
    Sample,
    all_tags,
    anchor_rows,
    base_and_runtime_latest_tags,
    cdc_extra_redundancy,
    chunk_anchors,
    chunk_dictionary_saving,
    compression_ratio,
    distinct_content_share,
    exactly,
    fleet_anchors,
    image_compressed_mb,
    image_tar_mb,
    latest_tags,
    layer_references,
    node_file_dedup_ratio,
    one_node_every_tag,
    registry_file_dedup_ratio,
    single_image_layer_share,
    versions_file_saving,
    waste,
)


def _file(path: str, file_bytes: int, content: str):
    return make_entry(path, EntryKind.FILE, file_bytes, content_digest(content, file_bytes))


# base: 2 files; app1: 2 files, one with the base's etc/os content; app2: 1 file; gone: an
# image the registry no longer holds; clean: the base with etc/os deleted (100 shadowed bytes)
BASE = make_layer([_file("etc/os", 100, "os"), _file("bin/sh", 50, "sh")])
APP1 = make_layer([_file("app/x", 30, "x"), _file("app/dup", 100, "os")])
APP2 = make_layer([_file("app/y", 40, "y")])
GONE = make_layer([_file("u", 10, "u")])
CLEAN = make_layer([make_entry("etc/os", EntryKind.WHITEOUT)])
IMAGES = (
    Image("base:1", (BASE,)),
    Image("app1:1", (BASE, APP1)),
    Image("app2:1", (BASE, APP2)),
    Image("gone:1", (GONE,)),
    Image("clean:1", (BASE, CLEAN)),
)
HELD = np.array([0, 1, 2], dtype=np.int64)


def _row(cls, **values):
    """A result row of `cls` with every field 0 but `values`."""
    fields = {f.name: 0 for f in dataclasses.fields(cls)}
    return cls(**{**fields, **values})


# repositories: base (base:1, clean:1 its version 1), app1, app2, gone
KIND = np.array([ImageKind.BASE, ImageKind.APP, ImageKind.APP, ImageKind.APP, ImageKind.BASE])
REPOSITORY = np.array([0, 1, 2, 3, 0], dtype=np.int64)
VERSION = np.array([0, 0, 0, 0, 1], dtype=np.int64)


@pytest.fixture(scope="module")
def state() -> FinalState:
    arrays = from_population(Population(IMAGES))
    return FinalState(
        arrays=arrays,
        images=image_table(canonical(arrays)),
        held=HELD,
        image_kind=KIND.astype(np.int8),
        image_repository=REPOSITORY,
        image_version=VERSION,
        nodes=_row(NodeEpoch, layer_bytes=270, file_bytes=100),
        cold_start_pull_share=0.76,
        lazy_cold_start_pull_share=0.25,
        first_lazy=_row(LazyEpoch, lazy_cold_startup_bytes=64, full_cold_bytes=1000),
    )


def test_hand_made_layers_have_the_hand_counted_tar_bytes():
    """Each file costs a 512-byte header and its bytes padded to 512; a layer ends with 1024
    zero bytes: the tar sizes the statistics below count with."""
    assert (BASE.tar_bytes, APP1.tar_bytes, APP2.tar_bytes) == (3072, 3072, 2048)


def test_layer_references(state):
    """The base is referenced by the three held images, each app layer by one, the layer of
    the image no longer held by none."""
    layers = {
        name: int(state.arrays.image_layers[state.arrays.image_offsets[i + 1] - 1])
        for i, name in enumerate(["base", "app1", "app2", "gone"])
    }
    refs = layer_references(state.arrays, HELD)
    assert [refs[layers[n]] for n in ("base", "app1", "app2", "gone")] == [3, 1, 1, 0]


def test_single_image_layer_share(state):
    """Two of the three layers the registry holds are referenced by a single image."""
    assert single_image_layer_share(state, HELD) == pytest.approx(2 / 3)


def test_distinct_content_share(state):
    """Five file entries in the held layers, four distinct contents (app/dup repeats etc/os):
    0.8; the unheld layer's file does not count."""
    assert distinct_content_share(state, HELD) == 0.8


def test_compression_ratio(state):
    """Tar over compressed bytes of the three held layers only: (3072 + 3072 + 2048) over the
    sum of their blobs' compressed bytes."""
    expected = 8192 / (BASE.compressed_bytes + APP1.compressed_bytes + APP2.compressed_bytes)
    assert compression_ratio(state, HELD) == pytest.approx(expected)


def test_image_sizes_in_mb(state):
    """An image's compressed and tar MB are its layers' bytes summed, over 1e6."""
    one = np.array([1])
    assert image_compressed_mb(state, one) == pytest.approx(
        (BASE.compressed_bytes + APP1.compressed_bytes) / 1e6
    )
    assert image_tar_mb(state, one) == pytest.approx(6144 / 1e6)


def test_registry_file_dedup_ratio_by_hand(state):
    """A registry holding base, app1 and app2: layers (each blob once) over distinct file
    contents, compressed: the three blobs against the contents os, sh, x, y (app/dup is os
    again), each content's compressed bytes counted once."""
    layer = BASE.compressed_bytes + APP1.compressed_bytes + APP2.compressed_bytes
    contents = {
        e.content: e.content_compressed_bytes
        for layer_ in (BASE, APP1, APP2)
        for e in layer_.entries
        if e.content is not None
    }
    assert len(contents) == 4
    assert registry_file_dedup_ratio(state, HELD) == pytest.approx(layer / sum(contents.values()))


def test_node_figures_by_hand(state):
    """One node holding base and app1: overlay2 stores both layers (disk bytes: each file in
    4096-byte blocks: os, sh; x, dup = 4 blocks), file-level dedup the contents os, sh, x (3
    blocks): 4/3, and a saving of 1 - 3/4."""
    both = np.array([0, 1])
    assert node_file_dedup_ratio(state, both) == pytest.approx(4 / 3)
    assert versions_file_saving(state, both) == pytest.approx(1 / 4)


def test_versions_file_saving_equals_the_reference(state):
    """The file-level saving over a node holding just the given versions is `1 - file /
    layer` of the reference's stored disk bytes of that node."""
    population = Population(IMAGES[:2], nodes=(Node("n", ("base:1", "app1:1")),))
    stored = reference.evaluate(population).nodes[0].stored_bytes
    assert versions_file_saving(state, np.array([0, 1])) == pytest.approx(
        1 - stored.file / stored.layer
    )


def test_latest_tags_and_official_images(state):
    """Of base:1, app1, app2 and clean:1 (the base repository's version 1), the latest tags
    are app1, app2 and clean:1; the official ones (base and runtime) clean:1 alone."""
    with_clean = dataclasses.replace(state, held=np.array([0, 1, 2, 4]))
    assert latest_tags(with_clean).tolist() == [1, 2, 4]
    assert base_and_runtime_latest_tags(with_clean).tolist() == [4]
    assert all_tags(with_clean).tolist() == [0, 1, 2, 4]


def test_one_node_every_tag(state, monkeypatch):
    """The flx42 node holds every held tag of the first app repositories by id: with room
    for one repository, app1 alone; with room for 36, app1 and app2 (gone is not held)."""
    assert one_node_every_tag(state).tolist() == [1, 2]
    monkeypatch.setattr(statistics, "FLX42_REPOSITORIES", 1)
    assert one_node_every_tag(state).tolist() == [1]


def test_anchors_of_the_rows(state):
    """The row-based anchors: layer / file of the nodes (270 / 100), the cold-start share, the
    lazy cold-start share as given and the lazy cold read share 64 / 1000 bytes."""
    rows = {(row.figure, row.population): row for row in anchor_rows(state, ANCHORS)}
    by_statistic = {a.statistic.__name__: rows[a.figure, a.population.name] for a in ANCHORS}
    assert by_statistic["fleet_nodes_file_dedup_ratio"].produced == 2.7
    assert by_statistic["cold_start_pull_share"].produced == 0.76
    assert by_statistic["lazy_cold_start_pull_share"].produced == 0.25
    assert by_statistic["lazy_cold_read_share"].produced == 0.064
    assert [rows[a.figure, a.population.name].published for a in ANCHORS] == [
        a.published for a in ANCHORS
    ]


def test_verdicts_and_bounds():
    """+-5% around an exact figure; a value on a bound is within, past it outside; no bounds
    give n/a with empty bounds; an empty population gives n/a and no produced value."""
    bounds = exactly(2.0)
    assert (bounds.low, bounds.high) == (pytest.approx(1.9), pytest.approx(2.1))
    assert [Bounds(1.0, 2.0).verdict(x) for x in (0.99, 1.0, 2.0, 2.01)] == [
        "outside",
        "within",
        "within",
        "outside",
    ]
    state_stub = None

    def constant(_state, _images):
        return 1.5

    within = Anchor("f", constant, Sample("p"), "1.5", Bounds(1.0, 2.0), "why", "src")
    row = within.row(state_stub)
    assert (row.produced, row.low, row.high, row.verdict) == (1.5, 1.0, 2.0, "within")
    na = dataclasses.replace(within, bounds=None).row(state_stub)
    assert (na.low, na.high, na.verdict, na.reason) == (None, None, "n/a", "why")
    empty = dataclasses.replace(
        within, population=Sample("p", lambda s: np.zeros(0, dtype=np.int64))
    ).row(state_stub)
    assert (empty.produced, empty.verdict) == (None, "n/a")
    assert "empty" in empty.reason


def test_rows_of_a_whole_hub_study_apply_from_its_scale(state):
    """A row with `min_repositories` gets its verdict only on a registry of at least that many
    repositories: the hand-made registry holds 3 (base, app1, app2), so with a minimum of 3
    the row is within its bounds, with 4 it is n/a with empty bounds, the produced value
    still shown and the reason naming the count."""

    def constant(_state, _images):
        return 1.5

    anchor = Anchor("f", constant, Sample("p"), "1.5", Bounds(1.0, 2.0), "why", "src", 3)
    assert statistics.repository_count(state) == 3
    row = anchor.row(state)
    assert (row.produced, row.low, row.high, row.verdict, row.reason) == (
        1.5,
        1.0,
        2.0,
        "within",
        "why",
    )
    small = dataclasses.replace(anchor, min_repositories=4).row(state)
    assert (small.produced, small.low, small.high, small.verdict) == (1.5, None, None, "n/a")
    assert small.reason == "not comparable: the registry holds 3 repositories; why"


def test_whole_hub_rows_are_zhao_s_and_duphunter_s_latest_tag_rows():
    """Exactly the latest-tag rows of Zhao et al. and DupHunter (the sources that measured
    Docker Hub as a whole) need a registry of Docker Hub's scale; their reason says so."""
    scaled = [a for a in ANCHORS if a.min_repositories]
    assert [(a.source, a.population.name) for a in scaled] == [
        (statistics.ZHAO, statistics.LATEST_TAGS.name),
        (statistics.ZHAO, statistics.LATEST_TAGS.name),
        (statistics.DUPHUNTER, statistics.LATEST_TAGS.name),
    ]
    assert {a.min_repositories for a in scaled} == {statistics.HUB_SCALE_REPOSITORIES}
    assert all("Docker Hub's scale" in a.reason for a in scaled)
    assert all(
        a.bounds is None
        for a in ANCHORS
        if a.source in (statistics.ZHAO, statistics.DUPHUNTER) and not a.min_repositories
    )


def test_waste_counts_shadowed_bytes():
    """Deleting the base's 100-byte etc/os in a later layer shadows 100 file bytes in that
    image and none in the base alone."""
    arrays = from_population(Population(IMAGES))
    summary = waste(np.array([0, 4]), image_table(canonical(arrays)))
    assert (summary.images, summary.images_with_shadowed_bytes) == (2, 1)
    assert summary.shadowed_file_bytes == 100


# --------------------------------------------------------------------------- a generated fleet


def test_fleet_anchors_in_report_order(small_run):
    """A fleet's anchors are `ANCHORS`, then per base its version 0 compressed and tar MB,
    per runtime its compressed MB, then the file-level saving across versions of the first
    base, then the chunk-level rows; the run reports exactly those rows."""
    fleet, result = small_run
    figures = [a.figure for a in fleet_anchors(fleet)]
    expected = [a.figure for a in ANCHORS]
    for name in fleet.base_families:
        expected += [
            f"{name}-like base, version 0: compressed MB",
            f"{name}-like base, version 0: tar MB (on disk)",
        ]
    expected += [
        f"{name}-like runtime, version 0: compressed MB" for name in fleet.runtime_families
    ]
    assert figures[: len(expected)] == expected
    chunks = [a.figure for a in chunk_anchors(fleet)]
    assert len(figures) == len(expected) + 1 + len(chunks)
    assert figures[len(expected)] == (
        "versions of one base: file-level saving over layers (share, disk bytes)"
    )
    assert figures[len(expected) + 1 :] == chunks
    assert [row.figure for row in result.anchors] == figures


def test_all_tag_rows_are_the_run_s_final_registry(small_run):
    """The all-tags registry row, computed by the engine on a registry holding the final
    images, is the final registry row's layer / file of the simulation (the same figure
    through two paths)."""
    _, result = small_run
    row = next(
        r
        for r in result.anchors
        if r.figure.startswith("registry: file-level") and r.population.startswith("every tag")
    )
    registry = result.registry[-1]
    assert row.produced == registry.layer_bytes / registry.file_bytes
    assert row.verdict == "n/a"


def test_base_anchors_are_the_first_versions_sizes(small_run):
    """A base's version-0 row is the sum of its first image's layers' compressed bytes in MB,
    beside the preset's published size."""
    fleet, result = small_run
    a = fleet.arrays
    rows = {row.figure: row for row in result.anchors}
    for f, name in enumerate(fleet.base_families):  # one row per base figure
        match = (
            (fleet.image_kind == ImageKind.BASE)
            & (fleet.image_owner == f)
            & (fleet.image_version == 0)
        )
        image = int(np.flatnonzero(match)[0])
        layers = a.image_layers[a.image_offsets[image] : a.image_offsets[image + 1]]
        row = rows[f"{name}-like base, version 0: compressed MB"]
        assert row.produced == pytest.approx(int(a.layer_compressed_bytes[layers].sum()) / 1e6)
        assert row.published == f"{BASE_PRESETS[name].compressed_bytes / 1e6:g} MB"


def test_sharing_saves_logical_minus_layer(small_run):
    """The sharing histogram's saved bytes are exactly the registry's logical - layer bytes,
    and its buckets cover every layer the registry holds."""
    _, result = small_run
    registry = result.registry[-1]
    assert result.sharing.saved_bytes == registry.logical_bytes - registry.layer_bytes
    assert sum(b.layers for b in result.sharing.buckets) == result.sharing.layers
    assert sum(b.compressed_bytes for b in result.sharing.buckets) == registry.layer_bytes
    saved = [x.saved_bytes for x in result.sharing.top_layers]
    assert saved == sorted(saved, reverse=True)


def test_waste_summary(small_run):
    """Wasteful apps' images show shadowed bytes in the final registry."""
    fleet, result = small_run
    assert result.waste.images == result.registry[-1].images
    if fleet.app_waste.any():
        assert result.waste.shadowed_file_bytes > 0
        assert result.waste.dive_wasted_bytes >= result.waste.shadowed_file_bytes


def test_anchor_rows_are_reported(small_run):
    """The hub-style statistics are reported beside their published figures."""
    _, result = small_run
    figures = {row.figure: row for row in result.anchors}
    assert any(f.startswith("layers referenced by a single image") for f in figures)
    assert any(f.startswith("distinct file contents per file entry") for f in figures)
    assert any(f.startswith("compression ratio") for f in figures)
    assert any("alpine-like base" in f for f in figures)
    for row in result.anchors:
        assert row.published and row.source and row.population and row.reason
        assert math.isfinite(row.produced)
        assert row.verdict in ("within", "outside", "n/a")
        assert (row.low is None) == (row.high is None) == (row.verdict == "n/a")


# --------------------------------------------------------------------------- chunk anchors


def _chunks_of(a, images: np.ndarray, table) -> dict[int, int]:
    """Chunk id -> compressed bytes of the distinct chunks of `images` (a plain set count)."""
    out: dict[int, int] = {}
    for i in images.tolist():
        for layer in a.image_layers[a.image_offsets[i] : a.image_offsets[i + 1]].tolist():
            for e in range(a.layer_offsets[layer], a.layer_offsets[layer + 1]):
                c = int(a.entry_content[e])
                if c < 0:
                    continue
                lo, hi = table.content_offsets[c], table.content_offsets[c + 1]
                for k in table.content_chunks[lo:hi].tolist():
                    out[k] = int(table.chunk_compressed_bytes[k])
    return out


def test_chunk_anchor_statistics_are_plain_set_counts(small_run):
    """On the small run's alpine-like base versions, the chunk-dictionary saving is `1 -
    sum(chunks of image i not in the first 3 images' chunks) / sum(chunks of image i)` and
    the extra CDC redundancy `(total - cdc) / (total - fixed) - 1`, both counted with sets;
    every chunk row of a run without 10 versions has no verdict."""
    fleet, result = small_run
    a = fleet.arrays
    of_alpine = (fleet.image_kind == ImageKind.BASE) & (fleet.image_owner == 0)
    versions = np.flatnonzero(of_alpine)[:10].astype(np.int64)
    assert fleet.base_families[0] == "alpine" and versions.size > 3
    state = FinalState(a, image_table(canonical(a)), versions, fleet.image_kind, *([None] * 6))
    dictionary = _chunks_of(a, versions[:3], a.fixed_chunks)
    added = alone = 0
    for i in versions[3:].tolist():
        own = _chunks_of(a, np.array([i]), a.fixed_chunks)
        alone += sum(own.values())
        added += sum(v for k, v in own.items() if k not in dictionary)
    assert chunk_dictionary_saving(state, versions) == pytest.approx(1 - added / alone)
    layers = np.unique(a.image_layers[np.concatenate(
        [np.arange(a.image_offsets[i], a.image_offsets[i + 1]) for i in versions.tolist()]
    )])  # fmt: skip
    content = np.concatenate(
        [a.entry_content[a.layer_offsets[x] : a.layer_offsets[x + 1]] for x in layers.tolist()]
    )
    content = content[content >= 0]
    total = int(a.content_file_bytes[content].sum())
    distinct = []
    for table in (a.cdc_chunks, a.fixed_chunks):
        ids = {k for c in set(content.tolist()) for k in table.content_chunks[
            table.content_offsets[c] : table.content_offsets[c + 1]].tolist()}  # fmt: skip
        distinct.append(sum(int(table.chunk_file_bytes[k]) for k in ids))
    expected = (total - distinct[0]) / (total - distinct[1]) - 1
    assert cdc_extra_redundancy(state, versions) == pytest.approx(expected)
    rows = {r.figure: r for r in result.anchors}
    for anchor in chunk_anchors(fleet):
        assert rows[anchor.figure].verdict == "n/a"  # small has fewer than 10 versions
