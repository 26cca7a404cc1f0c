"""The generated fleet: the discrete model of base images, runtimes, apps and nodes.

`generate(config, rng)` draws a `Fleet` (a population as arrays, with who pushed, pulled and
ran what in which epoch) from one seeded `numpy.random.Generator`.
"""

from layersim.fleet.generate import Fleet, generate

__all__ = ["Fleet", "generate"]
