"""What a registry operator asks of the images a registry holds: what-ifs on the same population.

On the population, figures in compressed bytes (B) of layer blobs as the registry stores them
(config blobs and manifests, a few KB each, are not modelled, as `PushRecord` leaves them
out):

- `mount_saved_bytes(population, pushes)`: per push, the compressed bytes of the layers it
  mounted from another repository (`PushRecord.mounted_layers`) — what the push would have
  uploaded had the client not tried a cross-repository mount (or had the registry refused
  it). `sum over mounted layers L of the push: compressed_bytes(L)`.
- `tag_deletion_frees_bytes(population)`: per image, what garbage collection would free after
  deleting that image's tag alone: the compressed bytes of the distinct blobs no other image
  references. `sum over blobs B of the image with refs(B) = {image}: compressed_bytes(B)`.
  A blob shared with any other image stays, however many images share it.
- `deletion_frees_bytes(population, names)`: the same for deleting the tags of several
  images at once: `sum over blobs B with refs(B) within names: compressed_bytes(B)` (one
  image's tag deletion is this with `names = {image}`).
- `images_older_than(population, created, cutoff)`: `deletion_frees_bytes` of the images
  created before `cutoff` (their config's `created`); images with no creation time are
  counted apart and kept, never guessed.

What garbage collection frees needs what the distribution API does not list (unreferenced
blobs, untagged manifests): the registry's storage, read by `readers.registry_storage` into a
`StoredRegistry` (every blob with its stored bytes, every repository's manifest revisions and
tags, what each manifest references, each manifest's creation time). On it, in bytes of blob
`data` files as stored (B) and in blobs, every kind of blob counted (layers, configs, manifests):

- `garbage_collect(store, delete_untagged)`: what `registry garbage-collect` (distribution 2.8)
  removes. Mark: every manifest revision of every repository (with `delete_untagged`, as
  `--delete-untagged`, only the revisions some tag of their repository currently points to)
  and every blob it references (an image manifest: its config and layers; an index: its
  child manifests, one level, as 2.8 marks). Sweep: every blob not marked.
  `frees_bytes = sum over blobs B not marked: data_bytes(B)`.
- `untagged_pinned`: what untagged manifests keep: freed by `--delete-untagged` and not by a
  plain collection. `garbage_collect(store, True) - garbage_collect(store, False)`.
- `older_than(store, cutoff)`: what deleting every tag whose image was created before `cutoff`
  frees on top: `garbage_collect(without those tags, True) - garbage_collect(store, True)`.
  Tags whose image has no creation time are counted, never deleted.

So a plain collection, then the untagged manifests, then the old tags add up to what deleting
the old tags and running `garbage-collect --delete-untagged` frees.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from collections.abc import Set as AbstractSet
from dataclasses import dataclass, replace
from datetime import datetime

from layersim.accounting.metrics import PushRecord
from layersim.model import Population


@dataclass(frozen=True, slots=True)
class RegistryWhatIfs:
    """The operator figures of one population (module docstring), by image in push order."""

    mount_saved_bytes: tuple[tuple[str, int], ...]  # (image, B) per push
    tag_deletion_frees_bytes: tuple[tuple[str, int], ...]  # (image, B) per image

    @property
    def total_mount_saved_bytes(self) -> int:
        return sum(n for _, n in self.mount_saved_bytes)


def mount_saved_bytes(population: Population, pushes: Sequence[PushRecord]) -> list[int]:
    """Per push, compressed bytes of the layers mounted from another repository (B)."""
    by_name = {image.name: image for image in population.images}
    saved = []
    for push in pushes:
        by_label = {layer.label: layer for layer in by_name[push.image].layers}
        saved.append(sum(by_label[label].compressed_bytes for label in set(push.mounted_layers)))
    return saved


def _blob_owners(population: Population) -> tuple[dict[str, set[str]], dict[str, int]]:
    """Per layer blob digest, the images referencing it, and its compressed bytes."""
    owners: dict[str, set[str]] = {}
    blob_bytes: dict[str, int] = {}
    for image in population.images:
        for layer in image.layers:
            owners.setdefault(layer.blob_digest, set()).add(image.name)
            blob_bytes[layer.blob_digest] = layer.compressed_bytes
    return owners, blob_bytes


def _freed(owners: set[str], deleted: AbstractSet[str]) -> bool:
    """Whether a blob goes once `deleted` images' tags are: no other image references it."""
    return owners <= deleted


def tag_deletion_frees_bytes(population: Population) -> list[int]:
    """Per image, compressed bytes of its distinct blobs that no other image references (B)."""
    owners, blob_bytes = _blob_owners(population)
    return [
        sum(
            blob_bytes[digest]
            for digest in {layer.blob_digest for layer in image.layers}
            if _freed(owners[digest], {image.name})
        )
        for image in population.images
    ]


def deletion_frees_bytes(population: Population, names: AbstractSet[str]) -> int:
    """Compressed bytes of the layer blobs only images in `names` reference (B)."""
    owners, blob_bytes = _blob_owners(population)
    return sum(blob_bytes[d] for d, refs in owners.items() if _freed(refs, names))


@dataclass(frozen=True, slots=True)
class ImagesOlderThan:
    """Deleting the tags of the images created before `cutoff`: those images, the images
    with no creation time (kept), and the compressed layer bytes it frees (B)."""

    cutoff: datetime
    deleted: tuple[str, ...]
    without_created: tuple[str, ...]
    frees_bytes: int


def images_older_than(
    population: Population, created: Mapping[str, datetime | None], cutoff: datetime
) -> ImagesOlderThan:
    """What deleting the tags of the images created before `cutoff` frees (module docstring);
    `created`: each image's creation time by name, None where unknown."""
    names = [image.name for image in population.images]
    deleted = tuple(n for n in names if (t := created.get(n)) is not None and t < cutoff)
    unknown = tuple(n for n in names if created.get(n) is None)
    return ImagesOlderThan(
        cutoff, deleted, unknown, deletion_frees_bytes(population, frozenset(deleted))
    )


def registry_what_ifs(population: Population, pushes: Sequence[PushRecord]) -> RegistryWhatIfs:
    """Both figures for a population and the pushes the engine recorded for it."""
    return RegistryWhatIfs(
        mount_saved_bytes=tuple(
            zip((p.image for p in pushes), mount_saved_bytes(population, pushes), strict=True)
        ),
        tag_deletion_frees_bytes=tuple(
            zip(
                (i.name for i in population.images),
                tag_deletion_frees_bytes(population),
                strict=True,
            )
        ),
    )


# ------------------------------------------------------------------------------- storage


@dataclass(frozen=True, slots=True)
class StoredRepository:
    """One repository of a registry's storage: its manifest revisions (the digests its
    `_manifests/revisions` link) and its tags (tag, the manifest digest `current` links)."""

    name: str
    revisions: tuple[str, ...]
    tags: tuple[tuple[str, str], ...]

    @property
    def tagged(self) -> frozenset[str]:
        """The manifest digests some tag of this repository currently points to."""
        return frozenset(digest for _, digest in self.tags)


@dataclass(frozen=True, slots=True)
class StoredRegistry:
    """A registry's storage as garbage collection sees it (module docstring)."""

    blob_bytes: Mapping[str, int]  # digest -> bytes of its `data` file (B)
    repositories: tuple[StoredRepository, ...]
    references: Mapping[str, tuple[str, ...]]  # manifest digest -> blob digests it references
    created: Mapping[str, datetime | None]  # tagged manifest digest -> its image's creation time

    @property
    def stored_bytes(self) -> int:
        return sum(self.blob_bytes.values())


@dataclass(frozen=True, slots=True)
class Collection:
    """What one garbage collection removes: blobs (sorted digests) and their bytes (B), and
    the manifest revisions it unlinks (repository, digest; only with `--delete-untagged`)."""

    blobs: tuple[str, ...]
    frees_bytes: int
    manifests: tuple[tuple[str, str], ...]

    def minus(self, other: Collection) -> Collection:
        """What this collection removes that `other` does not."""
        kept = set(other.blobs)
        removed = set(other.manifests)
        return Collection(
            blobs=tuple(d for d in self.blobs if d not in kept),
            frees_bytes=self.frees_bytes - other.frees_bytes,
            manifests=tuple(m for m in self.manifests if m not in removed),
        )


def gc_marked(store: StoredRegistry, delete_untagged: bool) -> frozenset[str]:
    """The blobs `registry garbage-collect` marks (module docstring)."""
    marked: set[str] = set()
    for repository in store.repositories:
        tagged = repository.tagged
        for digest in repository.revisions:
            if delete_untagged and digest not in tagged:
                continue
            marked.add(digest)
            marked.update(store.references[digest])
    return frozenset(marked)


def garbage_collect(store: StoredRegistry, delete_untagged: bool = False) -> Collection:
    """What `registry garbage-collect [--delete-untagged]` removes from `store`."""
    marked = gc_marked(store, delete_untagged)
    swept = tuple(sorted(d for d in store.blob_bytes if d not in marked))
    manifests = (
        tuple(
            (repository.name, digest)
            for repository, tagged in ((r, r.tagged) for r in store.repositories)
            for digest in repository.revisions
            if digest not in tagged
        )
        if delete_untagged
        else ()
    )
    return Collection(
        blobs=swept, frees_bytes=sum(store.blob_bytes[d] for d in swept), manifests=manifests
    )


def untagged_pinned(store: StoredRegistry) -> Collection:
    """What untagged manifests pin: freed by `--delete-untagged` alone (module docstring)."""
    return garbage_collect(store, True).minus(garbage_collect(store, False))


@dataclass(frozen=True, slots=True)
class OlderThan:
    """Deleting every tag whose image was created before `cutoff`: the tags deleted, the tags
    whose image has no creation time (kept: never guessed), and what it frees on top of
    `garbage-collect --delete-untagged` now."""

    cutoff: datetime
    deleted_tags: tuple[tuple[str, str], ...]  # (repository, tag)
    tags_without_created: tuple[tuple[str, str], ...]
    frees: Collection


def older_than(store: StoredRegistry, cutoff: datetime) -> OlderThan:
    """What deleting the tags of images created before `cutoff` frees (module docstring)."""
    old, unknown = [], []
    for repository in store.repositories:
        for tag, digest in repository.tags:
            created = store.created.get(digest)
            if created is None:
                unknown.append((repository.name, tag))
            elif created < cutoff:
                old.append((repository.name, tag))
    deleted = set(old)
    after = replace(
        store,
        repositories=tuple(
            replace(r, tags=tuple(t for t in r.tags if (r.name, t[0]) not in deleted))
            for r in store.repositories
        ),
    )
    frees = garbage_collect(after, True).minus(garbage_collect(store, True))
    return OlderThan(cutoff, tuple(old), tuple(unknown), frees)


@dataclass(frozen=True, slots=True)
class StorageWhatIfs:
    """The storage figures of one registry (module docstring)."""

    collection: Collection  # garbage-collect
    untagged_pinned: Collection  # --delete-untagged, on top
    older_than: OlderThan | None  # deleting old tags, on top of both


def storage_what_ifs(store: StoredRegistry, cutoff: datetime | None = None) -> StorageWhatIfs:
    """Every storage figure of `store`; the old-tag deletion only with a `cutoff`."""
    return StorageWhatIfs(
        collection=garbage_collect(store, False),
        untagged_pinned=untagged_pinned(store),
        older_than=None if cutoff is None else older_than(store, cutoff),
    )
