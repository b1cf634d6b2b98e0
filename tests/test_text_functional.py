"""The functional suites of eval/text (what users send, judged by the default policy's decision),
held to the levels measured when the text models were last trained (eval/text/FUNCTIONAL.md).

A retrained model that falls below them fails here: lower them only with a reason in the
commit, never to make a model pass.
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
pytestmark = pytest.mark.skipif(not Path("/usr/share/common-licenses").is_dir(),
                                reason="the ordinary documents are read from a Debian machine's files")

#: Floors, a few points under what the shipped models measure (FUNCTIONAL.md).
MIN_FLAGGED = 0.82  # harmful cases sent to review or blocked (measured 0.84)
MAX_FALSE_ALARMS = 0.09  # harmless look-alikes flagged (measured 0.07; the goal is 0.05)
MIN_FUNCTIONALITY = 0.38  # the worst functionality's pass rate (measured 0.42, hate_derogation)
MIN_THREATS_PER_LANGUAGE = 0.8  # direct threats flagged, in every language (measured 0.86-1.00)
#: Of the 50 machine documents (measured 1). It was 0 when 25 of the 50 shared windows with the
#: documents the models were trained on; with every window of a test document left out of
#: training, a licence's heading line reaches review (spam 0.40).
MAX_DOCUMENTS_FLAGGED = 1


@pytest.fixture(scope="module")
def results():
    spec = importlib.util.spec_from_file_location("functional", REPO / "eval" / "text" / "functional.py")
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod, mod.run()


def test_harmful_cases_are_flagged(results):
    _, res = results
    flag = [r for r in res["cases"] if r["expect"] == "flag"]
    assert sum(r["ok"] for r in flag) / len(flag) >= MIN_FLAGGED


def test_harmless_look_alikes_are_allowed(results):
    _, res = results
    allow = [r for r in res["cases"] if r["expect"] == "allow"]
    assert sum(not r["ok"] for r in allow) / len(allow) <= MAX_FALSE_ALARMS


def test_no_functionality_is_left_behind(results):
    mod, res = results
    by = mod.summarise(res["cases"], lambda r: f"{r['expect']}: {r['functionality']}")
    worst = min(by.items(), key=lambda kv: kv[1][0] / kv[1][1])
    assert worst[1][0] / worst[1][1] >= MIN_FUNCTIONALITY, worst


def test_direct_threats_are_flagged_in_every_language(results):
    mod, res = results
    threats = [r for r in res["cases"] if r["functionality"] == "threat_direct"]
    by = mod.summarise(threats, lambda r: r["lang"])
    assert len(by) >= 10
    low = {lang: ok / n for lang, (ok, n) in by.items() if ok / n < MIN_THREATS_PER_LANGUAGE}
    assert not low


def test_ordinary_documents_are_never_flagged(results):
    _, res = results
    flagged = [(r["name"], r["action"], r["top"]) for r in res["documents"] if not r["ok"]]
    assert len(res["documents"]) >= 45 and len(flagged) <= MAX_DOCUMENTS_FLAGGED, flagged


def test_test_documents_are_never_training_data():
    import sys

    from tamis.training.text_sources import TEST_DOCUMENT_PACKAGES

    sys.path.insert(0, str(REPO / "eval" / "text"))
    import gather_documents

    assert set(gather_documents.CHANGELOGS) | set(gather_documents.COPYRIGHTS) <= TEST_DOCUMENT_PACKAGES
