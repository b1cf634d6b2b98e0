"""Shared text processing: normalisation against evasions, language identification."""

from tamis.text.language import identify_language
from tamis.text.normalize import Normalized, normalize

__all__ = ["Normalized", "normalize", "identify_language"]
