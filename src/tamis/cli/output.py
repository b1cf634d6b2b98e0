"""How scan results are printed: the table, a video's timeline, a document's parts, the summary."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from tamis.cli.common import EXIT_ERROR, EXIT_FLAGGED, err, out


@dataclass(frozen=True)
class View:
    """How the table and the report show findings: repeats of a label once, with a count;
    those under the policy's thresholds left out unless ``everything``."""

    policy: object = None
    everything: bool = False

    def findings(self, result):
        from tamis.render.findings import notable

        return notable(result.findings, self.policy, self.everything)


#: Labels listed in one table cell (all of them with --all-findings).
ROW_LABELS = 6


def _row_findings(result, view: View = View()) -> tuple[str, int]:
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


def print_table(results, sink, view: View = View()) -> None:
    """The results table, then each video's timeline, each document's parts and the notes."""
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


def summary(counts: Counter, elapsed: float) -> None:
    """The summary line on stderr, then exit 2 on any error, 1 on anything flagged."""
    n = sum(counts.values())
    rate = n / elapsed if elapsed > 0 else 0.0
    err.print(f"{n} scanned in {elapsed:.1f}s ({rate:.1f}/s): {counts['allow']} allow, "
              f"{counts['review']} review, {counts['block']} block, {counts['error']} error", highlight=False)
    if counts["error"]:
        raise typer.Exit(EXIT_ERROR)
    if counts["review"] or counts["block"]:
        raise typer.Exit(EXIT_FLAGGED)
