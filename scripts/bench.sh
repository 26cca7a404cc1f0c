#!/usr/bin/env bash
# Run layersim's benchmarks and regenerate results/bench.md, results/bench.json and
# results/bench_scaling.png (raw inputs: results/bench-raw.json, results/bench-scaling.json).
#
#   bash scripts/bench.sh
#
# Takes about 5-10 minutes on 2 cores. The virtual environment is $LAYERSIM_VENV (default
# .venv), created and given layersim with its test extra if it cannot run the benchmarks yet.
# Settings (environment):
#   LAYERSIM_BENCH_ROUNDS   rounds of each benchmark that takes seconds (default 3; quick
#                           ones get three times as many)
#   LAYERSIM_BENCH_BUDGET   seconds for the scaling series (default 420): generated hub-shaped
#                           populations of growing size, the last the `hub` scenario itself;
#                           sizes that would not fit (predicted from the sizes before them) are
#                           skipped and listed
#   LAYERSIM_BENCH_HUB=0    skip the `hub` scenario end to end, generate + simulate (about a
#                           minute, under 8 GiB)
#   LAYERSIM_BENCH_MEMORY_GIB  address-space limit of each scaling child (default 20)
# Exit status: non-zero if a benchmark's assertion fails or a step breaks; targets missed are
# reported in results/bench.md, not as a failure.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LAYERSIM_VENV:-.venv}"
if ! "$VENV/bin/python" -c "import layersim, pytest_benchmark, matplotlib" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -e '.[test]'
fi
mkdir -p results
"$VENV/bin/python" -m pytest bench/ -q -p no:cacheprovider \
    --benchmark-only \
    --benchmark-min-rounds="${LAYERSIM_BENCH_ROUNDS:-3}" \
    --benchmark-json=results/bench-raw.json \
    --benchmark-columns=median,min,rounds
hub_flag=()
if [ "${LAYERSIM_BENCH_HUB:-1}" = 1 ]; then
    hub_flag=(--hub)
fi
"$VENV/bin/python" -m bench.scaling \
    --budget-seconds "${LAYERSIM_BENCH_BUDGET:-420}" \
    --memory-limit-gib "${LAYERSIM_BENCH_MEMORY_GIB:-20}" \
    --out results/bench-scaling.json "${hub_flag[@]}"
"$VENV/bin/python" -m bench.report \
    --raw results/bench-raw.json --scaling results/bench-scaling.json --out results
echo "wrote results/bench.md, results/bench.json, results/bench_scaling.png"
