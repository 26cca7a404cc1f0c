#!/usr/bin/env bash
# Regenerate the committed results: the built-in scenarios and the standard sweeps.
#
#   bash scripts/results.sh
#
# Writes (each folder replaced whole, atomically; docs/run.md describes every file):
#   results/small/                  layersim run small
#   results/company/                layersim run company            (the default scenario)
#   results/hub/                    layersim run hub   (~560k images, ~100M file entries)
#   results/sweeps/apps/            savings vs number of apps                 (company)
#   results/sweeps/version-lag/     savings vs version lag of the lagging apps (company)
#   results/sweeps/base-families/   savings vs number of base families        (company)
#   results/sweeps/reproducible/    savings vs reproducible-build probability (company)
# and leaves results/bench* (scripts/bench.sh) alone.
#
# Takes about 2 minutes on 2 cores with nothing else running; the `hub` scenario is about 55 s
# of that and peaks under 8 GiB of memory (results/bench.md has the measured figures).
# The virtual environment is $LAYERSIM_VENV (default .venv), created and given layersim if it
# cannot run it yet. Settings (environment):
#   LAYERSIM_RESULTS_SEEDS   seeds per sweep point (default 2)
#   LAYERSIM_RESULTS_JOBS    worker processes of the sweeps (default: the CPU count)
#   LAYERSIM_RESULTS_HUB=0   skip the `hub` scenario (on a machine with less than ~10 GiB)
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LAYERSIM_VENV:-.venv}"
if ! "$VENV/bin/python" -c "import layersim.report.run" 2>/dev/null; then
    python3 -m venv "$VENV"
    "$VENV/bin/pip" install --quiet --upgrade pip
    "$VENV/bin/pip" install --quiet -e .
fi
layersim() { "$VENV/bin/layersim" "$@"; }
SEEDS="${LAYERSIM_RESULTS_SEEDS:-2}"
JOBS=()
if [ -n "${LAYERSIM_RESULTS_JOBS:-}" ]; then
    JOBS=(--jobs "$LAYERSIM_RESULTS_JOBS")
fi
step() { printf '\n== %s (%s)\n' "$1" "$(date -u +%H:%M:%S)"; }
started=$SECONDS

step "run small"
layersim run small --out results/small --force
step "run company"
layersim run company --out results/company --force
if [ "${LAYERSIM_RESULTS_HUB:-1}" = 1 ]; then
    step "run hub"
    layersim run hub --out results/hub --force
fi

sweep() { layersim sweep company --seeds "$SEEDS" "${JOBS[@]}" --force "$@"; }
step "sweep: number of apps"
sweep --param apps.count=50,100,200,400 --out results/sweeps/apps
step "sweep: version lag of the apps not on their parent's newest version"
sweep --param apps.lag_mean=1,2,4,8 --out results/sweeps/version-lag
step "sweep: number of base families (runtimes: python and node, both on debian)"
sweep --param 'bases.families=["debian"],["debian","ubuntu"],["alpine","debian","ubuntu"]' \
    --set 'runtimes.families=["python","node"]' --out results/sweeps/base-families
step "sweep: reproducible-build probability"
sweep --param apps.reproducible_probability=0,0.25,0.5,0.75,1 --out results/sweeps/reproducible

printf '\nwrote results/ in %d s\n' "$((SECONDS - started))"
