"""What a registry operator asks of the images a registry holds: what-ifs on the same population.

Two figures, each defined once here, both in compressed bytes (B) of layer blobs as the registry
stores them (config blobs and manifests, a few KB each, are not modelled, as `PushRecord`
leaves them out):

- `mount_saved_bytes(population, pushes)`: per push, the compressed bytes of the layers it
  mounted from another repository (`PushRecord.mounted_layers`) — what the push would have
  uploaded had the client not tried a cross-repository mount (or had the registry refused
  it). `sum over mounted layers L of the push: compressed_bytes(L)`.
- `tag_deletion_frees_bytes(population)`: per image, what garbage collection would free after
  deleting that image's tag alone: the compressed bytes of the distinct blobs no other image
  references. `sum over blobs B of the image with refs(B) = {image}: compressed_bytes(B)`.
  A blob shared with any other image stays, however many images share it.

Not here: what untagged manifests pin and what GC frees today need the registry's storage (the
distribution API lists tags, not untagged manifests or unreferenced blobs), and deleting tags
older than an age needs creation times the model does not carry.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

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


def tag_deletion_frees_bytes(population: Population) -> list[int]:
    """Per image, compressed bytes of its distinct blobs that no other image references (B)."""
    owners: dict[str, set[str]] = {}
    blob_bytes: dict[str, int] = {}
    for image in population.images:
        for layer in image.layers:
            owners.setdefault(layer.blob_digest, set()).add(image.name)
            blob_bytes[layer.blob_digest] = layer.compressed_bytes
    return [
        sum(
            blob_bytes[digest]
            for digest in {layer.blob_digest for layer in image.layers}
            if owners[digest] == {image.name}
        )
        for image in population.images
    ]


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
