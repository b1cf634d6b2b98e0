"""A nearest-neighbour index of PDQ hashes, built in the background and swapped in.

The index is multi-index hashing (tamis.banks.mih): exact within the threshold, so every
match within 31 bits is found, not only most of them. Small banks use a linear scan. The
index is saved beside the bank database with the store version it was built from, so a
restart maps it from disk instead of rebuilding.
Entries added since the last build sit in a small side index (a linear scan) until the
next build.
"""

from __future__ import annotations

import json
import os
import threading
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from tamis.banks.mih import LAYOUT, MultiIndexHash, distances, words
from tamis.banks.store import BankStore

#: Below this many hashes a linear scan is as fast as the index, and exact by construction.
LINEAR_UP_TO = 4096


def to_codes(hexes: list[str]) -> np.ndarray:
    """64-hex-digit PDQ hashes as (n, 32) uint8 rows."""
    if not hexes:
        return np.zeros((0, 32), np.uint8)
    return np.frombuffer(bytes.fromhex("".join(hexes)), np.uint8).reshape(-1, 32).copy()


def hamming_many(codes: np.ndarray, query: np.ndarray) -> np.ndarray:
    """Hamming distances between (n, 32) uint8 codes and one (32,) uint8 query."""
    return distances(words(codes), words(query)[0])


#: A batch of at least this many queries is spread over threads (numpy releases the GIL).
PARALLEL_FROM = 64
#: Queries searched in one pass of array operations.
BATCH = 32
_THREADS = max(1, min(8, os.cpu_count() or 1))
_pool: ThreadPoolExecutor | None = None
_pool_lock = threading.Lock()


def _threads() -> ThreadPoolExecutor:
    global _pool
    with _pool_lock:
        if _pool is None:
            _pool = ThreadPoolExecutor(_THREADS, thread_name_prefix="tamis-pdq")
        return _pool


@dataclass
class PdqIndex:
    ids: np.ndarray  # entry ids, row i of the index is entry ids[i]
    index: MultiIndexHash | None  # None for a small set (linear scan)
    version: tuple[int, int]
    codes64: np.ndarray | None = None  # (n, 4) uint64, kept for the linear scan of a small set

    @classmethod
    def build(cls, ids: np.ndarray, codes: np.ndarray, version: tuple[int, int]) -> PdqIndex:
        if len(ids) <= LINEAR_UP_TO:
            return cls(ids, None, version, words(codes))
        return cls(ids, MultiIndexHash.build(codes), version)

    def search(self, queries: np.ndarray, threshold: int) -> list[list[tuple[int, int]]]:
        """For each query, (entry id, distance) of every indexed code within ``threshold``.

        A large batch is split over threads, one slice per core.
        """
        if len(queries) >= PARALLEL_FROM and self.index is not None:
            pool = _threads()
            parts = np.array_split(queries, _THREADS)
            return [hits for part in pool.map(lambda p: self._search(p, threshold), parts) for hits in part]
        return self._search(queries, threshold)

    def _search(self, queries: np.ndarray, threshold: int) -> list[list[tuple[int, int]]]:
        if self.index is None:
            return [scan(self.ids, self.codes64, q, threshold) for q in queries]
        out = []
        for lo in range(0, len(queries), BATCH):
            for rows, dist in self.index.search_many(queries[lo:lo + BATCH], threshold):
                out.append([(int(self.ids[r]), int(d)) for r, d in zip(rows, dist)])
        return out

    def save(self, folder: Path) -> None:
        folder.mkdir(parents=True, exist_ok=True)
        if self.index is not None:
            self.index.save(folder)
        else:
            np.save(folder / "pdq.codes64.npy", self.codes64)
        np.save(folder / "pdq.ids.npy", self.ids)
        (folder / "pdq.json").write_text(json.dumps({"version": list(self.version), "count": len(self.ids),
                                                     "kind": "linear" if self.index is None else LAYOUT}))

    @classmethod
    def load(cls, folder: Path) -> PdqIndex | None:
        try:
            meta = json.loads((folder / "pdq.json").read_text())
            ids = np.load(folder / "pdq.ids.npy")
            if meta.get("kind") == "linear":
                return cls(ids, None, tuple(meta["version"]), np.load(folder / "pdq.codes64.npy"))
            if meta.get("kind") != LAYOUT:
                return None  # saved by another version of tamis: rebuild
            return cls(ids, MultiIndexHash.load(folder), tuple(meta["version"]))
        except (OSError, ValueError, KeyError):
            return None


def scan(ids: np.ndarray, codes64: np.ndarray | None, query: np.ndarray, threshold: int) -> list[tuple[int, int]]:
    """Exact linear scan: (id, distance) of every (n, 4) uint64 code within ``threshold`` of ``query``."""
    if codes64 is None or not len(codes64):
        return []
    d = distances(codes64, words(query)[0])
    return [(int(ids[j]), int(d[j])) for j in np.nonzero(d <= threshold)[0]]


class PdqMatcher:
    """The current index plus a side index, rebuilt in the background when banks change."""

    def __init__(self, store: BankStore, folder: Path) -> None:
        self.store = store
        self.folder = folder
        self._lock = threading.Lock()
        self._building: threading.Thread | None = None
        self.index = PdqIndex.load(folder)
        if self.index is None or self.store.version()[1] < self.index.version[1]:
            self.rebuild()  # none saved, or saved from another database
        self._refresh_side()

    def _read(self, after_id: int = 0) -> tuple[np.ndarray, np.ndarray]:
        entries = list(self.store.entries(signal="pdq", after_id=after_id))
        return np.array([e.id for e in entries], np.int64), to_codes([e.value for e in entries])

    def rebuild(self, background: bool = False) -> threading.Thread | None:
        """Build a fresh index from the store and swap it in (scans go on meanwhile)."""
        def work() -> None:
            version = self.store.version()
            ids, codes = self._read()
            fresh = PdqIndex.build(ids, codes, version)
            fresh.save(self.folder)
            with self._lock:
                self.index = fresh
            self._refresh_side()

        if not background:
            work()
            return None
        thread = threading.Thread(target=work, name="tamis-pdq-index", daemon=True)
        self._building = thread
        thread.start()
        return thread

    def _refresh_side(self) -> None:
        with self._lock:
            built_top = self.index.version[1] if self.index else 0
        ids, codes = self._read(after_id=built_top)
        with self._lock:
            self.side = (ids, words(codes))
            self.seen_version = self.store.version()

    #: Entries added since the last build above which a background rebuild starts.
    SIDE_LIMIT = 10_000

    def search(self, hexes: list[str], threshold: int) -> list[list[tuple[int, int]]]:
        if self.store.version() != self.seen_version:
            self._refresh_side()
            if len(self.side[0]) > self.SIDE_LIMIT and not (self._building and self._building.is_alive()):
                self.rebuild(background=True)
        queries = to_codes(hexes)
        with self._lock:
            index, (side_ids, side_codes64) = self.index, self.side
        out = index.search(queries, threshold) if index else [[] for _ in hexes]
        for i, q in enumerate(queries):
            out[i] += scan(side_ids, side_codes64, q, threshold)
        return out
