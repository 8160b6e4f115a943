"""State shared by every CLI command: the workspace and the consoles."""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

import typer
from rich.console import Console

console = Console()
err_console = Console(stderr=True)


@dataclass(frozen=True)
class CliState:
    """What the root command resolved before any sub-command runs."""

    home: Path


def state(ctx: typer.Context) -> CliState:
    """The :class:`CliState` the root callback stored on the click context."""
    root = ctx.find_root()
    if not isinstance(root.obj, CliState):  # only when a sub-app is invoked on its own in a test
        from neurotrade._workspace import resolve_home

        root.obj = CliState(home=resolve_home())
    return root.obj
