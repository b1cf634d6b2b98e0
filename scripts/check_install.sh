#!/usr/bin/env bash
# What a user gets from a plain `pip install .` (no script, no --no-deps), in a fresh
# virtual environment: numpy 2, every default model present and loading, a face found;
# then `pip install '.[video]'` and a video scanned. Run by .ci/run.
set -euo pipefail
cd "$(dirname "$0")/.."
venv=$(mktemp -d)/venv
"${PYTHON:-python3}" -m venv "$venv"
"$venv/bin/python" -m pip install --quiet --upgrade pip 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/python" -m pip install --quiet . 2>&1 | grep -v "^WARNING: Location" || true
cd "$(dirname "$venv")"  # not the checkout: the installed package, not src/
"$venv/bin/tamis" models --format json > models.json
"$venv/bin/python" - "$OLDPWD" <<'PY'
import json, sys
import numpy
rows = json.load(open("models.json"))
assert int(numpy.__version__.split(".")[0]) >= 2, f"numpy {numpy.__version__}"
bad = [r for r in rows if not r["optional_extra"] and (r["status"] != "ok" or r["loads"] is not True)]
assert not bad, bad
print(f"plain pip install: numpy {numpy.__version__}, {len(rows)} models, every default one loads")
import importlib.util
assert importlib.util.find_spec("mediapipe") is None and importlib.util.find_spec("jax") is None
PY
"$venv/bin/tamis" scan "$OLDPWD/samples/images/astronaut_portrait.jpg" -f json > scan.json
"$venv/bin/python" -c "import json; r = json.load(open('scan.json'))[0]; assert len(r['faces']) == 1, r; print('a face found')"
"$venv/bin/python" -c "from tamis.storage import Database; Database('sqlite:///service.db'); print('service store migrated')"
"$venv/bin/python" -m pip install --quiet "$OLDPWD[video]" 2>&1 | grep -v "^WARNING: Location" || true
"$venv/bin/tamis" scan "$OLDPWD/samples/video/holiday_clip.mkv" -f json > video.json || [ $? -eq 1 ]
"$venv/bin/python" -c "import json; r = json.load(open('video.json'))[0]; assert r['video']['frames_analyzed'] > 0, r; print('video scanned')"
rm -rf "$(dirname "$venv")"
