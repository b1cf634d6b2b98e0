"""Fuzz targets: one function per loader family, bytes in, the real tamis entry point called.

Each target takes the input bytes and runs them through the same code the CLI and the
Python API run, with cheap detectors only (hashes, banks, PII, blocklist: no models), so
that thousands of inputs run in minutes. A target returns a short outcome string (used to
keep inputs that reach new behaviour) or raises:

* a :class:`tamis.errors.TamisError`: a clean error, what tamis promises for bad input;
* anything else: a finding ("foreign exception").

Hangs, memory blow-ups and native crashes are caught by the runner (fuzz/run.py), which
calls these functions in a child process (fuzz/worker.py).

The engine also catches unexpected exceptions itself in places (a container that cannot be
read, a detector that fails) and turns them into error results, logging them with a
traceback. Those are not hidden here: :func:`capture_masked` collects them, and the runner
reports them as "masked" (an unexpected exception tamis survived).
"""

from __future__ import annotations

import json
import logging
import os
import tempfile
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

#: Detectors that need no model: hashing, bank look-ups, regular expressions.
CHEAP_DETECTORS = ("hashes", "banks", "pii", "blocklist")

#: Texts the blocklist target matches each list against.
PROBES = ("Congratulations! You won a FREE gift card, cl@im n0w at winner.example.com",
          "c l a i m   now, 1234-5678, caf\u00e9 bank  login xxxxxx", "\u200bf\u0072\u0435\u0435 g\u0131ft")


@dataclass(frozen=True)
class Format:
    name: str
    ext: str  # extension of a reproducer
    target: str  # a key of TARGETS
    family: str  # which structure-aware mutations apply (fuzz/mutators.py)


FORMATS: dict[str, Format] = {f.name: f for f in (
    Format("png", ".png", "scan", "png"),
    Format("jpeg", ".jpg", "scan", "binary"),
    Format("gif", ".gif", "scan", "binary"),
    Format("webp", ".webp", "scan", "riff"),
    Format("bmp", ".bmp", "scan", "binary"),
    Format("tiff", ".tiff", "scan", "tiff"),
    Format("heic", ".heic", "scan", "isobmff"),
    Format("avif", ".avif", "scan", "isobmff"),
    Format("pdf", ".pdf", "scan", "pdf"),
    Format("docx", ".docx", "scan", "zip"),
    Format("pptx", ".pptx", "scan", "zip"),
    Format("xlsx", ".xlsx", "scan", "zip"),
    Format("odt", ".odt", "scan", "zip"),
    Format("ods", ".ods", "scan", "zip"),
    Format("html", ".html", "scan", "html"),
    Format("eml", ".eml", "scan", "eml"),
    Format("zip", ".zip", "scan", "zip"),
    Format("tar", ".tar", "scan", "tar"),
    Format("targz", ".tar.gz", "scan", "gzip"),
    Format("mp4", ".mp4", "video", "isobmff"),
    Format("mkv", ".mkv", "video", "binary"),
    Format("webm", ".webm", "video", "binary"),
    Format("avi", ".avi", "video", "riff"),
    Format("srt", ".srt", "scan", "text"),
    Format("vtt", ".vtt", "scan", "text"),
    Format("txt", ".txt", "scan", "text"),
    Format("jsonl", ".jsonl", "jsonl", "json"),
    Format("policy", ".yaml", "policy", "yaml"),
    Format("blocklist", ".txt", "blocklist", "text"),
    Format("blocklist_yaml", ".yaml", "blocklist_yaml", "yaml"),
    Format("bank_csv", ".csv", "bank_csv", "csv"),
    Format("bank_jsonl", ".jsonl", "bank_jsonl", "json"),
)}
#: Not fuzzed: inputs that misbehave on purpose (run.py --selftest).
SELFTEST = Format("selftest", ".bin", "selftest", "binary")


# -- shared state of one process ---------------------------------------------------------------


class _State:
    """One engine, one temporary home, one bank store per process (built on first use)."""

    def __init__(self) -> None:
        self._tmp = tempfile.TemporaryDirectory(prefix="tamis-fuzz-")
        self.root = Path(self._tmp.name)
        self.home = self.root / "home"
        self.inputs = self.root / "inputs"
        self.inputs.mkdir(parents=True)
        self._engine = None
        self._store = None
        self._policy = None

    @property
    def engine(self):
        if self._engine is None:
            from tamis.banks.store import SQLiteBankStore, import_text
            from tamis.config import Settings
            from tamis.engine import Engine

            (self.home / "blocklists").mkdir(parents=True, exist_ok=True)
            (self.home / "blocklists" / "seed.txt").write_text(
                "free gift\nclaim now\nre:\\bwin(ner)?\\b\nbank login\n", encoding="utf-8")
            store = SQLiteBankStore(self.home / "banks.db")  # a bank, so the matcher runs its look-ups
            store.create_bank("seed")
            import_text(store, "seed", "signal,value\nmd5,0123456789abcdef0123456789abcdef\n"
                                       f"pdq,{'a5' * 32}\n", "csv")
            self._engine = Engine(Settings(home=self.home, detectors=CHEAP_DETECTORS))
            self._policy = self._engine.policy
        return self._engine

    @property
    def store(self):
        if self._store is None:
            from tamis.banks.store import SQLiteBankStore

            self._store = SQLiteBankStore(self.root / "imports" / "banks.db")
        return self._store

    def file(self, data: bytes, ext: str) -> Path:
        """``data`` written to a file (the targets whose entry point reads a path)."""
        path = self.inputs / f"input{ext}"
        path.write_bytes(data)
        return path


_state: _State | None = None


def state() -> _State:
    global _state
    if _state is None:
        _state = _State()
    return _state


def warm_up() -> None:
    """Import and build everything once, so the first input's time is not the set-up's."""
    s = state()
    _ = s.engine, s.store
    import tamis.content.document  # noqa: F401
    import tamis.content.video  # noqa: F401


# -- the targets ----------------------------------------------------------------------------------


def _summary(result) -> str:
    """A coarse description of a result: what reached where (not the scores)."""
    bits = [result.kind or "?", result.media_type or "?"]
    if result.error:
        bits.append("error:" + result.error.code)
    doc = getattr(result, "document", None)
    if doc is not None:
        bits.append(f"parts:{min(len(doc.parts), 9)}")
        bits += sorted({"part-error:" + p.error.code for p in doc.parts if p.error})
        bits += sorted({"part:" + (p.kind or "?") for p in doc.parts if not p.error})
    if result.frames:
        bits.append(f"frames:{min(result.frames, 9)}")
    bits += sorted({f.label.split("/")[0] for f in result.findings})
    return " ".join(bits)


def scan(data: bytes) -> str:
    """Engine.scan on bytes: sniffing, then the image, text, document or archive loader."""
    return _summary(state().engine.scan(data))


def scan_video(data: bytes) -> str:
    """Engine.scan on a file path, as the CLI scans videos (streamed from disk by PyAV)."""
    s = state()
    return _summary(s.engine.scan(s.file(data, ".video")))


def _cli():
    import tamis.cli.jsonl as cli

    return cli


def jsonl(data: bytes) -> str:
    """The CLI's bulk text mode (``tamis scan --jsonl``): its reader, Engine.scan_texts, and
    its output line for every input line."""
    cli = _cli()
    s = state()
    path = s.file(data, ".jsonl")
    items = list(cli.read_jsonl(path))
    texts = [(f"line {lineno}", value) for lineno, _, value in items if isinstance(value, str)]
    scanned = iter(s.engine.scan_texts(iter(texts), batch_size=cli.JSONL_CHUNK))
    codes = set()
    for _, ident, value in items:
        line = cli.jsonl_line(ident, next(scanned) if isinstance(value, str) else None, value)
        json.dumps(line, ensure_ascii=False)
        codes.add(line.get("error", {}).get("code", line.get("decision", "?")))
    return f"lines:{min(len(items), 9)} " + " ".join(sorted(map(str, codes)))


def policy(data: bytes) -> str:
    """tamis.policy.load_policy on a file, every profile it names, and a decision with it."""
    from tamis.policy import load_policy
    from tamis.results import Finding, Location
    from tamis.taxonomy import LABELS

    s = state()
    path = s.file(data, ".yaml")
    pol = load_policy(path)
    findings = [Finding(label, score, "fuzz", "1", Location()) for label in sorted(LABELS)[:40]
                for score in (0.0, 0.55, 1.0)]
    out = [pol.decide(findings).action.value]
    for profile in pol.profiles:
        out.append(load_policy(path, profile).decide(findings).action.value)
    return f"rules:{min(len(pol.rules), 9)} profiles:{min(len(pol.profiles), 9)} " + ",".join(sorted(set(out)))


def _blocklist(data: bytes, ext: str) -> str:
    """A blocklist file given in the settings: read, compiled, and matched against texts."""
    from tamis.config import Settings
    from tamis.engine import Engine

    s = state()
    folder = s.root / "lists"
    folder.mkdir(exist_ok=True)
    path = folder / f"fuzzlist{ext}"
    path.write_bytes(data)
    engine = Engine(Settings(home=s.root / "empty-home", detectors=("blocklist",), blocklists=(path,)),
                    policy=s._policy or s.engine.policy)
    results = list(engine.scan_texts(list(PROBES)))
    hits = [len(r.findings) for r in results]
    errors = [r.error.code for r in results if r.error]
    return f"hits:{[min(h, 3) for h in hits]} " + " ".join(sorted(set(errors)))


def blocklist(data: bytes) -> str:
    return _blocklist(data, ".txt")


def blocklist_yaml(data: bytes) -> str:
    return _blocklist(data, ".yaml")


def _bank_import(data: bytes, ext: str, fmt: str) -> str:
    """``tamis banks import BANK FILE``: the file read as the CLI reads it (UTF-8 text,
    universal newlines), tamis.banks.store.import_text into a SQLite store, then exported."""
    from tamis.banks.store import export_text, import_text
    from tamis.errors import TamisError

    s = state()
    path = s.file(data, ext)
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:  # the CLI reports these (_fail)
        raise TamisError(f"{path}: cannot read ({exc})") from None
    store = s.store
    if any(b.name == "fuzz" for b in store.banks()):
        store.delete_bank("fuzz")
    store.create_bank("fuzz")
    report = import_text(store, "fuzz", text, fmt)
    export_text(store, "fuzz", "csv")
    export_text(store, "fuzz", "jsonl")
    return f"added:{min(report.added, 3)} dup:{min(report.duplicates, 3)} errors:{min(len(report.errors), 3)}"


def bank_csv(data: bytes) -> str:
    return _bank_import(data, ".csv", "csv")


def bank_jsonl(data: bytes) -> str:
    return _bank_import(data, ".jsonl", "jsonl")


TARGETS: dict[str, Callable[[bytes], str]] = {
    "scan": scan, "video": scan_video, "jsonl": jsonl, "policy": policy,
    "blocklist": blocklist, "blocklist_yaml": blocklist_yaml, "bank_csv": bank_csv, "bank_jsonl": bank_jsonl,
}


def _selftest(data: bytes) -> str:
    """Inputs that misbehave on purpose, to check the harness tells each kind apart
    (``run.py --selftest``): the first word of the input says how."""
    how = data.split(b" ", 1)[0]
    if how == b"foreign":
        raise KeyError("a foreign exception")
    if how == b"clean":
        from tamis.errors import CorruptInputError

        raise CorruptInputError("a clean error")
    if how == b"crash":
        import ctypes

        ctypes.string_at(0)  # reads address 0: SIGSEGV
    if how == b"abort":
        os.abort()
    if how == b"hang":
        import time

        while True:
            time.sleep(0.1)
    if how == b"memory":
        hog = bytearray(64 << 30)  # 64 GB: over any address-space limit
        return str(len(hog))
    if how == b"masked":
        try:
            raise IndexError("caught and logged")
        except IndexError:
            logging.getLogger("tamis").exception("reading selftest")
        return "ok"
    return "accepted"


def target_for(fmt: str) -> Callable[[bytes], str]:
    if fmt == "selftest":
        return _selftest
    return TARGETS[FORMATS[fmt].target]


# -- the oracle --------------------------------------------------------------------------------------


class _Masked(logging.Handler):
    """Collects the records tamis logs with a traceback (``log.exception``)."""

    def __init__(self) -> None:
        super().__init__(logging.ERROR)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        if record.exc_info and record.exc_info[1] is not None:
            self.records.append(record)


def capture_masked() -> _Masked:
    """Install (once) and return the handler that sees exceptions tamis caught and logged."""
    log = logging.getLogger("tamis")
    for h in log.handlers:
        if isinstance(h, _Masked):
            return h
    handler = _Masked()
    log.addHandler(handler)
    log.propagate = False  # the records are reported by the runner, not printed
    return handler


def is_clean(exc: BaseException) -> bool:
    from tamis.errors import TamisError

    return isinstance(exc, TamisError)


def corpus_dir() -> Path:
    return Path(__file__).resolve().parent / "corpus"


def seeds(fmt: str) -> list[bytes]:
    folder = corpus_dir() / fmt
    return [p.read_bytes() for p in sorted(folder.iterdir()) if p.is_file()] if folder.is_dir() else []


def limit_threads() -> None:
    """One thread per library: the fuzzer runs beside other work, and results must not
    depend on a thread pool's timing."""
    for key in ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS", "NUMEXPR_NUM_THREADS"):
        os.environ.setdefault(key, "1")
    for key in [k for k in os.environ if k.startswith("TAMIS_")]:
        del os.environ[key]
