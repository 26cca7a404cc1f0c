"""Accounting: what a population stores and moves, by every strategy, defined once.

- `metrics`: every figure, defined once (formula and unit in each docstring), and the result
  types both implementations return.
- `reference`: the small, obvious pure-Python implementation of every figure: the oracle.
- `arrays`: a population as numpy arrays (interned ids, CSR image -> layers -> entries).
- `sortops`, `kernels`: the sorting primitives and the compiled (numba) loops the engine runs.
- `engine`: the population-scale implementation, held equal to `reference` by the tests.

Pure: no printing, no typer, rich or matplotlib.
"""
