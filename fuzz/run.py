"""Fuzz tamis's loaders: mutated inputs through the real entry points, in a child process.

    .venv/bin/python fuzz/run.py --seconds 120                     # every format, a bounded check (CI)
    .venv/bin/python fuzz/run.py --seconds 900 --report docs/FUZZING.md
    .venv/bin/python fuzz/run.py --seconds 60 --formats png,pdf,zip
    .venv/bin/python fuzz/run.py --replay fuzz/findings            # run saved inputs again
    .venv/bin/python fuzz/run.py --atheris --formats pdf --seconds 300   # coverage-guided (atheris)

Inputs start from the seeds in fuzz/corpus/<format>/ (fuzz/make_corpus.py) and are mutated
(fuzz/mutators.py); an input that gives a new kind of outcome joins that format's pool.
Each input runs in a long-lived worker process (fuzz/worker.py) with an address-space limit
and a wall-clock limit; when the worker dies or hangs, the finding is recorded and a new
worker starts. The time budget is split evenly across the formats.

What is a finding: an exception that is not a tamis.errors.TamisError ("foreign"), a native
crash (the worker died on a signal), a hang (past --timeout), a memory blow-up (MemoryError,
or a peak RSS over --rss-mb). Exceptions that tamis caught and logged itself ("masked") are
reported, and count as findings only with --strict. Findings are deduplicated by format,
kind, exception type and innermost frame; the smallest input of each is saved to --out as
<format>-<kind>-<sha1[:12]>.<ext> with a .txt holding the traceback.

Exit status: 0 when nothing was found, 1 when something was, 2 on a usage error.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import json
import os
import platform
import random
import re
import select
import shlex
import signal
import struct
import subprocess
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from pathlib import Path

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(HERE))

from mutators import Mutator  # noqa: E402
from targets import FORMATS, seeds  # noqa: E402

KINDS = ("foreign", "crash", "hang", "memory", "masked")
#: Not a finding: the slowest input of a format, kept when over --slow-ms (to look at).
SLOW = "slow"
REPORT_START = "<!-- fuzz-report:start -->"
REPORT_END = "<!-- fuzz-report:end -->"
#: Inputs kept per format besides the seeds (those that reached a new outcome).
POOL_MAX = 300


# -- the worker process ----------------------------------------------------------------------------


class Worker:
    """A child process that runs inputs; restarted whenever it dies, hangs or bloats."""

    def __init__(self, timeout: float, mem_mb: int, log_dir: Path, rss_mb: int = 2048) -> None:
        self.timeout, self.mem_mb, self.log_dir, self.rss_mb = timeout, mem_mb, log_dir, rss_mb
        self.proc: subprocess.Popen | None = None
        self.starts = 0
        self.log_path = log_dir / "worker.log"
        self.tmp = log_dir / "tmp"
        self.tmp.mkdir(parents=True, exist_ok=True)

    def close(self) -> None:
        """Stop the worker and remove its log and temporary files."""
        import shutil

        self.stop()
        shutil.rmtree(self.log_dir, ignore_errors=True)

    def start(self) -> None:
        self.stop()
        req_r, req_w = os.pipe()
        resp_r, resp_w = os.pipe()
        env = dict(os.environ)
        for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
            env.setdefault(key, "1")
        env["PYTHONFAULTHANDLER"] = "1"
        env["TMPDIR"] = str(self.tmp)  # what a killed worker leaves behind goes when the run ends
        env["PYTHONDONTWRITEBYTECODE"] = "1"
        self.log = open(self.log_path, "ab")
        self.proc = subprocess.Popen(
            [sys.executable, str(HERE / "worker.py"), "--req-fd", str(req_r), "--resp-fd", str(resp_w),
             "--mem-mb", str(self.mem_mb)],
            pass_fds=(req_r, resp_w), stdin=subprocess.DEVNULL, stdout=self.log, stderr=self.log, env=env,
            cwd=str(ROOT))
        os.close(req_r)
        os.close(resp_w)
        self.req, self.resp = req_w, resp_r
        self.buffer = b""
        self.starts += 1
        ready = self._read_line(120.0)
        if ready is None or not ready.get("ready"):
            tail = self.log_tail(0)
            raise RuntimeError(f"the fuzz worker did not start:\n{tail[-3000:]}")
        self.baseline_kb = ready.get("maxrss_kb", 0)

    def stop(self) -> None:
        if self.proc is None:
            return
        for fd in (self.req, self.resp):
            try:
                os.close(fd)
            except OSError:
                pass
        if self.proc.poll() is None:
            self.proc.kill()
        try:
            self.proc.wait(10)
        except subprocess.TimeoutExpired:
            pass
        self.log.close()
        self.proc = None

    def _read_line(self, timeout: float) -> dict | None:
        """The next answer; None if the worker closed the pipe (died) or the time ran out
        (``self.timed_out`` tells which)."""
        deadline = time.monotonic() + timeout
        self.timed_out = False
        while b"\n" not in self.buffer:
            left = deadline - time.monotonic()
            if left <= 0:
                self.timed_out = True
                return None
            ready, _, _ = select.select([self.resp], [], [], left)
            if not ready:
                continue
            chunk = os.read(self.resp, 1 << 16)
            if not chunk:
                return None
            self.buffer += chunk
        line, self.buffer = self.buffer.split(b"\n", 1)
        return json.loads(line)

    def log_size(self) -> int:
        try:
            return self.log_path.stat().st_size
        except OSError:
            return 0

    def log_tail(self, offset: int, limit: int = 60000) -> str:
        try:
            with open(self.log_path, "rb") as fh:
                fh.seek(offset)
                data = fh.read()
        except OSError:
            return ""
        return data[-limit:].decode("utf-8", "replace")

    def run(self, fmt: str, data: bytes, n: int) -> dict:
        if self.proc is None or self.proc.poll() is not None:
            self.start()
        if self.log_size() > 16 << 20:  # FFmpeg and friends are chatty about damaged input
            os.truncate(self.log_path, 0)
        offset = self.log_size()
        header = json.dumps({"format": fmt, "timeout": self.timeout, "n": n}).encode()
        message = struct.pack(">I", len(header)) + header + struct.pack(">I", len(data)) + data
        start = time.perf_counter()
        try:
            view = memoryview(message)
            while view:
                _, writable, _ = select.select([], [self.req], [], self.timeout)
                if not writable:
                    raise BrokenPipeError("worker does not read")
                view = view[os.write(self.req, view[:1 << 16]):]
            reply = self._read_line(self.timeout)
        except (BrokenPipeError, OSError):
            reply = None
            self.timed_out = False
        elapsed = (time.perf_counter() - start) * 1000
        if reply is not None:
            return reply
        if self.timed_out:
            peak_kb = _peak_rss_kb(self.proc.pid)
            self.proc.kill()
            self.proc.wait()
            log = self.log_tail(offset)
            self.stop()
            if peak_kb > self.rss_mb * 1024:  # still allocating when the time ran out
                return {"status": "memory", "elapsed_ms": elapsed, "log": log, **_stack_from_log(log, hang=True),
                        "exc_type": "RSS", "message": f"peak RSS {peak_kb // 1024} MB and no answer after "
                                                      f"{self.timeout:.0f} s"}
            return {"status": "hang", "elapsed_ms": elapsed, "log": log, **_stack_from_log(log, hang=True),
                    "exc_type": "Timeout", "message": f"no answer after {self.timeout:.0f} s"}
        code = self.proc.wait()
        log = self.log_tail(offset)
        self.stop()
        sig = -code if code < 0 else None
        name = signal.Signals(sig).name if sig else f"exit {code}"
        memory = bool(re.search(r"MemoryError|bad_alloc|Cannot allocate memory|out of memory|std::length_error",
                                log)) or sig == signal.SIGKILL
        return {"status": "memory" if memory else "crash", "elapsed_ms": elapsed, "log": log,
                **_stack_from_log(log, hang=False), "exc_type": name,
                "message": _fatal_line(log) or f"worker died ({name})"}


def _peak_rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as fh:
            for line in fh:
                if line.startswith("VmHWM:"):
                    return int(line.split()[1])
    except (OSError, ValueError):
        pass
    return 0


def _fatal_line(log: str) -> str | None:
    for line in log.splitlines():
        if line.startswith(("Fatal Python error", "terminate called", "Assertion", "double free", "free():",
                            "malloc():", "corrupted", "munmap_chunk", "realloc():")) or "Assertion" in line:
            return line.strip()[:300]
    return None


_FRAME = re.compile(r'^\s+File "([^"]+)", line (\d+) in (\S+)')


def _stack_from_log(log: str, hang: bool) -> dict:
    """The innermost frame from a faulthandler dump: of the thread that crashed, or (a
    hang) of the thread that runs the input, skipping the harness's own frames."""
    from worker import short_path

    blocks: list[tuple[str, list[tuple[str, int, str]]]] = []
    for line in log.splitlines():
        if line.startswith(("Thread 0x", "Current thread 0x")):
            blocks.append((line, []))
        elif blocks and (m := _FRAME.match(line)):
            blocks[-1][1].append((m.group(1), int(m.group(2)), m.group(3)))
    if not blocks:
        return {"frame": "?", "tamis_frame": None, "traceback": log[-20000:]}
    last_dump = blocks
    # A hang dump lists every thread; the input runs in the thread whose outermost frame is the worker.
    if hang:
        chosen = next((b for b in reversed(last_dump) if b[1] and b[1][-1][0].endswith("worker.py")), last_dump[-1])
    else:
        chosen = next((b for b in reversed(last_dump) if b[0].startswith("Current thread")), last_dump[-1])
    frames = [f for f in chosen[1] if not f[0].startswith(str(HERE) + os.sep)]  # most recent first
    inner = frames[0] if frames else None
    tamis = next((f for f in frames if "/tamis/" in f[0]), None)
    return {"frame": f"{short_path(inner[0])}:{inner[1]}" if inner else "?",
            "function": inner[2] if inner else "?",
            "tamis_frame": f"{short_path(tamis[0])}:{tamis[1]}" if tamis else None,
            "traceback": log[-20000:]}


# -- findings and counts ----------------------------------------------------------------------------


@dataclass
class Finding:
    fmt: str
    kind: str
    exc_type: str
    message: str
    frame: str
    tamis_frame: str | None
    count: int = 0
    size: int = 0
    path: Path | None = None
    how: str = ""


@dataclass
class Stats:
    tried: int = 0
    counts: Counter = field(default_factory=Counter)  # accepted, clean and the kinds of KINDS
    ms: float = 0.0
    max_ms: float = 0.0
    distinct: Counter = field(default_factory=Counter)

    def add(self, status: str, elapsed: float) -> None:
        self.tried += 1
        self.counts[status] += 1
        self.ms += elapsed
        self.max_ms = max(self.max_ms, elapsed)


class Recorder:
    def __init__(self, out: Path | None, strict: bool) -> None:
        self.out, self.strict = out, strict  # out None: nothing saved (replay: the inputs are files already)
        self.findings: dict[tuple, Finding] = {}

    def record(self, fmt: str, kind: str, info: dict, data: bytes, how: str, stats: Stats) -> Finding:
        frame = info.get("frame", "?")
        if info.get("exc_type") == "RecursionError":  # where the limit hits varies; where it started does not
            frame = info.get("tamis_frame") or frame
        key = (fmt, kind, info.get("exc_type", "?"), frame)
        f = self.findings.get(key)
        new = f is None
        if new:
            f = self.findings[key] = Finding(fmt, kind, info.get("exc_type", "?"), info.get("message", ""),
                                             info.get("frame", "?"), info.get("tamis_frame"))
            stats.distinct[kind] += 1
        f.count += 1
        if self.out is None:
            if new:
                f.size, f.how, f.path = len(data), how, Path(how.split(" ", 1)[-1])
            return f
        if new or len(data) < f.size:  # keep the smallest input that shows it
            if f.path is not None:
                for p in (f.path, f.path.with_name(f.path.name + ".txt")):
                    p.unlink(missing_ok=True)
            f.size, f.how, f.message = len(data), how, info.get("message", f.message)
            f.path = self._save(fmt, kind, info, data, how)
        return f

    def _save(self, fmt: str, kind: str, info: dict, data: bytes, how: str) -> Path:
        self.out.mkdir(parents=True, exist_ok=True)
        digest = hashlib.sha1(data).hexdigest()[:12]
        path = self.out / f"{fmt}-{kind}-{digest}{FORMATS[fmt].ext if fmt in FORMATS else '.bin'}"
        path.write_bytes(data)
        rel = _rel(path)
        text = [f"format:      {fmt}", f"kind:        {kind}", f"exception:   {info.get('exc_type')}",
                f"message:     {info.get('message', '')[:2000]}", f"frame:       {info.get('frame')}",
                f"tamis frame: {info.get('tamis_frame')}", f"size:        {len(data)} bytes",
                f"mutation:    {how}", f"replay:      .venv/bin/python fuzz/run.py --replay {shlex.quote(rel)}", ""]
        if info.get("traceback"):
            text += ["traceback:", info["traceback"]]
        elif info.get("log"):
            text += ["log:", info["log"][-20000:]]
        (path.with_name(path.name + ".txt")).write_text("\n".join(text), encoding="utf-8")
        return path

    def slow(self, fmt: str, ms: float, data: bytes, how: str, reply: dict) -> None:
        """Keep a format's slowest input (not a finding: something to look at)."""
        info = {"exc_type": "slow", "message": f"{ms:.0f} ms, outcome {reply.get('outcome')}"
                                               f"{' ' + reply.get('message', '') if reply.get('message') else ''}",
                "frame": "-"}
        f = Finding(fmt, SLOW, "slow", info["message"], "-", None, 1, len(data), None, how)
        if self.out is not None:
            f.path = self._save(fmt, SLOW, info, data, how)
        self.findings[(fmt, SLOW)] = f

    def failing(self) -> list[Finding]:
        return [f for f in self.findings.values() if f.kind in KINDS and (f.kind != "masked" or self.strict)]


def _rel(path: Path) -> str:
    try:
        return str(path.resolve().relative_to(ROOT))
    except ValueError:
        return str(path)


# -- the fuzzing loop --------------------------------------------------------------------------------


def _signature(reply: dict) -> str:
    """What kind of outcome an input had (coarse: a new one keeps the input in the pool)."""
    status = reply.get("status", "?")
    if status == "accepted":
        return "ok " + reply.get("outcome", "")
    if status == "clean":
        msg = re.sub(r"\d+", "N", reply.get("message", ""))
        msg = re.sub(r"'[^']*'", "'S'", msg)
        msg = re.sub(r"<[^>]*>", "", msg)
        return f"clean {reply.get('outcome', '')} {msg[:60]}"
    return f"{status} {reply.get('exc_type')} {reply.get('frame')}"


def handle(reply: dict, fmt: str, data: bytes, how: str, stats: Stats, rec: Recorder, rss_mb: int,
           worker: Worker | None, verbose: bool) -> str:
    status = reply.get("status", "crash")
    elapsed = float(reply.get("elapsed_ms", 0.0))
    if status in ("accepted", "clean") and reply.get("maxrss_kb", 0) > rss_mb * 1024:
        status = "memory"
        reply = {**reply, "exc_type": "RSS", "frame": "?",
                 "message": f"peak RSS {reply['maxrss_kb'] // 1024} MB over --rss-mb {rss_mb}"}
    if status == "memory" and worker is not None:
        worker.stop()  # whatever it holds on to (and its peak RSS) goes with it
    stats.add(status, elapsed)
    if status in KINDS:
        f = rec.record(fmt, status, reply, data, how, stats)
        if verbose or f.count == 1:
            print(f"  [{fmt}] {status}: {reply.get('exc_type')}: {str(reply.get('message'))[:120]} "
                  f"at {reply.get('frame')} -> {_rel(f.path) if f.path else '?'}", flush=True)
    for m in reply.get("masked", []):
        stats.counts["masked"] += 1
        f = rec.record(fmt, "masked", m, data, how, stats)
        if f.count == 1:
            print(f"  [{fmt}] masked: {m.get('exc_type')}: {str(m.get('message'))[:100]} at {m.get('frame')}",
                  flush=True)
    return status


def fuzz(formats: list[str], seconds: float, args, rec: Recorder) -> dict[str, Stats]:
    rng = random.Random(args.seed)
    all_seeds = {f: seeds(f) for f in FORMATS}
    mutator = Mutator(rng, all_seeds)
    worker = Worker(args.timeout, args.mem_mb, Path(tempfile.mkdtemp(prefix="tamis-fuzz-log-")), args.rss_mb)
    stats = {f: Stats() for f in formats}
    per_format = seconds / len(formats)
    n = 0
    start_all = time.monotonic()
    try:
        for i, fmt in enumerate(formats):
            # What earlier formats left unused (a quick one) goes to the rest.
            left = seconds - (time.monotonic() - start_all)
            budget = max(per_format, left / (len(formats) - i)) if args.rebalance else per_format
            deadline = time.monotonic() + budget
            spec = FORMATS[fmt]
            base = all_seeds[fmt]
            if not base:
                print(f"{fmt}: no seeds in fuzz/corpus/{fmt}/ (run fuzz/make_corpus.py)", file=sys.stderr)
                continue
            pool = list(base)
            seen: set[str] = set()
            st = stats[fmt]
            # The seeds themselves first: each must be accepted or refused cleanly.
            queue = [(s, "seed") for s in base]
            mutate_s = run_s = 0.0
            slowest: tuple[float, bytes, str, dict] | None = None
            while time.monotonic() < deadline and (args.max_inputs is None or st.tried < args.max_inputs):
                t0 = time.perf_counter()
                if queue:
                    data, how = queue.pop(0)
                else:
                    parent = rng.choice(pool)
                    data, how = mutator.mutate(fmt, spec.family, parent, pool)
                t1 = time.perf_counter()
                n += 1
                reply = worker.run(fmt, data, n)
                t2 = time.perf_counter()
                mutate_s += t1 - t0
                run_s += t2 - t1
                ms = float(reply.get("elapsed_ms", 0))
                if reply.get("status") in ("accepted", "clean") and (slowest is None or ms > slowest[0]):
                    slowest = (ms, data, how, reply)
                status = handle(reply, fmt, data, how, st, rec, args.rss_mb, worker, args.verbose)
                sig = _signature(reply)
                if sig not in seen:
                    seen.add(sig)
                    if status in ("accepted", "clean") and data not in pool:
                        if len(pool) >= POOL_MAX + len(base):
                            pool[rng.randrange(len(base), len(pool))] = data
                        else:
                            pool.append(data)
            if slowest is not None and slowest[0] >= args.slow_ms:
                ms, data, how, reply = slowest
                rec.slow(fmt, ms, data, how, reply)
            c = st.counts
            print(f"{fmt:15s} {st.tried:6d} inputs  {c['clean']:6d} clean  {c['accepted']:6d} accepted  "
                  f"{sum(c[k] for k in KINDS if k != 'masked'):4d} findings  {c['masked']:4d} masked  "
                  f"{st.ms / max(1, st.tried):7.1f} ms/input  pool {len(pool)}  worker starts {worker.starts}  "
                  f"(mutating {mutate_s:.0f} s, running {run_s:.0f} s)",
                  flush=True)
    finally:
        worker.close()
    return stats


def replay(paths: list[Path], forced: str | None, args, rec: Recorder) -> dict[str, Stats]:
    by_ext = {}
    for spec in FORMATS.values():
        by_ext.setdefault(spec.ext, spec.name)
    worker = Worker(args.timeout, args.mem_mb, Path(tempfile.mkdtemp(prefix="tamis-fuzz-log-")), args.rss_mb)
    stats: dict[str, Stats] = {}
    try:
        for n, path in enumerate(paths, 1):
            fmt = forced
            if fmt is None:
                prefix = path.name.split("-", 1)[0]
                fmt = prefix if prefix in FORMATS else next(
                    (by_ext[e] for e in sorted(by_ext, key=len, reverse=True) if path.name.endswith(e)), None)
            if fmt is None:
                print(f"{path}: format unknown (name it <format>-... or give --formats)", file=sys.stderr)
                continue
            data = path.read_bytes()
            reply = worker.run(fmt, data, n)
            st = stats.setdefault(fmt, Stats())
            status = handle(reply, fmt, data, f"replay {path}", st, rec, args.rss_mb, worker, True)
            detail = reply.get("outcome") or ""
            if status not in ("accepted",):
                detail = f"{reply.get('exc_type')}: {str(reply.get('message'))[:150]} at {reply.get('frame', '')}"
            print(f"{_rel(path)}: [{fmt}] {status} ({reply.get('elapsed_ms', 0):.0f} ms) {detail}", flush=True)
    finally:
        worker.close()
    return stats


def selftest(args) -> int:
    """Check that the harness tells the kinds of outcome apart, with inputs that misbehave
    on purpose; and that the worker survives them (it is restarted)."""
    cases = [("clean", "clean"), ("accepted", "accepted"), ("foreign", "foreign"), ("masked", "accepted"),
             ("crash", "crash"), ("abort", "crash"), ("hang", "hang"), ("memory", "memory"), ("accepted", "accepted")]
    args.timeout = min(args.timeout, 5.0)
    worker = Worker(args.timeout, args.mem_mb, Path(tempfile.mkdtemp(prefix="tamis-fuzz-log-")), args.rss_mb)
    rec = Recorder(None, strict=True)
    st = Stats()
    bad = 0
    try:
        for n, (how, expected) in enumerate(cases, 1):
            reply = worker.run("selftest", how.encode() + b" input", n)
            status = handle(reply, "selftest", how.encode(), how, st, rec, args.rss_mb, worker, False)
            masked_ok = how != "masked" or bool(reply.get("masked"))
            ok = status == expected and masked_ok
            bad += not ok
            print(f"selftest {how:9s} -> {status:9s} frame {reply.get('frame', '-')}  {'ok' if ok else 'WRONG'}")
    finally:
        worker.close()
    print(f"worker started {worker.starts} times")
    return 1 if bad else 0


# -- atheris ------------------------------------------------------------------------------------------


def run_atheris(fmt: str, seconds: float, args) -> int:
    """Coverage-guided fuzzing of one target in this process (libFuzzer through atheris).

    libFuzzer's own rules apply: an uncaught exception, a crash, a timeout (--timeout) or an
    RSS over --rss-mb stops the run and leaves the input as ``<out>/atheris-<format>-crash-*``.
    """
    try:
        import atheris
    except ImportError:
        print("atheris is not installed: pip install -r requirements/fuzz.txt", file=sys.stderr)
        return 2
    import importlib
    import pkgutil
    import shutil

    import targets

    targets.limit_threads()
    with atheris.instrument_imports(include=["tamis"]):
        import tamis

        for mod in pkgutil.walk_packages(tamis.__path__, "tamis."):
            if ".training" in mod.name:
                continue
            try:
                importlib.import_module(mod.name)
            except Exception:  # noqa: BLE001 - an optional extra that is not installed
                pass
        targets.warm_up()
    target = targets.target_for(fmt)

    def test_one_input(data: bytes) -> None:
        try:
            target(data)
        except Exception as exc:
            if targets.is_clean(exc):
                return
            raise

    work = args.out / f"atheris-corpus-{fmt}"
    work.mkdir(parents=True, exist_ok=True)
    for p in (targets.corpus_dir() / fmt).iterdir():
        shutil.copy(p, work / p.name)
    argv = [sys.argv[0], str(work), f"-max_total_time={int(seconds)}", f"-timeout={int(args.timeout)}",
            f"-rss_limit_mb={args.rss_mb}", f"-artifact_prefix={args.out}/atheris-{fmt}-", "-print_final_stats=1",
            f"-max_len={args.atheris_max_len}"]
    if args.seed is not None:
        argv.append(f"-seed={args.seed}")
    print("atheris:", " ".join(argv[1:]), flush=True)
    atheris.Setup(argv, test_one_input)
    atheris.Fuzz()
    return 0


# -- the report ----------------------------------------------------------------------------------------


def table(stats: dict[str, Stats], rec: Recorder) -> str:
    head = ("| format | inputs tried | clean errors | accepted (no error) | foreign exceptions | crashes | hangs | "
            "memory | masked | ms/input (mean / max) |")
    lines = [head, "|" + "---|" * 10]
    total = Stats()
    for fmt, st in stats.items():
        c = st.counts

        def cell(kind: str, c=c, st=st) -> str:
            return f"{c[kind]} ({st.distinct[kind]})" if c[kind] else "0"

        lines.append(f"| {fmt} | {st.tried} | {c['clean']} | {c['accepted']} | {cell('foreign')} | {cell('crash')} | "
                     f"{cell('hang')} | {cell('memory')} | {cell('masked')} | "
                     f"{st.ms / max(1, st.tried):.1f} / {st.max_ms:.0f} |")
        total.tried += st.tried
        total.counts.update(c)
        total.distinct.update(st.distinct)
        total.ms += st.ms
        total.max_ms = max(total.max_ms, st.max_ms)
    c = total.counts
    lines.append(f"| **all** | {total.tried} | {c['clean']} | {c['accepted']} | "
                 f"{c['foreign']} ({total.distinct['foreign']}) "
                 f"| {c['crash']} ({total.distinct['crash']}) | {c['hang']} ({total.distinct['hang']}) | "
                 f"{c['memory']} ({total.distinct['memory']}) | {c['masked']} ({total.distinct['masked']}) | "
                 f"{total.ms / max(1, total.tried):.1f} / {total.max_ms:.0f} |")
    return "\n".join(lines)


def findings_list(rec: Recorder) -> str:
    if not rec.findings:
        return "No findings."
    rows = ["| format | kind | exception | innermost frame | tamis frame | inputs | reproducer |", "|" + "---|" * 7]
    order = sorted(rec.findings.values(), key=lambda f: ((KINDS + (SLOW,)).index(f.kind), f.fmt, f.exc_type))
    for f in order:
        msg = f.message.replace("|", "\\|").replace("\n", " ")[:100]
        rows.append(f"| {f.fmt} | {f.kind} | `{f.exc_type}`: {msg} | `{f.frame}` | `{f.tamis_frame or '-'}` | "
                    f"{f.count} | `{_rel(f.path) if f.path else '-'}` |")
    return "\n".join(rows)


def report_text(stats: dict[str, Stats], rec: Recorder, args, seconds_used: float, command: str) -> str:
    when = dt.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %Z")
    machine = f"{platform.system()} {platform.machine()}, {os.cpu_count()} cores, Python {platform.python_version()}"
    return "\n".join([
        REPORT_START,
        f"Run of {when} on {machine}: `{command}` ({seconds_used / 60:.1f} min wall, seed {args.seed}).",
        "Counts are inputs; a number in brackets is of distinct findings (format, kind, exception, innermost frame).",
        "",
        table(stats, rec),
        "",
        findings_list(rec),
        REPORT_END,
    ])


def write_report(path: Path, text: str) -> None:
    """Write the report into ``path`` between its markers (the rest of the file is kept),
    or at its end when it has none."""
    old = path.read_text(encoding="utf-8") if path.is_file() else ""
    if REPORT_START in old and REPORT_END in old:
        before, rest = old.split(REPORT_START, 1)
        _, after = rest.split(REPORT_END, 1)
        new = before + text + after
    else:
        new = (old.rstrip() + "\n\n" if old.strip() else "") + text + "\n"
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(new, encoding="utf-8")


# -- command line -----------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0],
                                 formatter_class=argparse.RawDescriptionHelpFormatter,
                                 epilog="formats: " + ", ".join(FORMATS))
    ap.add_argument("--seconds", type=float, default=60.0, help="total time budget, split across formats (60)")
    ap.add_argument("--formats", help="comma-separated formats (default: all)")
    ap.add_argument("--out", type=Path, default=HERE / "findings", help="where reproducers go (fuzz/findings)")
    ap.add_argument("--report", type=Path, help="write the table into this markdown file (between its markers)")
    ap.add_argument("--timeout", type=float, default=20.0, help="seconds one input may take (20)")
    ap.add_argument("--mem-mb", type=int, default=3072, help="address-space limit of the worker, MB (3072)")
    ap.add_argument("--rss-mb", type=int, default=2048, help="peak RSS that counts as a memory finding, MB (2048)")
    ap.add_argument("--slow-ms", type=float, default=2000.0,
                    help="keep a format's slowest input when it took this long, ms (2000; not a finding)")
    ap.add_argument("--seed", type=int, help="random seed (default: from the clock, printed)")
    ap.add_argument("--max-inputs", type=int, help="stop a format after this many inputs")
    ap.add_argument("--no-rebalance", dest="rebalance", action="store_false",
                    help="do not give later formats the time earlier ones left")
    ap.add_argument("--strict", action="store_true", help="masked exceptions count as findings")
    ap.add_argument("--replay", type=Path, metavar="DIR", help="run every file in DIR (or one file) and report")
    ap.add_argument("--atheris", action="store_true", help="coverage-guided with atheris, one format")
    ap.add_argument("--atheris-max-len", type=int, default=65536, help="largest input atheris makes (65536)")
    ap.add_argument("--selftest", action="store_true", help="check the harness on inputs that misbehave on purpose")
    ap.add_argument("-v", "--verbose", action="store_true", help="print every finding input, not the first")
    args = ap.parse_args(argv)

    formats = [f.strip() for f in args.formats.split(",") if f.strip()] if args.formats else list(FORMATS)
    unknown = [f for f in formats if f not in FORMATS]
    if unknown:
        ap.error(f"unknown format(s) {', '.join(unknown)}; known: {', '.join(FORMATS)}")
    if args.seed is None:
        args.seed = int(time.time()) % 1_000_000
    command = "python fuzz/run.py " + " ".join(shlex.quote(a) for a in (argv if argv is not None else sys.argv[1:]))
    rec = Recorder(args.out, args.strict)
    start = time.monotonic()

    if args.selftest:
        return selftest(args)
    if args.atheris:
        if len(formats) != 1:
            ap.error("--atheris fuzzes one format: give --formats NAME")
        return run_atheris(formats[0], args.seconds, args)
    if args.replay is not None:
        target = args.replay
        if not target.exists():
            ap.error(f"{target}: no such file or folder")
        paths = [target] if target.is_file() else sorted(
            p for p in target.iterdir() if p.is_file() and not p.name.endswith(".txt") and not p.name.startswith("."))
        forced = formats[0] if args.formats and len(formats) == 1 else None
        rec.out = None
        stats = replay(paths, forced, args, rec)
    else:
        print(f"fuzzing {len(formats)} formats for {args.seconds:.0f} s (seed {args.seed}, "
              f"timeout {args.timeout:.0f} s, memory {args.mem_mb} MB)", flush=True)
        stats = fuzz(formats, args.seconds, args, rec)

    used = time.monotonic() - start
    print()
    print(table(stats, rec))
    print()
    print(findings_list(rec))
    if args.report:
        write_report(args.report, report_text(stats, rec, args, used, command))
        print(f"\nreport written to {args.report}")
    failing = rec.failing()
    if failing:
        where = f"; reproducers in {_rel(args.out)}" if rec.out is not None else ""
        print(f"\n{len(failing)} distinct finding(s){where}")
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
