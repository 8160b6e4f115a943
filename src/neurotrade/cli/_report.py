"""``neurotrade report``: write a run's HTML report and print where it is."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape

from neurotrade.cli._app import app
from neurotrade.cli._context import console, state


@app.command("report")
def report_command(
    ctx: typer.Context,
    run_dir: Annotated[
        Path,
        typer.Argument(
            help="Run folder, e.g. workspace/runs/default/1d_v1, or <strategy>/<tf>_vN under the workspace's runs; "
            "or a paper session's folder, e.g. workspace/paper/default.",
            show_default=False,
        ),
    ],
    bundle: Annotated[
        Path | None,
        typer.Option("--bundle", help="Model bundle folder. Default: the one the run's metrics.json names."),
    ] = None,
) -> None:
    """Write RUN_DIR/report.html (one self-contained page that works offline) and print its path."""
    from neurotrade.report import write_report

    runs = state(ctx).home / "runs"
    # A name under the workspace's runs also finds near misses there ("did you mean ...").
    if not run_dir.is_dir() and not run_dir.is_absolute() and (runs / run_dir).parent.is_dir():
        run_dir = runs / run_dir
    if (run_dir / "state.sqlite").is_file():  # a paper session: its files are views of its database, refreshed
        from neurotrade.live import write_session_folder

        write_session_folder(run_dir)
    path = write_report(run_dir, bundle_dir=bundle)
    console.print(escape(str(path)), highlight=False, soft_wrap=True)
