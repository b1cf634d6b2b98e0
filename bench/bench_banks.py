"""PDQ bank index: build time, memory, query latency and rate, recall of near-duplicates.

    .venv/bin/python bench/bench_banks.py --n 10000000

Random 256-bit codes stand in for a bank of PDQ hashes (real PDQ hashes are close to
uniformly random bits). Queries are bank codes with 1 to 31 random bits flipped; recall is
measured against an exact linear scan of the whole bank. Writes bench/results/banks-N.json.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import statistics
import sys
import time
from pathlib import Path

import numpy as np

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import rss_mb, save_report  # noqa: E402


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--n", type=int, default=10_000_000)
    ap.add_argument("--queries", type=int, default=2000)
    ap.add_argument("--recall-queries", type=int, default=200)
    args = ap.parse_args()

    from tamis.banks.index import _THREADS, PdqIndex
    from tamis.banks.mih import distances, words

    rng = np.random.default_rng(42)
    codes = rng.integers(0, 256, (args.n, 32), dtype=np.uint8)
    ids = np.arange(args.n, dtype=np.int64)
    base_rss = rss_mb()
    t = time.perf_counter()
    index = PdqIndex.build(ids, codes, (1, args.n))
    build_s = time.perf_counter() - t
    index_mb = rss_mb() - base_rss  # the index keeps its own copy of the codes: counted here

    picks = rng.integers(0, args.n, args.queries)
    flips = rng.integers(1, 32, args.queries)
    queries = codes[picks].copy()
    for q, k in zip(queries, flips):
        for b in rng.choice(256, k, replace=False):
            q[b // 8] ^= np.uint8(1 << (b % 8))

    index.search(queries[:10], 31)  # warm
    lat = []
    for q in queries:
        t = time.perf_counter()
        index.search(q[None, :], 31)
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()
    t = time.perf_counter()
    for q in queries:
        index.search(q[None, :], 31)
    qps_one = len(queries) / (time.perf_counter() - t)
    t = time.perf_counter()
    batched = index.search(queries, 31)  # a batch is spread over threads, one per core
    qps = len(queries) / (time.perf_counter() - t)

    found = sum(int(p) in {i for i, _ in hits} for p, hits in zip(picks, batched))
    agree = 0
    codes64 = words(codes)
    for q, hits in zip(queries[: args.recall_queries], batched[: args.recall_queries]):
        exact = set(np.nonzero(distances(codes64, words(q)[0]) <= 31)[0].tolist())
        agree += exact <= {i for i, _ in hits}
    report = {
        "n": args.n, "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "build_s": round(build_s, 1), "index_rss_mb": round(index_mb, 1),
        "peak_rss_mb": round(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024, 1),
        "query_ms": {"p50": round(statistics.median(lat), 3), "p99": round(lat[int(len(lat) * 0.99) - 1], 3)},
        "queries_per_s_one_thread": round(qps_one, 1),
        "queries_per_s_batched": round(qps, 1), "threads": _THREADS,
        "recall_planted_1_31_flips": round(found / len(queries), 4),
        "recall_vs_exact_scan": round(agree / args.recall_queries, 4),
    }
    print(json.dumps(report, indent=2))
    save_report(f"banks-{args.n}", report)


if __name__ == "__main__":
    main()
