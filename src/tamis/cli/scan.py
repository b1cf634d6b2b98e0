"""``tamis scan``: check the request, build the engine, scan, and print the results as they come."""

from __future__ import annotations

import itertools
import json
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape

from tamis.cli.common import EXIT_ERROR, err, expand_paths, fail, open_output, split_commas
from tamis.cli.jsonl import scan_jsonl
from tamis.cli.output import View, print_table, summary
from tamis.cli.pictures import Pictures
from tamis.errors import TamisError

#: Below this many files, starting worker processes (about 1.5 s) costs more than it saves.
AUTO_WORKERS_FROM = 8


def scan(
    paths: Annotated[Optional[list[str]], typer.Argument(
        metavar="PATH",
        help="Files (images, videos, documents, archives, text), folders (recursive) or - for stdin.")] = None,
    text: Annotated[Optional[list[str]], typer.Option("--text", "-t", metavar="TEXT",
                                                                 help="Scan this text (repeatable).")] = None,
    jsonl: Annotated[Optional[Path], typer.Option(
        metavar="FILE",
        help='Bulk text mode: each line {"id", "text"}; writes {"id", "scores", "decision", "findings"} '
             "lines in the same order.")] = None,
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT",
                                                    help="table, json or jsonl.")] = "table",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", metavar="FILE",
                                                              help="Write results here.")] = None,
    policy: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Policy YAML file.")] = None,
    profile: Annotated[Optional[str], typer.Option(
        metavar="NAME", help="Policy profile (e.g. strict, lenient).")] = None,
    detectors: Annotated[Optional[str], typer.Option(
        metavar="NAMES", help="Comma-separated detectors to run.")] = None,
    labels: Annotated[Optional[str], typer.Option(
        metavar="LABELS", help="Report only these labels (comma-separated).")] = None,
    face_attributes: Annotated[Optional[str], typer.Option(
        metavar="NAMES", help="Face attributes to report (eyes_open, smiling, glasses).")] = None,
    blocklist: Annotated[Optional[list[Path]], typer.Option(
        metavar="PATH", help="Blocklist file or folder (repeatable), besides $TAMIS_HOME/blocklists.")] = None,
    annotate: Annotated[Optional[Path], typer.Option(
        metavar="DIR", help="Write annotated copies to this folder.")] = None,
    blur_faces: Annotated[Optional[Path], typer.Option(metavar="DIR", help="Write face-blurred copies here.")] = None,
    pixelate: Annotated[bool, typer.Option(help="Pixelate faces instead of blurring.")] = False,
    report: Annotated[Optional[Path], typer.Option(
        metavar="FILE", help="Write an HTML report (with pictures) here.")] = None,
    all_findings: Annotated[bool, typer.Option(
        "--all-findings", help="Table and report: also list findings under the policy's thresholds.")] = False,
    thumbnails: Annotated[Optional[Path], typer.Option(
        metavar="DIR", help="Videos: write the annotated best frame of each timeline segment to this folder.")] = None,
    workers: Annotated[int, typer.Option(
        metavar="N", help="Worker processes (0 = one per core when there are 8 files or more).")] = 0,
    ocr_always: Annotated[bool, typer.Option(help="OCR every image, not only where text is likely.")] = False,
    pdf_password: Annotated[Optional[str], typer.Option(
        metavar="TEXT", help="Password for encrypted PDFs (or TAMIS_PDF_PASSWORD).")] = None,
    progress: Annotated[bool, typer.Option(help="Show a progress bar for many files.")] = True,
    in_process: Annotated[bool, typer.Option(
        help="Scan in this process, without worker processes (and without their time and memory budget).")] = False,
) -> None:
    """Scan images, videos, documents and texts.

    Prints findings, faces, text, a video's timeline, a document's parts, and a decision
    for each."""
    _check_request(format, paths, text, jsonl)
    engine, options = _engine(detectors, ocr_always, pdf_password, blocklist, policy, profile, labels,
                              face_attributes, thumbnails=bool(thumbnails or report))
    if jsonl:
        if workers == 0:  # worker processes pay off from about a thousand texts
            workers = (os.cpu_count() or 1) if jsonl.is_file() and jsonl.stat().st_size > (1 << 18) else 1
        scan_jsonl(engine, jsonl, output, workers, dict(options, settings=replace(options["settings"], threads=1)))
        return
    files = expand_paths(paths or [])
    total = len(files) + len(text or [])
    stream = _stream(engine, options, files, text, workers, in_process, keep=bool(annotate or blur_faces or report))
    sources = itertools.chain(files, (None for _ in text or []))
    pictures = Pictures(annotate, blur_faces, "pixelate" if pixelate else "blur", report, thumbnails,
                        view=View(options["policy"], all_findings))
    _say_detectors(engine)
    _emit(zip(sources, stream), total, format, output, pictures, progress)


def _check_request(format: str, paths, text, jsonl) -> None:
    """Exit 2 on an unknown format or on nothing to scan."""
    if format not in ("table", "json", "jsonl"):
        err.print(f"[red]error[/red] unknown format {format!r} (use table, json or jsonl)")
        raise typer.Exit(EXIT_ERROR)
    if not (paths or text or jsonl):
        err.print("[red]error[/red] nothing to scan: give paths, --text or --jsonl")
        raise typer.Exit(EXIT_ERROR)


def _engine(detectors, ocr_always, pdf_password, blocklist, policy, profile, labels, face_attributes,
            thumbnails: bool) -> tuple:
    """(The engine, the options it was built from, for worker processes); exit 2 on a bad setting."""
    from tamis.config import load_settings
    from tamis.engine import Engine
    from tamis.policy import load_policy

    try:
        settings = load_settings(detectors=tuple(split_commas(detectors) or ()) or None,
                                 ocr_always=ocr_always or None, pdf_password=pdf_password,
                                 blocklists=tuple(blocklist) if blocklist else None)
        pol = load_policy(policy or settings.policy, profile or settings.profile)
        options = dict(settings=settings, policy=pol, labels=split_commas(labels),
                       face_attributes=split_commas(face_attributes), video_thumbnails=thumbnails)
        engine = Engine(**options)  # validates detectors, labels, attributes and blocklists before any work
    except TamisError as exc:
        fail(exc)
    return engine, options


def _source(p: str):
    return sys.stdin.buffer.read() if p == "-" else p


def _stream(engine, options: dict, files: list[str], text, workers: int, in_process: bool, keep: bool):
    """The results of the files, then of the texts, in order, as they come."""
    if workers == 0:
        workers = (os.cpu_count() or 1) if len(files) >= AUTO_WORKERS_FROM else 1
    if files and not in_process:
        # Files are scanned in worker processes under a time and memory budget: one that
        # crashes a decoder, hangs or eats memory is reported as an error, the rest go on.
        from tamis.engine.pool import scan_parallel

        workers = min(workers, len(files))
        if workers > 1:
            options = dict(options, settings=replace(options["settings"], threads=1))
        stream = scan_parallel((_source(p) for p in files), workers, keep_content=keep, **options)
    else:
        stream = engine.scan_many((_source(p) for p in files), keep_content=keep)
    if text:
        stream = itertools.chain(stream, engine.scan_texts((f"--text {i + 1}", t) for i, t in enumerate(text)))
    return stream


def _emit(items, total: int, format: str, output: Optional[Path], pictures: Pictures, progress: bool) -> None:
    """Print (or write) results as they come, the summary line, and exit with 0, 1 or 2."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    sink = open_output(output)
    results = []
    counts: Counter[str] = Counter()
    start = time.perf_counter()
    bar = Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err, transient=True, disable=not (progress and total > 1))
    with bar:
        task = bar.add_task("scan", total=total)
        for path, result in items:
            if path == "-":
                result.source = "<stdin>"
            counts[result.action] += 1
            pictures.add(result, path)
            if format == "jsonl":
                print(json.dumps(result.to_dict(), ensure_ascii=False), file=sink or sys.stdout,
                      flush=sink is None)
            else:
                results.append(result)
            bar.advance(task)
    elapsed = time.perf_counter() - start
    if format == "json":
        print(json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False), file=sink or sys.stdout)
    elif format == "table":
        print_table(results, sink, pictures.view)
    if sink:
        sink.close()
    pictures.finish(counts)
    summary(counts, elapsed)


def _say_detectors(engine) -> None:
    """Which detectors run, on stderr: an optional extra (the AGPL nudity model) joins the
    defaults when installed, and that must never be silent."""
    names = []
    for det in engine.detectors:
        extras = {m.optional_extra for m in det.models if m.optional_extra}
        licences = {m.licence_weights for m in det.models if m.optional_extra}
        names.append(f"{det.name} (extra '{', '.join(sorted(extras))}', {', '.join(sorted(licences))})"
                     if extras else det.name)
    err.print(escape("detectors: " + ", ".join(names)), highlight=False, soft_wrap=True)
