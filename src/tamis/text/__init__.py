"""Shared text processing: normalisation against evasions, language identification."""

from tamis.text.language import identify_language
from tamis.text.normalize import Normalized, normalize, text_hash

__all__ = ["Normalized", "normalize", "text_hash", "identify_language"]
