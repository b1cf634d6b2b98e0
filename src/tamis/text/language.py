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
