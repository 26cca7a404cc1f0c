"""The generated fleet: the discrete model of base images, runtimes, apps and nodes.

`generate(config, rng)` draws a `Fleet` (a population as arrays, with who pushed, pulled and
ran what in which epoch) from one seeded `numpy.random.Generator`. The fleet carries its time
plan: when each image is built, when the registry and the nodes drop it (`retention`, the
garbage-collection policy), when each container starts, stops and is removed; `simulation`
replays that plan epoch by epoch.
"""

from layersim.fleet.catalog import Fleet
from layersim.fleet.generate import generate

__all__ = ["Fleet", "generate"]
