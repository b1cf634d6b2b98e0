"""Hashed character and word n-grams: the cheap first stage of the text classifier.

Features come from the normalised text (so evasions look like the plain words), are hashed
into a fixed number of buckets with CRC-32 (stable across processes and platforms), and
weighted by log counts with L2 normalisation. Training and scoring use this same code.
"""

from __future__ import annotations

import math
import re
import zlib
from collections import Counter

import numpy as np

from tamis.text.normalize import normalize

N_BUCKETS = 1 << 18
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def ngrams(text: str) -> Counter:
    """Character 2-4-grams inside words (padded with spaces), words, and word pairs."""
    norm = normalize(text).text
    tokens = _TOKEN.findall(norm)
    feats: Counter = Counter()
    grams = []
    for tok in tokens:
        padded = f" {tok} "
        size = len(padded)
        grams += ["c" + padded[i:i + n] for n in (2, 3, 4) for i in range(size - n + 1)]
        grams.append("w" + tok)
    grams += ["b" + a + " " + b for a, b in zip(tokens, tokens[1:])]
    feats.update(grams)
    return feats


def hashed(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(bucket indices, values) of one text's L2-normalised, signed, hashed features."""
    buckets: dict[int, float] = {}
    for feat, count in ngrams(text).items():
        h = zlib.crc32(feat.encode("utf-8"))
        idx = h & (N_BUCKETS - 1)
        sign = 1.0 if h & 0x80000000 else -1.0
        buckets[idx] = buckets.get(idx, 0.0) + sign * (1.0 + math.log(count))
    if not buckets:
        return np.zeros(0, np.int64), np.zeros(0, np.float32)
    idx = np.fromiter(buckets.keys(), np.int64, len(buckets))
    val = np.fromiter(buckets.values(), np.float32, len(buckets))
    norm = float(np.sqrt((val * val).sum())) or 1.0
    return idx, val / norm


def matrix(texts: list[str]):
    """A scipy CSR matrix of hashed features (training only; scoring uses :func:`hashed`)."""
    from scipy.sparse import csr_matrix

    indptr, indices, data = [0], [], []
    for t in texts:
        idx, val = hashed(t)
        indices.append(idx)
        data.append(val)
        indptr.append(indptr[-1] + len(idx))
    return csr_matrix((np.concatenate(data) if data else np.zeros(0, np.float32),
                       np.concatenate(indices) if indices else np.zeros(0, np.int64), indptr),
                      shape=(len(texts), N_BUCKETS))
