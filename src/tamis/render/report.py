"""A self-contained HTML report of a scan: one card per input, with an annotated picture."""

from __future__ import annotations

import base64
import html
import io
import json
from collections import Counter
from datetime import UTC, datetime

from tamis.render.images import annotate_frame
from tamis.results import ScanResult

THUMB_SIDE = 480

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


def _thumb(result: ScanResult) -> str | None:
    if result.video is not None:  # the best frame of the highest-scoring segment, drawn on already
        best = sorted(result.video.segments, key=lambda s: -s.max_score)
        jpg = next((result.thumbnails[s.frame] for s in best if s.frame in result.thumbnails), None)
        return "data:image/jpeg;base64," + base64.b64encode(jpg).decode("ascii") if jpg else None
    content = result.content
    if content is None or not getattr(content, "frames", None):
        return None
    frame = content.frames[0]
    img = annotate_frame(frame, result, len(content.frames) > 1)
    img.thumbnail((THUMB_SIDE, THUMB_SIDE))
    buf = io.BytesIO()
    img.convert("RGB").save(buf, format="JPEG", quality=80)
    return "data:image/jpeg;base64," + base64.b64encode(buf.getvalue()).decode("ascii")


def card(result: ScanResult) -> str:
    """One input's card. Call while ``result.content`` is still attached (for the picture)."""
    e = html.escape
    action = result.action
    parts = [f'<article class="card" data-action="{action}">']
    src = _thumb(result)
    if src:
        parts.append(f'<img alt="annotated {e(result.source)}" src="{src}">')
    parts.append('<div class="body">')
    parts.append(f'<h2>{e(result.source)}</h2><span class="badge {action}">{action}</span>')
    if result.error:
        parts.append(f'<p class="muted">{e(result.error["code"])}: {e(result.error["message"])}</p>')
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
                parts.append("<ul>" + "".join(f"<li>{e(p.part)}: {e(p.error['code'])}</li>" for p in failed)
                             + "</ul>")
        elif result.language:
            parts.append(f' <span class="muted">text, language {e(str(result.language["code"]))}</span>')
        rows = [f"<tr><td>{e(f.label)}</td><td>{f.score:.2f}</td><td>{e(_where(f))}</td></tr>"
                for f in sorted(result.findings, key=lambda f: -f.score) if f.score >= 0.05]
        if rows:
            parts.append("<table><tr><th>label</th><th>score</th><th>where / what</th></tr>"
                         + "".join(rows) + "</table>")
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
        if result.hashes:
            parts.append(f'<p class="muted">sha256 {result.hashes.sha256[:16]}… pdq '
                         f'{(result.hashes.pdq or "")[:16]}…</p>')
    parts.append("</div></article>")
    return "".join(parts)


def _where(f) -> str:
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
