"""Advice for a generated fleet: what the `run` report advises for the population that stands at
the end of the run (the images the registry and the nodes hold), measured by the engine on
arrays, so that it stays affordable at company scale.

The set is the final state's images (`held_arrays`: the registry's and the nodes' images, not
the containers, which no advice changes); its figures are `advise.set_figures`' on arrays
(`set_figures`): tar bytes of the held images' distinct layers, the registry's stored
compressed bytes and the nodes' stored disk bytes under layer sharing. Bases, families and
versions are `bases`' (an image's base: the longest proper layer prefix among every image the
fleet built, held or not).

- `rebase`, per base version `B` that held images are built on directly: move them all onto
  the held version of `B`'s family whose layers share the most file bytes with `B`'s (a
  generated base or runtime deletes nothing, so its layers' contents are what it shows), and
  retire `B` (`bases.rebased`'s rule).
  `image` is `B`; one evaluation per base version, not per image, and only for the
  `REBASE_MAX_BASES` base versions with the most held images on them (ties: by id): each
  evaluation is a whole engine pass over the final state (docs/advise.md gives the cost).
- `consolidate`, per family: every held image on an older version rebuilt on the newest held
  version (`bases.consolidated`'s rule, on arrays).
- `relayer`: `advise.relayer` on the final state as objects, only when it holds at most
  `RELAYER_MAX_IMAGES` images (the grouping walks every image's merged view in Python); above
  that it is not computed and `FleetAdvice.relayer_skipped` says so.
- `combine_steps` and `squash` are not computed for fleets (one evaluation per image and
  layer run); the waste they would remove is the run's `waste.csv`.
- Above `FLEET_MAX_IMAGES` images in the final state (the `hub` scenario), no advice is
  computed: each evaluation is a pass over every layer's entries and the lineage walks every
  image in Python; `FleetAdvice.skipped` says so.

Compressed savings of rebase and consolidate are exact (no layer is made); relayer's are
estimated (summed entry shares).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace

import numpy as np

from layersim.accounting.arrays import (
    I64,
    PopulationArrays,
    canonical,
    csr_offsets,
    expand_images,
    to_population,
)
from layersim.accounting.assemble import evaluate
from layersim.accounting.images import image_table
from layersim.accounting.storage import node_stored, registry_stored
from layersim.advice.advise import (
    CONSOLIDATE,
    REBASE,
    SET,
    Advice,
    relayer,
    saving_order,
)
from layersim.advice.bases import version_key
from layersim.errors import ModelError
from layersim.model import repository_of

# above this many images in the final state, relayer is not computed (module docstring)
RELAYER_MAX_IMAGES = 400
# rebase is evaluated for at most this many base versions (module docstring)
REBASE_MAX_BASES = 12
# above this many images in the final state, no advice is computed (module docstring)
FLEET_MAX_IMAGES = 20_000


@dataclass(frozen=True)
class FleetAdvice:
    """The advice for a fleet's final state, largest saving first, and whether relayer (too
    many images: `RELAYER_MAX_IMAGES`) or all advice (`FLEET_MAX_IMAGES`) was skipped."""

    advice: tuple[Advice, ...]
    images: int  # images in the final state
    relayer_skipped: bool
    skipped: bool = False


def held_arrays(arrays: PopulationArrays) -> tuple[PopulationArrays, I64]:
    """The arrays restricted to the images the registry (push order) or a node holds, in id
    order, without containers; and the original id of each kept image."""
    held = np.unique(np.concatenate([arrays.push_order, arrays.node_images]))
    new_id = np.full(arrays.n_images, -1, dtype=np.int64)
    new_id[held] = np.arange(held.size)
    offsets, _, rows = expand_images(arrays, held)
    restricted = replace(
        arrays,
        image_offsets=offsets,
        image_layers=arrays.image_layers[rows],
        image_repository=arrays.image_repository[held],
        image_names=tuple(arrays.image_names[i] for i in held.tolist()),
        image_layer_labels=None,
        push_order=new_id[arrays.push_order],
        node_images=new_id[arrays.node_images],
        container_names=(),
        container_node=np.zeros(0, np.int64),
        container_image=np.zeros(0, np.int64),
        container_running=np.zeros(0, np.bool_),
        write_offsets=np.zeros(1, np.int64),
        write_file_bytes=np.zeros(0, np.int64),
        modify_offsets=np.zeros(1, np.int64),
        modify_path=np.zeros(0, np.int64),
        modify_changed_bytes=np.zeros(0, np.int64),
        delete_offsets=np.zeros(1, np.int64),
        delete_path=np.zeros(0, np.int64),
    )
    return restricted, held


def set_figures(arrays: PopulationArrays) -> tuple[int, int, int]:
    """`advise.set_figures` on arrays whose every image is held: tar bytes of their distinct
    layers, the registry's and the nodes' stored bytes under layer sharing."""
    images = image_table(canonical(arrays))
    layers = np.unique(arrays.image_layers)
    registry = registry_stored(arrays, arrays.push_order, images)
    nodes = node_stored(arrays, arrays.node_offsets, arrays.node_images, images)
    return int(arrays.layer_tar_bytes[layers].sum()), registry.layer, int(nodes.layer.sum())


def with_stacks(arrays: PopulationArrays, stacks: list[tuple[int, ...]]) -> PopulationArrays:
    """The arrays with every image's layers replaced by `stacks` (layer ids, base first)."""
    layers = np.fromiter((lid for s in stacks for lid in s), dtype=np.int64)
    return replace(arrays, image_offsets=csr_offsets([len(s) for s in stacks]), image_layers=layers)


def _stacks(arrays: PopulationArrays, ids: I64 | None = None) -> list[tuple[int, ...]]:
    bounds = arrays.image_offsets.tolist()
    layers = arrays.image_layers.tolist()
    wanted = range(arrays.n_images) if ids is None else ids.tolist()
    return [tuple(layers[bounds[i] : bounds[i + 1]]) for i in wanted]


@dataclass(frozen=True)
class Lineage:
    """Every image the fleet built: names, stacks, each one's base (-1: none)."""

    names: tuple[str, ...]
    stacks: list[tuple[int, ...]]
    base: list[int]

    @classmethod
    def of(cls, arrays: PopulationArrays) -> Lineage:
        stacks = _stacks(arrays)
        by_stack: dict[tuple[int, ...], int] = {}
        for i, stack in enumerate(stacks):
            by_stack.setdefault(stack, i)
        base = []
        for stack in stacks:
            found = -1
            for depth in range(len(stack) - 1, 0, -1):
                found = by_stack.get(stack[:depth], -1)
                if found >= 0:
                    break
            base.append(found)
        return cls(arrays.image_names, stacks, base)


def _contents(arrays: PopulationArrays, stack: tuple[int, ...]) -> dict[int, int]:
    """Content id -> file bytes of the files of a stack's layers."""
    out: dict[int, int] = {}
    for lid in stack:
        lo, hi = int(arrays.layer_offsets[lid]), int(arrays.layer_offsets[lid + 1])
        content = arrays.entry_content[lo:hi]
        files = content[content >= 0]
        out.update(zip(files.tolist(), arrays.content_file_bytes[files].tolist(), strict=True))
    return out


def _measure(
    held: PopulationArrays,
    before: tuple[int, int, int],
    stacks: list[tuple[int, ...]],
    draft: Advice,
) -> Advice | None:
    after = set_figures(with_stacks(held, stacks))
    saves = [b - a for b, a in zip(before, after, strict=True)]
    if max(saves) <= 0:
        return None
    return replace(
        draft, saves_tar_bytes=saves[0], saves_compressed_bytes=saves[1], saves_disk_bytes=saves[2]
    )


def _draft(image: str, kind: str, labels: tuple[str, ...], detail: str, target: str) -> Advice:
    return Advice(image, kind, labels, 0, 0, 0, 0, 0, SET, False, detail, target=target)


def _labels(arrays: PopulationArrays, stack: tuple[int, ...]) -> tuple[str, ...]:
    if arrays.layer_labels is None:
        return tuple(f"layer{lid}" for lid in stack)
    return tuple(arrays.layer_labels[lid] for lid in stack)


def rebase_moves(
    arrays: PopulationArrays, held_ids: I64, lineage: Lineage | None = None
) -> list[tuple[int, int, list[int]]]:
    """(old base, new base, the held images moved: positions in `held_ids`) per base version
    held images are built on directly, the `REBASE_MAX_BASES` with the most (module
    docstring); ids are the fleet's."""
    lineage = lineage or Lineage.of(arrays)
    held_set = set(held_ids.tolist())
    movers: dict[int, list[int]] = {}
    for position, image in enumerate(held_ids.tolist()):
        base = lineage.base[image]
        if base >= 0 and repository_of(lineage.names[image]) != repository_of(lineage.names[base]):
            movers.setdefault(base, []).append(position)
    out = []
    busiest = sorted(movers, key=lambda b: (-len(movers[b]), b))[:REBASE_MAX_BASES]
    for base in sorted(busiest):
        family = repository_of(lineage.names[base])
        mine = _contents(arrays, lineage.stacks[base])
        best: tuple[int, tuple, int] | None = None
        for other in sorted(held_set):
            name = lineage.names[other]
            if repository_of(name) != family or lineage.stacks[other] == lineage.stacks[base]:
                continue
            theirs = _contents(arrays, lineage.stacks[other])
            shared = sum(n for c, n in mine.items() if c in theirs)
            key = (shared, version_key(name), other)
            if best is None or key > best:
                best = key
        if best is not None:
            out.append((base, best[2], movers[base]))
    return out


def _staying(lineage: Lineage, held_ids: I64, base: int) -> bool:
    """Whether a held image of `base`'s own family is built on it (so a rebase keeps it)."""
    family = repository_of(lineage.names[base])
    return any(
        lineage.base[i] == base and repository_of(lineage.names[i]) == family
        for i in held_ids.tolist()
    )


def rebased_stacks(
    arrays: PopulationArrays,
    held_ids: I64,
    base: int,
    target: int,
    lineage: Lineage | None = None,
) -> list[tuple[int, ...]]:
    """The held images' stacks with those built directly on `base` (other families than its)
    moved onto `target`, and `base` retired (it becomes `target`, as `bases.rebased` does)
    when no held image is built on it any more."""
    lineage = lineage or Lineage.of(arrays)
    family = repository_of(lineage.names[base])
    old_len, new_base = len(lineage.stacks[base]), lineage.stacks[target]
    staying = _staying(lineage, held_ids, base)
    out = []
    for image in held_ids.tolist():
        stack = lineage.stacks[image]
        if lineage.base[image] == base and repository_of(lineage.names[image]) != family:
            stack = new_base + stack[old_len:]
        elif image == base and not staying:
            stack = new_base
        out.append(stack)
    return out


def apply_fleet_advice(arrays: PopulationArrays, advice: Advice) -> PopulationArrays:
    """The final state's held arrays (`held_arrays`) with a rebase or consolidate advice of
    `fleet_advice` applied: what its saving was measured on."""
    held, held_ids = held_arrays(arrays)
    ids = {name: i for i, name in enumerate(arrays.image_names)}
    if advice.kind == REBASE:
        stacks = rebased_stacks(arrays, held_ids, ids[advice.image], ids[advice.target])
    elif advice.kind == CONSOLIDATE:
        result = consolidated_stacks(arrays, held_ids, advice.image)
        if result is None:
            raise ModelError(f"no held image of family {advice.image!r}")
        stacks = result[0]
    else:
        raise ModelError(f"{advice.kind} is applied to objects (`advise.apply_advice`)")
    return with_stacks(held, stacks)


def base_families_held(
    arrays: PopulationArrays, held_ids: I64, lineage: Lineage | None = None
) -> list[str]:
    """The families that held images of other families are built on directly, sorted."""
    lineage = lineage or Lineage.of(arrays)
    families = set()
    for image in held_ids.tolist():
        base = lineage.base[image]
        if base >= 0:
            family = repository_of(lineage.names[base])
            if family != repository_of(lineage.names[image]):
                families.add(family)
    return sorted(families)


def consolidated_stacks(
    arrays: PopulationArrays, held_ids: I64, family: str, lineage: Lineage | None = None
) -> tuple[list[tuple[int, ...]], int] | None:
    """The held images' stacks with `family` consolidated onto its newest held version, and
    that version's id; None if the family has no held version."""
    lineage = lineage or Lineage.of(arrays)
    members = [i for i in held_ids.tolist() if repository_of(lineage.names[i]) == family]
    if not members:
        return None
    keep = max(members, key=lambda i: (version_key(lineage.names[i]), lineage.names[i]))
    memo: dict[int, tuple[int, ...]] = {}

    def stack(i: int) -> tuple[int, ...]:
        if i not in memo:
            own, base = lineage.stacks[i], lineage.base[i]
            if i == keep:
                memo[i] = own
            elif repository_of(lineage.names[i]) == family:
                memo[i] = stack(keep)
            elif base >= 0:
                memo[i] = stack(base) + own[len(lineage.stacks[base]) :]
            else:
                memo[i] = own
        return memo[i]

    return [stack(i) for i in held_ids.tolist()], keep


def _rebase_advice(
    arrays: PopulationArrays,
    held: PopulationArrays,
    held_ids: I64,
    before: tuple[int, int, int],
    lineage: Lineage,
    report: Callable[[str, float], None],
) -> list[Advice]:
    names = arrays.image_names
    found = []
    moves = rebase_moves(arrays, held_ids, lineage)
    for k, (base, target, moved) in enumerate(moves):
        report("advice: rebase", k / max(len(moves), 1))
        changed = rebased_stacks(arrays, held_ids, base, target, lineage)
        detail = (
            f"build the {len(moved)} held image(s) on {names[base]} FROM {names[target]} "
            "instead (same family, most file bytes shared)"
        )
        if not _staying(lineage, held_ids, base):
            detail += f"; {names[base]} retired"
        labels = _labels(arrays, stacks_of(arrays, base))
        draft = _draft(names[base], REBASE, labels, detail, names[target])
        advice = _measure(held, before, changed, draft)
        if advice is not None:
            found.append(advice)
    return found


def _consolidate_advice(
    arrays: PopulationArrays,
    held: PopulationArrays,
    held_ids: I64,
    before: tuple[int, int, int],
    lineage: Lineage,
) -> list[Advice]:
    names = arrays.image_names
    stacks = _stacks(arrays, held_ids)
    found = []
    for family in base_families_held(arrays, held_ids, lineage):
        result = consolidated_stacks(arrays, held_ids, family, lineage)
        if result is None or result[0] == stacks:
            continue
        changed, keep = result
        retired = sorted({lid for s in stacks for lid in s} - {lid for s in changed for lid in s})
        detail = f"one base for the family: everything held rebuilt on {names[keep]}"
        draft = _draft(family, CONSOLIDATE, _labels(arrays, tuple(retired)), detail, names[keep])
        advice = _measure(held, before, changed, draft)
        if advice is not None:
            found.append(advice)
    return found


def fleet_advice(
    arrays: PopulationArrays,
    relayer_max_images: int = RELAYER_MAX_IMAGES,
    progress: Callable[[str, float], None] | None = None,
    max_images: int = FLEET_MAX_IMAGES,
) -> FleetAdvice:
    """The advice for a fleet's final state (`arrays`: every image the fleet built, the push
    order and the nodes' images those the final state holds), largest saving first; none
    above `max_images` held images (`FleetAdvice.skipped`)."""
    report = progress or (lambda stage, fraction: None)
    # the advice's figures are layer-sharing ones: the fleet's modelled chunks would only
    # make every evaluation count them too
    arrays = replace(arrays, cdc_chunks=None, fixed_chunks=None)
    n_held = int(np.unique(np.concatenate([arrays.push_order, arrays.node_images])).size)
    if n_held > max_images:
        return FleetAdvice((), n_held, relayer_skipped=True, skipped=True)
    held, held_ids = held_arrays(arrays)
    before = set_figures(held)
    lineage = Lineage.of(arrays)
    found = _rebase_advice(arrays, held, held_ids, before, lineage, report)
    report("advice: consolidate", 0.0)
    found += _consolidate_advice(arrays, held, held_ids, before, lineage)
    relayer_skipped = held.n_images > relayer_max_images
    if not relayer_skipped:
        report("advice: relayer", 0.0)
        population = to_population(held)
        found += relayer(population, evaluate(population))
    return FleetAdvice(tuple(sorted(found, key=saving_order)), held.n_images, relayer_skipped)


def stacks_of(arrays: PopulationArrays, image: int) -> tuple[int, ...]:
    """The layer ids of one image, base first."""
    lo, hi = int(arrays.image_offsets[image]), int(arrays.image_offsets[image + 1])
    return tuple(arrays.image_layers[lo:hi].tolist())
