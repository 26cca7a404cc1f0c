"""Runs on a Dask distributed cluster: the same tasks as a local run, other processes or
machines doing them (docs/run.md, Running on a cluster).

- `cluster`: the client of a cluster, started here (`local`) or reached at an address, with a
  bounded connection timeout; Dask imported only when asked for.
- `sweep`: a sweep's point x seed runs as Dask futures, collected by run number.
- `run`: one run whose overlay walk (stretches of the chain trie, `accounting.images`) and
  stored-bytes sums (hash partitions of the keys, `accounting.held`) are tasks on the cluster;
  the rest of the run stays in this process.

Dask is an optional dependency (`pip install 'layersim[dask]'`): importing this package does
not import it, and the rest of layersim never does.
"""
