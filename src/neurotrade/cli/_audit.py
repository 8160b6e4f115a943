"""``neurotrade audit``: parse, call the audit, render its table."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from neurotrade._examples import resolve_strategy
from neurotrade.cli._app import app
from neurotrade.cli._context import console, state

# The audit (torch, numba) is imported inside the command, so `neurotrade --help` starts at once.
if TYPE_CHECKING:
    from neurotrade.audit import AuditReport

LEAK_EXIT_CODE = 3


@app.command("audit")
def audit_command(
    ctx: typer.Context,
    strategy: Annotated[Path, typer.Argument(help="Strategy YAML to audit.", show_default=False)],
    cuts: Annotated[int, typer.Option(min=1, help="Cut points to check.")] = 24,
    seed: Annotated[int, typer.Option(help="Seed of the random cut points.")] = 0,
) -> None:
    """Check every feature and label for look-ahead: recompute on histories cut at many points and extended past
    them, and require every row before the cut to be identical. Then check the strategy's split (purge, embargo)
    and that what each fold fits depends on its training rows only. A universe is checked symbol by symbol and
    across symbols (each symbol's future bars changed in turn), its splits in time on the shared axis; a leak
    names its symbol. Exits 3 when anything leaks."""
    from neurotrade.audit import audit

    with Progress(TextColumn("auditing"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("cuts", total=cuts)
        report = audit(
            resolve_strategy(strategy),
            home=state(ctx).home,
            cuts=cuts,
            seed=seed,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    render(report)
    if not report.ok:
        raise typer.Exit(code=LEAK_EXIT_CODE)


def render(report: AuditReport) -> None:
    """One row per column, split check and fitted state: times checked (cuts, or folds), leaks, the first leak,
    and the warm-up a feature needs to converge."""
    title = f"Leakage audit of {escape(report.strategy)}: {len(report.cuts)} cuts, {report.folds} folds"
    if report.symbols:
        title += f", {len(report.symbols)} symbols ({escape(', '.join(report.symbols))})"
    table = Table(title=title, title_justify="left")
    for column in ("column", "kind", "checks", "leaks", "first leak", f"converges after (start +{report.start_shift})"):
        table.add_column(column, justify="right" if column in ("checks", "leaks") else "left")
    for c in report.columns:
        leak = c.first_leak
        if leak is None:
            first = ""
        elif leak.fold is not None:  # a split check or fitted state: the detail names the rows, times and symbol
            first = f"fold {leak.fold}: {leak.detail}"
        elif leak.kind == "matrix":  # the recomputed features are not the run's: the detail says where
            first = leak.detail
        else:
            where = f"{leak.symbol} row" if leak.symbol else "row"
            first = f"cut {leak.cut:%Y-%m-%d %H:%M}: {where} {leak.at:%Y-%m-%d %H:%M} {leak.detail}"
        warm = "–" if c.kind != "feature" else ("never" if c.converges_after is None else f"{c.converges_after} bars")
        status = "[red]" if c.leaks else ""
        table.add_row(f"{status}{escape(c.column)}", c.kind, str(c.cuts), f"{status}{c.leaks}", escape(first), warm)
    console.print(table)
    if report.ok:
        console.print("[green]no leaks found[/]")
    else:
        names = ", ".join(f"{leak.column} ({leak.symbol})" if leak.symbol else leak.column for leak in report.leaks)
        console.print(f"[bold red]leaks found in: {escape(names)}[/]")
