"""The domain model: identities, sizes, overlay rules and the immutable values they describe.

- `digest`: DiffID, blob digest, ChainID and content digest, each a type of its own.
- `chunks`: chunks of file contents (chunk-level dedup), the chunkers' sizes and their model.
- `sizes`: the four size units (file, tar, compressed, disk bytes) and how each is computed.
- `image`: file entries, layers (changesets) and images (stacks of layers).
- `population`: containers, nodes, storage options and a population of images on nodes.
- `overlay`: the union-filesystem rules (merged view, whiteouts, opaque directories, dive's
  leaves), written to read like the design document; the reference accounting builds on it.

The values of `image` and `population` are re-exported here: `from layersim.model import Layer`.
Nothing in this package counts what a population stores or moves; that is `accounting`.
"""

from layersim.model.image import (
    OPAQUE_MARKER,
    WHITEOUT_PREFIX,
    Entry,
    EntryKind,
    Image,
    Layer,
    check_layer_entries,
    make_entry,
    make_layer,
    normalize_path,
    parent_path,
    repository_of,
    tar_name,
)
from layersim.model.population import (
    Container,
    ContainerState,
    FileModify,
    FileWrite,
    Node,
    Population,
    StorageDriver,
    StorageOptions,
    images_in_order,
)

__all__ = [
    "OPAQUE_MARKER",
    "WHITEOUT_PREFIX",
    "Container",
    "ContainerState",
    "Entry",
    "EntryKind",
    "FileModify",
    "FileWrite",
    "Image",
    "Layer",
    "Node",
    "Population",
    "StorageDriver",
    "StorageOptions",
    "check_layer_entries",
    "images_in_order",
    "make_entry",
    "make_layer",
    "normalize_path",
    "parent_path",
    "repository_of",
    "tar_name",
]
