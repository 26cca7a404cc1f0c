"""Advice for a set of images: what to change, and what the engine says it saves.

Every saving is measured, never guessed: the change is applied to the population
(`combine.combined_image_layers`) and the changed population is evaluated again by
`accounting.assemble.evaluate`; the saving is the figure before minus after.

- `combine_steps`: a run of consecutive layers of one image where a later layer deletes or
  overwrites (hides) what an earlier one added, combined into one layer (what one build step
  would write). Saves, for that image (`where` = `image`): its layered tar bytes, compressed
  bytes and disk bytes (`accounting.metrics.ImageMetrics`), before minus after. When other
  images use layers of the run, `detail` names them: the saving is this image's alone.
- `squash`: the image's top N layers (N = all of them: the whole image) flattened into one;
  of every N from 2 up, the one that saves most. Saves, for the set (`where` =
  `registry+node`): the registry's stored compressed bytes and the node's disk bytes under
  layer sharing (`StoredBytes.layer`, summed over the nodes), and the tar bytes of the set's
  distinct layers, before minus after: sharing lost with the other images is counted.

- `rebase`: an image moved from its base onto the other version of the base's family that
  shares the most file bytes with it, the old base retired if nothing else is built on it
  (`bases.closest_base`, `bases.rebased`). Saves, for
  the set (`where` = `registry+node`), the same three figures as `squash`.
- `consolidate`: one per base family with two versions or more: every image on an older
  version moved onto the newest, the older versions retired (`bases.consolidated`). `image`
  is the family; saves the set's figures, as `squash`.
- `relayer`: for sets of two images or more, the set's files re-partitioned into layers by
  the images that show them (`relayer.relayered`, at most `relayer.LAYER_BOUND` layers per
  image). `image` is `*`
  (every image); saves the set's figures; `detail` gives the registry's and the nodes'
  bytes before and after and the layers per image.

Advice that saves nothing (every figure <= 0) is not given. A new layer's compressed bytes
are the sum of its entries' compressed bytes (apportioned shares for real images, modelled
for generated ones), not a compression: compressed savings of `combine_steps`, `squash` and
`relayer` are `estimated`. Where the layer blobs are at hand (`advise(population, measure)`:
the CLI on plain paths), the one new layer of each `combine_steps` and `squash` advice is
written and gzip-compressed for real (`readers.flatten.combined_range`), its blob's bytes
(`Advice.new_layer_compressed_bytes`) put in the changed population and the saving evaluated
again by the engine: not estimated. Which run, and which N of a squash, is chosen on the
estimate (one compression per advice given, not per candidate). `relayer` makes many new
layers and stays estimated. `rebase` and `consolidate` make no layer (every layer they use
exists in the set, its blob measured): not estimated.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace

from layersim.accounting.assemble import evaluate
from layersim.accounting.metrics import PopulationMetrics
from layersim.advice.bases import (
    base_families,
    bases_of,
    closest_base,
    consolidated,
    family_members,
    newest,
    rebased,
    retires_base,
    shared_file_bytes,
)
from layersim.advice.combine import combined_image_layers
from layersim.advice.relayer import LAYER_BOUND, distinct_layers, layer_counts, relayered
from layersim.errors import ModelError
from layersim.model import EntryKind, Image, Layer, Population
from layersim.model.overlay import View, is_below

COMBINE_STEPS = "combine_steps"
SQUASH = "squash"
REBASE = "rebase"
CONSOLIDATE = "consolidate"
RELAYER = "relayer"
KINDS = (COMBINE_STEPS, SQUASH, REBASE, CONSOLIDATE, RELAYER)
EVERY_IMAGE = "*"  # the `image` of advice that changes the whole set (relayer)
IMAGE, SET = "image", "registry+node"  # where an advice saves


@dataclass(frozen=True, slots=True)
class Advice:
    """One change and what it saves (bytes; negative would be a loss, never advised).

    `start`/`stop`: the layers combined (combine_steps, squash); `target`: the base moved
    onto (rebase) or kept (consolidate); `bound`: the layers per image (relayer)."""

    image: str
    kind: str
    layers: tuple[str, ...]  # the layers changed, base first (labels)
    start: int  # index of the first layer changed
    stop: int  # one past the last
    saves_tar_bytes: int
    saves_compressed_bytes: int
    saves_disk_bytes: int
    where: str
    estimated: bool
    detail: str
    target: str = ""
    bound: int = LAYER_BOUND
    new_layer_compressed_bytes: int | None = None  # the new layer's blob, measured


# measures the blobs of new layers: (image, start, stop, layer) -> compressed bytes, in order
Measure = Callable[[Sequence[tuple[str, int, int, Layer]]], list[int]]


def _combined_layers(population: Population, advice: Advice) -> tuple[Layer, ...]:
    """The advised image's layers, those of the run combined; the new layer's compressed
    bytes are its blob's, if measured."""
    image = population.image_by_name[advice.image]
    layers = combined_image_layers(image.layers, advice.start, advice.stop, population.compression)
    if advice.new_layer_compressed_bytes is None:
        return layers
    new = replace(layers[advice.start], compressed_bytes=advice.new_layer_compressed_bytes)
    return (*layers[: advice.start], new, *layers[advice.start + 1 :])


def new_layer(population: Population, advice: Advice) -> Layer:
    """The one layer a `combine_steps` or `squash` advice makes."""
    return _combined_layers(population, advice)[advice.start]


def _combined(population: Population, advice: Advice) -> Population:
    images = tuple(
        Image(image.name, _combined_layers(population, advice))
        if image.name == advice.image
        else image
        for image in population.images
    )
    return replace(population, images=images)


def apply_advice(population: Population, advice: Advice) -> Population:
    """The population with `advice` applied: its layers combined (combine_steps, squash), its
    image rebased, its family consolidated, or every image re-layered."""
    if advice.kind in (COMBINE_STEPS, SQUASH):
        return _combined(population, advice)
    if advice.kind == REBASE:
        return rebased(population, advice.image, advice.target)
    if advice.kind == CONSOLIDATE:
        return consolidated(population, advice.image)
    if advice.kind == RELAYER:
        images = relayered(population.images, advice.bound, population.compression)
        return replace(population, images=images)
    raise ModelError(f"unknown kind of advice {advice.kind!r} (known: {', '.join(KINDS)})")


def _hiders(layers: tuple[Layer, ...]) -> list[tuple[int, int, int]]:
    """(lower layer, upper layer, file bytes) for every entry a later layer hides: stacking
    as `overlay.stack_layer` does, recording who drops whom."""
    view: View = {}
    hidden: list[tuple[int, int, int]] = []

    def drop(path: str, by: int, include_self: bool) -> None:
        for p in [p for p in view if is_below(p, path) or (include_self and p == path)]:
            index, entry = view.pop(p)
            hidden.append((index, by, entry.file_bytes))

    for index, layer in enumerate(layers):
        for entry in layer.entries:
            if entry.kind is EntryKind.OPAQUE:
                drop(entry.path, index, False)
            elif entry.kind is EntryKind.WHITEOUT:
                drop(entry.path, index, True)
            elif entry.kind is not EntryKind.DIR:
                drop(entry.path, index, False)
        for entry in layer.entries:
            if entry.is_whiteout:
                continue
            previous = view.get(entry.path)
            if previous is not None and entry.kind is not EntryKind.DIR:
                hidden.append((previous[0], index, previous[1].file_bytes))
            view[entry.path] = (index, entry)
    return hidden


def _runs(hidden: list[tuple[int, int, int]]) -> list[tuple[int, int, int]]:
    """Disjoint runs [start, stop) covering every (lower, upper) pair that hides file bytes,
    overlapping pairs merged, with the file bytes hidden inside each."""
    pairs = sorted((lo, up + 1, n) for lo, up, n in hidden if n > 0)
    runs: list[list[int]] = []
    for start, stop, n_bytes in pairs:
        if runs and start < runs[-1][1]:
            runs[-1][1] = max(runs[-1][1], stop)
            runs[-1][2] += n_bytes
        else:
            runs.append([start, stop, n_bytes])
    return [(a, b, c) for a, b, c in runs]


def _image_figures(metrics: PopulationMetrics, name: str) -> tuple[int, int, int]:
    image = next(m for m in metrics.images if m.name == name)
    return image.layered_tar_bytes, image.layered_compressed_bytes, image.layered_disk_bytes


def set_figures(population: Population, metrics: PopulationMetrics) -> tuple[int, int, int]:
    """What the set stores (`where` = `registry+node`): tar bytes of its distinct layers, the
    registry's stored compressed bytes and the nodes' stored disk bytes under layer sharing."""
    distinct = {layer.diff_id: layer.tar_bytes for i in population.images for layer in i.layers}
    node_bytes = sum(node.stored_bytes.layer for node in metrics.nodes)
    return sum(distinct.values()), metrics.registry_stored_bytes.layer, node_bytes


def _measured(
    population: Population, before: tuple[int, int, int], draft: Advice
) -> tuple[Advice, tuple[int, int, int], tuple[Image, ...]] | None:
    """`draft` with the savings the engine measures once it is applied, the figures after
    and the changed images; None if it saves nothing or the model cannot hold the change
    (`ModelError`: a run that cannot be one layer, a container that changes a file the image
    no longer has)."""
    try:
        changed = apply_advice(population, draft)
        metrics = evaluate(changed)
    except ModelError:
        return None
    if draft.where == IMAGE:
        after = _image_figures(metrics, draft.image)
    else:
        after = set_figures(changed, metrics)
    saves = [b - a for b, a in zip(before, after, strict=True)]
    if max(saves) <= 0:
        return None
    found = replace(
        draft,
        saves_tar_bytes=saves[0],
        saves_compressed_bytes=saves[1],
        saves_disk_bytes=saves[2],
    )
    return found, after, changed.images


def _draft(image: str, kind: str, layers: tuple[Layer, ...], detail: str, **more) -> Advice:
    where = IMAGE if kind == COMBINE_STEPS else SET
    labels = tuple(layer.label for layer in layers)
    estimated = kind in (COMBINE_STEPS, SQUASH, RELAYER)
    start, stop = more.pop("start", 0), more.pop("stop", 0)
    return Advice(image, kind, labels, start, stop, 0, 0, 0, where, estimated, detail, **more)


def combine_steps(population: Population, metrics: PopulationMetrics) -> list[Advice]:
    """Every `combine_steps` advice of the population (module docstring)."""
    users: dict[str, set[str]] = {}
    for image in population.images:
        for layer in image.layers:
            users.setdefault(layer.diff_id, set()).add(image.name)
    out = []
    for image in population.images:
        before = _image_figures(metrics, image.name)
        for start, stop, n_bytes in _runs(_hiders(image.layers)):
            others = set().union(*(users[la.diff_id] for la in image.layers[start:stop]))
            others.discard(image.name)
            detail = (
                f"layers {start}-{stop - 1}: later layers delete or overwrite {n_bytes:,} file "
                f"bytes that earlier ones add; build them in one step"
            )
            if others:
                detail += (
                    f" (other images use some of these layers: {', '.join(sorted(others))}; "
                    "the saving is this image's, not the set's)"
                )
            draft = _draft(
                image.name, COMBINE_STEPS, image.layers[start:stop], detail, start=start, stop=stop
            )
            found = _measured(population, before, draft)
            if found is not None:
                out.append(found[0])
    return out


def squash(population: Population, metrics: PopulationMetrics) -> list[Advice]:
    """Every `squash` advice: per image, the best N (module docstring)."""
    before = set_figures(population, metrics)
    out = []
    for image in population.images:
        n_layers = len(image.layers)
        best: Advice | None = None
        for start in range(n_layers - 2, -1, -1):
            top = n_layers - start
            detail = (
                "flatten the whole image" if start == 0 else f"flatten its top {top} layers"
            ) + " (sharing with the other images counted)"
            draft = _draft(
                image.name, SQUASH, image.layers[start:], detail, start=start, stop=n_layers
            )
            found = _measured(population, before, draft)
            if found is not None and (best is None or saving_order(found[0]) < saving_order(best)):
                best = found[0]
        if best is not None:
            out.append(best)
    return out


def rebase(population: Population, metrics: PopulationMetrics) -> list[Advice]:
    """Every `rebase` advice: per image with a base in the set, onto the closest other
    version of its base's family, if that saves (module docstring)."""
    before = set_figures(population, metrics)
    bases = bases_of(population)
    by_name = population.image_by_name
    out = []
    for image in population.images:
        if image.name not in bases:
            continue
        target = closest_base(population, image.name, bases)
        if target is None:
            continue
        old = by_name[bases[image.name]]
        shared = shared_file_bytes(old, by_name[target])
        detail = (
            f"build it FROM {target} instead of {old.name} (same family; they share "
            f"{shared:,} file bytes); only this image moves"
        )
        if retires_base(population, image.name):
            detail += f"; {old.name} is then retired (nothing else in the set is built on it)"
        draft = _draft(image.name, REBASE, old.layers, detail, target=target)
        found = _measured(population, before, draft)
        if found is not None:
            out.append(found[0])
    return out


def consolidate(population: Population, metrics: PopulationMetrics) -> list[Advice]:
    """Every `consolidate` advice: per base family with two versions or more, everything on
    its newest version (module docstring)."""
    before = set_figures(population, metrics)
    bases = bases_of(population)
    out = []
    for family in base_families(population):
        keep = newest(population, family)
        kept = {layer.diff_id for layer in population.image_by_name[keep].layers}
        retired = [i for i in family_members(population, family) if i.name != keep]
        layers = {la.diff_id: la for i in retired for la in i.layers if la.diff_id not in kept}
        moved = sorted(n for n, b in bases.items() if b in {i.name for i in retired})
        detail = (
            f"one base for the family: retire {', '.join(i.name for i in retired)}; "
            f"build everything on {keep} ({len(moved)} image(s) built directly on a retired "
            "version move, and what is built on them)"
        )
        draft = _draft(family, CONSOLIDATE, tuple(layers.values()), detail, target=keep)
        found = _measured(population, before, draft)
        if found is not None:
            out.append(found[0])
    return out


def relayer(
    population: Population, metrics: PopulationMetrics, bound: int = LAYER_BOUND
) -> list[Advice]:
    """The `relayer` advice of the set, if it saves (module docstring); the detail gives the
    registry's and the nodes' bytes before and after, and the layers per image."""
    if len(population.images) < 2:
        return []  # one image re-layered is the image squashed: `squash` says it
    before = set_figures(population, metrics)
    draft = _draft(EVERY_IMAGE, RELAYER, tuple(population.layers()), "", bound=bound)
    found = _measured(population, before, draft)
    if found is None:
        return []
    advice, after, new_images = found
    old_counts, new_counts = layer_counts(population.images), layer_counts(new_images)
    detail = (
        f"re-layer the {len(population.images)} images by the images that share each file "
        f"(Skourtis et al.): {distinct_layers(population.images)} -> "
        f"{distinct_layers(new_images)} distinct layers; layers per image max "
        f"{max(old_counts)} -> {max(new_counts)}, mean {sum(old_counts) / len(old_counts):.1f} "
        f"-> {sum(new_counts) / len(new_counts):.1f} (bound {bound}); registry "
        f"{before[1]:,} -> {after[1]:,} compressed bytes; nodes {before[2]:,} -> {after[2]:,} "
        "disk bytes"
    )
    return [replace(advice, detail=detail)]


def saving_order(advice: Advice) -> tuple[int, int, int, str, str]:
    """The sort key of advice: largest tar-byte saving first, then compressed, then disk
    bytes; ties by image and kind."""
    return (
        -advice.saves_tar_bytes,
        -advice.saves_compressed_bytes,
        -advice.saves_disk_bytes,
        advice.image,
        advice.kind,
    )


def measured(
    population: Population, metrics: PopulationMetrics, found: list[Advice], measure: Measure
) -> list[Advice]:
    """`found` with each `combine_steps` and `squash` advice's new layer measured
    (`measure`, one call for all) and its savings evaluated again with the layer's real
    compressed bytes (not estimated); an advice that then saves nothing is dropped."""
    changing = [a for a in found if a.kind in (COMBINE_STEPS, SQUASH)]
    sizes = measure([(a.image, a.start, a.stop, new_layer(population, a)) for a in changing])
    if len(sizes) != len(changing):
        raise ModelError(f"{len(sizes)} layers measured for {len(changing)} advised")
    set_before = set_figures(population, metrics)
    out = [a for a in found if a.kind not in (COMBINE_STEPS, SQUASH)]
    for advice, size in zip(changing, sizes, strict=True):
        draft = replace(
            advice,
            estimated=False,
            new_layer_compressed_bytes=size,
            detail=f"{advice.detail}; the new layer measured: {size:,} compressed bytes (gzip)",
        )
        before = _image_figures(metrics, advice.image) if advice.where == IMAGE else set_before
        again = _measured(population, before, draft)
        if again is not None:
            out.append(again[0])
    return out


def advise(population: Population, measure: Measure | None = None) -> list[Advice]:
    """Every advice for the population, largest tar-byte saving first (then compressed, then
    disk bytes; ties by image and kind). With `measure`, the new layers of `combine_steps`
    and `squash` are measured (`measured`)."""
    metrics = evaluate(population)
    changing = [*combine_steps(population, metrics), *squash(population, metrics)]
    if measure is not None:
        changing = measured(population, metrics, changing, measure)
    found = [
        *changing,
        *rebase(population, metrics),
        *consolidate(population, metrics),
        *relayer(population, metrics),
    ]
    return sorted(found, key=saving_order)
