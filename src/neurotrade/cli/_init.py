"""``neurotrade init``: write a starter strategy to edit, and say what to run next."""

from __future__ import annotations

import shlex
from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from neurotrade._examples import STARTER_FILE, example_names, write_starter
from neurotrade.cli._app import app
from neurotrade.cli._context import console, state


@app.command("init")
def init_command(
    ctx: typer.Context,
    directory: Annotated[
        Path, typer.Argument(help=f"Folder to write {STARTER_FILE} in (created if missing).", show_default=False)
    ],
    example: Annotated[
        str,
        typer.Option("--example", "-e", help=f"Packaged strategy to copy: {', '.join(example_names())}."),
    ] = "default",
) -> None:
    """Write DIRECTORY/strategy.yaml, a commented copy of a packaged example strategy, and print what to run next.

    Never overwrites a file.
    """
    path = write_starter(directory, example)
    quoted = escape(shlex.quote(str(path)))
    console.print(
        f"[green]Wrote[/] {escape(str(path))}, a copy of the packaged {escape(example)} strategy.",
        highlight=False,
        soft_wrap=True,
    )
    console.print(
        f"Next, edit it, check it, then train and evaluate it (models and runs go to {escape(str(state(ctx).home))}):",
        highlight=False,
        soft_wrap=True,
    )
    console.print(f"  neurotrade validate {quoted}\n  neurotrade run {quoted}", highlight=False, soft_wrap=True)
