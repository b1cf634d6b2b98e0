"""Operator blocklists: terms and RE2 patterns per list, matched on normalised text.

A list is a file named after it, in ``$TAMIS_HOME/blocklists/`` or given in the settings:

* ``NAME.txt``: one entry per line; ``# comment``; ``re:PATTERN`` is an RE2 pattern; any
  other line is a term.
* ``NAME.yaml``: ``{terms: [...], patterns: [...], description: ...}``.

Matching runs on the normalised text (NFKC, no zero-width characters or accents, case
folded, homoglyphs and leetspeak undone, spaced-out letters joined), and a term's letters
may repeat (``free`` matches ``freeeee``). Patterns are RE2: linear time whatever the input,
so an operator's pattern cannot hang the service (no catastrophic backtracking).
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import yaml

from tamis.content.base import Content
from tamis.detectors.base import Detector, Output
from tamis.errors import ConfigError
from tamis.results import Finding, Location, Span

MAX_ENTRIES = 100_000


class BlocklistError(ConfigError):
    code = "blocklist_error"


@dataclass(frozen=True)
class Entry:
    list: str
    value: str  # the term or pattern as the operator wrote it
    is_pattern: bool
    regex: str  # what RE2 runs on normalised text


def _word_char(c: str) -> bool:
    return c.isascii() and c.isalnum()


def term_regex(term: str) -> str:
    """RE2 for a term: normalised like the text, each letter may repeat, words may be split."""
    import re2

    from tamis.text import normalize

    norm = normalize(term).text.strip()
    parts = []
    for c in norm:
        if c.isspace():
            parts.append(r"[\s\W_]*")
        elif c.isalnum():
            parts.append(re2.escape(c) + "+")
        else:
            parts.append(re2.escape(c))
    body = "".join(parts)
    if norm and _word_char(norm[0]):
        body = r"\b" + body
    if norm and _word_char(norm[-1]):
        body += r"\b"
    return body


def _options():
    import re2

    opts = re2.Options()
    opts.log_errors = False
    opts.case_sensitive = False
    opts.max_mem = 8 << 20
    return opts


#: Deepest nesting of groups in a pattern: RE2 compiles 40,000 nested groups, then runs out
#: of memory matching them.
MAX_GROUP_DEPTH = 100
#: Largest compiled program of one pattern (RE2's own measure; a word is about 10).
MAX_PROGRAM_SIZE = 100_000


def _depth(regex: str) -> int:
    depth = deepest = 0
    escaped = in_class = False
    for c in regex:
        if escaped:
            escaped = False
        elif c == "\\":
            escaped = True
        elif in_class:
            in_class = c != "]"
        elif c == "[":
            in_class = True
        elif c == "(":
            depth += 1
            deepest = max(deepest, depth)
        elif c == ")":
            depth = max(0, depth - 1)
    return deepest


def _compile(regex: str, where: str):
    import re2

    if _depth(regex) > MAX_GROUP_DEPTH:
        raise BlocklistError(f"{where}: groups nested more than {MAX_GROUP_DEPTH} deep; simplify the pattern")
    opts = _options()
    try:
        compiled = re2.compile(regex, opts)
    except re2.error as exc:
        raise BlocklistError(f"{where}: not a valid RE2 pattern ({exc}); RE2 has no look-around "
                             "or back-references") from None
    if compiled.programsize > MAX_PROGRAM_SIZE:
        raise BlocklistError(f"{where}: the pattern is too large ({compiled.programsize:,} RE2 instructions, "
                             f"over {MAX_PROGRAM_SIZE:,}); split it")
    return compiled


def read_list(path: Path) -> list[tuple[Entry, str]]:
    """Entries of one list file, each with where it was written (for error messages)."""
    name = path.stem
    try:
        raw = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise BlocklistError(f"{path}: blocklist file not found") from None
    except UnicodeDecodeError:
        raise BlocklistError(f"{path}: blocklist is not UTF-8 text") from None
    entries = []
    if path.suffix in (".yaml", ".yml"):
        try:
            data = yaml.safe_load(raw) or {}
        except Exception as exc:  # noqa: BLE001 - PyYAML's constructors raise many kinds on bad !!tags
            raise BlocklistError(f"{path}: not valid YAML ({type(exc).__name__}: {exc})"[:500]) from None
        if not isinstance(data, dict) or set(data) - {"terms", "patterns", "description"}:
            raise BlocklistError(f"{path}: expected keys terms, patterns, description")
        for key in ("terms", "patterns"):
            items = data.get(key) or []
            if not isinstance(items, list) or not all(isinstance(x, (str, int, float)) for x in items):
                raise BlocklistError(f"{path}: {key} must be a list of words or phrases (one per item)")
        for i, term in enumerate(data.get("terms") or []):
            entries.append((Entry(name, str(term), False, term_regex(str(term))), f"{path}: terms[{i}]"))
        for i, pat in enumerate(data.get("patterns") or []):
            entries.append((Entry(name, str(pat), True, str(pat)), f"{path}: patterns[{i}]"))
    else:
        for lineno, line in enumerate(raw.splitlines(), 1):
            line = line.strip()
            if not line or line.startswith("#"):
                continue
            if line.startswith("re:"):
                entries.append((Entry(name, line[3:], True, line[3:]), f"{path}:{lineno}"))
            else:
                entries.append((Entry(name, line, False, term_regex(line)), f"{path}:{lineno}"))
    if len(entries) > MAX_ENTRIES:
        raise BlocklistError(f"{path}: {len(entries):,} entries is over the limit of {MAX_ENTRIES:,}")
    return entries


def list_files(paths: tuple[Path, ...], home: Path | None) -> list[Path]:
    files = []
    folder = home / "blocklists" if home else None
    if folder and folder.is_dir():
        files += sorted(p for p in folder.iterdir() if p.suffix in (".txt", ".yaml", ".yml"))
    for p in paths:
        files += sorted(q for q in p.iterdir() if q.suffix in (".txt", ".yaml", ".yml")) if p.is_dir() else [p]
    return files


class BlocklistDetector(Detector):
    name = "blocklist"
    version = "blocklist-re2-1"
    labels = frozenset({"blocklist"})
    kinds = frozenset({"text"})
    requires = ("re2",)
    description = "operator term and pattern lists (RE2, on normalised text)"
    load_at_start = True  # a broken list is the operator's to fix, before any input

    def __init__(self, threads: int = 0, files: tuple[Path, ...] = (), home: Path | None = None) -> None:
        super().__init__(threads)
        self.files = files
        self.home = home

    def source_stamp(self) -> tuple:
        stamps = []
        for path in list_files(self.files, self.home):
            try:
                st = path.stat()
                stamps.append((str(path.resolve()), st.st_mtime_ns, st.st_size))
            except OSError:
                stamps.append((str(path), None, None))
        return tuple(stamps)

    def _load(self) -> None:
        import re2

        self.entries: list[Entry] = []
        self.compiled = []
        for path in list_files(self.files, self.home):
            for entry, where in read_list(path):
                self.compiled.append(_compile(entry.regex, where))
                self.entries.append(entry)
        self.set = None
        if self.entries:
            opts = _options()
            opts.max_mem = 256 << 20  # one automaton for every entry of every list
            try:
                self.set = re2.Set.SearchSet(opts)
                for entry in self.entries:
                    self.set.Add(entry.regex)
                if self.set.Compile() is False:
                    raise re2.error("out of memory")
            except re2.error as exc:
                raise BlocklistError(f"the blocklists ({len(self.entries):,} entries) do not compile together "
                                     f"({exc}); split or shorten them") from None

    def analyze_one(self, content: Content) -> Output:
        out = Output()
        if self.set is None:
            return out
        norm = content.normalized()
        hits = self.set.Match(norm.text) or []
        for idx in sorted(hits):
            entry = self.entries[idx]
            for m in self.compiled[idx].finditer(norm.text):
                if m.end() == m.start():
                    continue
                start, end = norm.span(m.start(), m.end())
                out.findings.append(Finding(
                    "blocklist", 1.0, self.name, self.version, Location(span=Span(start, end)),
                    explanation=f"list {entry.list!r}: {'pattern' if entry.is_pattern else 'term'} "
                                f"{entry.value!r}",
                    data={"list": entry.list, "entry": entry.value, "pattern": entry.is_pattern,
                          "text": content.text[start:end]}))
        return out
