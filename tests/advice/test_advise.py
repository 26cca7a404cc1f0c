"""Tests of `layersim.advice.advise`: every advice's saving is exactly what the engine
measures on the population with the advice applied (random populations, random base
families), the advised images show the same files (but a rebased one, which shows its new
base's), and exact examples: an image that adds then deletes a file gets `combine_steps`
saving that file's layers, an image built in one step gets none, squashing a base other
images share is not advised; rebase, consolidate and relayer save exactly the layers they
make redundant."""

from __future__ import annotations

from tarfile import DIRTYPE

from hypothesis import given, settings
from hypothesis import strategies as st

from layersim.accounting.assemble import evaluate
from layersim.advice.advise import (
    COMBINE_STEPS,
    CONSOLIDATE,
    EVERY_IMAGE,
    REBASE,
    RELAYER,
    SQUASH,
    Advice,
    advise,
    apply_advice,
    saving_order,
)
from layersim.advice.bases import bases_of
from layersim.advice.relayer import visible_identities
from layersim.model import (
    EntryKind,
    Image,
    Layer,
    Node,
    Population,
    make_entry,
    make_layer,
)
from layersim.model.digest import synthetic_digest
from layersim.model.overlay import merged_view
from layersim.model.sizes import TAR_END_BYTES
from layersim.readers import population_of, read_images
from layersim.readers.flatten import measure_combined_paths
from tests.readers.images import Layout, M, gzip_bytes, make_tar, noise
from tests.strategies import layer_stacks, populations


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


def check_advice(population: Population, advice: Advice, before_set: tuple[int, int, int]) -> None:
    """Apply `advice`, evaluate again: the figures fall by exactly the saving claimed (the
    image's for combine_steps, the set's otherwise: `before_set` before), and the images show
    what they should."""
    changed = apply_advice(population, advice)
    if advice.kind == COMBINE_STEPS:
        before = image_figures(population, advice.image)
        after = image_figures(changed, advice.image)
    else:
        before, after = before_set, set_figures(changed)
    assert tuple(b - a for b, a in zip(before, after, strict=True)) == claimed(advice)
    assert max(claimed(advice)) > 0
    old = population.image_by_name
    new = changed.image_by_name
    if advice.kind in (COMBINE_STEPS, SQUASH):
        assert {p: e for p, (_, e) in merged_view(new[advice.image].layers).items()} == {
            p: e for p, (_, e) in merged_view(old[advice.image].layers).items()
        }
    elif advice.kind == RELAYER:
        assert advice.image == EVERY_IMAGE and advice.estimated
        for name, image in old.items():
            assert visible_identities(new[name]) == visible_identities(image)
    elif advice.kind == REBASE:
        base = old[bases_of(population)[advice.image]]
        own = old[advice.image].layers[len(base.layers) :]
        assert new[advice.image].layers == old[advice.target].layers + own
        if "retired" in advice.detail:
            assert new[base.name].layers == old[advice.target].layers
        else:
            assert new[base.name] == base
        assert not advice.estimated
    else:
        assert advice.kind == CONSOLIDATE and not advice.estimated
        family = [n for n, i in old.items() if i.repository == advice.image]
        assert {new[n].layers for n in family} == {old[advice.target].layers}


@settings(max_examples=40, deadline=None)
@given(populations(max_images=3, max_nodes=1))
def test_applying_an_advice_saves_what_it_claims(population: Population) -> None:
    """For every advice on random populations: `check_advice`; nothing is advised that saves
    nothing; the list is sorted by saving."""
    found = advise(population)
    assert found == sorted(found, key=saving_order)
    before = set_figures(population)
    for advice in found:
        check_advice(population, advice, before)


@st.composite
def family_populations(draw: st.DrawFn) -> Population:
    """Two or three versions of a base family (`base:N`, later ones reusing some of the
    earlier layers), two or three apps (`svcK:1`) each on one version with its own layers,
    and one or two nodes pulling some of them."""
    versions: list[tuple[Layer, ...]] = []
    pool: list[Layer] = []
    for _ in range(draw(st.integers(2, 3))):
        keep = draw(st.integers(0, len(versions[-1]) - 1)) if versions else 0
        below = versions[-1][:keep] if versions else ()
        stack = draw(layer_stacks(base=below, pool=tuple(pool), max_layers=3))
        versions.append(stack)
        pool.extend(layer for layer in stack if layer not in pool)
    images = [Image(f"base:{v + 1}", stack) for v, stack in enumerate(versions)]
    for k in range(draw(st.integers(2, 3))):
        base = versions[draw(st.integers(0, len(versions) - 1))]
        stack = draw(layer_stacks(base=base, max_layers=len(base) + 2))
        images.append(Image(f"svc{k}:1", stack))
    names = [i.name for i in images]
    nodes = tuple(
        Node(f"node{n}", tuple(draw(st.lists(st.sampled_from(names), min_size=1, max_size=4))))
        for n in range(draw(st.integers(1, 2)))
    )
    return Population(images=tuple(images), nodes=nodes)


@settings(max_examples=30, deadline=None)
@given(family_populations())
def test_family_advice_saves_what_it_claims(population: Population) -> None:
    """The same on populations with base families, where rebase and consolidate apply."""
    found = advise(population)
    assert found == sorted(found, key=saving_order)
    before = set_figures(population)
    for advice in found:
        check_advice(population, advice, before)


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


def version(content_tag: str, sh_tag: str = "") -> list:
    return [
        make_entry("bin/sh", EntryKind.FILE, 100_000, content=synthetic_digest("sh", sh_tag)),
        make_entry("lib/c", EntryKind.FILE, 60_000, content=synthetic_digest("c", content_tag)),
    ]


V1 = make_layer(version("1"), name="v1")
V2 = make_layer(version("2"), name="v2")  # shares bin/sh with v1
V3 = make_layer(version("3", "3")[1:], name="v3")  # lib/c only: smaller, shares nothing
APP_A = make_layer([file("app/a", 20_000)], name="a")
APP_B = make_layer([file("app/b", 30_000)], name="b")


def base_set() -> Population:
    """Three versions of `base`; a:1 on v1 and b:1 on v2, both pulled by one node."""
    images = (
        Image("base:v1", (V1,)),
        Image("base:v2", (V2,)),
        Image("base:v3", (V3,)),
        Image("a:1", (V1, APP_A)),
        Image("b:1", (V2, APP_B)),
    )
    return Population(images=images, nodes=(Node("node", ("a:1", "b:1")),))


def test_rebase_saves_the_old_base() -> None:
    """a:1 moves onto base:v2 (the version sharing bin/sh with v1, not the newest); nothing
    else is built on base:v1, so it is retired: the registry no longer stores v1 (its tar and
    compressed bytes) nor the node (its disk bytes). b:1, likewise, onto base:v1."""
    found = [a for a in advise(base_set()) if a.kind == REBASE]
    by_image = {a.image: a for a in found}
    advice = by_image["a:1"]
    assert advice.target == "base:v2" and advice.layers == ("v1",)
    assert claimed(advice) == (V1.tar_bytes, V1.compressed_bytes, V1.disk_bytes())
    assert advice.where == "registry+node" and not advice.estimated
    assert advice.detail.endswith(
        "base:v1 is then retired (nothing else in the set is built on it)"
    )
    assert by_image["b:1"].target == "base:v1"
    assert claimed(by_image["b:1"]) == (V2.tar_bytes, V2.compressed_bytes, V2.disk_bytes())


def test_rebase_onto_a_shared_base_saves_on_the_node() -> None:
    """With c:1 also on base:v1, base:v1 stays: moving a:1 saves nothing in the registry;
    the node, which pulls a:1 and b:1 but not c:1, no longer stores v1."""
    population = base_set()
    population = Population(
        images=(*population.images, Image("c:1", (V1, APP_B))),
        nodes=population.nodes,
    )
    (advice,) = [a for a in advise(population) if a.kind == REBASE and a.image == "a:1"]
    assert advice.target == "base:v2" and "retired" not in advice.detail
    assert claimed(advice) == (0, 0, V1.disk_bytes())


def test_consolidate_saves_the_retired_versions() -> None:
    """Everything on base:v3: the registry drops v1 and v2 (their tar and compressed bytes);
    the node stores v3 instead of v1 and v2, and a:1's and b:1's layers once more each (their
    ChainIDs change, but they were stored once each before too)."""
    (advice,) = [a for a in advise(base_set()) if a.kind == CONSOLIDATE]
    assert advice.image == "base" and advice.target == "base:v3"
    assert advice.layers == ("v1", "v2")
    assert claimed(advice) == (
        V1.tar_bytes + V2.tar_bytes,
        V1.compressed_bytes + V2.compressed_bytes,
        V1.disk_bytes() + V2.disk_bytes() - V3.disk_bytes(),
    )


def test_relayer_stores_shared_files_once() -> None:
    """x:1 and y:1 hold the same files in layers built apart (two DiffIDs, stored twice):
    re-layered, they share one layer of them, so the set saves one copy of that layer
    (tar, compressed and, on the node that pulls both, disk bytes)."""
    shared = [file("lib/a", 40_000), file("lib/b", 20_000)]
    first, second = make_layer(shared, mtime=1), make_layer(shared, mtime=2)
    x = Image("x:1", (first, make_layer([file("x", 5_000)])))
    y = Image("y:1", (second, make_layer([file("y", 7_000)])))
    population = Population(images=(x, y), nodes=(Node("node", ("x:1", "y:1")),))
    (advice,) = [a for a in advise(population) if a.kind == RELAYER]
    assert claimed(advice) == (second.tar_bytes, second.compressed_bytes, second.disk_bytes())
    assert advice.image == EVERY_IMAGE and advice.estimated
    assert "4 -> 3 distinct layers; layers per image max 2 -> 2" in advice.detail


@settings(max_examples=30, deadline=None)
@given(populations(max_images=3, max_nodes=1), st.integers(1, 10**6))
def test_measured_advice_saves_what_it_claims(population: Population, blob_bytes: int) -> None:
    """With a measure (any blob sizes: here each new layer's tar bytes scaled by a drawn
    factor), combine_steps and squash advice carry the measured size, are not estimated,
    and still save exactly what `check_advice` finds on the population they change."""

    def measure(combined) -> list[int]:
        return [1 + layer.tar_bytes * blob_bytes // 10**6 for _, _, _, layer in combined]

    found = advise(population, measure)
    assert found == sorted(found, key=saving_order)
    before = set_figures(population)
    for advice in found:
        if advice.kind in (COMBINE_STEPS, SQUASH):
            assert not advice.estimated and advice.new_layer_compressed_bytes is not None
        check_advice(population, advice, before)


def test_measured_on_plain_paths(tmp_path) -> None:
    """Two images on one base in an OCI layout; `a` adds `app/tmp` and deletes it with
    `opt/old` of the base. Measured from the layout: squash flattens a's top two layers
    (the base stays shared), its new layer keeps the whiteout of `opt/old`, and its registry
    saving is, from the blob sizes on disk, a's two top blobs minus the gzip (zlib-ng, level
    6) of the expected tar; combine_steps combines all three layers of `a`, saving a's three
    blobs minus the gzip of the flattened tar. Neither is estimated."""
    lower = [M("opt", kind=DIRTYPE), M("opt/old", noise(200_000, 4)), M("opt/keep", b"k" * 900)]
    run = [
        [M("app", kind=DIRTYPE), M("app/tmp", noise(300_000, 5)), M("app/run", b"r" * 1000)],
        [M("opt/.wh.old"), M("app/.wh.tmp"), M("app/conf", b"c = 1\n" * 50)],
    ]
    layout = Layout(tmp_path / "img")
    a = layout.image([make_tar(m) for m in (lower, *run)])
    layout.add(a, "a")
    layout.add(layout.image([make_tar(lower), make_tar([M("b", b"b" * 5000)])]), "b")
    images = read_images([layout.root])
    population_read = population_of(images)

    def measure(combined) -> list[int]:
        sizes = measure_combined_paths([layout.root], images, combined)
        return [size.gzip_bytes for size in sizes]

    found = {advice.kind: advice for advice in advise(population_read, measure)}
    blobs = [d["size"] for d in layout.manifest(a)["layers"]]
    top_tar = make_tar([run[0][0], run[0][2], run[1][0], run[1][2]])
    squashed = found[SQUASH]
    assert (squashed.start, squashed.stop, squashed.estimated) == (1, 3, False)
    assert squashed.saves_compressed_bytes == blobs[1] + blobs[2] - gzip_bytes(top_tar)
    flat_tar = make_tar([lower[0], lower[2], run[0][0], run[0][2], run[1][2]])
    combined = found[COMBINE_STEPS]
    assert (combined.start, combined.stop, combined.estimated) == (0, 3, False)
    assert combined.saves_compressed_bytes == sum(blobs) - gzip_bytes(flat_tar)
    check_advice(population_read, squashed, set_figures(population_read))
    check_advice(population_read, combined, set_figures(population_read))
