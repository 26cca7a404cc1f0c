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

Advice that saves nothing (every figure <= 0) is not given. Compressed savings are
`estimated`: the combined layer's compressed bytes are the sum of its entries' compressed
bytes (apportioned shares for real images, modelled for generated ones), not a compression.
"""

from __future__ import annotations

from dataclasses import dataclass, replace

from layersim.accounting.assemble import evaluate
from layersim.accounting.metrics import PopulationMetrics
from layersim.advice.combine import combined_image_layers
from layersim.errors import ModelError
from layersim.model import EntryKind, Image, Layer, Population
from layersim.model.overlay import View, is_below

COMBINE_STEPS = "combine_steps"
SQUASH = "squash"


@dataclass(frozen=True, slots=True)
class Advice:
    """One change and what it saves (bytes; negative would be a loss, never advised)."""

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


def apply_advice(population: Population, advice: Advice) -> Population:
    """The population with `advice`'s layers of its image combined into one."""
    images = tuple(
        Image(
            image.name,
            combined_image_layers(image.layers, advice.start, advice.stop, population.compression),
        )
        if image.name == advice.image
        else image
        for image in population.images
    )
    return replace(population, images=images)


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


def _set_figures(population: Population, metrics: PopulationMetrics) -> tuple[int, int, int]:
    distinct = {layer.diff_id: layer.tar_bytes for i in population.images for layer in i.layers}
    node_bytes = sum(node.stored_bytes.layer for node in metrics.nodes)
    return sum(distinct.values()), metrics.registry_stored_bytes.layer, node_bytes


def _advice(
    population: Population,
    before: tuple[int, int, int],
    image: Image,
    kind: str,
    run: tuple[int, int],
    detail: str,
) -> Advice | None:
    start, stop = run
    draft = Advice(
        image.name,
        kind,
        tuple(layer.label for layer in image.layers[start:stop]),
        start,
        stop,
        0,
        0,
        0,
        "image" if kind == COMBINE_STEPS else "registry+node",
        True,
        detail,
    )
    try:
        changed = apply_advice(population, draft)
    except ModelError:
        return None  # the run cannot be one layer (`combine`)
    metrics = evaluate(changed)
    if kind == COMBINE_STEPS:
        after = _image_figures(metrics, image.name)
    else:
        after = _set_figures(changed, metrics)
    saves = [b - a for b, a in zip(before, after, strict=True)]
    if max(saves) <= 0:
        return None
    return replace(
        draft,
        saves_tar_bytes=saves[0],
        saves_compressed_bytes=saves[1],
        saves_disk_bytes=saves[2],
    )


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
            found = _advice(population, before, image, COMBINE_STEPS, (start, stop), detail)
            if found is not None:
                out.append(found)
    return out


def squash(population: Population, metrics: PopulationMetrics) -> list[Advice]:
    """Every `squash` advice: per image, the best N (module docstring)."""
    before = _set_figures(population, metrics)
    out = []
    for image in population.images:
        n_layers = len(image.layers)
        best: Advice | None = None
        for start in range(n_layers - 2, -1, -1):
            top = n_layers - start
            detail = (
                "flatten the whole image" if start == 0 else f"flatten its top {top} layers"
            ) + " (sharing with the other images counted)"
            found = _advice(population, before, image, SQUASH, (start, n_layers), detail)
            if found is not None and (best is None or saving_order(found) < saving_order(best)):
                best = found
        if best is not None:
            out.append(best)
    return out


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


def advise(population: Population) -> list[Advice]:
    """Every advice for the population, largest tar-byte saving first (then compressed, then
    disk bytes; ties by image and kind)."""
    metrics = evaluate(population)
    found = combine_steps(population, metrics) + squash(population, metrics)
    return sorted(found, key=saving_order)
