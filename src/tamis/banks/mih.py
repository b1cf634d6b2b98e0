"""Multi-index hashing of 256-bit codes, exact within a Hamming radius, in numpy.

The 256 bits are cut into 11 chunks (three of 24 bits, eight of 23). Each chunk has a
table that lists, for every possible chunk value, the rows whose chunk has that value (a
sorted permutation plus offsets, like a CSR matrix). If two codes differ in at most 2 bits
in none of the 11 chunks, they differ in at least 11 x 3 = 33 bits; so two codes within 31
(or 32) bits differ in at most 2 bits in some chunk, and probing every chunk value within 2
bit flips of the query's, in every table, finds every code within 32 bits. That is about
3,100 probes and, for 10 million random codes, about 3,200 candidates, which are then
checked by their real distance.

Eleven chunks rather than twelve: the candidates drop from about 11,000 to 3,200 at 10
million codes (each is a cache miss), for 2^24-entry tables instead of 2^22.

All tables live in two flat arrays so that one query is a handful of array operations,
whatever the number of tables; numpy releases the GIL inside them, so queries from two
threads run on two cores. The arrays load from .npy files by memory map.

Memory for n codes: 32n (codes) + 44n (11 tables of int32 row numbers) + 448 MB of int32
offsets: about 1.2 GB for 10 million.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

WIDTHS = (24, 24, 24) + (23,) * 8  # 256 bits
N_CHUNKS = len(WIDTHS)
STARTS = tuple(int(x) for x in np.cumsum((0,) + WIDTHS[:-1]))
SHIFTS = tuple(256 - s - w for s, w in zip(STARTS, WIDTHS))
RADIUS = 2  # per chunk
MAX_RADIUS = (RADIUS + 1) * N_CHUNKS - 1  # 32: the largest total radius answered exactly
#: Saved with the index; an index saved with another layout is rebuilt, not misread.
LAYOUT = "mih-11x24/23-r2"

_M1 = np.uint64(0x5555555555555555)
_M2 = np.uint64(0x3333333333333333)
_M4 = np.uint64(0x0F0F0F0F0F0F0F0F)
_M8 = np.uint64(0x00FF00FF00FF00FF)
_H16 = np.uint64(0x0001000100010001)
#: Rows counted per pass: the temporaries stay in the CPU cache.
_CHUNK = 4096


def popcount_rows(x: np.ndarray) -> np.ndarray:
    """Bits set in each row of (n, 4) uint64, as int32 (0 to 256).

    SWAR: per-byte counts of the four words are added before the horizontal sum, which is
    done in 16-bit lanes so that 256 does not overflow.
    """
    out = np.empty(len(x), np.int32)
    for lo in range(0, len(x), _CHUNK):
        y = x[lo:lo + _CHUNK]
        y = y - ((y >> np.uint64(1)) & _M1)
        y = (y & _M2) + ((y >> np.uint64(2)) & _M2)
        y = (y + (y >> np.uint64(4))) & _M4  # bytes of 0..8
        s = y[:, 0] + y[:, 1] + y[:, 2] + y[:, 3]  # bytes of 0..32
        s = (s & _M8) + ((s >> np.uint64(8)) & _M8)  # 16-bit lanes of 0..64
        out[lo:lo + _CHUNK] = (s * _H16) >> np.uint64(48)
    return out


def words(codes: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 codes -> (n, 4) native uint64, most significant bits first."""
    codes = np.ascontiguousarray(codes, dtype=np.uint8)
    return codes.view(">u8").reshape(-1, 4).astype(np.uint64)


def distances(codes64: np.ndarray, query64: np.ndarray) -> np.ndarray:
    """Hamming distances between rows of (n, 4) uint64 and one (4,) uint64 query."""
    return popcount_rows(codes64 ^ query64)


def _masks(width: int, radius: int) -> np.ndarray:
    out = [0]
    for r in range(1, radius + 1):
        out += [sum(1 << b for b in bits) for bits in itertools.combinations(range(width), r)]
    return np.array(out, np.int64)


_SIZES = tuple((1 << w) + 1 for w in WIDTHS)
_TABLE_BASE = tuple(int(x) for x in np.cumsum((0,) + _SIZES[:-1]))
_PROBE_MASKS = np.concatenate([_masks(w, RADIUS) for w in WIDTHS])
_PROBE_COUNTS = tuple(len(_masks(w, RADIUS)) for w in WIDTHS)
_PROBE_BASE = np.repeat(np.array(_TABLE_BASE, np.int64), _PROBE_COUNTS)


def chunk_values(codes64: np.ndarray, t: int) -> np.ndarray:
    """The value of chunk ``t`` of every code, as int64."""
    start, width = STARTS[t], WIDTHS[t]
    w, b = divmod(start, 64)
    end = b + width
    if end <= 64:
        value = (codes64[:, w] >> np.uint64(64 - end)) & np.uint64((1 << width) - 1)
    else:  # the chunk runs into the next word
        high = codes64[:, w] & np.uint64((1 << (64 - b)) - 1)
        low_bits = end - 64
        value = (high << np.uint64(low_bits)) | (codes64[:, w + 1] >> np.uint64(64 - low_bits))
    return value.astype(np.int64)


class MultiIndexHash:
    def __init__(self, codes64: np.ndarray, rows: np.ndarray, offsets: np.ndarray) -> None:
        self.codes64 = codes64  # (n, 4) uint64
        self.rows = rows  # (N_CHUNKS * n,) int32: per table, rows sorted by chunk value
        self.offsets = offsets  # (sum of 2**w + 1,) int32: per table, CSR offsets into rows
        self.n = len(codes64)

    @classmethod
    def build(cls, codes: np.ndarray) -> MultiIndexHash:
        codes64 = words(codes)
        n = len(codes64)
        if N_CHUNKS * n >= 2**31:
            raise ValueError(f"{n} codes is over what one index holds ({(2**31 - 1) // N_CHUNKS})")
        rows = np.empty(N_CHUNKS * n, np.int32)
        offsets = np.empty(sum(_SIZES), np.int32)
        for t, width in enumerate(WIDTHS):
            values = chunk_values(codes64, t)
            rows[t * n:(t + 1) * n] = np.argsort(values, kind="stable")
            table = offsets[_TABLE_BASE[t]:_TABLE_BASE[t] + _SIZES[t]]
            table[0] = t * n
            table[1:] = np.cumsum(np.bincount(values, minlength=1 << width)) + t * n
            del values
        return cls(codes64, rows, offsets)

    def search(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances) of every code within ``radius`` (at most 32) of one (32,) uint8 query."""
        if radius > MAX_RADIUS:
            raise ValueError(f"radius {radius} is over the largest this index answers exactly ({MAX_RADIUS})")
        if self.n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        value = int.from_bytes(np.ascontiguousarray(query, np.uint8).tobytes(), "big")
        qchunks = np.array([(value >> s) & ((1 << w) - 1) for s, w in zip(SHIFTS, WIDTHS)], np.int64)
        keys = (np.repeat(qchunks, _PROBE_COUNTS) ^ _PROBE_MASKS) + _PROBE_BASE
        starts = self.offsets[keys].astype(np.int64)
        lengths = self.offsets[keys + 1] - starts
        keep = lengths > 0
        starts, lengths = starts[keep], lengths[keep]
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        # Every position of every probed run, in one flat array.
        flat = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        cand = self.rows[flat]
        # np.take along axis 0 copies whole rows: several times faster than codes64[cand].
        d = distances(np.take(self.codes64, cand, axis=0), words(query)[0])
        hit = d <= radius
        # A true match is usually found through several tables: keep it once.
        rows, first = np.unique(cand[hit], return_index=True)
        return rows.astype(np.int64), d[hit][first]

    def search_many(self, queries: np.ndarray, radius: int) -> list[tuple[np.ndarray, np.ndarray]]:
        """:meth:`search` for a (k, 32) batch of queries in one pass of array operations
        (the per-call overhead is paid once per batch instead of once per query)."""
        if radius > MAX_RADIUS:
            raise ValueError(f"radius {radius} is over the largest this index answers exactly ({MAX_RADIUS})")
        k = len(queries)
        empty = (np.zeros(0, np.int64), np.zeros(0, np.int32))
        if self.n == 0 or k == 0:
            return [empty] * k
        q64 = words(queries)
        qchunks = np.stack([chunk_values(q64, t) for t in range(N_CHUNKS)], axis=1)  # (k, N_CHUNKS)
        keys = (np.repeat(qchunks, _PROBE_COUNTS, axis=1) ^ _PROBE_MASKS) + _PROBE_BASE  # (k, probes)
        starts = self.offsets[keys].astype(np.int64).ravel()
        lengths = (self.offsets[keys + 1].ravel() - starts)
        keep = lengths > 0
        owner = np.repeat(np.arange(k), keys.shape[1])[keep]
        starts, lengths = starts[keep], lengths[keep]
        total = int(lengths.sum())
        if total == 0:
            return [empty] * k
        flat = np.repeat(starts - np.cumsum(lengths) + lengths, lengths) + np.arange(total)
        cand = self.rows[flat].astype(np.int64)
        qid = np.repeat(owner, lengths)
        x = np.take(self.codes64, cand, axis=0)
        x ^= np.take(q64, qid, axis=0)
        d = popcount_rows(x)
        hit = d <= radius
        pair, first = np.unique(qid[hit] * self.n + cand[hit], return_index=True)
        dist = d[hit][first]
        who, rows = np.divmod(pair, self.n)
        bounds = np.searchsorted(who, np.arange(k + 1))
        return [(rows[a:b], dist[a:b]) for a, b in zip(bounds[:-1], bounds[1:])]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "mih.codes64.npy", self.codes64)
        np.save(folder / "mih.rows.npy", self.rows)
        np.save(folder / "mih.offsets.npy", self.offsets)

    @classmethod
    def load(cls, folder: Path) -> MultiIndexHash:
        index = cls(np.load(folder / "mih.codes64.npy", mmap_mode="r"), np.load(folder / "mih.rows.npy", mmap_mode="r"),
                    np.load(folder / "mih.offsets.npy", mmap_mode="r"))
        if index.rows.shape != (N_CHUNKS * index.n,) or index.offsets.shape != (sum(_SIZES),):
            raise ValueError("the saved index has another layout")
        return index
