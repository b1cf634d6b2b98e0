"""Language identification (py3langid, 97 languages, model inside the package)."""

from __future__ import annotations

import functools
import re

_LETTERS = re.compile(r"[^\W\d_]")


@functools.lru_cache(maxsize=1)
def _identifier():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    return LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)


def identify_language(text: str) -> tuple[str | None, float]:
    """ISO 639-1 code and probability; ``(None, 0.0)`` when there are too few letters to tell."""
    if len(_LETTERS.findall(text[:2000])) < 3:
        return None, 0.0
    lang, prob = _identifier().classify(text[:2000])
    return str(lang), float(prob)


#: Languages the router tells apart: the sentence encoder's (USE multilingual v3) and others
#: often confused with them. Fewer candidates make short texts far more reliable.
ROUTING_LANGUAGES = ("en", "es", "fr", "de", "pt", "it", "nl", "pl", "ru", "uk", "ar", "zh", "ja", "ko", "tr",
                     "th", "sv", "da", "no", "fi", "cs", "ro", "hu", "el", "he", "hi", "id", "vi", "fa", "bg")
#: P(English) at or above SURE_ENGLISH reads a text with the English model only; at or below
#: NOT_ENGLISH with the multilingual one only; in between, a blend.
SURE_ENGLISH, NOT_ENGLISH = 0.9, 0.5


@functools.lru_cache(maxsize=1)
def _router():
    from py3langid.langid import MODEL_FILE, LanguageIdentifier

    ident = LanguageIdentifier.from_pickled_model(MODEL_FILE, norm_probs=True)
    ident.set_languages(list(ROUTING_LANGUAGES))
    return ident


#: A Latin-script text of at most SHORT_WORDS words is too short for language identification
#: to be trusted ("you are dead" reads as Portuguese): the English model gets at least half
#: its score (all of it when the text is surely English).
SHORT_WORDS = 4


def english_weight(text: str) -> float:
    """How much of a text's score comes from the English model: 1 for text surely English,
    0 for text surely not (or with no Latin letters), linear in P(English) between; a short
    Latin-script text gets at least a half share. Read on lower-cased text (capitals throw
    the identifier)."""
    sample = text[:500]
    if not any("a" <= c <= "z" or "A" <= c <= "Z" for c in sample):
        return 0.0
    lang, prob = _router().classify(sample.lower())
    p_en = float(prob) if lang == "en" else 0.0
    weight = min(max((p_en - NOT_ENGLISH) / (SURE_ENGLISH - NOT_ENGLISH), 0.0), 1.0)
    if len(sample.split()) <= SHORT_WORDS and sum(c.isascii() for c in sample) > 0.9 * len(sample):
        weight = max(weight, 0.5)
    return float(weight)
