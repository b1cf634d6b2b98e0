"""``tamis models``, ``tamis labels`` and ``tamis policy``: what tamis runs and how it decides."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from tamis.cli.common import EXIT_ERROR, fail, out
from tamis.errors import TamisError


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
        fail(exc)
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
