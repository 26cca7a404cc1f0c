"""Properties of the anchor statistics (`layersim.simulation.statistics`): on a tiny population
drawn by hypothesis (a few images, each a tag of one of three repositories, and a held subset
of them), every statistic equals a count made by hand over the model objects (layers by
DiffID, file entries, contents) or, for stored bytes, the pure-Python reference engine
(`accounting.reference`) evaluating a registry or one node holding just those images."""

from __future__ import annotations

from collections import Counter

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from layersim.accounting import reference
from layersim.accounting.arrays import canonical, from_population
from layersim.accounting.images import image_table
from layersim.fleet.presets import ImageKind
from layersim.model import EntryKind, Image, Node, Population
from layersim.simulation import statistics
from layersim.simulation.results import LazyEpoch, NodeEpoch
from layersim.simulation.statistics import (
    FinalState,
    base_and_runtime_latest_tags,
    compression_ratio,
    distinct_content_share,
    image_compressed_mb,
    image_tar_mb,
    latest_tags,
    node_file_dedup_ratio,
    one_node_every_tag,
    registry_file_dedup_ratio,
    single_image_layer_share,
    versions_file_saving,
)
from tests.simulation.test_statistics import _row
from tests.strategies import images as image_strategy

KINDS = (ImageKind.BASE, ImageKind.RUNTIME, ImageKind.APP)
# Each example builds the population's arrays and image table (and runs the reference): 60
# examples per property keep the module near a minute on 2 cores; the statistics' branches
# (shared and unshared layers, repeated contents, several tags of a repository, empty
# layers) are all hit well within that.
EXAMPLES = settings(max_examples=60)


@st.composite
def fleets(draw) -> tuple[tuple[Image, ...], FinalState]:
    """1-5 images, image k a tag of repository `repo[k]` (0-2, each of a drawn kind), its
    version its rank among that repository's images; a non-empty held subset."""
    n = draw(st.integers(1, 5))
    repo = np.array(draw(st.lists(st.integers(0, 2), min_size=n, max_size=n)), dtype=np.int64)
    kind_of_repo = draw(st.lists(st.sampled_from(KINDS), min_size=3, max_size=3))
    version = np.array([int((repo[:k] == repo[k]).sum()) for k in range(n)], dtype=np.int64)
    images = tuple(draw(image_strategy(name=f"r{repo[k]}:{version[k]}")) for k in range(n))
    held = draw(st.lists(st.integers(0, n - 1), min_size=1, max_size=n, unique=True))
    arrays = from_population(Population(images))
    state = FinalState(
        arrays=arrays,
        images=image_table(canonical(arrays)),
        held=np.array(sorted(held), dtype=np.int64),
        image_kind=np.array([kind_of_repo[r] for r in repo], dtype=np.int8),
        image_repository=repo,
        image_version=version,
        nodes=_row(NodeEpoch),
        cold_start_pull_share=0.0,
        lazy_cold_start_pull_share=0.0,
        first_lazy=_row(LazyEpoch),
    )
    return images, state


def _held(images, state):
    return [images[i] for i in state.held.tolist()]


def _distinct_layers(held):
    """The distinct layers of `held`, by DiffID."""
    return list({layer.diff_id: layer for image in held for layer in image.layers}.values())


@EXAMPLES
@given(fleets())
def test_single_image_layer_share_by_hand(fleet):
    """Layers (by DiffID) of the held images referenced by exactly one of them, over the
    distinct layers."""
    images, state = fleet
    refs = Counter(d for image in _held(images, state) for d in {x.diff_id for x in image.layers})
    expected = sum(1 for c in refs.values() if c == 1) / len(refs)
    assert single_image_layer_share(state, state.held) == pytest.approx(expected)


@EXAMPLES
@given(fleets())
def test_distinct_content_share_by_hand(fleet):
    """Distinct contents over the regular-file entries of the held images' distinct layers."""
    images, state = fleet
    contents = [
        e.content
        for layer in _distinct_layers(_held(images, state))
        for e in layer.entries
        if e.kind is EntryKind.FILE
    ]
    expected = len(set(contents)) / max(len(contents), 1)
    assert distinct_content_share(state, state.held) == pytest.approx(expected)


@EXAMPLES
@given(fleets())
def test_compression_ratio_by_hand(fleet):
    """Tar over compressed bytes summed over the held images' distinct layers."""
    images, state = fleet
    layers = _distinct_layers(_held(images, state))
    expected = sum(x.tar_bytes for x in layers) / max(sum(x.compressed_bytes for x in layers), 1)
    assert compression_ratio(state, state.held) == pytest.approx(expected)


@EXAMPLES
@given(fleets())
def test_image_sizes_by_hand(fleet):
    """An image's compressed (tar) MB is the sum of its layers' compressed (tar) bytes / 1e6."""
    images, state = fleet
    for i in state.held.tolist():
        one = np.array([i])
        layers = images[i].layers
        assert image_compressed_mb(state, one) == pytest.approx(
            sum(x.compressed_bytes for x in layers) / 1e6
        )
        assert image_tar_mb(state, one) == pytest.approx(sum(x.tar_bytes for x in layers) / 1e6)


@EXAMPLES
@given(fleets())
def test_registry_ratio_is_the_reference_s(fleet):
    """Layer over file bytes of the reference evaluating a registry of the held images."""
    images, state = fleet
    stored = reference.evaluate(Population(tuple(_held(images, state)))).registry_stored_bytes
    expected = stored.layer / max(stored.file, 1)
    assert registry_file_dedup_ratio(state, state.held) == pytest.approx(expected)


@EXAMPLES
@given(fleets())
def test_node_figures_are_the_reference_s(fleet):
    """Layer over file disk bytes, and 1 - file / layer, of the reference evaluating one node
    that pulled the held images."""
    images, state = fleet
    held = tuple(_held(images, state))
    node = Node("n", tuple(image.name for image in held))
    stored = reference.evaluate(Population(held, nodes=(node,))).nodes[0].stored_bytes
    assert node_file_dedup_ratio(state, state.held) == pytest.approx(
        stored.layer / max(stored.file, 1)
    )
    assert versions_file_saving(state, state.held) == pytest.approx(
        1 - stored.file / max(stored.layer, 1)
    )


@EXAMPLES
@given(fleets(), st.integers(1, 3))
def test_populations_by_hand(fleet, room):
    """The latest tag of each repository is its held image of highest version; the official
    ones those of base and runtime repositories; the flx42 node every held tag of the
    `room` app repositories of lowest id."""
    _, state = fleet
    held = state.held.tolist()
    repo, version, kind = state.image_repository, state.image_version, state.image_kind
    latest = {
        int(repo[i]): i
        for i in held
        if version[i] >= max(version[j] for j in held if repo[j] == repo[i])
    }
    assert latest_tags(state).tolist() == sorted(latest.values())
    official = [i for i in sorted(latest.values()) if kind[i] != ImageKind.APP]
    assert base_and_runtime_latest_tags(state).tolist() == official
    apps = sorted({int(repo[i]) for i in held if kind[i] == ImageKind.APP})[:room]
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(statistics, "FLX42_REPOSITORIES", room)
        assert one_node_every_tag(state).tolist() == [i for i in held if repo[i] in apps]


@EXAMPLES
@given(fleets(), st.integers(0, 4))
def test_scale_rule_by_hand(fleet, minimum):
    """A row with `min_repositories` = `minimum` gets its bounds' verdict exactly when the
    held images name at least `minimum` distinct repositories (counted by hand), else n/a
    with empty bounds; the produced value is the same either way."""
    _, state = fleet
    held_repositories = len(set(state.image_repository[state.held].tolist()))
    anchor = statistics.Anchor(
        "f",
        distinct_content_share,
        statistics.LATEST_TAGS,
        "p",
        statistics.Bounds(0.0, 1.0),
        "why",
        "src",
        minimum,
    )
    row = anchor.row(state)
    assert row.produced == distinct_content_share(state, latest_tags(state))
    if held_repositories >= minimum:
        assert (row.low, row.high, row.verdict, row.reason) == (0.0, 1.0, "within", "why")
    else:
        assert (row.low, row.high, row.verdict) == (None, None, "n/a")
        assert row.reason.startswith(f"not comparable: the registry holds {held_repositories} ")
