"""The ``tamis`` command line: a thin layer over the Python API."""

from __future__ import annotations

import json
import os
import sys
import time
from collections import Counter
from dataclasses import replace
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tamis.errors import TamisError

app = typer.Typer(add_completion=False, no_args_is_help=True, pretty_exceptions_enable=False,
                  help="tamis: self-hosted content safety. Scan images for risky content.")
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


def _row_findings(result) -> str:
    shown = [f for f in sorted(result.findings, key=lambda f: -f.score)
             if f.score >= 0.1 or f.label == "qr_code"]
    parts = []
    for f in shown[:6]:
        extra = f" {f.data['payload'][:30]!r}" if f.label == "qr_code" else ""
        parts.append(f"{f.label} {f.score:.2f}{extra}")
    return ", ".join(parts) or "-"


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
    paths: Annotated[list[str], typer.Argument(help="Files, folders (recursive) or - for stdin.")],
    format: Annotated[str, typer.Option("--format", "-f", help="table, json or jsonl.")] = "table",
    output: Annotated[Optional[Path], typer.Option("--output", "-o", help="Write results here.")] = None,
    policy: Annotated[Optional[Path], typer.Option(help="Policy YAML file.")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Policy profile (e.g. strict, lenient).")] = None,
    detectors: Annotated[Optional[str], typer.Option(help="Comma-separated detectors to run.")] = None,
    labels: Annotated[Optional[str], typer.Option(help="Report only these labels.")] = None,
    face_attributes: Annotated[Optional[str], typer.Option(
        help="Face attributes to report (eyes_open, smiling, glasses).")] = None,
    annotate: Annotated[Optional[Path], typer.Option(help="Write annotated copies to this folder.")] = None,
    blur_faces: Annotated[Optional[Path], typer.Option(help="Write face-blurred copies here.")] = None,
    pixelate: Annotated[bool, typer.Option(help="Pixelate faces instead of blurring.")] = False,
    report: Annotated[Optional[Path], typer.Option(help="Write an HTML report (with pictures) here.")] = None,
    workers: Annotated[int, typer.Option(
        help="Worker processes (0 = one per core when there are 8 files or more).")] = 0,
    ocr_always: Annotated[bool, typer.Option(help="OCR every image, not only where text is likely.")] = False,
    progress: Annotated[bool, typer.Option(help="Show a progress bar for many files.")] = True,
) -> None:
    """Scan images and print findings, faces, hashes and a decision for each."""
    from tamis.config import load_settings
    from tamis.engine import Engine
    from tamis.policy import load_policy
    from tamis.render import card, render_report

    if format not in ("table", "json", "jsonl"):
        err.print(f"[red]error[/red] unknown format {format!r} (use table, json or jsonl)")
        raise typer.Exit(EXIT_ERROR)
    try:
        settings = load_settings(detectors=tuple(_split(detectors) or ()) or None,
                                 ocr_always=ocr_always or None)
        pol = load_policy(policy or settings.policy, profile or settings.profile)
        options = dict(settings=settings, policy=pol, labels=_split(labels),
                       face_attributes=_split(face_attributes))
        Engine(**options)  # validates detectors, labels and attributes before any work
    except TamisError as exc:
        _fail(exc)

    files = expand_paths(paths)
    keep = bool(annotate or blur_faces or report)
    if workers == 0:
        workers = (os.cpu_count() or 1) if len(files) >= AUTO_WORKERS_FROM else 1
    if workers > 1 and len(files) > 1:
        from tamis.engine.pool import scan_parallel

        options["settings"] = replace(settings, threads=1)
        stream = scan_parallel((_source(p) for p in files), workers, keep_content=keep, **options)
    else:
        engine = Engine(**options)
        stream = engine.scan_many((_source(p) for p in files), keep_content=keep)

    if output:
        output.parent.mkdir(parents=True, exist_ok=True)
    sink = output.open("w", encoding="utf-8") if output else None
    results = []
    cards: list[str] = []
    used: set[str] = set()
    counts: Counter[str] = Counter()
    start = time.perf_counter()
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeRemainingColumn

    bar = Progress(TextColumn("scanning"), BarColumn(), MofNCompleteColumn(), TimeRemainingColumn(),
                   console=err, transient=True, disable=not (progress and len(files) > 1))
    with bar:
        task = bar.add_task("scan", total=len(files))
        for path, result in zip(files, stream):
            if path == "-":
                result.source = "<stdin>"
            counts[result.action] += 1
            if result.content is not None:
                if annotate or blur_faces:
                    _write_pictures(result, annotate, blur_faces, "pixelate" if pixelate else "blur", used)
            if report:
                cards.append(card(result))
            result.content = None
            if format == "jsonl":
                line = json.dumps(result.to_dict(), ensure_ascii=False)
                print(line, file=sink or sys.stdout, flush=sink is None)
            else:
                results.append(result)
            bar.advance(task)
    elapsed = time.perf_counter() - start

    if format == "json":
        text = json.dumps([r.to_dict() for r in results], indent=2, ensure_ascii=False)
        print(text, file=sink or sys.stdout)
    elif format == "table":
        _print_table(results, sink)
    if sink:
        sink.close()
    if report:
        report.parent.mkdir(parents=True, exist_ok=True)
        report.write_text(render_report(cards, counts), encoding="utf-8")
    n = sum(counts.values())
    rate = n / elapsed if elapsed > 0 else 0.0
    summary = (f"{n} scanned in {elapsed:.1f}s ({rate:.1f}/s): {counts['allow']} allow, "
               f"{counts['review']} review, {counts['block']} block, {counts['error']} error")
    err.print(summary, highlight=False)
    if counts["error"]:
        raise typer.Exit(EXIT_ERROR)
    if counts["review"] or counts["block"]:
        raise typer.Exit(EXIT_FLAGGED)


def _picture_stem(source: str, used: set[str]) -> str:
    """A file name for pictures of ``source``, unique within this run."""
    stem = Path(source).stem if source not in ("<stdin>", "<bytes>") else "stdin"
    name, n = stem, 1
    while name in used:
        n += 1
        name = f"{stem}-{n}"
    used.add(name)
    return name


def _write_pictures(result, annotate_dir, blur_dir, mode, used: set[str]) -> None:
    from tamis.render import annotate, redact_faces, save_image

    content = result.content
    stem = _picture_stem(result.source, used)
    for frame in content.frames:
        suffix = f".frame{frame.index}" if len(content.frames) > 1 else ""
        if annotate_dir:
            img = annotate(frame.rgb, result, frame.index if len(content.frames) > 1 else None)
            save_image(img, annotate_dir / f"{stem}{suffix}", content.media_type)
        if blur_dir:
            boxes = [f.box for f in result.faces if f.frame in (None, frame.index)]
            save_image(redact_faces(frame.rgb, boxes, mode), blur_dir / f"{stem}{suffix}",
                       content.media_type)


def _print_table(results, sink) -> None:
    table = Table(show_lines=False, header_style="bold")
    for col in ("file", "decision", "findings", "faces", "text"):
        table.add_column(col, overflow="fold")
    for r in results:
        if r.error:
            table.add_row(escape(r.source), "[magenta]error[/magenta]",
                          escape(f"[{r.error['code']}] {r.error['message']}"), "", "")
            continue
        text = (r.text.text.replace("\n", " | ")[:60] if r.text and r.text.lines else "")
        table.add_row(escape(r.source), f"[{_STYLE[r.action]}]{r.action}[/]", escape(_row_findings(r)),
                      _row_faces(r), escape(text))
    console = Console(file=sink, width=160) if sink else out
    console.print(table)


@app.command()
def models(
    format: Annotated[str, typer.Option("--format", "-f", help="table or json.")] = "table",
    load: Annotated[bool, typer.Option(help="Also load each model (--no-load: only check files).")] = True,
) -> None:
    """List every model: package, version, licences, SHA-256, and whether it loads."""
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
    file: Annotated[Optional[Path], typer.Argument(help="Policy file to check (default: built-in).")] = None,
    profile: Annotated[Optional[str], typer.Option(help="Profile to show.")] = None,
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


def _threshold_text(value: float) -> str:
    return "never" if value > 1 else f"{value:.2f}"


def main() -> None:
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
