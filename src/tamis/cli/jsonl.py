"""``tamis scan --jsonl``: bulk text mode, one output line per input line, in order."""

from __future__ import annotations

import itertools
import json
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Optional

from tamis.cli.common import fail, open_output
from tamis.cli.output import summary
from tamis.errors import TamisError


def read_jsonl(path: Path):
    """(line number, id, text) per line; a line that is not {"id", "text"} gives an error instead
    of the text."""
    from tamis.errors import InputError

    with path.open("rb") as fh:
        for lineno, raw in enumerate(fh, 1):
            if not raw.strip():
                continue
            try:
                item = json.loads(raw)
            except ValueError as exc:  # not JSON, not UTF-8, an integer of 20,000 digits
                yield lineno, f"line {lineno}", InputError(f"line {lineno}: not a JSON object ({exc})"[:300])
                continue
            except RecursionError:
                yield lineno, f"line {lineno}", InputError(f"line {lineno}: JSON nested too deeply")
                continue
            if not isinstance(item, dict) or not isinstance(item.get("text"), str):
                ident = item.get("id", f"line {lineno}") if isinstance(item, dict) else f"line {lineno}"
                yield lineno, ident, InputError(f"line {lineno}: expected {{\"id\": ..., \"text\": \"...\"}}")
                continue
            yield lineno, item.get("id", f"line {lineno}"), item["text"]


JSONL_CHUNK = 256


def scan_jsonl(engine, path: Path, output: Optional[Path], workers: int = 1, options: dict | None = None) -> None:
    """Bulk text mode: one output line per input line, in order, errors included. Streams."""
    if not path.is_file():
        fail(TamisError(f"{path}: no such file"))
    sink = open_output(output)
    counts: Counter[str] = Counter()
    start = time.perf_counter()
    items, feed = itertools.tee(read_jsonl(path))
    texts = ((f"line {lineno}", value) for lineno, _, value in feed if isinstance(value, str))
    if workers > 1:
        from tamis.engine.pool import scan_texts_parallel

        scanned = scan_texts_parallel(texts, workers, **options)
    else:
        scanned = engine.scan_texts(texts, batch_size=JSONL_CHUNK)
    for _, ident, value in items:
        line = jsonl_line(ident, next(scanned) if isinstance(value, str) else None, value)
        counts["error" if "error" in line else line["decision"]] += 1
        print(json.dumps(line, ensure_ascii=False), file=sink or sys.stdout)
    if sink:
        sink.close()
    summary(counts, time.perf_counter() - start)


def jsonl_line(ident, result, value) -> dict:
    """The output line of one input line: its scores, decision and findings, or its error."""
    if result is None:
        return {"id": ident, "error": value.to_dict(), "findings": []}
    if result.error:
        return {"id": ident, "error": result.error.to_dict(), "findings": [f.to_dict() for f in result.findings]}
    line = {"id": ident, "scores": {k: round(v, 4) for k, v in result.scores().items()},
            "decision": result.action, "findings": [f.to_dict() for f in result.findings]}
    if result.language:
        line["language"] = result.language
    return line
