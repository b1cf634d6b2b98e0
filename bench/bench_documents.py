"""Document scanning speed: PDF pages with a text layer per second, scanned pages (rendered
and OCRed) per second, and a zip of mixed office documents.

    .venv/bin/python bench/bench_documents.py               # pages of about 590 words
    .venv/bin/python bench/bench_documents.py --words 300   # lighter pages

Documents are written with reportlab, python-docx, python-pptx and openpyxl (the test
extra), from the same helpers the tests use. Every default detector runs (not the optional
extras). Writes bench/results/documents.json.
"""

from __future__ import annotations

import json
import os
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "tests"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import documents as make  # noqa: E402
from _util import rss_mb, save_report  # noqa: E402

PARAGRAPH = ("The committee met on Tuesday to review the quarterly figures. Revenue grew in every region "
             "except the north, where two stores closed for renovation. The board asked for a plan by May.")
WORDS_PER_PAGE, WORDS_PER_LINE = 590, 15
PAGES = 100


def text_pages(n: int, per_page: int = WORDS_PER_PAGE) -> list[str]:
    """Pages of ``per_page`` words of varied English prose (the Python reference manual's
    topics, which ship with Python: no page repeats another within 65,000 words), one in ten
    with an e-mail address and one in twenty-five with a threat."""
    from pydoc_data.topics import topics

    words = " ".join(topics[k] for k in sorted(topics)).split()
    need = n * per_page
    words = (words * (need // len(words) + 1))[:need]
    pages = []
    for i in range(n):
        page = words[i * per_page:(i + 1) * per_page]
        lines = [f"Page {i + 1}"] + [" ".join(page[j:j + WORDS_PER_LINE])
                                     for j in range(0, len(page), WORDS_PER_LINE)]
        if i % 10 == 3:
            lines.append(f"Contact {make.EMAIL} for the files.")
        if i % 25 == 7:
            lines.append(make.THREAT)
        pages.append("\n".join(lines))
    return pages


def timed(engine, data: bytes, name: str) -> tuple[float, object]:
    t = time.perf_counter()
    result = engine.scan(data, name=name)
    return time.perf_counter() - t, result


def main() -> None:
    import argparse

    ap = argparse.ArgumentParser(description="document scanning speed")
    ap.add_argument("--words", type=int, default=WORDS_PER_PAGE, help="words per text-layer PDF page")
    ap.add_argument("--pages", type=int, default=PAGES, help="pages of the text-layer PDF")
    args = ap.parse_args()
    from tamis.config import load_settings
    from tamis.detectors import detector_names
    from tamis.engine import Engine

    with tempfile.TemporaryDirectory() as tmp:
        settings = load_settings(home=Path(tmp) / "home", detectors=tuple(detector_names(default_only=True)))
        engine = Engine(settings).load()
        engine.scan(make.text_pdf(["warm up " + PARAGRAPH]), name="warm.pdf")

        # Each run scans its text once, with cold caches (the warm-up text shares few words).
        pdf = make.text_pdf(text_pages(args.pages, args.words))
        text_s, text_r = timed(engine, pdf, "text.pdf")
        t = time.perf_counter()
        from tamis.content.document import Limits, load_document, parts

        pages = sum(1 for _ in parts(load_document("x.pdf", pdf, "application/pdf"), Limits()))
        extract_s = time.perf_counter() - t
        scans = [make.scanned_pdf([f"Invoice {i}", f"Contact {make.EMAIL}", PARAGRAPH[:40], PARAGRAPH[40:80]])
                 for i in range(5)]
        scanned = _merge_pdfs(scans)
        scan_s, scan_r = timed(engine, scanned, "scanned.pdf")
        bundle = make.zip_of({f"doc{i}.docx": make.docx([PARAGRAPH] * 20 + [f"mail {make.EMAIL}"])
                              for i in range(10)}
                             | {f"sheet{i}.xlsx": make.xlsx({"Data": [[PARAGRAPH[:30], i, make.EMAIL]] * 200})
                                for i in range(5)}
                             | {f"deck{i}.pptx": make.pptx([PARAGRAPH] * 10) for i in range(5)})
        zip_s, zip_r = timed(engine, bundle, "bundle.zip")
        report = {
            "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0]},
            "detectors": [d.name for d in engine.detectors],
            "text_pdf": {"pages": text_r.document.pages, "seconds": round(text_s, 2),
                         "pages_per_s": round(text_r.document.pages / text_s, 1),
                         "findings": len(text_r.findings), "bytes": len(pdf),
                         "words_per_page": args.words,
                         "stage_ms_total": {k: round(v) for k, v in sorted(text_r.timings_ms.items(),
                                                                         key=lambda kv: -kv[1])}},
            "text_pdf_extraction_only": {"parts": pages, "seconds": round(extract_s, 3),
                                         "pages_per_s": round(args.pages / extract_s, 1)},
            "scanned_pdf": {"pages": scan_r.document.pages, "seconds": round(scan_s, 2),
                            "pages_per_s": round(scan_r.document.pages / scan_s, 2),
                            "seconds_per_page": round(scan_s / scan_r.document.pages, 2),
                            "emails_found": sum(f.label == "pii/email" for f in scan_r.findings)},
            "office_zip": {"documents": 20, "parts": len(zip_r.document.parts), "seconds": round(zip_s, 2),
                           "documents_per_s": round(20 / zip_s, 1)},
            "rss_mb": round(rss_mb()),
        }
    print(json.dumps(report, indent=2))
    save_report("documents" if args.words == WORDS_PER_PAGE else f"documents-{args.words}-words", report)


def _merge_pdfs(pdfs: list[bytes]) -> bytes:
    import io

    import pypdfium2 as pdfium

    merged = pdfium.PdfDocument.new()
    for data in pdfs:
        src = pdfium.PdfDocument(data)
        merged.import_pages(src)
    buf = io.BytesIO()
    merged.save(buf)
    return buf.getvalue()


if __name__ == "__main__":
    main()
