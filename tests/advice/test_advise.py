"""Tests of `layersim.advice.advise`: every advice's saving is exactly what the engine
measures on the population with the advice applied (random populations), the advised image
shows the same files, and exact examples: an image that adds then deletes a file gets
`combine_steps` saving that file's layers, an image built in one step gets none, and
squashing a base other images share is not advised."""

from __future__ import annotations

from hypothesis import given, settings

from layersim.accounting.assemble import evaluate
from layersim.advice.advise import (
    COMBINE_STEPS,
    SQUASH,
    Advice,
    advise,
    apply_advice,
    saving_order,
)
from layersim.model import EntryKind, Image, Node, Population, make_entry, make_layer
from layersim.model.digest import synthetic_digest
from layersim.model.overlay import merged_view
from layersim.model.sizes import TAR_END_BYTES
from tests.strategies import populations


def image_figures(population: Population, name: str) -> tuple[int, int, int]:
    (image,) = [m for m in evaluate(population).images if m.name == name]
    return image.layered_tar_bytes, image.layered_compressed_bytes, image.layered_disk_bytes


def set_figures(population: Population) -> tuple[int, int, int]:
    metrics = evaluate(population)
    distinct = {layer.diff_id: layer.tar_bytes for i in population.images for layer in i.layers}
    return (
        sum(distinct.values()),
        metrics.registry_stored_bytes.layer,
        sum(node.stored_bytes.layer for node in metrics.nodes),
    )


def claimed(advice: Advice) -> tuple[int, int, int]:
    return advice.saves_tar_bytes, advice.saves_compressed_bytes, advice.saves_disk_bytes


@settings(max_examples=40, deadline=None)
@given(populations(max_images=3, max_nodes=1))
def test_applying_an_advice_saves_what_it_claims(population: Population) -> None:
    """For every advice: apply it, evaluate again, and the figures fall by exactly the saving
    claimed (the image's for combine_steps, the set's for squash); the image's merged view is
    unchanged; nothing is advised that saves nothing; the list is sorted by saving."""
    found = advise(population)
    assert found == sorted(found, key=saving_order)
    for advice in found:
        changed = apply_advice(population, advice)
        if advice.kind == COMBINE_STEPS:
            before = image_figures(population, advice.image)
            after = image_figures(changed, advice.image)
        else:
            before, after = set_figures(population), set_figures(changed)
        assert tuple(b - a for b, a in zip(before, after, strict=True)) == claimed(advice)
        assert max(claimed(advice)) > 0
        (old,) = [i for i in population.images if i.name == advice.image]
        (new,) = [i for i in changed.images if i.name == advice.image]
        assert {p: e for p, (_, e) in merged_view(new.layers).items()} == {
            p: e for p, (_, e) in merged_view(old.layers).items()
        }


def file(path: str, n_bytes: int):
    return make_entry(path, EntryKind.FILE, n_bytes, content=synthetic_digest(path, n_bytes))


BASE = make_layer([file("bin/sh", 100_000)], name="base")
ADD = make_layer([file("src.tar", 600_000)], name="add")
UNPACK = make_layer(
    [file("app/main", 50_000), make_entry("src.tar", EntryKind.WHITEOUT)], name="unpack"
)
ONE_STEP = make_layer([file("app/main", 50_000)], name="one-step")


def population(*images: Image) -> Population:
    names = tuple(i.name for i in images)
    return Population(images=images, nodes=(Node("node", names),))


def test_add_then_delete_is_combined() -> None:
    """`split:1` adds a 600,000-byte archive and deletes it in the next layer: combining
    the two saves their tar bytes less the one combined layer's (the unpacked file and the end
    blocks); `one:1`, the same files built in one step, gets no combine_steps."""
    split = Image("split:1", (BASE, ADD, UNPACK))
    one = Image("one:1", (BASE, ONE_STEP))
    found = advise(population(split, one))
    combines = [a for a in found if a.kind == COMBINE_STEPS]
    assert [(a.image, a.layers, a.start, a.stop) for a in combines] == [
        ("split:1", ("add", "unpack"), 1, 3)
    ]
    (advice,) = combines
    combined_tar = ONE_STEP.tar_bytes
    assert advice.saves_tar_bytes == ADD.tar_bytes + UNPACK.tar_bytes - combined_tar
    assert advice.saves_compressed_bytes == (
        ADD.compressed_bytes + UNPACK.compressed_bytes - ONE_STEP.compressed_bytes
    )
    assert advice.saves_tar_bytes > 600_000
    assert advice.where == "image" and advice.estimated
    assert advice.detail.startswith("layers 1-2: later layers delete or overwrite 600,000 file")
    assert ONE_STEP.tar_bytes == TAR_END_BYTES + ONE_STEP.entries[0].tar_bytes


def test_squash_loses_sharing() -> None:
    """Two images on one base: squashing either whole image would store the base twice, so
    the squash advised (if any) keeps the shared base; found[0] saves the most."""
    split = Image("split:1", (BASE, ADD, UNPACK))
    other = Image("other:1", (BASE, ONE_STEP))
    found = advise(population(split, other))
    squashes = [a for a in found if a.kind == SQUASH]
    assert all(a.start >= 1 for a in squashes)
    assert found[0].saves_tar_bytes == max(a.saves_tar_bytes for a in found)


def test_shared_run_is_named() -> None:
    """When another image uses the layers of a combine_steps run, the detail names it."""
    split = Image("split:1", (BASE, ADD, UNPACK))
    child = Image("child:1", (BASE, ADD, UNPACK, ONE_STEP))
    found = advise(population(split, child))
    (advice,) = [a for a in found if a.kind == COMBINE_STEPS and a.image == "split:1"]
    assert advice.detail.endswith(
        "(other images use some of these layers: child:1; the saving is this image's, not "
        "the set's)"
    )
