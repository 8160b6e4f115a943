"""``neurotrade backtest``: a saved model traded over a window by the live decision engine."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich.markup import escape
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn
from rich.table import Table

from neurotrade._examples import resolve_strategy
from neurotrade.cli._app import app
from neurotrade.cli._context import console, state
from neurotrade.cli._run import METRIC_ROWS, sizing_lines
from neurotrade.errors import BacktestError

if TYPE_CHECKING:
    import pandas as pd

# Shown when a --from or --to value is not a date.
DATE_EXAMPLE = "2015-06-30 (or 2015-06-30T14:30 for intraday bars, UTC)"


@app.command("backtest")
def backtest_command(
    ctx: typer.Context,
    strategy: Annotated[
        Path,
        typer.Argument(help="Strategy YAML, or a packaged example's name (its data section chooses the bars)."),
    ],
    model: Annotated[str, typer.Option("--model", help="Bundle version, e.g. 1d_v2, or latest.")] = "latest",
    start: Annotated[str | None, typer.Option("--from", help="First bar to trade (date). Default: the first.")] = None,
    end: Annotated[str | None, typer.Option("--to", help="Last bar to trade (date). Default: the last.")] = None,
) -> None:
    """Trade a saved model bar by bar through the decision engine over a window, beside buy-and-hold.

    Every bar from the start of the data warms the indicators up; trading starts flat at --from. A window that
    begins before the end of the model's own training data is flagged as in sample. A universe's model trades
    every symbol through one shared-cash portfolio, beside equal-weight buy-and-hold; over its run's last fold's
    window (the fold whose model the bundle holds) the trades are checked against the run's.
    """
    # Both dates are read before the library loads, so a typo is answered at once.
    first, last = parse_date("--from", start), parse_date("--to", end)
    path = resolve_strategy(strategy)
    from neurotrade._replay import backtest_bundle

    with Progress(TextColumn("replaying"), BarColumn(), MofNCompleteColumn(), console=console, transient=True) as bar:
        task = bar.add_task("bars", total=None)
        out = backtest_bundle(
            path,
            model=model,
            start=first,
            end=last,
            home=state(ctx).home,
            progress=lambda done, total: bar.update(task, completed=done, total=total),
        )
    m = out.metrics
    universe = m.get("universe")
    title = f"{escape(out.bundle.name)} traded {m['window']['first'][:10]} → {m['window']['last'][:10]}"
    if universe:
        title += f": {len(universe['symbols'])} symbols, one shared-cash portfolio"
    table = Table(title=title, title_justify="left")
    table.add_column("metric")
    table.add_column("portfolio" if universe else "strategy", justify="right")
    table.add_column("equal-weight buy & hold" if universe else "buy & hold", justify="right")
    for label, key, fmt in METRIC_ROWS:
        table.add_row(label, fmt(m["strategy"].get(key)), fmt(m["buy_and_hold"].get(key)))
    console.print(table)
    signals = ", ".join(f"{name} {count}" for name, count in m["signals"].items())
    console.print(f"signals: {signals}", highlight=False)
    for line in sizing_lines(None, out.result.trades):  # how the trades ended: signal, stops, margin call
        console.print(line, highlight=False)
    if universe:
        for line in universe_lines(universe, m["run"]):
            console.print(line, highlight=False)
    if m["strategy"].get("ruined"):
        console.print(f"[bold red]ruined:[/] a margin call at {m['strategy']['ruined'][:10]}", highlight=False)
    if m["in_sample"]:
        console.print(
            f"[bold yellow]in sample:[/] the model was trained and stopped on data up to {m['trained_until'][:10]}; "
            "these numbers say nothing about how it trades unseen bars",
            highlight=False,
        )


def universe_lines(universe: dict[str, Any], run: dict[str, Any]) -> list[str]:
    """How a universe's replay was traded, what each symbol added, and whether it traded what the run traded.

    Examples
    --------
    >>> universe = {"selection": "all", "position_fraction": 0.5,
    ...             "contribution": {"A": {"trades": 2, "pnl_pct": 1.5}, "B": {"trades": 0, "pnl_pct": 0.0}}}
    >>> for line in universe_lines(universe, {"compared": True, "fold": 2, "matches": True, "trades": 2}):
    ...     print(line)
    selection: all, each new position 50.0 % of the equity
    per symbol: A 2 trades +1.50 %, B 0 trades +0.00 %
    run: the replay traded exactly the run's 2 trades of fold 2
    """
    lines = [
        f"selection: {universe['selection']}, each new position {100 * universe['position_fraction']:.1f} % of "
        "the equity"
    ]
    parts = [f"{s} {c['trades']} trades {c['pnl_pct']:+.2f} %" for s, c in universe["contribution"].items()]
    lines.append(f"per symbol: {', '.join(parts)}")
    if not run["compared"]:
        lines.append(f"run: not compared: {escape(run['reason'])}")
    elif run["matches"]:
        lines.append(f"run: the replay traded exactly the run's {run['trades']} trades of fold {run['fold']}")
    else:
        lines.append(
            f"[bold red]run: the replay differs from the run's trades of fold {run['fold']}:[/] "
            f"{escape(run['difference'])}"
        )
    return lines


def parse_date(option: str, value: str | None) -> pd.Timestamp | None:
    """The UTC time a ``--from``/``--to`` value names (naive, as the replay expects), or a one-line user error.

    Times with an offset are converted to UTC; times without one are read as UTC.
    """
    if value is None:
        return None
    import pandas as pd

    try:
        stamp = pd.Timestamp(value.strip())
    except (ValueError, OverflowError) as e:  # DateParseError and OutOfBoundsDatetime are ValueErrors
        # pandas ends its message with the value itself, which the message below already quotes.
        reason = str(e).rsplit(": ", 1)[0] or "unreadable"
        raise BacktestError(f"{option} {value!r} is not a date ({reason}); give one like {DATE_EXAMPLE}") from e
    if stamp is pd.NaT:
        raise BacktestError(f"{option} {value!r} is not a date; give one like {DATE_EXAMPLE}")
    return stamp if stamp.tzinfo is None else stamp.tz_convert("UTC").tz_localize(None)
