"""The root ``neurotrade`` command: global options, sub-commands, and how errors reach the user."""

from __future__ import annotations

import logging
import os
import sys
import traceback
from pathlib import Path
from typing import Annotated, NoReturn

import typer
from rich.logging import RichHandler
from rich.markup import escape

from neurotrade._threads import configure_threads
from neurotrade._workspace import resolve_home
from neurotrade.cli._context import CliState, err_console
from neurotrade.errors import NeurotradeError

app = typer.Typer(
    name="neurotrade",
    help="Research, train and run neural trading strategies declared in one YAML file.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    add_completion=False,
)


def _show_version(value: bool) -> None:
    if value:
        from neurotrade import __version__

        typer.echo(f"neurotrade {__version__}")
        raise typer.Exit()


@app.callback()
def _root(
    ctx: typer.Context,
    home: Annotated[
        Path | None,
        typer.Option(
            "--home",
            help="Workspace directory for data, models and runs. Default: $NEUROTRADE_HOME, else ./workspace.",
            show_default=False,
        ),
    ] = None,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="Show debug logging.")] = False,
    threads: Annotated[
        int | None,
        typer.Option(
            "--threads",
            min=1,
            help="Compute threads for this process (torch, OpenMP/MKL, numba). Default: $NEUROTRADE_THREADS, else "
            "every core; with several runs at once give each cores / runs.",
            show_default=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", callback=_show_version, is_eager=True, help="Print the version and exit."),
    ] = False,
) -> None:
    logging.basicConfig(
        level=logging.DEBUG if verbose else logging.INFO,
        format="%(message)s",
        handlers=[RichHandler(console=err_console, show_time=False, show_path=False)],
        force=True,
    )
    # Before any command imports torch or numba: their pools read their size when they start.
    configure_threads(threads)
    ctx.obj = CliState(home=resolve_home(home))


def main(argv: list[str] | None = None) -> None:
    """Entry point of the ``neurotrade`` script.

    A :class:`~neurotrade.errors.NeurotradeError` is the user's to fix: one message, exit code 2 (as for a
    mistyped option, which the command-line parser reports itself). Anything else is a bug in neurotrade: a short
    message, exit code 1; ``NEUROTRADE_DEBUG=1`` shows the traceback.
    """
    from neurotrade.cli import _commands  # noqa: F401  registers the sub-commands on `app`

    try:
        app(args=argv, prog_name="neurotrade")
    except NeurotradeError as e:
        err_console.print(f"[bold red]error:[/] {escape(str(e))}", highlight=False, soft_wrap=True)
        sys.exit(2)
    except OSError as e:
        if e.filename is None:
            _exit_as_bug(e)
        # A path the user named (or the workspace they chose) that cannot be read or written: theirs to fix.
        err_console.print(
            f"[bold red]error:[/] cannot use {escape(str(e.filename))}: {escape(e.strerror or str(e))}; "
            "check the path (and --home) and its permissions",
            highlight=False,
            soft_wrap=True,
        )
        sys.exit(2)
    except Exception as e:  # a bug: say so briefly, keep the traceback for those who ask
        _exit_as_bug(e)


def _exit_as_bug(e: BaseException) -> NoReturn:
    """Report an exception as a bug in neurotrade: one short message, exit code 1."""
    if os.environ.get("NEUROTRADE_DEBUG"):
        traceback.print_exception(e)
    err_console.print(
        f"[bold red]internal error:[/] {type(e).__name__}: {escape(str(e))}\n"
        "This is a bug in neurotrade; set NEUROTRADE_DEBUG=1 to see the traceback.",
        highlight=False,
    )
    sys.exit(1)
