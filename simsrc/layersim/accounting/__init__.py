"""Accounting: what a population stores and moves, by every strategy, defined once.

- `metrics`: every figure, defined once (formula and unit in each docstring), and the result
  types both implementations return.
- `reference`: the small, obvious pure-Python implementation of every figure: the oracle.
- `arrays`: a population as numpy arrays (interned ids, CSR image -> layers -> entries), and
  the canonical order the engine reads them in.
- The engine, the population-scale implementation held equal to `reference` by the tests, one
  job a module: `images` (the chain trie and per-image figures), `transfers` (pushes and
  pulls, with their outcomes), `storage` (stored bytes over time, `docker system df`),
  `containers` (writable layers), `assemble` (the whole evaluation as `metrics` objects).
- `sortops`, `kernels`, `scratch`: the sorting primitives, the compiled (numba) loops the
  engine runs, and the memory their scratch comes from.

Pure: no printing, no typer, rich or matplotlib.
"""
