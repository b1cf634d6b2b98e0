"""``tamis serve`` (the HTTP service), ``tamis keys`` (its API keys) and ``tamis reviewers``
(the people who sign in to its review page)."""

from __future__ import annotations

import json
from typing import Annotated, Optional

import typer
from rich.markup import escape
from rich.table import Table

from tamis.cli.common import TYPER, err, fail, out, split_commas
from tamis.errors import TamisError

keys_app = typer.Typer(help="API keys of the service (stored hashed in its database).", **TYPER)
reviewers_app = typer.Typer(help="Reviewers who sign in to the review page (/review).", **TYPER)


def serve(
    host: Annotated[str, typer.Option(metavar="HOST", help="Address to listen on. Other than loopback only "
                                      "once API keys exist.")] = "127.0.0.1",
    port: Annotated[int, typer.Option(metavar="PORT", help="Port to listen on.")] = 8080,
    job_workers: Annotated[Optional[int], typer.Option("--job-workers", metavar="N",
                                                       help="Threads running jobs (default: the setting "
                                                       "job_workers, 2).")] = None,
    log_level: Annotated[str, typer.Option(metavar="LEVEL", help="debug, info, warning or error.")] = "info",
) -> None:
    """Run the HTTP service: scans, jobs, OpenAI-compatible moderation; API docs at /docs."""
    from tamis.config import load_settings
    from tamis.service.server import serve as run

    try:
        run(load_settings(job_workers=job_workers), host=host, port=port, log_level=log_level)
    except TamisError as exc:
        fail(exc)


def _keys():
    from tamis.config import load_settings
    from tamis.storage import Database, KeyStore

    return KeyStore(Database(load_settings().service_db))


@keys_app.command("create")
def keys_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="Who the key is for.")],
    scopes: Annotated[str, typer.Option(metavar="SCOPES",
                                        help="Comma-separated: scan, review, metrics, admin.")] = "scan",
    profile: Annotated[Optional[str], typer.Option(metavar="PROFILE",
                                                   help="Policy profile for this key's requests.")] = None,
    rate_limit: Annotated[int, typer.Option(metavar="N", help="Requests per minute (0: no limit).")] = 0,
    queues: Annotated[str, typer.Option(metavar="QUEUES", help="Review queues a review key may work on "
                                        "(comma-separated; * for all).")] = "*",
) -> None:
    """Create a key and print it, once: it is stored only as a hash."""
    try:
        if profile:
            from tamis.config import load_settings
            from tamis.policy import load_policy

            load_policy(load_settings().policy, profile)  # an unknown profile now, not at each request
        key, secret = _keys().create(name, split_commas(scopes) or [], profile, rate_limit, queues=queues)
    except TamisError as exc:
        fail(exc)
    err.print(f"created key {escape(key.name)} ({', '.join(key.scopes)}); it is shown this once:", highlight=False)
    print(secret)


@keys_app.command("list")
def keys_list(
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="table or json.")] = "table",
    revoked: Annotated[bool, typer.Option("--revoked", help="Show revoked keys too.")] = False,
) -> None:
    """List keys (their names, scopes and first characters; never the keys)."""
    keys = _keys().list(include_revoked=revoked)
    if format == "json":
        print(json.dumps([k.to_dict() for k in keys], indent=2))
        return
    table = Table(header_style="bold")
    for col in ("name", "prefix", "scopes", "profile", "per minute", "created", "revoked"):
        table.add_column(col)
    for k in keys:
        table.add_row(escape(k.name), k.prefix + "...", ",".join(k.scopes), escape(k.profile or ""),
                      str(k.rate_limit or ""), k.created_at.strftime("%Y-%m-%d %H:%M"),
                      k.revoked_at.strftime("%Y-%m-%d %H:%M") if k.revoked_at else "")
    out.print(table)


@keys_app.command("revoke")
def keys_revoke(name: Annotated[str, typer.Argument(metavar="NAME", help="The key's name (or id).")]) -> None:
    """Revoke a key: requests with it are refused from now on."""
    try:
        key = _keys().revoke(name)
    except TamisError as exc:
        fail(exc)
    err.print(f"revoked key {escape(key.name)}", highlight=False)


def _reviewers():
    from tamis.config import load_settings
    from tamis.storage import Database, ReviewerStore

    return ReviewerStore(Database(load_settings().service_db))


@reviewers_app.command("create")
def reviewers_create(
    name: Annotated[str, typer.Argument(metavar="NAME", help="The name they sign in with.")],
    queues: Annotated[str, typer.Option(metavar="QUEUES", help="Queues they may review (comma-separated; * for "
                                        "all).")] = "*",
    password_stdin: Annotated[bool, typer.Option("--password-stdin", help="Read the password from standard "
                                                 "input instead of asking.")] = False,
) -> None:
    """Create a reviewer (their password is stored hashed with argon2id)."""
    import sys

    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt("Password", hide_input=True, confirmation_prompt=True)
    try:
        r = _reviewers().create(name, password, queues)
    except TamisError as exc:
        fail(exc)
    err.print(f"created reviewer {escape(r.name)} (queues: {', '.join(sorted(r.queues)) if r.queues else 'all'})",
              highlight=False)


@reviewers_app.command("list")
def reviewers_list(
    format: Annotated[str, typer.Option("--format", "-f", metavar="FORMAT", help="table or json.")] = "table",
) -> None:
    """List reviewers and their queues."""
    rows = _reviewers().list()
    if format == "json":
        print(json.dumps([r.to_dict() for r in rows], indent=2))
        return
    table = Table(header_style="bold")
    for col in ("name", "queues", "created", "disabled"):
        table.add_column(col)
    for r in rows:
        table.add_row(escape(r.name), ",".join(sorted(r.queues)) if r.queues else "*",
                      r.created_at.strftime("%Y-%m-%d %H:%M"),
                      r.disabled_at.strftime("%Y-%m-%d %H:%M") if r.disabled_at else "")
    out.print(table)


@reviewers_app.command("disable")
def reviewers_disable(name: Annotated[str, typer.Argument(metavar="NAME")]) -> None:
    """Disable a reviewer: they are signed out everywhere and cannot sign in."""
    try:
        r = _reviewers().disable(name)
    except TamisError as exc:
        fail(exc)
    err.print(f"disabled reviewer {escape(r.name)}", highlight=False)
