"""layersim's benchmarks (issue 5): pytest-benchmark runs, a scaling series and their report.

Run them all with one command, from the repository root:

    bash scripts/bench.sh

It runs `pytest bench/ --benchmark-only` (timings to `results/bench-raw.json`), the scaling
series `python -m bench.scaling` (one subprocess per size: time and peak RSS, to
`results/bench-scaling.json`), then `python -m bench.report`, which writes `results/bench.md`,
`results/bench.json` and `results/bench_scaling.png`. The default test run (`pytest`, whose
testpaths is `tests/`) never collects this directory.

Every benchmark also asserts its result (invariants, or equality with the reference
implementation), and every ratio in the report compares two timings of the same run on the
same machine: absolute timings from a shared 2-core machine are noise, ratios much less so.

Modules: `synthetic` (the benchmark population, built straight into arrays), `workloads`
(what is timed, the floors it is compared with, and the checks), `images` (real image
layouts for the `analyze` benchmark), `scaling` and `report`.
"""
