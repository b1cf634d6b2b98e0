"""Multi-index hashing of 256-bit codes, exact within a Hamming radius, in numpy.

The 256 bits are cut into 12 chunks of 21 or 22 bits; each chunk is a table that lists,
for every possible chunk value, the rows whose chunk has that value (a sorted permutation
plus offsets, like a CSR matrix). Two codes within 31 bits differ in at most 2 bits in at
least one of the 12 chunks (pigeonhole: 12 x 3 > 31), so probing every chunk value within
2 bit flips of the query's, in every table, finds every code within 31 bits. The
candidates (about 13,000 for 10 million random codes) are then checked by their real
distance. Everything is array arithmetic; the tables load from .npy files by memory map.

Memory for n codes: 32n (codes) + 48n (12 tables of int32 row numbers) + 12 x 16 MB of
offsets: about 1 GB for 10 million.
"""

from __future__ import annotations

import itertools
from pathlib import Path

import numpy as np

N_CHUNKS = 12
WIDTHS = (22, 22, 22, 22) + (21,) * 8  # 256 bits
STARTS = tuple(int(x) for x in np.cumsum((0,) + WIDTHS[:-1]))
RADIUS = 2  # per chunk, for a total radius of up to 3 * N_CHUNKS - 1 = 35

_POP16 = np.array([bin(i).count("1") for i in range(1 << 16)], np.uint8)


def _masks(width: int, radius: int) -> np.ndarray:
    out = [0]
    for r in range(1, radius + 1):
        out += [sum(1 << b for b in bits) for bits in itertools.combinations(range(width), r)]
    return np.array(out, np.int64)


_MASKS = {w: _masks(w, RADIUS) for w in set(WIDTHS)}


def _bits(codes: np.ndarray) -> np.ndarray:
    """(n, 32) uint8 -> (n, 4) uint64 words, most significant bit first."""
    return codes.reshape(-1, 4, 8).astype(np.uint64) @ (np.uint64(1) << np.arange(56, -8, -8, dtype=np.uint64))


def chunk_values(codes: np.ndarray) -> np.ndarray:
    """(n, 12) int64: the value of each chunk of each code."""
    words = _bits(codes)
    out = np.zeros((len(codes), N_CHUNKS), np.int64)
    for t, (start, width) in enumerate(zip(STARTS, WIDTHS)):
        w, b = divmod(start, 64)
        end = b + width
        if end <= 64:
            value = (words[:, w] >> np.uint64(64 - end)) & np.uint64((1 << width) - 1)
        else:  # the chunk runs into the next word
            high = words[:, w] & np.uint64((1 << (64 - b)) - 1)
            low_bits = end - 64
            value = (high << np.uint64(low_bits)) | (words[:, w + 1] >> np.uint64(64 - low_bits))
        out[:, t] = value.astype(np.int64)
    return out


def query_chunks(query: np.ndarray) -> list[int]:
    """The 12 chunk values of one code (plain integers: faster than arrays for one code)."""
    value = int.from_bytes(query.tobytes(), "big")
    return [(value >> (256 - start - width)) & ((1 << width) - 1) for start, width in zip(STARTS, WIDTHS)]


def distances(codes16: np.ndarray, query16: np.ndarray) -> np.ndarray:
    """Hamming distances between rows of (n, 16) uint16 and one (16,) uint16 query."""
    return _POP16[np.bitwise_xor(codes16, query16)].sum(axis=1, dtype=np.int32)


class MultiIndexHash:
    def __init__(self, codes: np.ndarray, rows: np.ndarray, offsets: np.ndarray) -> None:
        self.codes16 = codes.view(np.uint16).reshape(-1, 16) if codes.size else np.zeros((0, 16), np.uint16)
        self.rows = rows  # (N_CHUNKS, n) int32: rows sorted by chunk value, per table
        self.offsets = offsets  # (N_CHUNKS, 2**22 + 1) int32 (21-bit tables use the first half)
        self.n = len(self.codes16)

    @classmethod
    def build(cls, codes: np.ndarray) -> MultiIndexHash:
        codes = np.ascontiguousarray(codes, dtype=np.uint8)
        chunks = chunk_values(codes)
        rows = np.zeros((N_CHUNKS, len(codes)), np.int32)
        offsets = np.zeros((N_CHUNKS, (1 << max(WIDTHS)) + 1), np.int32)
        for t in range(N_CHUNKS):
            rows[t] = np.argsort(chunks[:, t], kind="stable")
            counts = np.bincount(chunks[:, t], minlength=1 << max(WIDTHS))
            offsets[t, 1:] = np.cumsum(counts)
        return cls(codes, rows, offsets)

    def search(self, query: np.ndarray, radius: int) -> tuple[np.ndarray, np.ndarray]:
        """(rows, distances) of every code within ``radius`` (at most 35) of one (32,) uint8 query."""
        if radius > 3 * N_CHUNKS - 1:
            raise ValueError(f"radius {radius} is over the largest this index answers exactly (35)")
        if self.n == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        qchunks = query_chunks(query)
        starts, ends, tables = [], [], []
        for t, width in enumerate(WIDTHS):
            keys = qchunks[t] ^ _MASKS[width]
            starts.append(self.offsets[t, keys])
            ends.append(self.offsets[t, keys + 1])
            tables.append(np.full(len(keys), t, np.int64))
        starts = np.concatenate(starts).astype(np.int64)
        lengths = np.concatenate(ends).astype(np.int64) - starts
        tables = np.concatenate(tables)
        keep = lengths > 0
        starts, lengths, tables = starts[keep], lengths[keep], tables[keep]
        total = int(lengths.sum())
        if total == 0:
            return np.zeros(0, np.int64), np.zeros(0, np.int32)
        # Positions of every candidate in the flattened (table, position) row lists.
        run_start = np.repeat(starts + tables * self.n - np.cumsum(lengths) + lengths, lengths)
        flat = run_start + np.arange(total)
        cand = self.rows.reshape(-1)[flat]
        d = distances(self.codes16[cand], query.view(np.uint16))
        hit = d <= radius
        # A true match is usually found through several tables: keep it once.
        rows, first = np.unique(cand[hit], return_index=True)
        return rows.astype(np.int64), d[hit][first]

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        np.save(folder / "mih.codes.npy", self.codes16.view(np.uint8).reshape(-1, 32))
        np.save(folder / "mih.rows.npy", self.rows)
        np.save(folder / "mih.offsets.npy", self.offsets)

    @classmethod
    def load(cls, folder: Path) -> MultiIndexHash:
        return cls(np.load(folder / "mih.codes.npy", mmap_mode="r"), np.load(folder / "mih.rows.npy", mmap_mode="r"),
                   np.load(folder / "mih.offsets.npy", mmap_mode="r"))
