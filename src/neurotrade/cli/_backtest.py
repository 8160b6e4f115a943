"""``neurotrade backtest``: a saved model traded over a window by the live decision engine."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from neurotrade._replay import backtest_bundle
from neurotrade.cli._app import app
from neurotrade.cli._context import console, state
from neurotrade.cli._run import METRIC_ROWS


@app.command("backtest")
def backtest_command(
    ctx: typer.Context,
    strategy: Annotated[Path, typer.Argument(help="Strategy YAML (its data section chooses the bars).")],
    model: Annotated[str, typer.Option("--model", help="Bundle version, e.g. 1d_v2, or latest.")] = "latest",
    start: Annotated[str | None, typer.Option("--from", help="First bar to trade (date). Default: the first.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last bar to trade (date). Default: the last.")] = None,
) -> None:
    """Trade a saved model bar by bar through the decision engine over a window, beside buy-and-hold.

    Every bar from the start of the data warms the indicators up; trading starts flat at --from. A window that
    begins before the end of the model's own training data is flagged as in sample.
    """
    with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("bars", total=None)
        out = backtest_bundle(
            strategy,
            model=model,
            start=start,
            end=end,
            home=state(ctx).home,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    m = out.metrics
    title = f"{escape(out.bundle.name)} traded {m['window']['first'][:10]} → {m['window']['last'][:10]}"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("strategy", justify="right")
    table.add_column("buy & hold", justify="right")
    for label, key, fmt in METRIC_ROWS:
        table.add_row(label, fmt(m["strategy"].get(key)), fmt(m["buy_and_hold"].get(key)))
    console.print(table)
    signals = ", ".join(f"{name} {count}" for name, count in m["signals"].items())
    console.print(f"signals: {signals}", highlight=False)
    if m["in_sample"]:
        console.print(
            f"[bold yellow]in sample:[/] the model was trained and stopped on data up to {m['trained_until'][:10]}; "
            "these numbers say nothing about how it trades unseen bars",
            highlight=False,
        )
