"""Bases in a set of images, and moving images onto other bases: the changes `rebase` and
`consolidate` advise, applied to the model.

- An image's **base** is the image of the set whose layers (by DiffID) are the longest proper
  prefix of its own (`bases_of`): what `FROM` left in it. Of several images with that very
  stack (tags of one image), the first in the population's order. An image with no such
  prefix in the set has no base here (its base may exist, but not in the set).
- A base's **family** is its repository (`debian` of `debian:12.1`), its **version** its tag,
  ordered naturally (`version_key`: `v10` after `v9`, `12.10` after `12.9`).
- **rebase** (`rebased`): the image's base layers replaced by another base's, its own layers
  kept on top, as `crane rebase` does: it assumes what the image added still works on the
  other version (same family). Images built on it keep their stacks. A base image of the set
  is there as the base of its images: when no other image of the set is built on the old
  base any more, the old base is retired as `consolidate` retires a version (it becomes the
  new base: a node that pulled it pulls the new one).
- **consolidate** (`consolidated`): every image of a family but the newest becomes the newest
  (the old versions retired: a node that pulled one pulls the newest), and every image built
  on one of them, directly or through other bases, is rebuilt on the newest: its own layers
  kept, its bases' stacks replaced.

No layer is made: every layer of the changed images already exists in the set, so their tar
and compressed bytes are what they were (measured, for real images).
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import replace

from layersim.model import EntryKind, Image, Layer, Population, repository_of
from layersim.model.digest import DiffID
from layersim.model.overlay import merged_view


def version_key(name: str) -> tuple[tuple[int, int, str], ...]:
    """The natural order of an image's tag: digit runs compared as numbers, the rest as
    text (`v9` < `v10`, `12.9` < `12.10`); a name without a tag sorts first."""
    tag = name[len(repository_of(name)) + 1 :]
    parts = re.split(r"(\d+)", tag)
    return tuple((0, int(p), "") if p.isdigit() else (1, 0, p) for p in parts if p)


def _stack(image: Image) -> tuple[DiffID, ...]:
    return tuple(layer.diff_id for layer in image.layers)


def bases_of(population: Population) -> dict[str, str]:
    """Image name -> the name of its base (module docstring), for every image that has one."""
    by_stack: dict[tuple[DiffID, ...], str] = {}
    for image in population.images:
        by_stack.setdefault(_stack(image), image.name)
    out = {}
    for image in population.images:
        stack = _stack(image)
        for depth in range(len(stack) - 1, 0, -1):
            base = by_stack.get(stack[:depth])
            if base is not None:
                out[image.name] = base
                break
    return out


def family_members(population: Population, family: str) -> list[Image]:
    """The images of a family (repository), oldest version first (ties by name)."""
    members = [i for i in population.images if i.repository == family]
    return sorted(members, key=lambda i: (version_key(i.name), i.name))


def base_families(population: Population) -> list[str]:
    """The families that are bases of other images and hold two stacks or more in the set
    (so there is something to move between), sorted."""
    families = {repository_of(base) for base in bases_of(population).values()}
    return sorted(
        f for f in families if len({_stack(i) for i in family_members(population, f)}) > 1
    )


def shared_file_bytes(a: Image, b: Image) -> int:
    """File bytes of the distinct file contents both images show (their merged views)."""

    def contents(image: Image) -> dict[str, int]:
        return {
            e.content: e.file_bytes
            for _, e in merged_view(image.layers).values()
            if e.kind is EntryKind.FILE and e.content is not None
        }

    mine, theirs = contents(a), contents(b)
    return sum(n for c, n in mine.items() if c in theirs)


def closest_base(population: Population, image: str, bases: Mapping[str, str]) -> str | None:
    """The other version of `image`'s base's family that shares the most file bytes with that
    base (ties: the newer, then by name); None if the family has no other stack. Images built
    on `image` itself are not candidates."""
    base = population.image_by_name[bases[image]]
    own = _stack(population.image_by_name[image])
    best: tuple[int, tuple, str] | None = None
    for other in family_members(population, base.repository):
        stack = _stack(other)
        if stack == _stack(base) or stack[: len(own)] == own:
            continue
        key = (shared_file_bytes(base, other), version_key(other.name), other.name)
        if best is None or key > best:
            best = key
    return None if best is None else best[2]


def _with_images(population: Population, images: Mapping[str, tuple[Layer, ...]]) -> Population:
    changed = tuple(
        Image(i.name, images[i.name]) if i.name in images else i for i in population.images
    )
    return replace(population, images=changed)


def rebased(population: Population, image: str, new_base: str) -> Population:
    """The population with `image` moved from its base onto `new_base` (module docstring)."""
    by_name = population.image_by_name
    bases = bases_of(population)
    old = by_name[bases[image]]
    target = by_name[new_base].layers
    changed = {image: target + by_name[image].layers[len(old.layers) :]}
    if not [n for n, b in bases.items() if b == old.name and n != image]:
        changed[old.name] = target  # retired: nothing else is built on it
    return _with_images(population, changed)


def retires_base(population: Population, image: str) -> bool:
    """Whether rebasing `image` retires its base (no other image is built on it)."""
    bases = bases_of(population)
    return not [n for n, b in bases.items() if b == bases[image] and n != image]


def newest(population: Population, family: str) -> str:
    """The newest version of a family in the set (`version_key`; ties: the last name)."""
    return family_members(population, family)[-1].name


def consolidated(population: Population, family: str) -> Population:
    """The population with every image of `family` but the newest retired and every image on
    one of them rebuilt on the newest (module docstring)."""
    by_name = population.image_by_name
    bases = bases_of(population)
    keep = newest(population, family)
    stacks: dict[str, tuple[Layer, ...]] = {}

    def stack(name: str) -> tuple[Layer, ...]:
        # each step goes to a shorter prefix or to the newest, which stops: it terminates
        if name not in stacks:
            image = by_name[name]
            if name == keep:
                stacks[name] = image.layers
            elif image.repository == family:
                stacks[name] = stack(keep)
            elif name in bases:
                below = by_name[bases[name]]
                stacks[name] = stack(below.name) + image.layers[len(below.layers) :]
            else:
                stacks[name] = image.layers
        return stacks[name]

    return _with_images(population, {i.name: stack(i.name) for i in population.images})
