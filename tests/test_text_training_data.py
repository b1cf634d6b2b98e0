"""The readers of the public text sets and of our own sets: labels valid, parents implied,
what a set does not speak to left unknown, validation sets never trained on."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest

from tamis.training import text_sources
from tamis.training.text_data import ALL, TEXT_LABELS
from tamis.training.text_sources import load_all

REPO = Path(__file__).resolve().parents[1]
SHARED = REPO.parent / "shared" / "data" / "text"
needs_shared = pytest.mark.skipif(not SHARED.is_dir(), reason="../shared/data/text is not here")


@pytest.fixture(scope="module")
def examples():
    return load_all(SHARED, REPO / "training" / "text")


@needs_shared
def test_every_public_reader_yields_rows_with_valid_labels():
    read = 0
    for reader, path in text_sources.public_sources(SHARED):
        if not path.exists():
            continue
        read += 1
        rows = list(reader(path, 0.2))
        assert len(rows) >= 80, reader.__name__
        for e in rows[:2000]:
            assert e.text.strip() and e.labels <= ALL and e.covers <= ALL, (reader.__name__, e)
            assert e.labels <= e.covers | {lab.split("/")[0] for lab in e.labels}, (reader.__name__, e)
        if reader.__name__ not in ("simplesafetytests", "machine_documents"):  # all harmful / all harmless
            assert any(e.labels for e in rows) and any(not e.labels for e in rows), reader.__name__
    assert read >= 9  # every public set of ../shared/data/text


@needs_shared
def test_sub_labels_imply_their_parents(examples):
    for e in examples:
        for lab in e.labels:
            if "/" in lab:
                assert lab.split("/")[0] in e.labels, e


@needs_shared
def test_a_set_says_nothing_about_what_it_was_not_labelled_for(examples):
    spam = next(e for e in examples if e.source == "toxic_spans" and "harassment" in e.labels)
    assert spam.target("spam") is None and spam.target("harassment") == 1


@needs_shared
def test_threats_a_minority_of_raters_saw_are_neither_positive_nor_negative():
    rows = list(text_sources.toxic_spans(SHARED / "toxic_spans", 0.2))
    unsure = [e for e in rows if "violence/threat" not in e.covers]
    assert unsure and all(e.target("violence/threat") is None for e in unsure)
    assert sum(e.target("violence/threat") == 1 for e in rows) >= 100


@needs_shared
def test_child_safety_prompts_are_the_only_minors_positives(examples):
    sources = {e.source for e in examples if "sexual/minors" in e.labels}
    assert sources and sources <= {"ailuminate_en", "ailuminate_fr", "simplesafetytests"}
    assert all(e.split == "validation" for e in examples if e.source == "simplesafetytests")


def test_written_sets_use_the_taxonomy_and_never_the_minors_label():
    for path in sorted((REPO / "training" / "text").glob("*.jsonl")):
        seen = set()
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            item = json.loads(line)
            labels = set(item["labels"])
            assert labels <= set(TEXT_LABELS), (path.name, n)
            assert "sexual/minors" not in labels, (path.name, n)
            assert all("/" not in lab or lab.split("/")[0] in labels for lab in labels), (path.name, n)
            assert item["text"] not in seen, (path.name, n)
            seen.add(item["text"])


def _runs(text: str, n: int = 8) -> set[str]:
    words = re.findall(r"\w+", text.lower())
    return {" ".join(words[i:i + n]) for i in range(len(words) - n + 1)}


def test_functional_cases_are_never_training_data():
    """Not the same text, and no run of 8 words in common (a near copy is a copy)."""
    own = [json.loads(line)["text"] for path in (REPO / "training" / "text").glob("*.jsonl")
           for line in path.read_text(encoding="utf-8").splitlines()]
    runs = set().union(*map(_runs, own))
    cases = [json.loads(line) for path in (REPO / "eval" / "text" / "functional").glob("*.jsonl")
             for line in path.read_text(encoding="utf-8").splitlines()]
    assert len(cases) > 1000
    assert not set(own) & {c["text"] for c in cases}
    assert not [c["text"] for c in cases if _runs(c["text"]) & runs]


@pytest.mark.skipif(not Path("/usr/share/doc").is_dir(), reason="no Debian package documents here")
def test_no_window_of_a_test_document_is_trained_on():
    root = Path("/usr/share/doc")
    test_windows = text_sources.test_document_windows(root)
    rows = {e.text for e in text_sources.machine_documents(root, 0.2) if e.split == "train"}
    assert len(test_windows) > 500 and len(rows) > 1000 and not rows & test_windows
