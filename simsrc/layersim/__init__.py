"""layersim: a storage-deduplication simulator for container images.

The core (model, digest, sizes, overlay, reference, engine) is pure: it never prints and never
imports typer, rich or matplotlib. Reports and the CLI sit on top of it.
"""

from importlib.metadata import PackageNotFoundError, version

try:
    __version__ = version("layersim")
except PackageNotFoundError:  # running from a source tree without installation
    __version__ = "0.0.0+unknown"

__all__ = ["__version__"]
