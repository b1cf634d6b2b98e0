"""``tamis banks`` (hash banks of known content) and ``tamis hash``."""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from tamis.cli.common import EXIT_ERROR, TYPER, err, expand_paths, fail, out
from tamis.errors import TamisError

banks_app = typer.Typer(help="Hash banks of known content (stored under $TAMIS_HOME).", **TYPER)


def _store():
    from tamis.banks import SQLiteBankStore
    from tamis.config import load_settings

    return SQLiteBankStore(load_settings().banks_db)


@banks_app.command("create")
def banks_create(name: Annotated[str, typer.Argument(metavar="BANK", help="Bank name.")],
                 description: Annotated[str, typer.Option(metavar="TEXT", help="What the bank holds.")] = "") -> None:
    """Create a bank."""
    try:
        bank = _store().create_bank(name, description)
    except TamisError as exc:
        fail(exc)
    err.print(f"created bank {bank.name}", highlight=False)


@banks_app.command("list")
def banks_list(format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                                  help="table or json.")] = "table") -> None:
    """List banks with their entry counts."""
    banks = _store().banks()
    if format == "json":
        print(json.dumps([b.__dict__ for b in banks], indent=2))
        return
    table = Table(header_style="bold")
    for col in ("bank", "entries", "enabled", "description"):
        table.add_column(col)
    for b in banks:
        table.add_row(b.name, str(b.entries), "yes" if b.enabled else "no", escape(b.description))
    out.print(table)


@banks_app.command("delete")
def banks_delete(name: Annotated[str, typer.Argument(metavar="BANK", help="Bank name.")]) -> None:
    """Delete a bank and all its entries."""
    try:
        _store().delete_bank(name)
    except TamisError as exc:
        fail(exc)
    err.print(f"deleted bank {name}", highlight=False)


@banks_app.command("add")
def banks_add(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="Bank name.")],
    files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Images, videos or texts to hash and add.")],
    label: Annotated[str, typer.Option(metavar="LABEL", help="Taxonomy label of the entries.")] = "known_content",
    note: Annotated[Optional[str], typer.Option(metavar="TEXT", help="A note kept with each entry.")] = None,
) -> None:
    """Hash files and add them to a bank.

    The hashes are MD5, SHA-256, and PDQ for images and video frames, or the text hash
    for texts."""
    from tamis.banks import Entry
    from tamis.engine import Engine

    store = _store()
    try:
        store.bank(bank)  # an unknown bank fails once, before any file is hashed
    except TamisError as exc:
        fail(exc)
    engine = Engine(detectors=[])
    entries, failed = [], 0
    for f in expand_paths([str(p) for p in files]):
        try:
            for signal, value in _hashes_of(engine, f):
                entries.append(Entry(bank, signal, value, label, note, source=f))
        except TamisError as exc:
            failed += 1
            err.print(escape(f"skipped {f}: [{exc.code}] {exc.message}"), highlight=False)
    try:
        report = store.add(entries)
    except TamisError as exc:
        fail(exc)
    _report_added(report, "entry ", failed, "errors")


def _report_added(report, where: str, failed: int, what: str) -> None:
    """Print each rejected entry and a summary of an add or import; exit 2 if any failed."""
    for n, msg in report.errors:
        err.print(escape(f"{where}{n}: {msg}"), highlight=False)
    err.print(f"{report.added} added, {report.duplicates} already there, {len(report.errors) + failed} {what}",
              highlight=False)
    if report.errors or failed:
        raise typer.Exit(EXIT_ERROR)


def _hashes_of(engine, path: str) -> list[tuple[str, str]]:
    """The bank signals of one file (:func:`tamis.detectors.banks.bank_signals`)."""
    from tamis.detectors.banks import bank_signals

    return bank_signals(engine.open(path))


@banks_app.command("remove")
def banks_remove(bank: Annotated[str, typer.Argument(metavar="BANK", help="Bank name.")],
                 entry: Annotated[int, typer.Argument(
                     metavar="ID", help="Entry id (tamis banks export shows them).")]) -> None:
    """Remove one entry (by its id, as export shows)."""
    try:
        _store().remove(bank, entry)
    except TamisError as exc:
        fail(exc)
    err.print(f"removed entry {entry} from {bank}", highlight=False)


@banks_app.command("import")
def banks_import(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="Bank name.")],
    file: Annotated[Path, typer.Argument(metavar="FILE", help="The CSV or JSON-lines file.")],
    format: Annotated[Optional[str], typer.Option(
        "--format", "-f", metavar="FORMAT", help="csv or jsonl (default: from the name).")] = None,
    signal: Annotated[Optional[str], typer.Option(
        metavar="SIGNAL", help="Signal type for rows that do not name one.")] = None,
) -> None:
    """Import entries from CSV or JSON lines.

    A CSV file has the header signal,value,label,note,source."""
    from tamis.banks.store import import_text

    fmt = format or ("jsonl" if file.suffix in (".jsonl", ".json") else "csv")
    try:
        data = file.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as exc:
        fail(TamisError(f"{file}: cannot read ({exc})"))
    try:
        report = import_text(_store(), bank, data, fmt, signal)
    except TamisError as exc:
        fail(exc)
    _report_added(report, f"{file}:", 0, "invalid lines (skipped)")


@banks_app.command("export")
def banks_export(
    bank: Annotated[str, typer.Argument(metavar="BANK", help="Bank name.")],
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="csv or jsonl.")] = "csv",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE",
                                                   help="Write here (default: standard output).")] = None,
) -> None:
    """Export a bank's entries."""
    from tamis.banks.store import export_text

    try:
        text = export_text(_store(), bank, format)
    except TamisError as exc:
        fail(exc)
    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
        output.write_text(text, encoding="utf-8")
    else:
        sys.stdout.write(text)


@banks_app.command("stats")
def banks_stats() -> None:
    """Entries per bank and signal type, and the state of the PDQ index."""
    from collections import Counter as C

    store = _store()
    counts = C((e.bank, e.signal) for e in store.entries())
    table = Table(header_style="bold")
    for col in ("bank", "signal", "entries"):
        table.add_column(col)
    for (bank, signal), n in sorted(counts.items()):
        table.add_row(bank, signal, str(n))
    out.print(table)
    from tamis.banks.index import PdqIndex
    from tamis.config import load_settings

    idx = PdqIndex.load(load_settings().indexes_dir)
    version = store.version()
    state = ("not built" if idx is None else
             f"{len(idx.ids)} PDQ hashes, built at change {idx.version[0]} "
             f"({'current' if tuple(idx.version) == version else 'newer entries are in the side index'})")
    err.print(f"PDQ index: {state}", highlight=False)


def hash_cmd(files: Annotated[list[Path], typer.Argument(metavar="FILE", help="Images, videos or texts.")],
             format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                                 help="table or json.")] = "table") -> None:
    """Print the hashes of files.

    MD5, SHA-256, and PDQ (images, and sampled video frames) or the text hash (texts)."""
    from tamis.detectors.hashes import content_hashes
    from tamis.engine import Engine

    engine = Engine(detectors=[])
    rows, failed = [], False
    for f in expand_paths([str(p) for p in files]):
        try:
            rows.append({"file": f, **content_hashes(engine.open(f)).to_dict()})
        except TamisError as exc:
            failed = True
            rows.append({"file": f, "error": exc.to_dict()})
    if format == "json":
        print(json.dumps(rows, indent=2))
    else:
        for r in rows:
            if "error" in r:
                err.print(escape(f"{r['file']}: [{r['error']['code']}] {r['error']['message']}"), highlight=False)
                continue
            print(r["file"])
            for k in ("md5", "sha256", "pdq", "text"):
                if k in r:
                    print(f"  {k:7s} {r[k]}")
            for fr in r.get("frames", []):
                print(f"  pdq     {fr['pdq']}  frame {fr['frame']}, quality {fr['quality']}")
    if failed:
        raise typer.Exit(EXIT_ERROR)
