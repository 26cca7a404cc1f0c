"""The one exception hierarchy of layersim.

Every error a user can cause (a bad spec, a corrupt image, a wrong config key) is a subclass of
`LayersimError` with a message that names the problem; only the CLI turns it into exit code 2.
"""


class LayersimError(Exception):
    """Base of every error layersim raises on purpose."""


class SpecError(LayersimError):
    """A population spec (TOML/JSON) is malformed or inconsistent."""


class ModelError(LayersimError):
    """A model value violates an invariant (negative size, bad path, unknown reference)."""


class ConfigError(LayersimError):
    """An experiment config or a --set override is invalid."""


class ImageFormatError(LayersimError):
    """A real image (OCI layout, docker-archive) is malformed, corrupt or hostile."""


class OutputError(LayersimError):
    """An output location cannot be written."""


class RunError(LayersimError):
    """An experiment run could not complete (e.g. a sweep's worker process died)."""


class SchedulerError(LayersimError):
    """A Dask scheduler cannot be used: Dask is not installed, or the address is malformed or
    does not answer in time."""
