"""The service under load: real HTTP to `tamis serve` on 127.0.0.1, bounded in count and time.

Runs, in one process and one run:
1. the library's own batched text rate (Engine.scan_texts) on the same texts, for the ratio;
2. a server (`tamis serve`, its own process, no job workers) and a load generator (asyncio
   + httpx, this process) sending short texts to /v1/scan and /v1/moderations, and photos
   to /v1/scan, at a fixed concurrency: requests/s, p50/p99 latency, errors;
3. optionally (--soak-seconds) a soak at a fixed rate (default 80 % of the measured
   saturation of /v1/scan texts): errors, and the server's resident memory sampled every
   10 s with its slope (MB per minute, least squares).

The load generator shares the machine's cores with the server: its own CPU time is
reported too. Usage:
    python bench/bench_service.py [--requests 2000] [--concurrency 32] [--soak-seconds 600]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import resource
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
from _util import save_report  # noqa: E402
from bench_text import short_texts  # noqa: E402

ROOT = Path(__file__).resolve().parent.parent


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_server(home: str) -> tuple[subprocess.Popen, str]:
    port = free_port()
    env = {**os.environ, "TAMIS_HOME": home, "TAMIS_JOB_WORKERS": "0"}
    proc = subprocess.Popen([sys.executable, "-m", "tamis.cli.main", "serve", "--port", str(port),
                             "--log-level", "warning"], env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 180
    while time.monotonic() < deadline:
        try:
            if httpx.get(url + "/readyz", timeout=2).status_code == 200:
                return proc, url
        except httpx.HTTPError:
            time.sleep(0.3)
    proc.kill()
    raise SystemExit("the server did not become ready")


def rss_of(pid: int) -> float:
    with open(f"/proc/{pid}/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


async def load(url: str, make_request, count: int, concurrency: int, seconds: float,
               rate: float | None = None) -> dict:
    """Send ``count`` requests (or for ``seconds``), ``concurrency`` at a time, or at ``rate`` a second."""
    latencies: list[float] = []
    errors: dict[str, int] = {}
    sent = 0
    start = time.perf_counter()
    deadline = start + seconds
    limits = httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency)
    async with httpx.AsyncClient(base_url=url, timeout=60, limits=limits) as client:
        async def worker():
            nonlocal sent
            while sent < count and time.perf_counter() < deadline:
                i = sent
                sent += 1
                if rate is not None:  # open loop: request i leaves at start + i / rate
                    await asyncio.sleep(max(0.0, start + i / rate - time.perf_counter()))
                t = time.perf_counter()
                try:
                    method, path, kw = make_request(i)
                    r = await client.request(method, path, **kw)
                    ok = r.status_code == 200
                    key = f"http {r.status_code}"
                except httpx.HTTPError as exc:
                    ok, key = False, type(exc).__name__
                latencies.append((time.perf_counter() - t) * 1000)
                if not ok:
                    errors[key] = errors.get(key, 0) + 1

        await asyncio.gather(*(worker() for _ in range(concurrency)))
    wall = time.perf_counter() - start
    latencies.sort()
    q = (lambda p: round(latencies[min(len(latencies) - 1, int(len(latencies) * p))], 1)) if latencies else None
    return {"requests": len(latencies), "seconds": round(wall, 2), "requests_per_s": round(len(latencies) / wall, 1),
            "p50_ms": q(0.5) if q else None, "p99_ms": q(0.99) if q else None, "errors": errors}


def library_rate(texts: list[str]) -> float:
    from tamis.config import load_settings
    from tamis.engine import Engine

    engine = Engine(load_settings()).load()
    list(engine.scan_texts(texts[:64]))
    t = time.perf_counter()
    assert all(r.ok for r in engine.scan_texts(texts, batch_size=256))
    return len(texts) / (time.perf_counter() - t)


def photos() -> list[bytes]:
    folder = ROOT / "samples" / "images"
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.suffix in (".jpg", ".png", ".webp")]


def soak(url: str, pid: int, make_request, rate: float, seconds: float) -> dict:
    samples: list[tuple[float, float]] = []

    async def sample():
        t0 = time.perf_counter()
        while time.perf_counter() - t0 < seconds:
            samples.append((time.perf_counter() - t0, rss_of(pid)))
            await asyncio.sleep(10)

    async def both():
        s = asyncio.create_task(sample())
        out = await load(url, make_request, 10**9, 64, seconds, rate=rate)
        s.cancel()
        return out

    out = asyncio.run(both())
    xs, ys = [x for x, _ in samples], [y for _, y in samples]
    slope = statistics.linear_regression(xs, ys).slope * 60 if len(samples) > 2 else None
    return {**out, "target_rate": round(rate, 1), "rss_mb_first": ys[0] if ys else None,
            "rss_mb_last": ys[-1] if ys else None, "rss_slope_mb_per_min": round(slope, 3) if slope else slope}


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--requests", type=int, default=2000)
    ap.add_argument("--images", type=int, default=120)
    ap.add_argument("--concurrency", type=int, default=32)
    ap.add_argument("--seconds", type=float, default=120, help="cap per measurement")
    ap.add_argument("--soak-seconds", type=float, default=0)
    ap.add_argument("--soak-rate", type=float, default=None, help="requests/s (default: 80%% of saturation)")
    args = ap.parse_args()

    texts = short_texts(args.requests)
    lib = library_rate(texts)
    home = tempfile.mkdtemp(prefix="tamis-bench-service-")
    proc, url = start_server(home)
    cpu0 = resource.getrusage(resource.RUSAGE_SELF)
    try:
        def scan_text(i):
            return "POST", "/v1/scan", {"json": {"text": texts[i % len(texts)]}}

        def moderation(i):
            return "POST", "/v1/moderations", {"json": {"input": texts[i % len(texts)]}}

        pics = photos()

        def image(i):
            return "POST", "/v1/scan", {"content": pics[i % len(pics)],
                                        "headers": {"content-type": "application/octet-stream"}}

        def go(make, count, conc):
            return asyncio.run(load(url, make, count, conc, args.seconds))

        asyncio.run(load(url, scan_text, 64, 8, 30))  # warm the server
        text_scan = go(scan_text, args.requests, args.concurrency)
        text_mod = go(moderation, args.requests, args.concurrency)
        images = go(image, args.images, 4)
        report = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "library_batched_texts_per_s": round(lib, 1),
            "scan_text": text_scan, "moderations_text": text_mod, "scan_image": images,
            "ratio_scan_text_to_library": round(text_scan["requests_per_s"] / lib, 3),
            "server_rss_mb": round(rss_of(proc.pid), 1),
        }
        if args.soak_seconds:
            rate = args.soak_rate or 0.8 * text_scan["requests_per_s"]
            report["soak"] = soak(url, proc.pid, scan_text, rate, args.soak_seconds)
        cpu1 = resource.getrusage(resource.RUSAGE_SELF)
        report["load_generator_cpu_s"] = round(cpu1.ru_utime + cpu1.ru_stime - cpu0.ru_utime - cpu0.ru_stime, 1)
    finally:
        proc.terminate()
        proc.wait(60)
    print(json.dumps(report, indent=2))
    save_report("service", report)


if __name__ == "__main__":
    main()
