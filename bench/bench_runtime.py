"""One runtime serving many threads: memory and throughput of 8 threads against 1.

    .venv/bin/python bench/bench_runtime.py                # 8 threads, 4 rounds of the inputs
    .venv/bin/python bench/bench_runtime.py --threads 4 --rounds 2

One Engine (its detectors from the process's runtime) scans the same inputs from 1 thread,
then from N threads at once; printed: peak RSS of each phase and their ratio (target
under 1.3x), images per second of each, and the loads counted (1 per detector: nothing
loads again for the threads). The inputs are the bundled sample images and documents.
"""

from __future__ import annotations

import argparse
import platform
import sys
import threading
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import rss_mb, save_report  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=8)
    ap.add_argument("--rounds", type=int, default=4)
    ap.add_argument("--arenas", type=int, default=2, help="glibc malloc arenas (0: glibc's default)")
    args = ap.parse_args()
    if args.arenas:
        from tamis.engine.runtime import limit_malloc_arenas

        limit_malloc_arenas(args.arenas)

    from tamis.config import Settings
    from tamis.detectors.base import LOADS
    from tamis.engine import Engine

    inputs = sorted((ROOT / "samples/images").iterdir()) + sorted((ROOT / "samples/documents").iterdir())
    eng = Engine(Settings(home=Path("/nonexistent-tamis-home"))).load()
    for p in inputs:  # warm: every model has run once
        eng.scan(p)
    base = rss_mb()

    start = time.perf_counter()
    for _ in range(args.rounds):
        for p in inputs:
            eng.scan(p)
    one_s = time.perf_counter() - start
    one_peak = rss_mb("VmHWM")

    def work(t: int) -> None:
        for r in range(args.rounds):
            for k in range(len(inputs)):
                if (k + r) % args.threads == t % args.threads or args.threads == 1:
                    eng.scan(inputs[k])

    # Every thread takes its share: the same inputs in all, as in the one-thread phase.
    threads = [threading.Thread(target=work, args=(t,)) for t in range(args.threads)]
    start = time.perf_counter()
    for th in threads:
        th.start()
    for th in threads:
        th.join()
    many_s = time.perf_counter() - start
    many_peak = rss_mb("VmHWM")
    n = args.rounds * len(inputs)
    report = {
        "machine": f"{platform.machine()}, {__import__('os').cpu_count()} cores",
        "inputs_per_phase": n, "threads": args.threads, "malloc_arenas": args.arenas or "glibc default",
        "rss_after_warm_mb": round(base, 1), "peak_rss_one_thread_mb": round(one_peak, 1),
        "peak_rss_threads_mb": round(many_peak, 1), "peak_ratio": round(many_peak / one_peak, 3),
        "one_thread_per_s": round(n / one_s, 2), "threads_per_s": round(n / many_s, 2),
        "loads": dict(LOADS),
    }
    for k, v in report.items():
        print(f"{k:24s} {v}")
    print("saved", save_report("runtime", report))


if __name__ == "__main__":
    main()
