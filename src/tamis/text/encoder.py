"""The fine-tuned English text encoder: all-MiniLM-L6-v2 trained end to end on the text labels
(tamis.training.text_finetune), exported to ONNX and quantized to int8.

It reads the normalised text (spaced-out and leetspeak spellings as the words they hide), at
most MAX_TOKENS word pieces, and gives one calibrated probability per label. The ONNX file,
its card (labels, calibration, SHA-256) and the tokenizer ship inside tamis; onnxruntime and
tokenizers run them, torch is not needed.
"""

from __future__ import annotations

import json
from importlib import resources
from pathlib import Path

import numpy as np

from tamis.detectors.models import ModelFile

_CARD = json.loads(resources.files("tamis.detectors").joinpath("text_model/text_encoder.json").read_text())
ENCODER = ModelFile(
    name="text_encoder", distribution="tamis", module="tamis.detectors", relpath="text_model/text_encoder.onnx",
    sha256=_CARD["sha256"], licence_code="Apache-2.0",
    licence_weights="Apache-2.0 (fine-tuned by tamis from all-MiniLM-L6-v2, Apache-2.0; data licences in "
                    "docs/model-cards/text.md)",
    detects="English text labels (fine-tuned sentence encoder, int8)")
TOKENIZER = ModelFile(
    name="text_encoder_tokenizer", distribution="tamis", module="tamis.detectors",
    relpath="text_model/tokenizer.json", sha256=_CARD["tokenizer_sha256"], licence_code="Apache-2.0",
    licence_weights="Apache-2.0 (BERT uncased WordPiece vocabulary, as shipped with all-MiniLM-L6-v2)",
    detects="word pieces for the English text encoder")
MAX_TOKENS = int(_CARD["max_tokens"])
VERSION = f"minilm-{_CARD['trained']}"


class EnglishEncoder:
    """Calibrated probabilities for :attr:`labels` from the fine-tuned encoder. ``session``: an
    onnxruntime session of :data:`ENCODER` (the caller verified the file and owns the threads);
    used by one thread at a time (the text detector's lock)."""

    @staticmethod
    def card_labels() -> tuple[str, ...]:
        """The labels the packaged encoder scores."""
        return tuple(_CARD["labels"])

    def __init__(self, sessions: list, card: dict | None = None, tokenizer: Path | None = None) -> None:
        """``sessions``: one or more onnxruntime sessions of the model, each best with one
        intra-op thread: texts are spread over them, one thread each (small batches spend more
        on a thread pool's synchronisation than on arithmetic). ``card`` and ``tokenizer``:
        those of an encoder trained in the data folder (the packaged ones by default)."""
        from tokenizers import Tokenizer

        card = card or _CARD
        self.labels: tuple[str, ...] = tuple(card["labels"])
        self.version = f"minilm-{card['trained']}"
        self._sessions = list(sessions)
        self._pool = None
        self._tok = Tokenizer.from_file(str(tokenizer or TOKENIZER.verify()))
        self._tok.no_padding()  # the file pads every text to 128 pieces; batches pad to their longest
        self._tok.enable_truncation(int(card["max_tokens"]))
        calib = np.array(card["calibration"], np.float32)
        self._a, self._b = calib[:, 0], calib[:, 1]

    def logits(self, normalized: list[str]) -> np.ndarray:
        """Raw logits (texts, labels) of texts already normalised.

        Each text is run alone, as a batch of one. int8 inference quantizes a batch's
        activations with one scale, so a text batched with others would score differently
        alone; and a batch of windows pads every one to the longest. Alone, a window scores the
        same wherever it comes from (as the calibration was fitted), and no work is spent on
        padding: on forum posts this measured faster than a post's windows batched together."""
        out = np.zeros((len(normalized), len(self.labels)), np.float32)
        if not normalized:
            return out
        encs = self._tok.encode_batch(normalized)
        n = len(self._sessions)
        if n == 1 or len(encs) == 1:
            self._run(self._sessions[0], encs, range(len(encs)), out)
            return out
        # Each session takes every n-th text; onnxruntime releases the GIL while it runs.
        list(self._executor().map(lambda k: self._run(self._sessions[k], encs, range(k, len(encs), n), out), range(n)))
        return out

    def _executor(self):
        if self._pool is None:
            from concurrent.futures import ThreadPoolExecutor

            self._pool = ThreadPoolExecutor(len(self._sessions), thread_name_prefix="tamis-encoder")
        return self._pool

    @staticmethod
    def _run(session, encs, rows: range, out: np.ndarray) -> None:
        """Logits of ``encs[rows]`` into ``out``, one text per run."""
        for i in rows:
            ids = np.asarray([encs[i].ids], np.int64)
            out[i] = session.run(None, {"input_ids": ids, "attention_mask": np.ones_like(ids)})[0][0]

    def probabilities(self, normalized: list[str]) -> np.ndarray:
        z = self.logits(normalized) * self._a + self._b
        return 1.0 / (1.0 + np.exp(-np.clip(z, -40, 40)))


def pad(encodings) -> tuple[np.ndarray, np.ndarray]:
    """(input ids, attention mask) of tokenizer encodings, padded to the longest, as int64."""
    width = max(len(e.ids) for e in encodings)
    ids = np.zeros((len(encodings), width), np.int64)
    att = np.zeros_like(ids)
    for k, e in enumerate(encodings):
        ids[k, :len(e.ids)] = e.ids
        att[k, :len(e.ids)] = 1
    return ids, att
