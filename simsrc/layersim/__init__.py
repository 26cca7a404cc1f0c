"""layersim: a storage-deduplication simulator for container images.

The package is layered; imports run one way, from the top of this list down, never up:

- `model`: identities (DiffID, blob digest, ChainID), the four size units, overlay rules and the
  immutable values (entries, layers, images, containers, nodes, populations).
- `accounting`: every figure defined once (`metrics`), the pure-Python oracle (`reference`) and
  the population-scale engine on numpy arrays and compiled loops.
- `fleet`: the discrete model that generates a fleet; `simulation`: the fleet over time.
- `readers`: populations that come in from outside (OCI layouts, docker-archives, specs).
- `experiment`, `calibration`: seeded runs and sweeps; fitting the fleet model to real images.
- `report`: documents, tables and plots of the figures (formats, computes none).
- `cli`: the typer app, the only layer that prints or turns errors into exit codes.

At the root: `errors` (the one exception base), `progress` (the progress callback type),
`config` (experiment configuration, every field with its default, check, help and source).
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("layersim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
