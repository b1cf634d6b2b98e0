"""What every command shares: the Typer settings, the consoles, exit codes, errors and paths."""

from __future__ import annotations

import os
import sys
from pathlib import Path
from typing import Optional

import typer
from rich.console import Console
from rich.markup import escape

from tamis.errors import TamisError


class Group(typer.core.TyperGroup):
    """Help that reads like a Unix tool's: each parameter shows its metavar (FILE, TEXT,
    LABELS), never a Python type. Typer 0.26 and later print an argument's type
    (``<list[str]>``) beside its metavar; an argument with a metavar shows that alone."""

    def __init__(self, **kwargs) -> None:
        super().__init__(**kwargs)
        for command in self.commands.values():
            for param in command.params:
                if isinstance(param, typer.core.TyperArgument) and param.metavar \
                        and hasattr(param, "display_type_rich"):
                    param.display_type_rich = no_type


def no_type(ctx) -> None:
    return None


#: For the app and every command: -h as well as --help; plain help text (Click's layout)
#: rather than Rich panels, so help wraps at word boundaries in the terminal's width and
#: shows no types, only metavars.
TYPER = dict(cls=Group, add_completion=False, no_args_is_help=True, rich_markup_mode=None,
             context_settings={"help_option_names": ["-h", "--help"]})

# Not on a terminal (a pipe, a file, CI logs): wide enough that paths are not folded.
out = Console(width=None if sys.stdout.isatty() else 200)
err = Console(stderr=True)

EXIT_OK, EXIT_FLAGGED, EXIT_ERROR = 0, 1, 2
_HIDDEN = (".", "_")


def fail(exc: TamisError) -> None:
    """Print the error as one line on stderr and exit 2."""
    err.print(f"[red]error[/red] {escape(f'[{exc.code}] {exc.message}')}", highlight=False)
    raise typer.Exit(EXIT_ERROR)


def split_commas(value: Optional[str]) -> Optional[list[str]]:
    """The items of a comma-separated option, or None when it is not given."""
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


def open_output(output: Optional[Path]):
    """The file behind --output, opened for writing (its folder made), or None for stdout."""
    if output is None:
        return None
    output.parent.mkdir(parents=True, exist_ok=True)
    # Names are made printable where they enter; should one slip through, the file is still written.
    return output.open("w", encoding="utf-8", errors="backslashreplace")
