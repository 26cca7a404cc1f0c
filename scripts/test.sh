#!/usr/bin/env bash
# Install layersim with its test extra in a fresh virtual environment, install the real container
# tools the integration tests compare against (Debian: buildah, skopeo, umoci, docker-registry),
# then lint and run the test suite. Exit status: non-zero if anything fails.
set -euo pipefail
cd "$(dirname "$0")/.."
VENV="${LAYERSIM_VENV:-.venv}"
python3 -m venv "$VENV"
"$VENV/bin/pip" install --quiet --upgrade pip
"$VENV/bin/pip" install --quiet -e '.[test]'
if [ -x .ci/install-tools.sh ] || [ -f .ci/install-tools.sh ]; then
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        bash .ci/install-tools.sh
    else
        echo "note: not root or no apt-get: integration tests will skip if the tools are missing"
    fi
fi
"$VENV/bin/ruff" check simsrc tests bench
"$VENV/bin/ruff" format --check simsrc tests bench
"$VENV/bin/pytest" -q "$@"
