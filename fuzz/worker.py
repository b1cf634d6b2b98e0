"""The child process of the fuzzer: runs inputs through the targets, one at a time.

Started by fuzz/run.py, never by hand. Requests come on the file descriptor ``--req-fd``
(4-byte big-endian header length, JSON header, 4-byte data length, data); each answer is
one JSON line on ``--resp-fd``. stdout and stderr go to a log file the runner reads when
this process dies or hangs: faulthandler writes the Python stack there on a native crash,
and just before the runner's time limit on a hang.

Limits: the address space is capped (``--mem-mb``, RLIMIT_AS), so a memory blow-up is a
MemoryError (or an abort of native code) here, not a machine out of memory.
"""

from __future__ import annotations

import argparse
import faulthandler
import json
import os
import resource
import struct
import sys
import time
import traceback
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))


def short_path(filename: str) -> str:
    """A frame's file as people read it: src/tamis/..., site-packages/..., python3.X/..."""
    f = filename.replace("\\", "/")
    for marker in ("/site-packages/", "/dist-packages/"):
        if marker in f:
            return f.split(marker, 1)[1]
    root = str(ROOT).replace("\\", "/") + "/"
    if f.startswith(root):
        return f[len(root):]
    m = f.rfind("/lib/python")
    if m >= 0:
        return f[m + 5:]
    return f


def frames_of(exc: BaseException) -> list[traceback.FrameSummary]:
    """The frames of an exception's traceback, harness frames (fuzz/) left out."""
    frames = traceback.extract_tb(exc.__traceback__)
    return [f for f in frames if not f.filename.startswith(str(HERE) + os.sep)]


def describe(exc: BaseException, frames: list[traceback.FrameSummary] | None = None) -> dict:
    frames = frames_of(exc) if frames is None else frames
    inner = frames[-1] if frames else None
    tamis = next((f for f in reversed(frames) if "/tamis/" in f.filename.replace("\\", "/")
                  and "/fuzz/" not in f.filename), None)
    tb = "".join(traceback.format_exception(type(exc), exc, exc.__traceback__))
    message = str(exc)
    return {
        "exc_type": f"{type(exc).__module__}.{type(exc).__qualname__}".removeprefix("builtins."),
        "message": message[:2000],
        "frame": f"{short_path(inner.filename)}:{inner.lineno}" if inner else "?",
        "function": inner.name if inner else "?",
        "tamis_frame": f"{short_path(tamis.filename)}:{tamis.lineno}" if tamis else None,
        "traceback": tb[-20000:],
    }


def read_exact(fd: int, n: int) -> bytes:
    chunks = []
    while n:
        chunk = os.read(fd, min(n, 1 << 20))
        if not chunk:
            raise EOFError
        chunks.append(chunk)
        n -= len(chunk)
    return b"".join(chunks)


def send(fd: int, obj: dict) -> None:
    data = (json.dumps(obj) + "\n").encode("utf-8", "replace")
    while data:
        data = data[os.write(fd, data):]


def main() -> int:
    ap = argparse.ArgumentParser()
    ap.add_argument("--req-fd", type=int, required=True)
    ap.add_argument("--resp-fd", type=int, required=True)
    ap.add_argument("--mem-mb", type=int, default=3072)
    args = ap.parse_args()

    import targets

    targets.limit_threads()
    faulthandler.enable(all_threads=True)
    if args.mem_mb:
        limit = args.mem_mb << 20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))
    resource.setrlimit(resource.RLIMIT_CORE, (0, 0))  # a crash leaves no core file behind
    targets.warm_up()
    masked = targets.capture_masked()
    send(args.resp_fd, {"ready": True, "pid": os.getpid(),
                        "maxrss_kb": resource.getrusage(resource.RUSAGE_SELF).ru_maxrss})

    while True:
        try:
            (hlen,) = struct.unpack(">I", read_exact(args.req_fd, 4))
            header = json.loads(read_exact(args.req_fd, hlen))
            (dlen,) = struct.unpack(">I", read_exact(args.req_fd, 4))
            data = read_exact(args.req_fd, dlen)
        except EOFError:
            return 0
        fmt, timeout = header["format"], float(header.get("timeout", 20))
        print(f"=== input {header.get('n')} {fmt} {len(data)} bytes", file=sys.stderr, flush=True)
        masked.records.clear()
        # Before the runner gives up on this input, the stack of every thread goes to the log.
        faulthandler.dump_traceback_later(max(0.5, timeout * 0.85), exit=False)
        start = time.perf_counter()
        reply: dict = {}
        try:
            outcome = targets.target_for(fmt)(data)
            reply = {"status": "accepted", "outcome": str(outcome)[:300]}
        except MemoryError as exc:
            reply = {"status": "memory", **describe(exc)}
        except BaseException as exc:  # noqa: BLE001 - SystemExit and KeyboardInterrupt are findings too
            if targets.is_clean(exc):
                code = getattr(exc, "code", "error")
                reply = {"status": "clean", "outcome": f"error:{code}", "exc_type": type(exc).__name__,
                         "message": str(exc)[:300]}
            else:
                reply = {"status": "foreign", **describe(exc)}
        finally:
            faulthandler.cancel_dump_traceback_later()
        reply["elapsed_ms"] = (time.perf_counter() - start) * 1000
        reply["maxrss_kb"] = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        seen = set()
        out = []
        for record in masked.records:
            exc = record.exc_info[1]
            d = describe(exc)
            d["log"] = record.getMessage()[:300]
            key = (d["exc_type"], d["frame"])
            if key not in seen:
                seen.add(key)
                out.append(d)
        reply["masked"] = out[:5]
        masked.records.clear()
        send(args.resp_fd, reply)


if __name__ == "__main__":
    sys.exit(main())
