"""The slur evidence for ``hate`` (tamis.text.slurs) and the whole-message reading of ``spam``.

No slur is written in this file: terms are read from the word lists in ../shared/data/text at
test time, and the package ships only their digests."""

from __future__ import annotations

import csv
import json
import re
from pathlib import Path

import pytest

from tamis.content.text import TextContent
from tamis.detectors import text_classifier as tc
from tamis.detectors.models import sha256_file
from tamis.text import slurs

LEXICONS = Path(__file__).resolve().parents[2] / "shared" / "data" / "text" / "lexicons"
SHIPPED = Path(slurs.__file__).resolve().parents[1] / "detectors" / "text_model" / "slurs.json"
needs_lexicons = pytest.mark.skipif(not LEXICONS.is_dir(), reason="the word lists are not here")


def _listed_slurs(n: int = 20) -> list[str]:
    """Single-word slurs of the highest severity from the Surge list, as plainly spelt there."""
    out = []
    with (LEXICONS / "surge_profanity" / "profanity_en.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            term = row["text"]
            if row["category_1"] == "racial / ethnic slurs" and float(row["severity_rating"]) >= 2.8 \
                    and re.fullmatch(r"[a-z]{4,}", term) and term not in slurs.RECLAIMED and term not in out:
                out.append(term)
    return out[:n]


def test_the_shipped_list_is_checked_and_holds_no_readable_word():
    assert sha256_file(SHIPPED) == slurs.SHA256
    data = json.loads(SHIPPED.read_text())
    assert len(data["digests"]) > 500
    assert all(re.fullmatch(r"[0-9a-f]{20}", d) for d in data["digests"])


@needs_lexicons
def test_the_shipped_list_is_rebuilt_from_the_word_lists():
    assert slurs.build(LEXICONS) == json.loads(SHIPPED.read_text())["digests"]


@needs_lexicons
def test_slurs_are_found_plain_plural_and_obfuscated():
    from tamis.text.normalize import normalize

    terms = _listed_slurs()
    assert len(terms) >= 10
    for term in terms:
        leet = term.replace("i", "1").replace("o", "0").replace("e", "3")
        for text in (f"look at that {term} over there", f"so many {term}s here", f"that {leet} again",
                     f"the {' '.join(term)} next door"):
            assert slurs.has_slur(normalize(text).text), text


@pytest.mark.parametrize("text", ["kill the background job", "my friends and I went to the park",
                                  "Scunthorpe United won on Saturday", "the class assignment is due",
                                  "add the spices last", "no more monkey business", "ojos negros",
                                  "a homosexual couple adopted a child", "a sissy bar for the motorbike"])
def test_ordinary_words_are_not_slurs(text):
    from tamis.text.normalize import normalize

    assert not slurs.has_slur(normalize(text).text)


def test_reclaimed_and_neutral_terms_are_left_out():
    assert not {slurs.digest(t) for t in slurs.RECLAIMED} & set(json.loads(SHIPPED.read_text())["digests"])


def _text(text: str) -> TextContent:
    return TextContent(kind="text", name="t", media_type="text/plain", data=text.encode(), text=text)


@pytest.fixture(scope="module")
def classifier():
    return tc.TextClassifier()


@needs_lexicons
def test_a_slur_raises_hate_but_never_to_a_block(classifier):
    term = _listed_slurs(1)[0]
    plain, raised = classifier.analyze([_text("the car park was full of people this morning"),
                                        _text(f"the car park was full of {term}s this morning")])
    assert raised.scores["hate"] >= min(plain.scores["hate"] + slurs.SLUR_BOOST, slurs.SLUR_CEILING) - 0.1
    assert raised.scores["hate"] <= max(slurs.SLUR_CEILING, plain.scores["hate"] + 0.3)
    why = [f.explanation for f in raised.findings if f.label == "hate"]
    assert why and "slur" in why[0]


def test_spam_is_judged_on_the_whole_message(classifier):
    """In a long text, one ad-like sentence does not make the text spam; several do."""
    ad = "Buy cheap followers now at superfollow.example, 1000 followers for only $5!"
    manual = ["The program reads its configuration from the file named on the command line.",
              "Each option may be given more than once; the last one wins.",
              "Exit status is zero on success and non-zero when an error occurred.",
              "See the examples section for typical invocations of the program.",
              "Bugs should be reported to the project's issue tracker with a log."]
    one = classifier.analyze([_text(" ".join(manual[:2] + [ad] + manual[2:]))])[0]
    alone = classifier.analyze([_text(ad)])[0]
    many = classifier.analyze([_text(" ".join([ad, ad.replace("$5", "$4"), ad.replace("1000", "2000")]
                                                              + manual))])[0]
    assert alone.scores["spam"] > 0.5
    assert one.scores["spam"] < alone.scores["spam"] - 0.2
    assert many.scores["spam"] > 0.5
