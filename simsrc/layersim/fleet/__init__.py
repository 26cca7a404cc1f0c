"""The generated fleet: the discrete model of base images, runtimes, apps and nodes.

`generate(config, rng)` draws a `Fleet` (a population as arrays, with who pushed, pulled and
ran what in which epoch) from one seeded `numpy.random.Generator`.
"""

# `Fleet` is bound before `generate` is imported: the generator imports
# `layersim.simulation.retention`, whose package imports `simulate`, which imports `Fleet`
# from this package while it is still initialising.
from layersim.fleet.catalog import Fleet
from layersim.fleet.generate import generate

__all__ = ["Fleet", "generate"]
