"""The fleet over time: what the registry and the nodes hold and move in every epoch.

`simulate(fleet)` replays the epochs of a generated fleet (pushes, rollouts, garbage
collection) through the accounting engine and returns a `SimulationResult`.
"""
