"""Normalisation of text before matching and scoring, with a map back to the original.

People write around filters: ``ｆｒｅｅ`` (full width), ``frее`` (Cyrillic e), ``fr\u200bee``
(zero-width space), ``fr33``, ``f r e e``, ``freeeee``. :func:`normalize` undoes all but the
last (repeats are handled by matchers, which let each letter repeat) and keeps, for every
character of the result, the index of the original character it came from, so that a
match in the normalised text is reported as a span of the original.
"""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass

#: Letters from other scripts that look like Latin ones (Unicode confusables, the common part).
CONFUSABLES = {
    # Cyrillic
    "а": "a", "в": "b", "е": "e", "ё": "e", "з": "3", "к": "k", "м": "m", "н": "h", "о": "o", "п": "n",
    "р": "p", "с": "c", "т": "t", "у": "y", "х": "x", "ѕ": "s", "і": "i", "ї": "i", "ј": "j", "ԁ": "d",
    "ԛ": "q", "ԝ": "w", "ӏ": "l", "һ": "h", "ь": "b", "г": "r",
    # Greek
    "α": "a", "β": "b", "ε": "e", "η": "n", "ι": "i", "κ": "k", "ν": "v", "ο": "o", "ρ": "p", "τ": "t",
    "υ": "u", "χ": "x", "γ": "y", "ω": "w",
    # Latin lookalikes and symbols
    "ı": "i", "ɡ": "g", "ɑ": "a", "ℓ": "l", "ß": "ss", "æ": "ae", "œ": "oe", "ø": "o", "đ": "d", "ł": "l",
}

#: Digits and symbols used as letters, applied only inside words that also have letters.
LEET = {"0": "o", "1": "i", "3": "e", "4": "a", "5": "s", "7": "t", "8": "b", "9": "g",
        "@": "a", "$": "s", "!": "i", "|": "l", "+": "t", "€": "e", "£": "l"}

_INVISIBLE = {"Cf", "Mn", "Me"}  # format characters (zero-width...) and combining marks


def _joins_script(c: str) -> bool:
    """Marks that are part of spelling in scripts beyond Cyrillic (Devanagari vowels, Thai...)."""
    return unicodedata.category(c) in ("Mn", "Me") and ord(c) >= 0x530
_WORD = re.compile(r"\S+")
# Three or more single letters (or digits and symbols used as letters) separated by one
# space, dot, dash, underscore or star.
_UNIT = r"[^\W_]|[@$€£|+!]"
_SPACED = re.compile(rf"(?<![^\W_])(?:(?:{_UNIT})[ .\-_*]){{2,}}(?:{_UNIT})(?![^\W_])")


@dataclass(frozen=True)
class Normalized:
    """Normalised text and, for each of its characters, the index of the original character."""

    text: str
    origin: tuple[int, ...]
    original: str

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original span of the normalised span [start, end)."""
        if end <= start:
            pos = self.origin[start] if start < len(self.origin) else len(self.original)
            return pos, pos
        return self.origin[start], self.origin[end - 1] + 1


#: Each character's folded form (NFKC, accents off Latin/Greek/Cyrillic, invisible characters
#: dropped, case-folded, homoglyphs undone): every step works on one character at a time, so
#: the chain is a function of the character and is worked out once per character.
_FOLDED: dict[str, str] = {}
_LEET_CHAR = re.compile("[" + re.escape("".join(LEET)) + "]")


def _fold(c: str) -> str:
    out = []
    for c1 in unicodedata.normalize("NFKC", c):
        for c2 in (unicodedata.normalize("NFKD", c1) if ord(c1) < 0x530 else c1):
            if unicodedata.category(c2) in _INVISIBLE and not _joins_script(c2):
                continue
            out.extend(CONFUSABLES.get(c3, c3) for c3 in c2.casefold())
    folded = "".join(out)
    if len(_FOLDED) < 100_000:
        _FOLDED[c] = folded
    return folded


_EMAIL = re.compile(r"[\w.+\-]+@[\w\-]+(?:\.[\w\-]+)+")


def _deleet(text: str) -> str:
    """Digits and symbols read as the letters they stand for, inside words that have letters
    (same length: one character for one)."""
    out = None
    for m in _WORD.finditer(text):
        word = m.group()
        if not _LEET_CHAR.search(word) or not any(c.isalpha() for c in word):
            continue
        # Keep leading/trailing punctuation (a sentence's "!" is not an "i").
        core = word.strip("!.,;:?\"'()[]{}<>")
        if not core or _EMAIL.fullmatch(core):  # an e-mail address is read as written
            continue
        offset = m.start() + word.find(core)
        for i, c in enumerate(core):
            if c in LEET:
                if out is None:
                    out = list(text)
                out[offset + i] = LEET[c]
    return text if out is None else "".join(out)


def _unspace(text: str, origin: list[int]) -> tuple[str, list[int]]:
    """Spaced-out letters joined (``f r e e`` reads ``free``)."""
    drop: set[int] = set()
    for m in _SPACED.finditer(text):
        if sum(c.isalpha() for c in m.group()) < 2:  # "1 2 3" is counting, not a word
            continue
        drop.update(i for i in range(m.start(), m.end()) if text[i] in " .-_*")
    if not drop:
        return text, origin
    keep = [i for i in range(len(text)) if i not in drop]
    return "".join(text[i] for i in keep), [origin[i] for i in keep]


def normalize(text: str) -> Normalized:
    """NFKC, drop invisible characters and accents, case-fold, undo homoglyphs, join
    spaced-out letters, and undo leetspeak."""
    if text.isascii():
        # ASCII has no compatibility forms, marks, invisible characters or homoglyphs.
        folded = text.lower()
        origin = list(range(len(text)))
    else:
        get = _FOLDED.get
        pieces = [get(c) if c in _FOLDED else _fold(c) for c in text]
        folded = "".join(pieces)
        if len(folded) == len(text) and all(len(p) == 1 for p in pieces):
            origin = list(range(len(text)))
        else:
            origin = [i for i, p in enumerate(pieces) for _ in p]
    folded, origin = _unspace(folded, origin)
    return Normalized(_deleet(folded), tuple(origin), text)


_NOT_WORD = re.compile(r"[^\w\s]")
_SPACES = re.compile(r"\s+")


def text_hash(text: str | Normalized) -> str:
    """SHA-256 of the normalised text with punctuation and runs of spaces collapsed, so that
    an evasive copy of a known text hashes the same (the ``text`` signal of hash banks).
    ``text`` may be given already normalised."""
    import hashlib

    folded = text.text if isinstance(text, Normalized) else normalize(text).text
    norm = _SPACES.sub(" ", _NOT_WORD.sub(" ", folded)).strip()
    return hashlib.sha256(norm.encode("utf-8")).hexdigest()
