"""Needles in long text: is a harmful sentence inside a long benign text still found?

The text classifier reads a long text sentence by sentence (see
``tamis.detectors.text_classifier.windows``: a sentence under 6 words is read with the next,
one over 24 words is cut into overlapping windows). This evaluation compares that with
two ways of reading used before: whole sentences packed into windows of up to 24 words,
and plain overlapping windows (24 words every 16 words, which read each word 1.5 times):

- **Needles**: every harmful example of the hand-written validation sets
  (training/text/validation_*.jsonl, every language with spaces between words), made one
  sentence (a full stop is added where it has no end punctuation).
- **Haystack**: English prose from Python's reference manual (``pydoc_data.topics``, which
  ships with Python), cut into sentences.
- Each needle is put between two sentences at three random places in a text of about
  300 words. It is **found** when the classifier's score for one of its labels (in
  practice the parent label, which scores at least as high as its sub-labels), over the
  whole text, reaches that label's review threshold in the default policy; the needle
  alone is scored the same way (the ceiling).
- **False alarms**: the same haystack texts without a needle, any label at or over its
  review threshold.

    .venv/bin/python eval/text/needles.py [--write]
"""

from __future__ import annotations

import argparse
import json
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

REPO = Path(__file__).resolve().parents[2]
OWN = REPO / "training" / "text"
PLACES = 3
CONTEXT_WORDS = 150  # on each side of the needle


def overlapping_windows(text: str):
    """The windows used before: 24 words every 16 words, regardless of sentences."""
    from tamis.detectors.text_classifier import STEP_WORDS, WINDOW_WORDS, Window, windows

    words = [m.span() for m in re.finditer(r"\S+", text)]
    if len(words) < 2 or len(text) / len(words) >= 20:
        return windows(text)  # unspaced scripts: unchanged
    if len(words) <= WINDOW_WORDS:
        return [Window(0, len(text))]
    out = []
    for i in range(0, len(words), STEP_WORDS):
        chunk = words[i:i + WINDOW_WORDS]
        out.append(Window(chunk[0][0], chunk[-1][1]))
        if i + WINDOW_WORDS >= len(words):
            break
    return out


def packed_windows(text: str):
    """Whole sentences packed into windows of up to 24 words (shipped for a few hours on
    2026-11-27, between the overlapping windows and each sentence alone)."""
    from tamis.detectors.text_classifier import STEP_WORDS, WINDOW_WORDS, Window, _sentences, windows

    words = [m.span() for m in re.finditer(r"\S+", text)]
    if len(words) < 2 or len(text) / len(words) >= 20:
        return windows(text)
    if len(words) <= WINDOW_WORDS:
        return [Window(0, len(text))]
    spans: list[tuple[int, int]] = []
    can_grow = False
    for first, last in _sentences(text, words):
        size = last - first + 1
        if can_grow and spans[-1][1] + size <= WINDOW_WORDS:
            spans[-1] = (spans[-1][0], spans[-1][1] + size)
        elif size <= WINDOW_WORDS:
            spans.append((first, size))
            can_grow = True
        else:
            for i in range(first, last + 1, STEP_WORDS):
                end = min(i + WINDOW_WORDS, last + 1)
                start = max(first, end - WINDOW_WORDS)
                spans.append((start, end - start))
                if end == last + 1:
                    break
            can_grow = False
    return [Window(words[start][0], words[start + size - 1][1]) for start, size in spans]


def haystack_sentences() -> list[str]:
    from pydoc_data.topics import topics

    prose = " ".join(" ".join(topics[k].split()) for k in sorted(topics))
    sentences = re.split(r"(?<=[.!?])\s+", prose)
    return [s for s in sentences if 4 <= len(s.split()) <= 40]


def needles() -> list[tuple[str, list[str], str]]:
    out = []
    for path in sorted(OWN.glob("validation_*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            item = json.loads(line)
            if not item.get("labels") or item.get("lang") in ("zh", "ja"):
                continue
            text = " ".join(item["text"].split())
            if not re.search(r"[.!?…]['\")\]]*$", text):
                text += "."
            out.append((text, item["labels"], item.get("lang", "en")))
    return out


def score(classifier, scheme, texts: list[str]) -> list[dict[str, float]]:
    """Highest score per label over each text's windows under ``scheme``."""
    from tamis.text.normalize import normalize

    spans = [(i, w) for i, t in enumerate(texts) for w in scheme(t)]
    norms = [normalize(t) for t in texts]
    from tamis.detectors.text_classifier import _slice

    probs = classifier.score_windows([texts[i][w.start:w.end] for i, w in spans],
                                     [_slice(norms[i], w) for i, w in spans])
    best = np.zeros((len(texts), probs.shape[1]))
    for k, (i, _) in enumerate(spans):
        best[i] = np.maximum(best[i], probs[k])
    return [dict(zip(classifier.label_names, row)) for row in best], len(spans)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--write", action="store_true", help="write eval/text/RESULTS.md")
    args = parser.parse_args()
    from tamis.detectors.text_classifier import TextClassifier, windows
    from tamis.policy import load_policy

    policy = load_policy(None)
    review = {label: (policy.rule_for(label).review if policy.rule_for(label) else 0.5)
              for label in TextClassifier.labels}
    classifier = TextClassifier()
    classifier.load()
    rnd = random.Random(7)
    hay = haystack_sentences()
    cases = needles()

    def context() -> list[str]:
        start = rnd.randrange(len(hay) - 200)
        out, n = [], 0
        while n < CONTEXT_WORDS:
            out.append(hay[start])
            n += len(hay[start].split())
            start += 1
        return out

    texts, owners, plain = [], [], []
    for ni, (needle, _, _) in enumerate(cases):
        for _ in range(PLACES):
            before, after = context(), context()
            texts.append(" ".join(before + [needle] + after))
            owners.append(ni)
            plain.append(" ".join(before + after))
    rows = {}
    alone, _ = score(classifier, windows, [n for n, _, _ in cases])
    for name, scheme in (("each sentence alone, short ones joined to the next (shipped)", windows),
                         ("sentences packed into windows of up to 24 words", packed_windows),
                         ("overlapping 24/16 windows (before)", overlapping_windows)):
        t = time.perf_counter()
        found_scores, n_windows = score(classifier, scheme, texts)
        seconds = time.perf_counter() - t
        clean_scores, _ = score(classifier, scheme, plain)
        found = [any(found_scores[k][lb] >= review[lb] for lb in cases[owners[k]][1]) for k in range(len(texts))]
        alarms = [any(v >= review[lb] for lb, v in s.items()) for s in clean_scores]
        rows[name] = {"found": float(np.mean(found)), "false_alarms": float(np.mean(alarms)),
                      "windows": n_windows, "seconds": round(seconds, 2)}
    ceiling = np.mean([any(alone[i][lb] >= review[lb] for lb in labels) for i, (_, labels, _) in enumerate(cases)])
    report = {"needles": len(cases), "texts": len(texts), "alone": float(ceiling), "schemes": rows}
    print(json.dumps(report, indent=2))
    if args.write:
        write(report)


def write(report: dict) -> None:
    lines = [
        "# Needles in long text",
        "",
        "Generated by `python eval/text/needles.py --write`. A harmful validation sentence "
        f"({report['needles']} of them, {PLACES} random places each) inside about "
        f"{2 * CONTEXT_WORDS} words of benign prose; found when one of its labels reaches "
        "the default policy's review threshold over the whole text.",
        "",
        f"The needles alone are found {report['alone']:.1%} of the time (the ceiling).",
        "",
        "| windows | needles found | false alarms (the same texts, no needle) | windows scored | seconds |",
        "|---|---|---|---|---|",
    ]
    for name, r in report["schemes"].items():
        lines.append(f"| {name} | {r['found']:.1%} | {r['false_alarms']:.1%} | {r['windows']:,} | {r['seconds']} |")
    (Path(__file__).parent / "RESULTS.md").write_text("\n".join(lines) + "\n", encoding="utf-8")


if __name__ == "__main__":
    sys.exit(main())
