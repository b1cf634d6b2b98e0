"""Bank storage behind a narrow interface; SQLite is the embedded default.

A bank is a named collection of entries; an entry is a signal type, a value, a taxonomy
label (``known_content`` unless said otherwise), a note and a source.
"""

from __future__ import annotations

import csv
import io
import json
import re
import sqlite3
import threading
import time
from collections.abc import Iterable, Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Protocol

from tamis.banks.signals import SIGNALS, SignalError
from tamis.content.text import clean_text
from tamis.errors import InputError, TamisError
from tamis.taxonomy import check_label

BANK_NAME = re.compile(r"[a-z0-9][a-z0-9_.-]{0,63}")


class BankError(TamisError):
    code = "bank_error"


@dataclass(frozen=True)
class Bank:
    name: str
    description: str
    created: float
    enabled: bool
    entries: int = 0


@dataclass(frozen=True)
class Entry:
    bank: str
    signal: str
    value: str
    label: str = "known_content"
    note: str | None = None
    source: str | None = None
    id: int | None = None


@dataclass
class ImportReport:
    added: int = 0
    duplicates: int = 0
    errors: list[tuple[int, str]] = field(default_factory=list)


class BankStore(Protocol):
    """What the rest of tamis needs from bank storage (SQLite here; PostgreSQL later)."""

    def create_bank(self, name: str, description: str = "") -> Bank: ...
    def bank(self, name: str) -> Bank: ...
    def banks(self) -> list[Bank]: ...
    def delete_bank(self, name: str) -> None: ...
    def add(self, entries: Iterable[Entry]) -> ImportReport: ...
    def remove(self, bank: str, entry_id: int) -> None: ...
    def entries(self, bank: str | None = None, signal: str | None = None, after_id: int = 0) -> Iterator[Entry]: ...
    def lookup(self, signal: str, value: str) -> list[Entry]: ...
    def get(self, entry_id: int) -> Entry | None: ...
    def version(self) -> tuple[int, int]: ...


#: Longest note or source kept with an entry.
MAX_TEXT_FIELD = 4096


def validate(entry: Entry) -> Entry:
    """The entry with its value in canonical form; an InputError naming what is wrong."""
    if entry.signal not in SIGNALS:
        raise SignalError(f"unknown signal type {entry.signal!r} (use {', '.join(SIGNALS)})")
    value = SIGNALS[entry.signal].parse(entry.value)
    for what in ("note", "source"):
        text = getattr(entry, what)
        if text is not None and not isinstance(text, str):
            raise InputError(f"{what} must be text, not {type(text).__name__}")
        if text is not None and len(text) > MAX_TEXT_FIELD:
            raise InputError(f"{what} is {len(text):,} characters, over the limit of {MAX_TEXT_FIELD:,}")
    try:
        label = check_label(entry.label or "known_content")
    except TamisError as exc:
        raise InputError(exc.message) from None
    return Entry(entry.bank, entry.signal, value, label, clean_text(entry.note) if entry.note else None,
                 clean_text(entry.source) if entry.source else None, entry.id)


class SQLiteBankStore:
    """Banks in one SQLite file (``$TAMIS_HOME/banks.db`` by default). Thread-safe."""

    def __init__(self, path: Path) -> None:
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._local = threading.local()
        with self._db() as db:
            db.executescript("""
                PRAGMA journal_mode=WAL;
                CREATE TABLE IF NOT EXISTS banks (
                    name TEXT PRIMARY KEY, description TEXT NOT NULL DEFAULT '',
                    created REAL NOT NULL, enabled INTEGER NOT NULL DEFAULT 1);
                CREATE TABLE IF NOT EXISTS entries (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    bank TEXT NOT NULL REFERENCES banks(name) ON DELETE CASCADE,
                    signal TEXT NOT NULL, value TEXT NOT NULL,
                    label TEXT NOT NULL DEFAULT 'known_content', note TEXT, source TEXT,
                    added REAL NOT NULL, UNIQUE (bank, signal, value));
                CREATE INDEX IF NOT EXISTS entries_by_value ON entries (signal, value);
                CREATE TABLE IF NOT EXISTS changes (id INTEGER PRIMARY KEY CHECK (id = 1), n INTEGER NOT NULL);
                INSERT OR IGNORE INTO changes VALUES (1, 0);
            """)

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, timeout=30, isolation_level=None)
            db.execute("PRAGMA foreign_keys=ON")
            self._local.db = db
        return db

    def _bump(self, db: sqlite3.Connection) -> None:
        db.execute("UPDATE changes SET n = n + 1 WHERE id = 1")

    def create_bank(self, name: str, description: str = "") -> Bank:
        if not BANK_NAME.fullmatch(name):
            raise BankError(f"bank name {name!r}: use 1-64 lower-case letters, digits, '_', '-', '.'")
        db = self._db()
        try:
            db.execute("INSERT INTO banks (name, description, created) VALUES (?, ?, ?)",
                       (name, description, time.time()))
        except sqlite3.IntegrityError:
            raise BankError(f"bank {name!r} already exists") from None
        return self.bank(name)

    def bank(self, name: str) -> Bank:
        row = self._db().execute(
            "SELECT b.name, b.description, b.created, b.enabled, "
            "(SELECT count(*) FROM entries e WHERE e.bank = b.name) FROM banks b WHERE b.name = ?",
            (name,)).fetchone()
        if row is None:
            raise BankError(f"no bank named {name!r} (tamis banks list)")
        return Bank(row[0], row[1], row[2], bool(row[3]), row[4])

    def banks(self) -> list[Bank]:
        rows = self._db().execute(
            "SELECT b.name, b.description, b.created, b.enabled, "
            "(SELECT count(*) FROM entries e WHERE e.bank = b.name) FROM banks b ORDER BY b.name").fetchall()
        return [Bank(r[0], r[1], r[2], bool(r[3]), r[4]) for r in rows]

    def delete_bank(self, name: str) -> None:
        self.bank(name)
        db = self._db()
        db.execute("BEGIN")
        try:
            db.execute("DELETE FROM banks WHERE name = ?", (name,))  # entries go with it (ON DELETE CASCADE)
            self._bump(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise

    def add(self, entries: Iterable[Entry]) -> ImportReport:
        """Add valid entries; invalid ones are counted in the report (with their index)."""
        report = ImportReport()
        db = self._db()
        known = {row[0] for row in db.execute("SELECT name FROM banks")}
        db.execute("BEGIN")
        try:
            for n, entry in enumerate(entries, 1):
                try:
                    if entry.bank not in known:
                        raise BankError(f"no bank named {entry.bank!r}")
                    e = validate(entry)
                except TamisError as exc:
                    report.errors.append((n, exc.message))
                    continue
                cur = db.execute(
                    "INSERT OR IGNORE INTO entries (bank, signal, value, label, note, source, added) "
                    "VALUES (?, ?, ?, ?, ?, ?, ?)",
                    (e.bank, e.signal, e.value, e.label, e.note, e.source, time.time()))
                if cur.rowcount:
                    report.added += 1
                else:
                    report.duplicates += 1
            self._bump(db)
            db.execute("COMMIT")
        except BaseException:
            db.execute("ROLLBACK")
            raise
        return report

    def remove(self, bank: str, entry_id: int) -> None:
        db = self._db()
        cur = db.execute("DELETE FROM entries WHERE bank = ? AND id = ?", (bank, entry_id))
        if not cur.rowcount:
            raise BankError(f"bank {bank!r} has no entry {entry_id}")
        self._bump(db)

    def entries(self, bank: str | None = None, signal: str | None = None, after_id: int = 0) -> Iterator[Entry]:
        sql = "SELECT bank, signal, value, label, note, source, id FROM entries WHERE id > ?"
        args: list = [after_id]
        if bank:
            sql += " AND bank = ?"
            args.append(bank)
        if signal:
            sql += " AND signal = ?"
            args.append(signal)
        for row in self._db().execute(sql + " ORDER BY id", args):
            yield Entry(*row)

    def lookup(self, signal: str, value: str) -> list[Entry]:
        rows = self._db().execute(
            "SELECT e.bank, e.signal, e.value, e.label, e.note, e.source, e.id FROM entries e "
            "JOIN banks b ON b.name = e.bank WHERE b.enabled = 1 AND e.signal = ? AND e.value = ?",
            (signal, value)).fetchall()
        return [Entry(*r) for r in rows]

    def get(self, entry_id: int) -> Entry | None:
        row = self._db().execute(
            "SELECT e.bank, e.signal, e.value, e.label, e.note, e.source, e.id FROM entries e "
            "JOIN banks b ON b.name = e.bank WHERE b.enabled = 1 AND e.id = ?", (entry_id,)).fetchone()
        return Entry(*row) if row else None

    def version(self) -> tuple[int, int]:
        """(change counter, highest entry id): changes when anything is added or removed."""
        db = self._db()
        n = db.execute("SELECT n FROM changes WHERE id = 1").fetchone()[0]
        top = db.execute("SELECT coalesce(max(id), 0) FROM entries").fetchone()[0]
        return int(n), int(top)


# --- import and export ------------------------------------------------------------------

FIELDS = ("signal", "value", "label", "note", "source")


def parse_rows(bank: str, data: str, fmt: str, default_signal: str | None = None) -> Iterator[tuple[int, Entry | str]]:
    """(line number, entry or error message) for each row of a CSV (with a header) or JSON-lines text."""
    if fmt == "csv":
        reader = csv.DictReader(io.StringIO(data))
        try:
            fieldnames = reader.fieldnames
        except csv.Error as exc:
            yield 1, f"unreadable CSV header ({exc})"
            return
        if not fieldnames or "value" not in fieldnames:
            yield 1, "the CSV needs a header with at least a 'value' column (and signal, label, note, source)"
            return
        rows = iter(reader)
        while True:
            try:
                row = next(rows)
            except StopIteration:
                return
            except csv.Error as exc:  # a field over the csv module's limit, a NUL...: the rest is unreadable
                yield reader.line_num, f"unreadable CSV ({exc}); the lines after it were not read"
                return
            signal = (row.get("signal") or default_signal or "").strip()
            yield reader.line_num, Entry(bank, signal, row.get("value") or "", (row.get("label") or "").strip(),
                                         row.get("note"), row.get("source"))
    elif fmt == "jsonl":
        for n, line in enumerate(data.splitlines(), 1):
            if not line.strip():
                continue
            try:
                obj = json.loads(line)
            except json.JSONDecodeError as exc:
                yield n, f"not JSON ({exc.msg})"
                continue
            except RecursionError:
                yield n, "not JSON (nested too deeply)"
                continue
            except ValueError as exc:  # an integer of 20,000 digits
                yield n, f"not JSON ({exc})"[:300]
                continue
            if not isinstance(obj, dict) or not isinstance(obj.get("value"), str):
                yield n, "expected an object with a string 'value'"
                continue
            yield n, Entry(bank, str(obj.get("signal") or default_signal or ""), obj["value"],
                           str(obj.get("label") or ""), obj.get("note"), obj.get("source"))
    else:
        raise BankError(f"unknown format {fmt!r} (use csv or jsonl)")


def import_text(store: BankStore, bank: str, data: str, fmt: str, default_signal: str | None = None) -> ImportReport:
    """Import rows; invalid lines are reported with their line numbers, valid ones are kept.
    An unknown bank is one error (a BankError), not one per line."""
    store.bank(bank)
    rows = list(parse_rows(bank, data, fmt, default_signal))
    good = [(n, r) for n, r in rows if isinstance(r, Entry)]
    report = store.add(r for _, r in good)
    report.errors = sorted([(n, r) for n, r in rows if isinstance(r, str)]
                           + [(good[i - 1][0], msg) for i, msg in report.errors])
    return report


def export_text(store: BankStore, bank: str, fmt: str) -> str:
    store.bank(bank)  # an unknown bank is an error, not an empty export
    rows = [asdict(e) for e in store.entries(bank)]
    if fmt == "jsonl":
        return "".join(json.dumps({k: r[k] for k in FIELDS if r[k] is not None}) + "\n" for r in rows)
    if fmt == "csv":
        buf = io.StringIO()
        writer = csv.DictWriter(buf, fieldnames=FIELDS, extrasaction="ignore", lineterminator="\n")
        writer.writeheader()
        writer.writerows(rows)
        return buf.getvalue()
    raise BankError(f"unknown format {fmt!r} (use csv or jsonl)")
