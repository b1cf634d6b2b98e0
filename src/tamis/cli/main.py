"""The ``tamis`` command line: a thin layer over the Python API.

This module holds the app, its callback and ``main()``, and registers the commands, which
live in one module per concern: scan, banks (and hash), admin (models, labels, policy),
service (serve, keys, reviewers), train."""

from __future__ import annotations

import sys
from typing import Annotated

import typer
from rich.markup import escape

from tamis.cli.admin import labels, models, policy_cmd
from tamis.cli.banks import banks_app, hash_cmd
from tamis.cli.common import EXIT_ERROR, TYPER, err
from tamis.cli.scan import scan
from tamis.cli.service import keys_app, reviewers_app, serve
from tamis.cli.train import train_app
from tamis.errors import TamisError

app = typer.Typer(pretty_exceptions_enable=False, **TYPER,
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


# In the order that help lists them: the commands, then the groups.
app.command()(scan)
app.command()(models)
app.command()(labels)
app.command("policy")(policy_cmd)
app.command("hash")(hash_cmd)
app.command()(serve)
app.add_typer(banks_app, name="banks")
app.add_typer(keys_app, name="keys")
app.add_typer(reviewers_app, name="reviewers")
app.add_typer(train_app, name="train")


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
