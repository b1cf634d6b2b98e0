"""What the item page shows of a result: boxes to draw, the text in marked parts (personal
data masked), findings with their places, and faces with the three attributes tamis has."""

from __future__ import annotations

import io

from tamis.render.report import place_of
from tamis.results import ScanResult

#: Findings listed on an item page (the highest scores), so a page stays readable.
MAX_FINDINGS = 200
MAX_BOXES = 200


def boxes(result: ScanResult) -> list[dict]:
    """Rectangles on the picture: findings with a box, then faces."""
    out = []
    for f in sorted(result.findings, key=lambda f: -f.score):
        if f.location.box is not None and f.location.frame in (None, 0):
            b = f.location.box
            out.append({"x": b.x, "y": b.y, "w": b.w, "h": b.h, "label": f"{f.label} {f.score:.2f}",
                        "kind": f.label.split("/")[0]})
    for face in result.faces:
        if face.frame in (None, 0):
            b = face.box
            out.append({"x": b.x, "y": b.y, "w": b.w, "h": b.h, "label": "face", "kind": "face"})
    return out[:MAX_BOXES]


def text_parts(text: str, result: ScanResult, masked: bool = True) -> tuple[list[dict], bool]:
    """(The text, personal data masked unless ``masked`` is false, as parts with the label
    of the findings that cover them (``mark``); whether it has personal data to mask)."""
    n = len(text)
    spans = sorted({(max(0, f.location.span.start), min(n, f.location.span.end), f.label) for f in result.findings
                    if f.location.span is not None and 0 < f.location.span.end - f.location.span.start < n})
    cuts = sorted({0, n, *(s for s, _, _ in spans), *(e for _, e, _ in spans)})
    hidden = result.masked_text if result.masked_text and len(result.masked_text) == n else text
    source = hidden if masked else text
    out = []
    for a, b in zip(cuts, cuts[1:]):
        labels = sorted({label for s, e, label in spans if s <= a and b <= e})
        out.append({"text": source[a:b], "mark": ", ".join(labels)})
    return out, hidden != text


def findings(result: ScanResult) -> list[dict]:
    return [{"label": f.label, "score": f.score, "detector": f.detector, "where": place_of(f)}
            for f in sorted(result.findings, key=lambda f: -f.score)[:MAX_FINDINGS]]


def faces(result: ScanResult) -> list[dict]:
    def shown(face, name: str) -> str:
        a = face.attributes.get(name)
        return "?" if a is None or a.value is None else ("yes" if a.value else "no")

    return [{n: shown(face, n) for n in ("eyes_open", "smiling", "glasses")} for face in result.faces[:50]]


def picture(rgb, result: ScanResult, blur_faces: bool, frame: int = 0) -> bytes:
    """A picture (an image's first frame, or a video's frame ``frame``) as a JPEG made here
    (no metadata of the upload, no bytes of it that a browser might read as something
    else), with the faces the result found on that frame blurred when asked."""
    from PIL import Image

    from tamis.render.images import redact_faces

    if blur_faces:
        rgb = redact_faces(rgb, [f.box for f in result.faces if f.frame in (None, frame)])
    buf = io.BytesIO()
    Image.fromarray(rgb).save(buf, "JPEG", quality=88)
    return buf.getvalue()
