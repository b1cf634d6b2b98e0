"""A self-contained HTML report of a scan: one card per input, with an annotated picture."""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from datetime import UTC, datetime

from tamis.render.findings import notable
from tamis.render.images import annotate, annotate_frame
from tamis.results import ScanResult

THUMB_SIDE = 480
#: Cards are shown most severe first, then by path.
SEVERITY = ("block", "review", "error", "allow")
#: Parts of a document looked at for its first picture (when it is not a PDF).
PICTURE_PARTS = 64


def sort_key(result: ScanResult) -> tuple[int, str]:
    """Where ``result``'s card goes in the report: by decision (block, review, error,
    allow), then by path."""
    return SEVERITY.index(result.action), result.source

_CSS = """
body{font:14px/1.4 system-ui,sans-serif;margin:0;background:#f4f5f7;color:#1d1f23}
header{background:#1d1f23;color:#fff;padding:16px 24px}
header h1{margin:0 0 4px;font-size:20px}
nav{padding:12px 24px;display:flex;gap:8px;flex-wrap:wrap}
nav button{border:1px solid #bbb;background:#fff;border-radius:16px;padding:4px 12px;cursor:pointer}
nav button.on{background:#1d1f23;color:#fff}
main{display:grid;grid-template-columns:repeat(auto-fill,minmax(360px,1fr));gap:16px;padding:0 24px 24px}
.card{background:#fff;border-radius:8px;box-shadow:0 1px 3px rgba(0,0,0,.15);overflow:hidden}
.card img{width:100%;display:block;background:#ddd}
.card .body{padding:10px 12px}
.card h2{font-size:14px;margin:0 0 6px;word-break:break-all}
.badge{display:inline-block;border-radius:4px;padding:1px 8px;color:#fff;font-weight:600}
.allow{background:#2e7d32}.review{background:#ef8f00}.block{background:#c62828}.error{background:#6a1b9a}
table{border-collapse:collapse;width:100%;margin-top:6px}
td,th{text-align:left;padding:2px 4px;border-bottom:1px solid #eee}
pre{white-space:pre-wrap;background:#f4f5f7;padding:6px;margin:6px 0 0;font-size:12px}
.muted{color:#666;font-size:12px}
"""

_JS = """
for (const b of document.querySelectorAll('nav button')) {
  b.addEventListener('click', () => {
    document.querySelectorAll('nav button').forEach(x => x.classList.toggle('on', x === b));
    const want = b.dataset.filter;
    let shown = 0;
    for (const c of document.querySelectorAll('.card')) {
      const ok = want === 'all' || c.dataset.action === want;
      c.hidden = !ok; shown += ok;
    }
    document.getElementById('shown').textContent = shown;
  });
}
"""


def _thumb(result: ScanResult) -> tuple[str | None, str]:
    """(The card's picture as a data: URL, or None; what the picture shows.)"""
    if result.video is not None:  # the best frame of the highest-scoring segment, drawn on already
        best = sorted(result.video.segments, key=lambda s: -s.max_score)
        jpg = next((result.thumbnails[s.frame] for s in best if s.frame in result.thumbnails), None)
        return ("data:image/jpeg;base64," + base64.b64encode(jpg).decode("ascii") if jpg else None,
                f"best frame of {result.source}")
    content = result.content
    if result.document is not None and content is not None:
        return _document_picture(result)
    if content is None or not getattr(content, "frames", None):
        return None, ""
    frame = content.frames[0]
    return _jpeg(annotate_frame(frame, result, len(content.frames) > 1)), f"annotated {result.source}"


def _jpeg(img) -> str:
    img.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def _document_picture(result: ScanResult) -> tuple[str | None, str]:
    """A document's picture: its first page (PDF), else its first picture (a page image, an
    embedded image, an attached or archived picture), with the findings placed on it drawn
    in. None when it has none or it cannot be read again (it was scanned already)."""
    try:
        found = _first_picture(result.content)
    except Exception:  # noqa: BLE001 - the card goes without a picture, the scan stands
        found = None
    if found is None:
        return None, ""
    label, page, rgb = found
    on_it = [f for f in result.findings if f.location.box is not None and f.location.part is not None
             and (f.location.part == label or f.location.part.startswith(f"{label} > "))
             and (page is None or f.location.page == page)]
    shown = ScanResult(source=result.source, findings=on_it, decision=result.decision, error=result.error)
    where = f"page {page}" if label == "page 1" else (f"{label}, page {page}" if page else label)
    return _jpeg(annotate(rgb, shown)), f"{where} of {result.source}"


def _first_picture(content) -> tuple[str, int | None, object] | None:
    """(Part label, page, RGB array) of the first picture of a document, or None."""
    from dataclasses import replace

    from tamis.content.document import Budget, Limits, parts
    from tamis.content.image import load_image
    from tamis.content.sniff import sniff

    if content.format == "pdf":
        return _pdf_first_page(content)
    limits = Limits()
    fresh = replace(content, budget=Budget(), notes=[])  # read again, apart from the scan's budget and notes
    for n, part in enumerate(parts(fresh, limits)):
        if n >= PICTURE_PARTS:
            break
        if part.rgb is not None:
            return part.label, part.page, part.rgb
        if part.data and sniff(part.data).kind == "image":
            try:
                image = load_image(part.label, part.data, sniff(part.data).media_type,
                                   max_pixels=limits.max_pixels, min_side=1, max_frames=1)
            except Exception:  # noqa: BLE001 - try the next one
                continue
            if image.frames:
                return part.label, part.page, image.frames[0].rgb
    return None


def _pdf_first_page(content) -> tuple[str, int, object] | None:
    import numpy as np
    import pypdfium2 as pdfium

    pdf = pdfium.PdfDocument(content.data)  # an encrypted one fails here: no picture
    try:
        if len(pdf) == 0:
            return None
        page = pdf[0]
        w, h = page.get_size()
        scale = min(4.0, 2 * THUMB_SIDE / max(w, h, 1.0))
        rgb = np.asarray(page.render(scale=scale).to_pil().convert("RGB"))
    finally:
        pdf.close()
    return "page 1", 1, rgb


def card(result: ScanResult, policy=None, all_findings: bool = False) -> str:
    """One input's card. Call while ``result.content`` is still attached (for the picture).

    Repeats of a label are listed once, with their count; findings under ``policy``'s
    thresholds for their label are left out (counted) unless ``all_findings``."""
    e = html.escape
    action = result.action
    parts = [f'<article class="card" data-action="{action}">']
    src, what = _thumb(result)
    if src:
        parts.append(f'<img alt="{e(what)}" src="{src}">')
    parts.append('<div class="body">')
    parts.append(f'<h2>{e(result.source)}</h2><span class="badge {action}">{action}</span>')
    if result.error:
        parts.append(f'<p class="muted">{e(result.error.code)}: {e(result.error.message)}</p>')
    else:
        if result.kind == "image":
            parts.append(f' <span class="muted">{e(result.media_type or "")} {result.width}x{result.height}'
                         f'{f", {result.frames} frames" if (result.frames or 1) > 1 else ""}</span>')
        elif result.video is not None:
            v = result.video
            parts.append(f' <span class="muted">video {v.duration or 0:.1f} s, {v.frames_decoded} frames decoded, '
                         f'{v.frames_analyzed} analysed, {v.frames_reused} reused'
                         f'{"; audio " + e(v.audio) if v.audio else ""}</span>')
            if v.segments:
                parts.append('<table class="timeline"><tr><th>from</th><th>to</th><th>label</th><th>max</th></tr>'
                             + "".join(f"<tr><td>{s.start:.1f} s</td><td>{s.end:.1f} s</td><td>{e(s.label)}</td>"
                                       f"<td>{s.max_score:.2f} at {s.timestamp:.1f} s</td></tr>" for s in v.segments)
                             + "</table>")
        elif result.document is not None:
            d = result.document
            failed = [p for p in d.parts if p.error]
            parts.append(f' <span class="muted">{e(d.format)}{f", {d.pages} pages" if d.pages else ""}, '
                         f'{len(d.parts)} parts, {len(failed)} not scanned</span>')
            if failed:
                parts.append("<ul>" + "".join(f"<li>{e(p.part)}: {e(p.error.code)}</li>" for p in failed)
                             + "</ul>")
            with_faces = [p for p in d.parts if p.faces]
            if with_faces:
                n = sum(p.faces for p in with_faces)
                where = ", ".join(p.part + (f" (page {p.page})" if p.page else "") for p in with_faces[:5])
                more = f" and {len(with_faces) - 5} more parts" if len(with_faces) > 5 else ""
                parts.append(f'<p class="faces">{n} face{"s" if n != 1 else ""} found in the document: '
                             f'{e(where)}{more}</p>')
        elif result.language:
            parts.append(f' <span class="muted">text, language {e(str(result.language["code"]))}</span>')
        groups, hidden = notable(result.findings, policy, all_findings)
        rows = [f"<tr><td>{e(g.label)}</td><td>{g.score:.2f}</td><td>{f'×{g.count}' if g.count > 1 else ''}</td>"
                f"<td>{e(place_of(g.top))}{f' (and {g.count - 1} more)' if g.count > 1 else ''}</td></tr>"
                for g in groups]
        if rows:
            parts.append('<table class="findings"><tr><th>label</th><th>score</th><th>times</th>'
                         "<th>where / what (highest)</th></tr>" + "".join(rows) + "</table>")
        if hidden:
            parts.append(f'<p class="muted hidden-findings">{hidden} finding{"s" if hidden != 1 else ""} under '
                         "the policy's thresholds not listed (scan with --all-findings to list them)</p>")
        if result.faces:
            faces = []
            for face in result.faces:
                attrs = ", ".join(f"{k} {'?' if a.value is None else ('yes' if a.value else 'no')}"
                                  for k, a in face.attributes.items())
                faces.append(f"<li>box {face.box.to_list()} ({face.score:.2f}): {e(attrs)}</li>")
            parts.append(f"<p>{len(result.faces)} face(s)</p><ul>{''.join(faces)}</ul>")
        if result.text and result.text.lines:
            parts.append(f"<pre>{e(result.text.text)}</pre>")
        if result.masked_text:
            parts.append(f"<pre>{e(result.masked_text[:2000])}</pre>")
        if result.decision and result.decision.reasons:
            why = "; ".join(f"{r.label} {r.score:.2f} ≥ {r.threshold:.2f} → {r.action.value}"
                            for r in result.decision.reasons)
            parts.append(f'<p class="muted">policy {e(result.decision.policy)}: {e(why)}</p>')
        for note in result.notes:
            parts.append(f'<p class="muted note">note: {e(note)}</p>')
        if result.hashes:
            parts.append(f'<p class="muted">sha256 {result.hashes.sha256[:16]}… pdq '
                         f'{(result.hashes.pdq or "")[:16]}…</p>')
    parts.append("</div></article>")
    return "".join(parts)


def place_of(f) -> str:
    """Where a finding is, in words (its box, page, time, frame or part)."""
    if f.label == "qr_code":
        return f"{f.data.get('format')}: {f.data.get('payload', '')[:80]}"
    loc = f.location
    bits = []
    if loc.box:
        bits.append(f"box {loc.box.to_list()}")
    if loc.page is not None:
        bits.append(f"page {loc.page}")
    if loc.timestamp is not None:
        bits.append(f"{loc.timestamp:.2f} s")
    if loc.frame is not None:
        bits.append(f"frame {loc.frame}")
    if loc.part:
        bits.append(loc.part)
    return ", ".join(bits) or (f.explanation or "whole image")


def render_report(cards: list[str], counts: Counter, title: str = "tamis scan report") -> str:
    """The whole page around ``cards`` (from :func:`card`)."""
    e = html.escape
    total = sum(counts.values())
    stamp = datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")
    buttons = [("all", f"all {total}")] + [(a, f"{a} {counts.get(a, 0)}")
                                          for a in ("block", "review", "allow", "error")]
    nav = "".join(f'<button data-filter="{k}"{" class=on" if k == "all" else ""}>{e(t)}</button>'
                  for k, t in buttons)
    summary = json.dumps({k: counts.get(k, 0) for k in ("allow", "review", "block", "error")})
    return (f"<!doctype html><html lang=en><head><meta charset=utf-8>"
            f"<meta name=viewport content='width=device-width,initial-scale=1'>"
            f"<title>{e(title)}</title><style>{_CSS}</style></head><body>"
            f"<header><h1>{e(title)}</h1><div>{total} inputs, {stamp}. "
            f"Showing <span id=shown>{total}</span>.</div></header>"
            f"<nav>{nav}</nav><main>{''.join(cards)}</main>"
            f"<script type='application/json' id=summary>{summary}</script>"
            f"<script>{_JS}</script></body></html>")
