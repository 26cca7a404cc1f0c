"""Experiments: one seeded run of a configuration (`run`), and a grid of runs (`sweep`).

Timings are kept out of the figures, so the same configuration and seed give the same figures.
"""
