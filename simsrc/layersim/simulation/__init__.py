"""The fleet over time: what the registry and the nodes hold and move in every epoch.

`simulate(fleet)` replays the epochs of a generated fleet (pushes, rollouts, garbage
collection) through the accounting engine and returns a `SimulationResult`.
"""

from layersim.simulation.simulate import SimulationResult, TransferEpoch, simulate

__all__ = ["SimulationResult", "TransferEpoch", "simulate"]
