"""Hashed character and word n-grams: the cheap first stage of the text classifier.

Features come from the normalised text (so evasions look like the plain words), are hashed
into a fixed number of buckets with CRC-32 (stable across processes and platforms), and
weighted by log counts with L2 normalisation. Training and scoring use this same code.
"""

from __future__ import annotations

import re
import zlib

import numpy as np

from tamis.text.normalize import normalize

N_BUCKETS = 1 << 18
_TOKEN = re.compile(r"\w+|[^\w\s]", re.UNICODE)
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uac00-\ud7af]")


def _token_grams(tok: str) -> list[str]:
    padded = f" {tok} "
    size = len(padded)
    return ["c" + padded[i:i + n] for n in (2, 3, 4) for i in range(size - n + 1)] + ["w" + tok]


#: Each token's feature hashes, worked out once per distinct token (up to CACHE_TOKENS
#: tokens of at most CACHE_TOKEN_CHARS characters: a hostile text's huge tokens are not kept).
_TOKEN_HASHES: dict[str, np.ndarray] = {}
CACHE_TOKENS, CACHE_TOKEN_CHARS = 200_000, 64


def _token_hashes(tok: str) -> np.ndarray:
    found = _TOKEN_HASHES.get(tok)
    if found is None:
        found = np.array([zlib.crc32(g.encode("utf-8")) for g in _token_grams(tok)], np.uint32)
        if len(tok) <= CACHE_TOKEN_CHARS:
            if len(_TOKEN_HASHES) >= CACHE_TOKENS:
                _TOKEN_HASHES.clear()
            _TOKEN_HASHES[tok] = found
    return found


def hashed(text: str) -> tuple[np.ndarray, np.ndarray]:
    """(bucket indices, values) of one text's L2-normalised, signed, hashed features."""
    _, idx, val = hashed_many([normalize(text).text])
    return idx, val


def hashed_many(norms: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """The hashed features of many texts already normalised, as (text, bucket, value) triples
    sorted by text then bucket. A feature is counted by its CRC-32 (two different features
    of one text with the same 32-bit CRC would count as one)."""
    crc = zlib.crc32
    hashes, owner = [], []
    for i, norm in enumerate(norms):
        tokens = _TOKEN.findall(norm)
        if not tokens:
            continue
        mine = [_token_hashes(t) for t in tokens]
        mine.append(np.fromiter((crc(("b" + a + " " + b).encode("utf-8")) for a, b in zip(tokens, tokens[1:])),
                                np.uint32, len(tokens) - 1))
        hashes += mine
        owner.append(np.full(sum(map(len, mine)), i, np.uint64))
    if not hashes:
        return np.zeros(0, np.int64), np.zeros(0, np.int64), np.zeros(0, np.float32)
    key, counts = np.unique((np.concatenate(owner) << np.uint64(32)) | np.concatenate(hashes).astype(np.uint64),
                            return_counts=True)
    weight = 1.0 + np.log(counts)
    weight[(key & np.uint64(0x80000000)) == 0] *= -1.0
    bucket_key = ((key >> np.uint64(32)) << np.uint64(32)) | (key & np.uint64(N_BUCKETS - 1))
    cell, where = np.unique(bucket_key, return_inverse=True)
    val = np.bincount(where, weights=weight, minlength=len(cell))
    keep = val != 0
    cell, val = cell[keep], val[keep]
    text = (cell >> np.uint64(32)).astype(np.int64)
    norm2 = np.bincount(text, weights=val * val, minlength=len(norms))
    val = val / np.sqrt(np.where(norm2 > 0, norm2, 1.0))[text]
    return text, (cell & np.uint64(N_BUCKETS - 1)).astype(np.int64), val.astype(np.float32)


def matrix(texts: list[str]):
    """A scipy CSR matrix of hashed features (training only; scoring uses :func:`hashed`)."""
    from scipy.sparse import csr_matrix

    text, idx, val = hashed_many([normalize(t).text for t in texts])
    return csr_matrix((val, (text, idx)), shape=(len(texts), N_BUCKETS))
