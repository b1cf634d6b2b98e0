"""The ``tamis`` command line: a thin layer over the Python API."""

from __future__ import annotations

import importlib.util
import itertools
import json
import os
import sys
import time
from collections import Counter
from dataclasses import dataclass, replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tamis.errors import TamisError


class _Group(typer.core.TyperGroup):
    """Help that reads like a Unix tool's: each parameter shows its metavar (FILE, TEXT,
    LABELS), never a Python type. Typer 0.26 and later print an argument's type
    (``<list[str]>``) beside its metavar; an argument with a metavar shows that alone."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for command in self.commands.values():
            for param in command.params:
                if isinstance(param, typer.core.TyperArgument) and param.metavar \
                        and hasattr(param, "display_type_rich"):
                    param.display_type_rich = _no_type


def _no_type(ctx) -> None:
    return None


#: For the app and every command: -h as well as --help; plain help text (Click's layout)
#: rather than Rich panels, so help wraps at word boundaries in the terminal's width and
#: shows no types, only metavars.
_TYPER = dict(cls=_Group, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
              context_settings={"help_option_names": ["-h", "--help"]})

app = typer.Typer(pretty_exceptions_enable=False, **_TYPER,
                  help="tamis: self-hosted content safety. Scan images, video, documents and text for risky content.")


def _version(value: bool) -> None:
    if value:
        import tamis

        print(f"tamis {tamis.__version__}")
        raise typer.Exit()


@app.callback()
def _main(
    version: Annotated[bool, typer.Option("--version", callback=_version, is_eager=True,
                                          help="Print the version and exit.")] = False,
) -> None:
    pass
# Not on a terminal (a pipe, a file, CI logs): wide enough that paths are not folded.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

EXIT_OK, EXIT_FLAGGED, EXIT_ERROR = 0, 1, 2
#: Below this many files, starting worker processes (about 1.5 s) costs more than it saves.
AUTO_WORKERS_FROM = 8
_HIDDEN = (".", "_")


def _fail(exc: TamisError) -> None:
    err.print(f"[red]error[/red] {escape(f'[{exc.code}] {exc.message}')}", highlight=False)
    raise typer.Exit(EXIT_ERROR)


def _split(value: Optional[str]) -> Optional[list[str]]:
    return [v.strip() for v in value.split(",") if v.strip()] if value else None


def expand_paths(paths: list[str]) -> list[str]:
    """Files as given, folders walked recursively in a stable order (hidden entries skipped)."""
    found: list[str] = []
    for p in paths:
        if p == "-":
            found.append(p)
            continue
        path = Path(p)
        if path.is_dir():
            for root, dirs, files in os.walk(path):
                dirs[:] = sorted(d for d in dirs if not d.startswith(_HIDDEN))
                found.extend(str(Path(root) / f) for f in sorted(files) if not f.startswith("."))
        else:
            found.append(p)
    return found


def _source(p: str):
    return sys.stdin.buffer.read() if p == "-" else p


@dataclass(frozen=True)
class _View:
    """How the table and the report show findings: repeats of a label once, with a count;
    those under the policy's thresholds left out unless ``everything``."""

    policy: object = None
    everything: bool = False

    def findings(self, result):
        from tamis.render.findings import notable

        return notable(result.findings, self.policy, self.everything)


#: Labels listed in one table cell (all of them with --all-findings).
ROW_LABELS = 6


def _row_findings(result, view: _View = _View()) -> tuple[str, int]:
    """(The table's findings cell, how many findings it leaves out as under the thresholds.)"""
    groups, hidden = view.findings(result)
    limit = None if view.everything else ROW_LABELS
    parts = [g.text() for g in groups[:limit]]
    if limit is not None and len(groups) > limit:
        parts.append(f"+{len(groups) - limit} more labels")
    return ", ".join(parts) or "-", hidden


def _row_faces(result) -> str:
    if not result.faces:
        return "0"
    bits = []
    for face in result.faces[:3]:
        yes = [k for k, a in face.attributes.items() if a.value]
        bits.append("+".join(yes) or "face")
    more = f" +{len(result.faces) - 3}" if len(result.faces) > 3 else ""
    return f"{len(result.faces)} ({', '.join(bits)}{more})"


_STYLE = {"allow": "green", "review": "yellow", "block": "red", "error": "magenta"}


@app.command()
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
    from tamis.config import load_settings
    from tamis.engine import Engine
    from tamis.policy import load_policy

    if format not in ("table", "json", "jsonl"):
        err.print(f"[red]error[/red] unknown format {format!r} (use table, json or jsonl)")
        raise typer.Exit(EXIT_ERROR)
    if not (paths or text or jsonl):
        err.print("[red]error[/red] nothing to scan: give paths, --text or --jsonl")
        raise typer.Exit(EXIT_ERROR)
    try:
        settings = load_settings(detectors=tuple(_split(detectors) or ()) or None,
                                 ocr_always=ocr_always or None, pdf_password=pdf_password,
                                 blocklists=tuple(blocklist) if blocklist else None)
        pol = load_policy(policy or settings.policy, profile or settings.profile)
        options = dict(settings=settings, policy=pol, labels=_split(labels),
                       face_attributes=_split(face_attributes), video_thumbnails=bool(thumbnails or report))
        engine = Engine(**options)  # validates detectors, labels, attributes and blocklists before any work
    except TamisError as exc:
        _fail(exc)

    if jsonl:
        if workers == 0:  # worker processes pay off from about a thousand texts
            workers = (os.cpu_count() or 1) if jsonl.is_file() and jsonl.stat().st_size > (1 << 18) else 1
        _scan_jsonl(engine, jsonl, output, workers, dict(options, settings=replace(settings, threads=1)))
        return
    files = expand_paths(paths or [])
    total = len(files) + len(text or [])
    keep = bool(annotate or blur_faces or report)
    if workers == 0:
        workers = (os.cpu_count() or 1) if len(files) >= AUTO_WORKERS_FROM else 1
    if files and not in_process:
        # Files are scanned in worker processes under a time and memory budget: one that
        # crashes a decoder, hangs or eats memory is reported as an error, the rest go on.
        from tamis.engine.pool import scan_parallel

        workers = min(workers, len(files))
        if workers > 1:
            options["settings"] = replace(settings, threads=1)
        stream = scan_parallel((_source(p) for p in files), workers, keep_content=keep, **options)
    else:
        stream = engine.scan_many((_source(p) for p in files), keep_content=keep)
    if text:
        stream = itertools.chain(stream, engine.scan_texts((f"--text {i + 1}", t) for i, t in enumerate(text)))
    sources = itertools.chain(files, (None for _ in text or []))
    pictures = _Pictures(annotate, blur_faces, "pixelate" if pixelate else "blur", report, thumbnails,
                         view=_View(pol, all_findings))
    _say_detectors(engine)
    _emit(zip(sources, stream), total, format, output, pictures, progress)


class _Pictures:
    """Annotated copies, redacted copies and report cards, for results that carry content."""

    def __init__(self, annotate_dir, blur_dir, mode, report, thumbs_dir=None, view: _View = _View()) -> None:
        self.annotate_dir, self.blur_dir, self.mode, self.report = annotate_dir, blur_dir, mode, report
        self.thumbs_dir = thumbs_dir
        self.view = view
        self.used: set[str] = set()
        self.cards: list[tuple[tuple, str]] = []  # (place in the report, card)

    def add(self, result, path: str | None = None) -> None:
        """``path``: the file as given (``result.source`` is its printable name)."""
        from tamis.render import card
        from tamis.render.report import sort_key

        if result.kind == "video" and result.error is None:
            self._video(result, path if path not in (None, "-") else None)

        if result.content is not None and getattr(result.content, "frames", None) and \
                (self.annotate_dir or self.blur_dir):
            _write_pictures(result, self.annotate_dir, self.blur_dir, self.mode, self.used)
        if self.report:
            self.cards.append((sort_key(result), card(result, self.view.policy, self.view.everything)))
        result.content = None

    def _video(self, result, path: str | None) -> None:
        """Thumbnails of the best frame of each segment, and a face-redacted copy."""
        stem = None
        if self.thumbs_dir and result.video.segments:
            stem = _picture_stem(result.source, self.used)
            self.thumbs_dir.mkdir(parents=True, exist_ok=True)
            for seg in result.video.segments:  # one picture per frame, however many segments peak there
                jpg = result.thumbnails.get(seg.frame)
                if jpg:
                    (self.thumbs_dir / f"{stem}.{seg.timestamp:.3f}s.jpg").write_bytes(jpg)
        if self.blur_dir:
            import tamis

            if path is None or not Path(path).is_file():
                err.print(escape(f"{result.source}: a video from stdin is not redacted (give a file)"))
                return
            stem = stem or _picture_stem(result.source, self.used)
            self.blur_dir.mkdir(parents=True, exist_ok=True)
            try:
                tamis.blur_video(path, self.blur_dir / f"{stem}.mp4", mode=self.mode)
            except TamisError as exc:
                err.print(escape(f"{result.source}: not redacted: [{exc.code}] {exc.message}"), highlight=False)

    def finish(self, counts) -> None:
        from tamis.render import render_report

        if self.report:
            self.report.parent.mkdir(parents=True, exist_ok=True)
            cards = [c for _, c in sorted(self.cards, key=lambda kc: kc[0])]  # most severe first, then by path
            self.report.write_text(render_report(cards, counts), encoding="utf-8", errors="backslashreplace")


def _open_output(output: Optional[Path]):
    if output is None:
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    # Names are made printable where they enter; should one slip through, the file is still written.
    return output.open("w", encoding="utf-8", errors="backslashreplace")


def _emit(items, total: int, format: str, output: Optional[Path], pictures: _Pictures, progress: bool) -> None:
    """Print (or write) results as they come, the summary line, and exit with 0, 1 or 2."""
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    sink = _open_output(output)
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
        _print_table(results, sink, pictures.view)
    if sink:
        sink.close()
    pictures.finish(counts)
    _summary(counts, elapsed)


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


def _summary(counts: Counter, elapsed: float) -> None:
    n = sum(counts.values())
    rate = n / elapsed if elapsed > 0 else 0.0
    err.print(f"{n} scanned in {elapsed:.1f}s ({rate:.1f}/s): {counts['allow']} allow, "
              f"{counts['review']} review, {counts['block']} block, {counts['error']} error", highlight=False)
    if counts["error"]:
        raise typer.Exit(EXIT_ERROR)
    if counts["review"] or counts["block"]:
        raise typer.Exit(EXIT_FLAGGED)


def _read_jsonl(path: Path):
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


def _scan_jsonl(engine, path: Path, output: Optional[Path], workers: int = 1, options: dict | None = None) -> None:
    """Bulk text mode: one output line per input line, in order, errors included. Streams."""
    if not path.is_file():
        _fail(TamisError(f"{path}: no such file"))
    sink = _open_output(output)
    counts: Counter[str] = Counter()
    start = time.perf_counter()
    items, feed = itertools.tee(_read_jsonl(path))
    texts = ((f"line {lineno}", value) for lineno, _, value in feed if isinstance(value, str))
    if workers > 1:
        from tamis.engine.pool import scan_texts_parallel

        scanned = scan_texts_parallel(texts, workers, **options)
    else:
        scanned = engine.scan_texts(texts, batch_size=JSONL_CHUNK)
    for _, ident, value in items:
        line = _jsonl_line(ident, next(scanned) if isinstance(value, str) else None, value)
        counts["error" if "error" in line else line["decision"]] += 1
        print(json.dumps(line, ensure_ascii=False), file=sink or sys.stdout)
    if sink:
        sink.close()
    _summary(counts, time.perf_counter() - start)


def _jsonl_line(ident, result, value) -> dict:
    if result is None:
        return {"id": ident, "error": value.to_dict(), "findings": []}
    if result.error:
        return {"id": ident, "error": result.error.to_dict(), "findings": [f.to_dict() for f in result.findings]}
    line = {"id": ident, "scores": {k: round(v, 4) for k, v in result.scores().items()},
            "decision": result.action, "findings": [f.to_dict() for f in result.findings]}
    if result.language:
        line["language"] = result.language
    return line


#: Extensions that name the format a picture is saved in (see render.save_image).
_SAVED_AS = {"image/jpeg": (".jpg", ".jpeg", ".jpe")}


def _picture_stem(source: str, used: set[str], like: str | None = None) -> str:
    """A file name (less the extension) for pictures of ``source``, unique within this run.
    For pictures saved in the format of ``like`` (a media type), the source's extension is
    kept unless the saved file has it anyway, so that rocket.bmp and rocket.tiff stay apart:
    rocket.bmp.png and rocket.tiff.png, but cat.jpg (a JPEG) and cat.png (a PNG)."""
    if source in ("<stdin>", "<bytes>"):
        stem = "stdin"
    else:
        path = Path(source)
        stem = path.stem
        if like is not None and path.suffix.lower() not in _SAVED_AS.get(like, (".png",)):
            stem = path.name
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return name


def _write_pictures(result, annotate_dir, blur_dir, mode, used: set[str]) -> None:
    from tamis.render import redact_faces, save_image
    from tamis.render.images import annotate_frame

    content = result.content
    stem = _picture_stem(result.source, used, content.media_type)
    for frame in content.frames:
        suffix = f".frame{frame.index}" if len(content.frames) > 1 else ""
        if annotate_dir:
            img = annotate_frame(frame, result, len(content.frames) > 1)
            save_image(img, annotate_dir / f"{stem}{suffix}", content.media_type)
        if blur_dir:
            boxes = [f.box for f in result.faces if f.frame in (None, frame.index)]
            save_image(redact_faces(frame.rgb, boxes, mode), blur_dir / f"{stem}{suffix}",
                       content.media_type)


def _print_table(results, sink, view: _View = _View()) -> None:
    table = Table(show_lines=False, header_style="bold")
    for col in ("file", "decision", "findings", "faces", "text"):
        table.add_column(col, overflow="fold")
    hidden = 0
    for r in results:
        if r.error:
            table.add_row(escape(r.source), "[magenta]error[/magenta]",
                          escape(f"[{r.error.code}] {r.error.message}"), "", "")
            continue
        lines = list(dict.fromkeys(line.text for line in r.text.lines)) if r.text else []  # a video repeats them
        if r.kind == "image":
            faces = _row_faces(r)
        elif r.document is not None:
            n = sum(p.faces for p in r.document.parts)
            faces = f"{n} in {sum(p.faces > 0 for p in r.document.parts)} parts" if n else ""
        else:
            faces = f"{len(r.faces)} in {len({f.frame for f in r.faces})} frames" if r.faces else ""
        cell, low = _row_findings(r, view)
        hidden += low
        table.add_row(escape(r.source), f"[{_STYLE[r.action]}]{r.action}[/]", escape(cell),
                      faces, escape(" | ".join(lines)[:60]))
    console = Console(file=sink, width=160) if sink else out
    console.print(table)
    if hidden:
        console.print(f"{hidden} finding{'s' if hidden != 1 else ''} under the policy's thresholds not listed "
                      "(--all-findings lists them)", highlight=False)
    for r in results:
        if r.video is not None and r.error is None:
            _print_timeline(r, console)
        if r.document is not None:
            _print_parts(r, console)
        elif r.kind in ("image", "text") and r.error is None:
            for note in r.notes:
                console.print(escape(f"{r.source}: note: {note}"), highlight=False)


def _print_parts(r, console) -> None:
    d = r.document
    failed = [p for p in d.parts if p.error]
    pages = f", {d.pages} pages" if d.pages else ""
    n = len(d.parts)
    console.print(escape(f"{r.source}: {d.format}{pages}, {n} part{'s' if n != 1 else ''}, "
                         f"{len(failed)} not scanned"), highlight=False)
    for p in failed:
        console.print(escape(f"  {p.part}: [{p.error.code}] {p.error.message}"), highlight=False)
    for note in r.notes:
        console.print(escape(f"  note: {note}"), highlight=False)


def _clock(t: float) -> str:
    minutes, seconds = divmod(t, 60)
    hours, minutes = divmod(int(minutes), 60)
    return (f"{hours}:{minutes:02d}:" if hours else f"{minutes:02d}:") + f"{seconds:04.1f}"


def _print_timeline(r, console) -> None:
    v = r.video
    head = (f"{r.source}: {_clock(v.duration or 0)} at {v.fps or '?'} fps, {v.frames_decoded} frames decoded, "
            f"{v.frames_analyzed} analysed, {v.frames_reused} reused")
    if v.subtitle_cues:
        head += f", {v.subtitle_cues} subtitle cues"
    if v.audio:
        head += f"; audio {v.audio}"
    console.print(escape(head), highlight=False)
    for seg in v.segments:
        console.print(escape(f"  {_clock(seg.start)}-{_clock(seg.end)}  {seg.label:28s} max {seg.max_score:.2f} "
                             f"at {_clock(seg.timestamp)} (frame {seg.frame})"), highlight=False)
    timed = [f for f in r.findings if f.location.part == "subtitle" and f.score >= 0.3]
    untimed = [f for f in r.findings if f.location.part == "metadata" and f.score >= 0.3]
    for f in timed + untimed:
        where = _clock(f.location.timestamp) if f.location.timestamp is not None else "metadata"
        console.print(escape(f"  {where:>9s}  {f.label:28s} {f.score:.2f} in {f.location.part}"), highlight=False)
    if not (v.segments or timed or untimed):
        console.print("  nothing notable", highlight=False)


@app.command()
def models(
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="table or json.")] = "table",
    load: Annotated[bool, typer.Option(help="Also load each model (--no-load: only check files).")] = True,
) -> None:
    """List every model and whether it loads.

    Shows each model's package, version, licences and SHA-256."""
    from tamis.detectors import REGISTRY

    rows = []
    failed = False
    for det_name, cls in REGISTRY.items():
        det = cls()
        det_rows = []
        for m in cls.models:
            status = "ok"
            try:
                m.verify()
            except TamisError as exc:
                status = f"{exc.code}: {exc.message}"
                failed = failed or not m.optional_extra
            det_rows.append(dict(detector=det_name, model=m.name, package=m.distribution,
                                 version=m.package_version, licence_code=m.licence_code,
                                 licence_weights=m.licence_weights, sha256=m.sha256,
                                 detects=m.detects, optional_extra=m.optional_extra, status=status,
                                 loads=None))
        if load and det_rows and all(r["status"] == "ok" for r in det_rows):
            try:
                det.load()
                loads = True
            except Exception as exc:  # noqa: BLE001 - reported, not raised
                loads, failed = False, True
                for r in det_rows:
                    r["status"] = f"load failed: {exc}"
            for r in det_rows:
                r["loads"] = loads
        rows.extend(det_rows)
    if format == "json":
        print(json.dumps(rows, indent=2))
    else:
        table = Table(header_style="bold")
        for col in ("detector", "model", "package", "licence (weights)", "sha256", "status"):
            table.add_column(col, overflow="fold")
        for r in rows:
            lic = r["licence_weights"] + (f" [extra: {r['optional_extra']}]" if r["optional_extra"] else "")
            status = "[green]ok, loads[/green]" if r["loads"] else (
                "[green]file ok[/green]" if r["status"] == "ok" else f"[red]{escape(r['status'])}[/red]")
            table.add_row(r["detector"], r["model"], f"{r['package']} {r['version'] or '(not installed)'}",
                          escape(lic), r["sha256"], status)
        out.print(table)
    if failed:
        raise typer.Exit(EXIT_ERROR)


@app.command()
def labels() -> None:
    """List the taxonomy labels and the face attributes tamis reports."""
    from tamis.taxonomy import FACE_ATTRIBUTES, LABELS

    table = Table(header_style="bold")
    table.add_column("label")
    table.add_column("meaning")
    for k, v in LABELS.items():
        table.add_row(k, v)
    for k, v in FACE_ATTRIBUTES.items():
        table.add_row(f"face: {k}", v)
    out.print(table)


@app.command("policy")
def policy_cmd(
    file: Annotated[Optional[Path], typer.Argument(
        metavar="FILE", help="Policy file to check (default: built-in).")] = None,
    profile: Annotated[Optional[str], typer.Option(metavar="NAME", help="Profile to show.")] = None,
) -> None:
    """Check a policy file and show the thresholds it gives."""
    from tamis.policy import load_policy

    try:
        pol = load_policy(file, profile)
    except TamisError as exc:
        _fail(exc)
    table = Table(title=f"{pol.source} (profile {pol.name}; profiles: {', '.join(pol.profiles) or '-'})",
                  header_style="bold")
    for col in ("label", "review", "block", "enabled"):
        table.add_column(col)
    for label, rule in pol.rules.items():
        table.add_row(label, _threshold_text(rule.review), _threshold_text(rule.block),
                      "yes" if rule.enabled else "no")
    out.print(table)


banks_app = typer.Typer(help="Hash banks of known content (stored under $TAMIS_HOME).", **_TYPER)
app.add_typer(banks_app, name="banks")


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
        _fail(exc)
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
        _fail(exc)
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
        _fail(exc)
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
        _fail(exc)
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
    """The bank signals of one file: md5, sha256, and pdq (image), the text hash (text), or
    the pdq of distinct sampled frames (video; its entries share the file as source, and a
    video matches when enough of its frames match)."""
    from tamis.detectors.hashes import content_hashes

    h = content_hashes(engine.open(path))
    pairs = [(k, v) for k, v in (("md5", h.md5), ("sha256", h.sha256), ("pdq", h.pdq), ("text", h.text)) if v]
    from tamis.detectors.banks import PDQ_MIN_QUALITY

    return pairs + [("pdq", value) for _, value, quality in h.frame_pdq
                    if value != h.pdq and quality >= PDQ_MIN_QUALITY]


@banks_app.command("remove")
def banks_remove(bank: Annotated[str, typer.Argument(metavar="BANK", help="Bank name.")],
                 entry: Annotated[int, typer.Argument(
                     metavar="ID", help="Entry id (tamis banks export shows them).")]) -> None:
    """Remove one entry (by its id, as export shows)."""
    try:
        _store().remove(bank, entry)
    except TamisError as exc:
        _fail(exc)
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
        _fail(TamisError(f"{file}: cannot read ({exc})"))
    try:
        report = import_text(_store(), bank, data, fmt, signal)
    except TamisError as exc:
        _fail(exc)
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
        _fail(exc)
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


@app.command("hash")
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


train_app = typer.Typer(help="Rebuild the models tamis trains itself.", **_TYPER)
app.add_typer(train_app, name="train")


@train_app.command("text")
def train_text(
    data: Annotated[Path, typer.Option(metavar="DIR", help="Folder of the public text sets.")] = Path(
        "../shared/data/text"),
    own: Annotated[Path, typer.Option(
        metavar="DIR", help="Folder of tamis's own seed and validation sets.")] = Path("training/text"),
    to: Annotated[Optional[Path], typer.Option(
        "--out", metavar="DIR", help="Where to write the heads (default: models/text in the data folder, which "
        "the text detector then uses; src/tamis/detectors/text_model to rebuild the packaged ones).")] = None,
    card: Annotated[Optional[Path], typer.Option(metavar="FILE", help="Where to write the model card.")] = Path(
        "docs/model-cards/text.md"),
    encoder: Annotated[bool, typer.Option(
        "--encoder/--no-encoder", help="Also fine-tune the English encoder (about 25 minutes on 2 cores).")] = True,
) -> None:
    """Rebuild the text classifier: the multilingual heads and the fine-tuned English encoder.

    Needs the 'train' extra (scikit-learn; torch and transformers for the encoder)."""
    from collections import Counter

    try:
        import sklearn  # noqa: F401
    except ImportError:
        _fail(TamisError("training needs scikit-learn: pip install 'tamis[train]'"))
    from tamis.text.embedding import NAME, Embedder
    from tamis.training.text_data import load_all
    from tamis.training.text_train import model_card, save, train

    if not data.is_dir() and not own.is_dir():
        _fail(TamisError(f"no training data: neither {data} nor {own} is a folder"))
    if encoder and importlib.util.find_spec("torch") is None:
        _fail(TamisError("fine-tuning the encoder needs torch: pip install 'tamis[train]' (or --no-encoder)"))
    from tamis.config import load_settings

    folder = to or load_settings().text_model_dir
    examples = load_all(data, own)
    models, meta = train(data, own, embedder=Embedder(), log=lambda m: err.print(m, highlight=False),
                         examples=examples)
    path = save(models, meta, folder, NAME)
    record = json.loads((folder / "text_heads.json").read_text())
    if encoder:
        from tamis.training import text_finetune

        encoder_card = text_finetune.run(examples, folder, log=lambda m: err.print(m, highlight=False))
    else:
        encoder_card = None
    counts = Counter(f"{e.source}/{e.split}" for e in examples)
    if card:
        card.parent.mkdir(parents=True, exist_ok=True)
        card.write_text(model_card(record, counts, encoder_card), encoding="utf-8")
    err.print(f"wrote {path} (sha256 {record['sha256'][:16]}...)" + (f" and {card}" if card else ""))


def _threshold_text(value: float) -> str:
    return "never" if value > 1 else f"{value:.2f}"


def main() -> None:
    from tamis.engine.runtime import limit_malloc_arenas

    limit_malloc_arenas()  # this process is tamis's own (see the function)
    for stream in (sys.stdout, sys.stderr):  # never fail on a character the terminal cannot take
        if hasattr(stream, "reconfigure"):
            stream.reconfigure(errors="backslashreplace")
    try:
        app()
    except TamisError as exc:  # an error no command caught: still one line, exit 2
        err.print(escape(f"error [{exc.code}] {exc.message}"), highlight=False)
        sys.exit(EXIT_ERROR)
    except OSError as exc:  # an output file or folder that cannot be written
        err.print(escape(f"error [os_error] {exc}"), highlight=False)
        sys.exit(EXIT_ERROR)
    except Exception:  # a bug: show it, and never exit 1, which means "flagged"
        import traceback

        traceback.print_exc()
        err.print("internal error: please report it with the traceback above", highlight=False)
        sys.exit(EXIT_ERROR)


if __name__ == "__main__":
    main()
