"""Text scanning speed: short texts batched, one text at a time, and long texts.

    .venv/bin/python bench/bench_text.py

Short texts are the SMS Spam Collection and the hand-written validation sets (under 64
tokens each, several languages); forum posts are about 400 characters of them joined as
sentences; long texts are 2,000-word documents assembled from them.
All default text detectors run (classifier, PII, blocklists with no lists configured).
Prints a table and writes bench/results/text.json.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import random
import statistics
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(Path(__file__).resolve().parent))

from _util import save_report  # noqa: E402


def short_texts(n: int) -> list[str]:
    texts = []
    sms = ROOT.parent / "shared" / "data" / "text" / "sms_spam.tsv"
    if sms.exists():
        with sms.open(encoding="utf-8") as fh:
            texts += [row[1] for row in csv.reader(fh, delimiter="\t") if len(row) > 1][1:]
    for path in sorted((ROOT / "training" / "text").glob("validation*.jsonl")):
        texts += [json.loads(line)["text"] for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
    texts = [t for t in texts if len(t.split()) < 48]
    random.Random(7).shuffle(texts)
    return (texts * (n // max(len(texts), 1) + 1))[:n]


def long_texts(n: int, words: int, pool: list[str]) -> list[str]:
    rng = random.Random(11)
    out = []
    for _ in range(n):
        doc: list[str] = []
        while len(doc) < words:
            doc += rng.choice(pool).split()
        out.append(" ".join(doc[:words]))
    return out


def forum_posts(n: int, chars: int, pool: list[str]) -> list[str]:
    """Posts of about ``chars`` characters: short texts joined as sentences, like a forum post."""
    rng = random.Random(13)
    out = []
    for _ in range(n):
        post = ""
        while len(post) < chars:
            post += rng.choice(pool).strip().rstrip(".!?") + ". "
        out.append(post.strip())
    return out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--short", type=int, default=4000)
    ap.add_argument("--single", type=int, default=300)
    ap.add_argument("--long", type=int, default=20)
    ap.add_argument("--forum", type=int, default=600)
    args = ap.parse_args()

    from tamis.config import load_settings
    from tamis.engine import Engine

    t0 = time.perf_counter()
    engine = Engine(load_settings(detectors=("text", "pii", "blocklist"))).load()
    load_s = time.perf_counter() - t0
    texts = short_texts(args.short)
    list(engine.scan_texts(texts[:64]))  # warm

    t = time.perf_counter()
    results = list(engine.scan_texts(texts, batch_size=256))
    batched = len(texts) / (time.perf_counter() - t)
    assert all(r.ok for r in results)

    lat = []
    for text in texts[: args.single]:
        t = time.perf_counter()
        engine.scan(engine.open_text(text))
        lat.append((time.perf_counter() - t) * 1000)
    lat.sort()

    from dataclasses import replace

    from tamis.engine.pool import scan_texts_parallel

    workers = os.cpu_count() or 2
    settings = replace(engine.settings, threads=1)
    t_pool = time.perf_counter()
    par = list(scan_texts_parallel(texts, workers, settings=settings))
    parallel = len(par) / (time.perf_counter() - t_pool)  # worker start-up included
    assert len(par) == len(texts) and all(r.ok for r in par)

    posts = forum_posts(args.forum, 400, texts)
    t = time.perf_counter()
    post_results = list(engine.scan_texts(posts, batch_size=64))
    forum_rate = len(posts) / (time.perf_counter() - t)
    assert all(r.ok for r in post_results)

    longs = long_texts(args.long, 2000, texts)
    t = time.perf_counter()
    long_results = list(engine.scan_texts(longs, batch_size=4))
    long_rate = len(longs) / (time.perf_counter() - t)
    assert all(r.ok for r in long_results)

    report = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
        "load_s": round(load_s, 2),
        "short_texts": len(texts),
        "short_batched_texts_per_s": round(batched, 1),
        "short_batched_texts_per_s_workers": {"workers": workers, "with_startup": round(parallel, 1)},
        "single_text_ms": {"p50": round(statistics.median(lat), 2), "p95": round(lat[int(len(lat) * 0.95) - 1], 2)},
        "forum_400_chars_texts_per_s": round(forum_rate, 1),
        "long_2000_words_texts_per_s": round(long_rate, 2),
    }
    print(json.dumps(report, indent=2))
    save_report("text", report)


if __name__ == "__main__":
    main()
