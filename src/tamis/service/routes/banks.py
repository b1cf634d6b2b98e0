"""Hash banks over HTTP: what ``tamis banks`` does, through the same library calls.

The banks are the SQLite store at ``settings.banks_db`` (the one the CLI and the ``banks``
detector use), opened once per :class:`~tamis.service.state.Service`. Reading banks and
looking hashes up needs the ``scan`` scope; changing them needs ``admin``, and every change
is written to the audit log.

The service opens the store before it builds its engine (so the bank detector, in the
server and in the job worker processes, reads it from the start); every change is seen by
the next scan, as the detector follows the store's version itself.
"""

from __future__ import annotations

import json
import threading
import weakref
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Annotated, Literal

from fastapi import APIRouter, Path, Query, Request, Response
from fastapi.concurrency import run_in_threadpool
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

from tamis.banks.index import PdqMatcher
from tamis.banks.signals import SIGNALS, SignalError
from tamis.banks.store import Bank, BankError, Entry, SQLiteBankStore, export_text, import_text, validate
from tamis.detectors.banks import PDQ_THRESHOLD, bank_signals
from tamis.engine import Engine
from tamis.service.auth import Caller, caller
from tamis.service.bodies import parse, read_scan
from tamis.service.errors import ServiceError
from tamis.service.state import Service
from tamis.storage.db import stamp

router = APIRouter(tags=["banks"])

Format = Literal["csv", "jsonl"]
#: The largest entry id (SQLite's INTEGER): a larger one in a request is a 422, not a database error.
MAX_ID = 2**63 - 1
MEDIA_TYPES = {"csv": "text/csv; charset=utf-8", "jsonl": "application/x-ndjson"}


# -- the store, once per service ------------------------------------------------------------


@dataclass
class Banks:
    """A service's bank store, and a PDQ matcher of its own for when the engine runs no bank detector."""

    store: SQLiteBankStore
    matcher: PdqMatcher | None = None


_opened: weakref.WeakKeyDictionary[Service, Banks] = weakref.WeakKeyDictionary()
_opening = threading.Lock()


def banks_of(service: Service) -> Banks:
    """The service's banks (its store, opened when the service was built)."""
    with _opening:
        banks = _opened.get(service)
        if banks is None:
            banks = _opened[service] = Banks(service.bank_store)
    return banks


def bank_store(service: Service) -> SQLiteBankStore:
    return banks_of(service).store


def bank_detector(engine: Engine):
    """The engine's bank detector, loaded, or None when the engine runs none."""
    det = next((d for d in engine.detectors if d.matches_exact), None)
    if det is not None:
        det.load()
    return det


def existing_bank(store: SQLiteBankStore, name: str) -> Bank:
    try:
        return store.bank(name)
    except BankError:
        raise ServiceError("not_found", f"no bank named {name!r} (GET /v1/banks lists them)") from None


# -- matching, as the bank detector matches ---------------------------------------------------


def pdq_search(service: Service, hexes: list[str]) -> list[list[tuple[int, int]]]:
    """(entry id, distance) of the PDQ entries within the bank detector's threshold of each hash,
    from the detector's own index (or, without a bank detector, from an index of this module's)."""
    banks = banks_of(service)
    det = bank_detector(service.engine)
    if det is not None and det.pdq is not None:
        with det.lock:  # the detector's index is used by one thread at a time
            return det.pdq.search(hexes, det.pdq_threshold)
    with _opening:
        if banks.matcher is None:
            banks.matcher = PdqMatcher(banks.store, service.settings.indexes_dir)
        return banks.matcher.search(hexes, PDQ_THRESHOLD)


def canonical(signal: str, value: str) -> str:
    """``value`` in canonical form; a SignalError (422) for an unknown signal or a malformed value."""
    if signal not in SIGNALS:
        raise SignalError(f"unknown signal type {signal!r} (use {', '.join(SIGNALS)})")
    return SIGNALS[signal].parse(value)


def find_matches(service: Service, signal: str, value: str) -> list[tuple[Entry, int]]:
    """(entry, distance) of every entry of the enabled banks that ``value`` matches: exactly,
    and for PDQ also within the distance the bank detector uses. Nearest first."""
    value = canonical(signal, value)
    store = bank_store(service)
    best: dict[int, tuple[Entry, int]] = {e.id: (e, 0) for e in store.lookup(signal, value)}
    if not SIGNALS[signal].exact:
        for entry_id, distance in pdq_search(service, [value])[0]:
            if entry_id in best and best[entry_id][1] <= distance:
                continue
            entry = store.get(entry_id)  # None: removed since the index was built
            if entry is not None:
                best[entry_id] = (entry, distance)
    return sorted(best.values(), key=lambda m: (m[1], m[0].bank, m[0].id))


# -- shapes -----------------------------------------------------------------------------------


def bank_dict(bank: Bank) -> dict:
    created = datetime.fromtimestamp(bank.created, UTC).replace(tzinfo=None)
    return {"name": bank.name, "description": bank.description, "enabled": bank.enabled,
            "entries": bank.entries, "created_at": stamp(created)}


def entry_dict(entry: Entry, distance: int | None = None) -> dict:
    out = asdict(entry)
    if distance is not None:
        out["distance"] = distance
    return out


def actor(who: Caller) -> str:
    return who.key.name if who.key else "anonymous"


class BankBody(BaseModel):
    model_config = ConfigDict(extra="forbid")

    name: str = Field(..., max_length=256, description="1-64 lower-case letters, digits, '_', '-', '.'")
    description: str = Field("", max_length=4096)


class EntryBody(BaseModel):
    """One hash added as it is, without content."""

    model_config = ConfigDict(extra="forbid")

    signal: str = Field(..., description="md5, sha256, pdq or text")
    value: str = Field(..., max_length=256)
    label: str | None = Field(None, max_length=64, description="A taxonomy label (default known_content).")
    note: str | None = Field(None, max_length=4096)
    source: str | None = Field(None, max_length=4096)


# -- routes: banks ----------------------------------------------------------------------------


@router.get("/v1/banks", summary="List the banks, with their entry counts")
def list_banks(request: Request, who: Caller = caller("scan")) -> JSONResponse:
    return JSONResponse({"banks": [bank_dict(b) for b in bank_store(request.app.state.service).banks()]})


@router.post("/v1/banks", status_code=201, summary="Create a bank")
def create_bank(request: Request, body: BankBody, who: Caller = caller("admin")) -> JSONResponse:
    service = request.app.state.service
    store = bank_store(service)
    try:
        bank = store.create_bank(body.name, body.description)
    except BankError:
        if any(b.name == body.name for b in store.banks()):
            raise ServiceError("bank_exists", f"bank {body.name!r} already exists") from None
        raise
    service.keys.audit(actor(who), "bank.create", bank.name, {"description": bank.description})
    return JSONResponse(bank_dict(bank), status_code=201, headers={"Location": f"/v1/banks/{bank.name}/entries"})


@router.delete("/v1/banks/{name}", status_code=204, summary="Delete a bank and all its entries")
def delete_bank(request: Request, name: str, who: Caller = caller("admin")) -> Response:
    service = request.app.state.service
    store = bank_store(service)
    bank = existing_bank(store, name)
    store.delete_bank(name)
    service.keys.audit(actor(who), "bank.delete", name, {"entries": bank.entries})
    return Response(status_code=204)


@router.get("/v1/banks/lookup", summary="Look a hash up in every enabled bank (PDQ: near matches too)")
def lookup(request: Request, signal: Annotated[str, Query(max_length=16)],
           value: Annotated[str, Query(max_length=256)], who: Caller = caller("scan")) -> JSONResponse:
    matches = find_matches(request.app.state.service, signal, value)
    return JSONResponse({"signal": signal, "value": canonical(signal, value),
                         "matches": [entry_dict(e, d) for e, d in matches]})


# -- routes: entries --------------------------------------------------------------------------


@router.get("/v1/banks/{name}/entries", summary="A bank's entries, with their ids, oldest first")
def list_entries(request: Request, name: str, who: Caller = caller("admin"),
                 after: Annotated[int, Query(ge=0, le=MAX_ID)] = 0,
                 limit: Annotated[int, Query(ge=1, le=1000)] = 100) -> JSONResponse:
    store = bank_store(request.app.state.service)
    existing_bank(store, name)
    entries = []
    for entry in store.entries(name, after_id=after):
        entries.append(entry_dict(entry))
        if len(entries) == limit:
            break
    return JSONResponse({"entries": entries, "next": entries[-1]["id"] if len(entries) == limit else None})


ENTRIES_BODY = {"requestBody": {"required": True, "content": {
    "application/json": {"schema": {"oneOf": [
        EntryBody.model_json_schema(),
        {"type": "object", "properties": {"data": {"type": "string", "description": "a file in base64"},
                                          "text": {"type": "string"}, "name": {"type": "string"}}}]}},
    "multipart/form-data": {"schema": {"type": "object", "properties": {
        "file": {"type": "string", "format": "binary"}, "text": {"type": "string"}}}},
    "application/octet-stream": {"schema": {"type": "string", "format": "binary"}}}}}


async def entries_of_request(request: Request, bank: str, label: str | None, note: str | None) -> list[Entry]:
    """The entries a request to add asks for: one hash given as JSON, or the hashes of an upload."""
    service = request.app.state.service
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype == "application/json":
        try:
            obj = json.loads(await request.body())
        except (ValueError, RecursionError):
            raise ServiceError("invalid_request", "the body is not valid JSON") from None
        if isinstance(obj, dict) and ("signal" in obj or "value" in obj):
            body = parse(EntryBody, obj)
            return [Entry(bank, body.signal, body.value, body.label or label or "known_content",
                          body.note if body.note is not None else note, body.source)]
    item = await read_scan(request)

    def hashes() -> list[Entry]:
        content = service.open(name=item.name, text=item.text, data=item.read())
        return [Entry(bank, s, v, label or "known_content", note, source=item.name)
                for s, v in bank_signals(content)]

    return await run_in_threadpool(hashes)


@router.post("/v1/banks/{name}/entries", status_code=201, openapi_extra=ENTRIES_BODY,
             summary="Add entries: the hashes of an upload (as tamis banks add), or one hash",
             responses={200: {"description": "Nothing added: every entry was in the bank already"}})
async def add_entries(request: Request, name: str, who: Caller = caller("admin"),
                      label: Annotated[str | None, Query(max_length=64)] = None,
                      note: Annotated[str | None, Query(max_length=4096)] = None) -> JSONResponse:
    service = request.app.state.service
    store = bank_store(service)
    existing_bank(store, name)
    entries = [validate(e) for e in await entries_of_request(request, name, label, note)]  # 422 for a bad one

    def add() -> tuple:
        report = store.add(entries)
        wanted = {(e.signal, e.value) for e in entries}
        stored = {e.id: e for s, v in wanted for e in store.lookup(s, v) if e.bank == name}
        return report, sorted(stored.values(), key=lambda e: e.id)

    report, stored = await run_in_threadpool(add)
    service.keys.audit(actor(who), "bank.add", name, {
        "added": report.added, "duplicates": report.duplicates,
        "signals": sorted({e.signal for e in entries}), "source": entries[0].source if entries else None})
    return JSONResponse({"added": report.added, "duplicates": report.duplicates,
                         "entries": [entry_dict(e) for e in stored]}, status_code=201 if report.added else 200)


@router.delete("/v1/banks/{name}/entries/{entry_id}", status_code=204, summary="Remove one entry")
def remove_entry(request: Request, name: str, entry_id: Annotated[int, Path(ge=0, le=MAX_ID)],
                 who: Caller = caller("admin")) -> Response:
    service = request.app.state.service
    store = bank_store(service)
    existing_bank(store, name)
    entry = store.get(entry_id)
    if entry is None or entry.bank != name:
        raise ServiceError("not_found", f"bank {name!r} has no entry {entry_id}")
    store.remove(name, entry_id)
    service.keys.audit(actor(who), "bank.remove", name, {"entry": entry_id, "signal": entry.signal,
                                                          "value": entry.value})
    return Response(status_code=204)


# -- routes: import and export ----------------------------------------------------------------


def format_of(request: Request, given: str | None) -> str:
    """The import format: as given, else from the content type (JSON lines), else CSV as the CLI."""
    if given:
        return given
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    return "jsonl" if "json" in ctype else "csv"


@router.post("/v1/banks/{name}/import", summary="Import entries from CSV or JSON lines (as tamis banks import)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "text/csv": {"schema": {"type": "string"}}, "application/x-ndjson": {"schema": {"type": "string"}}}}})
async def import_entries(request: Request, name: str, who: Caller = caller("admin"),
                         format: Annotated[Format | None, Query()] = None,
                         signal: Annotated[str | None, Query(max_length=16)] = None) -> JSONResponse:
    service = request.app.state.service
    store = bank_store(service)
    existing_bank(store, name)
    fmt = format_of(request, format)
    try:
        text = (await request.body()).decode("utf-8")
    except UnicodeDecodeError as exc:
        raise ServiceError("invalid_request",
                           f"the body is not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    report = await run_in_threadpool(import_text, store, name, text, fmt, signal)
    service.keys.audit(actor(who), "bank.import", name, {"format": fmt, "added": report.added,
                                                          "duplicates": report.duplicates,
                                                          "errors": len(report.errors)})
    return JSONResponse({"added": report.added, "duplicates": report.duplicates,
                         "errors": [{"line": n, "message": m} for n, m in report.errors[:1000]],
                         "error_count": len(report.errors)})


@router.get("/v1/banks/{name}/export", summary="Export a bank's entries (as tamis banks export)",
            response_class=Response, responses={200: {"content": {
                t.split(";")[0]: {"schema": {"type": "string"}} for t in MEDIA_TYPES.values()}}})
def export_entries(request: Request, name: str, who: Caller = caller("admin"),
                   format: Annotated[Format, Query()] = "csv") -> Response:
    store = bank_store(request.app.state.service)
    existing_bank(store, name)
    return Response(export_text(store, name, format), media_type=MEDIA_TYPES[format],
                    headers={"Content-Disposition": f'attachment; filename="{name}.{format}"'})
