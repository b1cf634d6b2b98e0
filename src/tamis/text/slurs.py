"""Slurs against protected groups, as evidence for the ``hate`` label.

The text models score slurs in everyday sentences ("the car park was full of <slur>") too
low: the public sets mostly pair slurs with other insults. A slur is strong evidence, but not
proof (counter-speech quotes them, groups reclaim some), so the classifier adds SLUR_BOOST to
the model's ``hate`` score of a text that contains one, up to SLUR_CEILING (under the default
policy's block threshold): the model's reading of the context still decides.

The list is built by :func:`build` from two MIT-licensed word lists in ../shared/data/text
(Surge AI's profanity list: racial/ethnic and sexual orientation/gender slurs of severity
SEVERITY_FROM or more; dsojevic's profanity list: racial and LGBTQ entries of severity 3 or
more), minus terms commonly reclaimed or neutral (RECLAIMED). It ships as salted SHA-256
digests of the normalised terms (text_model/slurs.json), so the package carries no readable
slur; a text's normalised words and word pairs are hashed the same way and looked up.
"""

from __future__ import annotations

import functools
import hashlib
import json
import re
from pathlib import Path

SLUR_BOOST = 0.15
SLUR_CEILING = 0.8
SEVERITY_FROM = 2.4
#: Terms left out: reclaimed in ordinary use, or neutral words that a list marks as slurs.
RECLAIMED = frozenset({"nigga", "niggas", "niggaz", "queer", "queers", "gay", "gays", "homo", "dyke", "dykes",
                       "lesbian", "lesbians", "trans", "jew", "jews", "muslim", "muslims", "arab", "arabs",
                       "black", "blacks", "asian", "asians", "mexican", "mexicans", "indian", "indians",
                       "gypsy", "gypsies", "oriental", "colored", "coloured", "negro", "negroes", "negros",
                       "homosexual", "homosexuals", "monkey", "monkeys", "pansy", "pansies", "spook", "spooks",
                       "sissy", "sissies", "lesbo", "lesbos", "ape", "apes", "japes"})
_SALT = b"tamis-slur-v1:"
_WORD = re.compile(r"\w+")


def digest(term: str) -> str:
    return hashlib.sha256(_SALT + term.encode("utf-8")).hexdigest()[:20]


def _forms(term: str) -> set[str]:
    """The normalised term and its plurals."""
    from tamis.text.normalize import normalize

    words = _WORD.findall(normalize(term.replace("*", "")).text.lower())
    if not words or len(words) > 2:
        return set()
    base = " ".join(words)
    if base in RECLAIMED:
        return set()
    out = {base, base + "s"}
    if base.endswith(("s", "x", "z", "ch", "sh")):
        out.add(base + "es")
    if base.endswith("y"):
        out.add(base[:-1] + "ies")
    return out


def build(lexicons: Path) -> list[str]:
    """Sorted digests of every slur form in the two word lists under ``lexicons``."""
    import csv

    terms: set[str] = set()
    with (lexicons / "surge_profanity" / "profanity_en.csv").open(encoding="utf-8") as fh:
        for row in csv.DictReader(fh):
            cats = {row["category_1"], row["category_2"], row["category_3"]}
            if cats & {"racial / ethnic slurs", "sexual orientation / gender"} and \
                    float(row["severity_rating"] or 0) >= SEVERITY_FROM:
                # The row's own spelling only: its canonical form may be a neutral word that
                # a qualifying phrase contains ("monkey" in a two-word slur).
                terms.add(row["text"])
    for entry in json.loads((lexicons / "dsojevic_profanity" / "en.json").read_text(encoding="utf-8")):
        if set(entry.get("tags", [])) & {"racial", "lgbtq"} and int(entry.get("severity", 0)) >= 3:
            terms.update(entry["match"].split("|"))  # every spelling; "*" is the list's wildcard
    forms = set().union(*(_forms(t) for t in terms)) - RECLAIMED
    return sorted({digest(f) for f in forms if len(f) >= 3})


def _model_file():
    from tamis.detectors.models import ModelFile

    return ModelFile(
        name="slurs", distribution="tamis", module="tamis.detectors", relpath="text_model/slurs.json",
        sha256=SHA256, licence_code="Apache-2.0",
        licence_weights="MIT (digests of terms from surge-ai/profanity and dsojevic/profanity-list)",
        detects="slurs against protected groups (digests)")


#: SHA-256 of text_model/slurs.json, checked at load (rebuild: python -m tamis.text.slurs).
SHA256 = "faff1e1c3bc3e45e78a154c8efecdd8ae32f9d161fa1c26f5cf614c3f1482cdf"


@functools.lru_cache(maxsize=1)
def _digests() -> frozenset[str]:
    return frozenset(json.loads(_model_file().verify().read_text(encoding="utf-8"))["digests"])


def has_slur(normalized: str) -> bool:
    """Whether a normalised text contains a listed slur (a word, or two words in a row)."""
    words = _WORD.findall(normalized.lower())
    known = _digests()
    return any(digest(w) in known for w in words) or \
        any(digest(a + " " + b) in known for a, b in zip(words, words[1:]))


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="build text_model/slurs.json from the word lists")
    ap.add_argument("--lexicons", type=Path, default=Path("../shared/data/text/lexicons"))
    ap.add_argument("--out", type=Path, default=Path("src/tamis/detectors/text_model/slurs.json"))
    args = ap.parse_args()
    digests = build(args.lexicons)
    args.out.write_text(json.dumps({"salt": _SALT.decode(), "source": "surge_profanity (MIT), dsojevic_profanity (MIT)",
                                    "severity_from": SEVERITY_FROM, "digests": digests}, indent=0) + "\n")
    print(f"{len(digests)} digests written to {args.out}")


if __name__ == "__main__":
    main()
