"""Nothing leaves the machine: switches that keep the libraries tamis loads offline.

tamis contacts no host unless the operator configured one. Some of the libraries it loads
do by default: ONNX Runtime (1.2x and later) sends usage telemetry to Microsoft and keeps a
device id under ``~/.cache/Microsoft/DeveloperTools``. :func:`lock_down` runs when
``tamis`` is imported, before any of those libraries is, so the library, the CLI and
every worker process (which import ``tamis`` first) start with these switches set.
``tests/test_offline.py`` runs a scan of every content kind under ``strace`` and fails on
any network connection and any file written outside ``TAMIS_HOME`` and the temp folder.
"""

from __future__ import annotations

import os
import sys

#: Set whatever the environment says: tamis loads ONNX Runtime, and its telemetry is not
#: the operator's to turn on through tamis.
FORCED = {"ORT_DISABLE_TELEMETRY": "1"}  # no 1DS telemetry, no device id on disk
#: Set unless the environment already says otherwise (an application that embeds tamis
#: may use the Hugging Face hub itself; tamis never does).
DEFAULTS = {
    "HF_HUB_OFFLINE": "1",
    "TRANSFORMERS_OFFLINE": "1",
    "HF_HUB_DISABLE_TELEMETRY": "1",
    "DO_NOT_TRACK": "1",  # the cross-tool convention
}

_done = False


def lock_down() -> None:
    """Set the offline switches (once per process; cheap)."""
    global _done
    if _done:
        return
    _done = True
    os.environ.update(FORCED)
    for key, value in DEFAULTS.items():
        os.environ.setdefault(key, value)
    # matplotlib, should a library import it, writes a font cache to ~/.cache/matplotlib:
    # keep it with the rest of tamis's data unless the operator chose.
    if "MPLCONFIGDIR" not in os.environ:
        os.environ["MPLCONFIGDIR"] = os.path.join(_home(), "cache", "matplotlib")
    if "onnxruntime" in sys.modules:  # imported before tamis: switch its telemetry off too
        disable_runtime_telemetry()


def disable_runtime_telemetry() -> None:
    """ONNX Runtime's own switch, for a runtime imported before tamis; called before every
    session tamis creates."""
    try:
        import onnxruntime as ort

        ort.disable_telemetry_events()
    except (ImportError, AttributeError):  # pragma: no cover - older or missing runtime
        pass


def _home() -> str:
    home = os.environ.get("TAMIS_HOME")
    if home:
        return os.path.expanduser(home)
    from platformdirs import user_data_dir

    return user_data_dir("tamis", appauthor=False)
