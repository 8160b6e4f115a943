"""``neurotrade data``: import bars into the workspace, list and show them, browse the bundled samples."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import pandas as pd
import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from neurotrade.cli._app import app
from neurotrade.cli._context import console, state
from neurotrade.data import DataStore, Repair, infer_timeframe, read_ohlcv, sample_info

data_app = typer.Typer(
    help="Import OHLCV bars into the workspace, list and show them, and browse the bundled samples.",
    no_args_is_help=True,
)


@data_app.command("import")
def import_command(
    ctx: typer.Context,
    file: Annotated[Path, typer.Argument(help="A .csv, .csv.gz or .parquet file of OHLCV bars.")],
    symbol: Annotated[
        str,
        typer.Option(
            "--symbol", "-s", help="Name to store the bars under; also picks the rows of a multi-symbol file."
        ),
    ],
    timeframe: Annotated[
        str | None,
        typer.Option("--timeframe", "-t", help="1m, 5m, 15m, 30m, 1h, 4h, 1d or 1w. Default: inferred."),
    ] = None,
    timezone: Annotated[
        str, typer.Option("--timezone", help="IANA time zone of times written without a UTC offset.")
    ] = "UTC",
    repair: Annotated[
        list[str] | None,
        typer.Option(
            "--repair",
            help="Repairs to apply, comma-separated or repeated: sort, dedupe, split-adjust.",
            show_default=False,
        ),
    ] = None,
) -> None:
    """Read a file of bars (nothing changed unless a repair is asked for) and store it in the workspace."""
    applied: list[Repair] = []
    df = read_ohlcv(file, symbol=symbol, timezone=timezone, repair=repair or (), on_repair=applied.append)
    tf = timeframe or infer_timeframe(df)
    entry = DataStore(state(ctx).home).put(df, symbol, tf, source=str(file))
    how = "" if timeframe else " (inferred)"
    repairs = ", ".join(f"{r.kind} ({r.rows} row{'s' if r.rows != 1 else ''})" for r in applied)
    console.print(
        f"Imported [bold]{escape(entry.key)}[/]: {entry.rows} bars, {_short(entry.first)} to "
        f"{_short(entry.last)}, timeframe {entry.timeframe}{how}"
        + (f"; repairs: {escape(repairs)}" if repairs else ""),
        highlight=False,
        soft_wrap=True,
    )


@data_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """List the bars stored in the workspace."""
    store = DataStore(state(ctx).home)
    entries = store.list()
    if not entries:
        console.print(
            f"No bars stored in {escape(str(store.root))} yet; "
            "import some with: neurotrade data import FILE --symbol SYMBOL",
            highlight=False,
            soft_wrap=True,
        )
        return
    table = Table(box=box.SIMPLE_HEAD, title=f"Bars in {escape(str(store.root))}")
    table.add_column("Symbol", style="bold", no_wrap=True)
    table.add_column("TF", no_wrap=True)
    table.add_column("Bars", justify="right")
    table.add_column("First", no_wrap=True)
    table.add_column("Last", no_wrap=True)
    table.add_column("Imported (UTC)", no_wrap=True)
    table.add_column("Source")
    for e in entries:
        cells = [e.symbol, e.timeframe, str(e.rows), _short(e.first), _short(e.last), _short(e.imported_at), e.source]
        table.add_row(*(escape(c) for c in cells))
    console.print(table)


@data_app.command("show")
def show_command(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="A stored symbol.")],
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="The stored timeframe.")] = "1d",
    rows: Annotated[int, typer.Option("--rows", "-n", min=0, help="Bars to show from each end.")] = 5,
) -> None:
    """Show a stored entry's metadata and its first and last bars (after checking its sha256)."""
    store = DataStore(state(ctx).home)
    entry = store.entry(symbol, timeframe)
    df = store.get(entry.symbol, entry.timeframe)
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold")
    meta.add_column()
    for key, value in (
        ("entry", entry.key),
        ("file", str(store.path(entry.symbol, entry.timeframe))),
        ("bars", str(entry.rows)),
        ("first", entry.first),
        ("last", entry.last),
        ("source", entry.source or "-"),
        ("imported", entry.imported_at),
        ("sha256", entry.sha256),
    ):
        meta.add_row(key, escape(value))
    console.print(meta)
    if rows == 0:
        return
    shown = df if len(df) <= 2 * rows else pd.concat([df.head(rows), df.tail(rows)])
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("time", no_wrap=True)
    for col in df.columns:
        table.add_column(str(col), justify="right")
    for i, (when, bar) in enumerate(shown.iterrows()):
        if len(shown) < len(df) and i == rows:
            table.add_row("...", *("" for _ in df.columns))
        prices = (f"{bar[c]:,.6g}" for c in ("open", "high", "low", "close"))
        table.add_row(_short(when.isoformat()), *prices, f"{bar['volume']:,.0f}")
    console.print(table)


@data_app.command("samples")
def samples_command() -> None:
    """List the real daily bars bundled with neurotrade (split-adjusted when loaded)."""
    table = Table(box=box.SIMPLE_HEAD, title="Bundled daily bars")
    table.add_column("Symbol", style="bold")
    table.add_column("Bars", justify="right")
    table.add_column("First", no_wrap=True)
    table.add_column("Last", no_wrap=True)
    for info in sample_info():
        table.add_row(info.symbol, str(info.rows), _short(info.first.isoformat()), _short(info.last.isoformat()))
    console.print(table)
    console.print(
        "Quandl WIKI prices (public domain). Load one, split-adjusted, with neurotrade.data.load_sample('AAPL').",
        highlight=False,
        soft_wrap=True,
    )


def _short(iso: str) -> str:
    """An ISO time as a table shows it: the date alone at midnight UTC, else date, hours and minutes."""
    t = pd.Timestamp(iso)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC")
    return t.strftime("%Y-%m-%d") if t == t.normalize() else t.strftime("%Y-%m-%d %H:%M")


app.add_typer(data_app, name="data")
