"""``neurotrade data``: import bars into the workspace, list and show them, browse the bundled samples."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from neurotrade.cli._app import app
from neurotrade.cli._context import console, state

# The data layer (pandas, pyarrow) is imported inside the commands, so `neurotrade --help` starts at once.
if TYPE_CHECKING:
    from neurotrade.data import Repair, StoreEntry

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
            help="Repairs to apply, comma-separated or repeated: sort, dedupe, split-adjust, implausible-drop.",
            show_default=False,
        ),
    ] = None,
    max_move: Annotated[
        float,
        typer.Option(
            "--max-move",
            help="Refuse bars whose prices lie beyond this ratio of the previous close, either way "
            "(10: x0.1 to x10); 'inf' turns the check off.",
        ),
    ] = 10.0,
) -> None:
    """Read a file of bars (nothing changed unless a repair is asked for), report its gaps, and store it."""
    from neurotrade.data import DataStore, infer_timeframe, normalise_symbol, read_ohlcv

    normalise_symbol(symbol)  # refuse a symbol that cannot be a folder before reading the whole file
    applied: list[Repair] = []
    df = read_ohlcv(
        file, symbol=symbol, timezone=timezone, repair=repair or (), on_repair=applied.append, max_move=max_move
    )
    tf = timeframe or infer_timeframe(df)
    entry = DataStore(state(ctx).home).put(df, symbol, tf, source=str(file))
    how = "" if timeframe else " (inferred)"
    repairs = ", ".join(f"{r.kind} ({r.rows} row{'s' if r.rows != 1 else ''})" for r in applied)
    console.print(
        f"Imported [bold]{escape(entry.key)}[/]: {entry.rows} bars, {_short(entry.first)} to "
        f"{_short(entry.last)}, timeframe {entry.timeframe}{how}"
        + (f"; repairs: {escape(repairs)}" if repairs else "")
        + f"; {_gap_summary(entry)}",
        highlight=False,
        soft_wrap=True,
    )


@data_app.command("list")
def list_command(ctx: typer.Context) -> None:
    """List the bars stored in the workspace."""
    from neurotrade.data import DataStore

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
    # Counts never collapse (the gap count is why one looks); the import time and the source wrap instead.
    table.add_column("Bars", justify="right", no_wrap=True, min_width=4)
    table.add_column("First", no_wrap=True)
    table.add_column("Last", no_wrap=True)
    table.add_column("Gaps", justify="right", no_wrap=True, min_width=4)
    table.add_column("Imported (UTC)", ratio=1)
    table.add_column("Source", overflow="fold", ratio=1)
    for e in entries:
        gaps = "?" if e.gap_count is None else str(e.gap_count)
        cells = [e.symbol, e.timeframe, str(e.rows), _short(e.first), _short(e.last), gaps, _short(e.imported_at)]
        cells.append(e.source)
        table.add_row(*(escape(c) for c in cells))
    console.print(table)


@data_app.command("show")
def show_command(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="A stored symbol.")],
    timeframe: Annotated[
        str | None,
        typer.Option("--timeframe", "-t", help="The stored timeframe. Default: the only one stored, else 1d."),
    ] = None,
    rows: Annotated[int, typer.Option("--rows", "-n", min=0, help="Bars to show from each end.")] = 5,
    gaps: Annotated[
        int, typer.Option("--gaps", min=0, help="How many gaps to list (the longest, in time order).")
    ] = 20,
) -> None:
    """Show a stored entry's metadata, its gaps, and its first and last bars (after checking its sha256)."""
    import pandas as pd

    from neurotrade.data import DataStore

    store = DataStore(state(ctx).home)
    if timeframe is None:
        stored = [e.timeframe for e in store.list() if e.symbol == symbol.upper()]
        timeframe = stored[0] if len(stored) == 1 else "1d"
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
        ("gaps", _gap_summary(entry, hint=False)),
    ):
        meta.add_row(key, escape(value))
    console.print(meta)
    if entry.gaps and gaps:
        listed = sorted(sorted(entry.gaps, key=lambda g: -g.missing)[:gaps], key=lambda g: g.after)
        gap_table = Table(box=box.SIMPLE_HEAD, title="Gaps: bars missing where the data's own sessions hold bars")
        gap_table.add_column("after", no_wrap=True)
        gap_table.add_column("before", no_wrap=True)
        gap_table.add_column("missing", justify="right")
        for gap in listed:
            gap_table.add_row(_short(gap.after.isoformat()), _short(gap.before.isoformat()), str(gap.missing))
        console.print(gap_table)
        if entry.gap_count and entry.gap_count > len(listed):
            console.print(f"({entry.gap_count - len(listed)} more; --gaps N lists the N longest)", highlight=False)
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


@data_app.command("universe")
def universe_command(
    ctx: typer.Context,
    name: Annotated[str | None, typer.Argument(help="The universe to show, or to define with SYMBOLS.")] = None,
    symbols: Annotated[
        list[str] | None, typer.Argument(help="Its symbols: defines (or replaces) the universe.", show_default=False)
    ] = None,
) -> None:
    """List the workspace's universes, show one, or define one (`data universe tech AAPL MSFT`); a strategy
    trades it with `data: {universe: tech}`."""
    from neurotrade.data import define_universe, named_universes

    home = state(ctx).home
    if name is not None and symbols:
        path = define_universe(home, name, list(symbols))
        console.print(f"universe {escape(name)}: {', '.join(escape(s) for s in symbols)} (in {escape(str(path))})")
        return
    universes = named_universes(home)
    if name is not None:
        if name not in universes:
            known = ", ".join(sorted(universes)) or "none yet"
            console.print(
                f"[red]no universe {escape(name)!r}[/] (defined: {escape(known)}); define it with: "
                f"neurotrade data universe {escape(name)} SYMBOL...",
                highlight=False,
                soft_wrap=True,
            )
            raise typer.Exit(2)
        console.print(" ".join(universes[name]), highlight=False, soft_wrap=True)
        return
    if not universes:
        console.print(
            "No universes defined yet; define one with: neurotrade data universe NAME SYMBOL...",
            highlight=False,
            soft_wrap=True,
        )
        return
    table = Table(box=box.SIMPLE_HEAD, title="Universes")
    table.add_column("Name", style="bold", no_wrap=True)
    table.add_column("Symbols", justify="right")
    table.add_column("", overflow="fold")
    for key, listed in universes.items():
        table.add_row(escape(key), str(len(listed)), escape(" ".join(listed)))
    console.print(table)


@data_app.command("samples")
def samples_command() -> None:
    """List the real daily bars bundled with neurotrade (split-adjusted when loaded)."""
    from neurotrade.data import sample_info

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


def _gap_summary(entry: StoreEntry, *, hint: bool = True) -> str:
    """``no gaps``, or how many, how many bars they miss and the longest (with where to list them)."""
    if entry.gap_count is None:
        return "gaps not checked (stored by an older neurotrade; import the file again)"
    if entry.gap_count == 0:
        return "no gaps"
    longest = max(entry.gaps, key=lambda g: g.missing)
    text = (
        f"{entry.gap_count} gap{'s' if entry.gap_count != 1 else ''} ({entry.missing_bars} bars missing"
        f"{' in the 500 longest' if entry.gap_count > len(entry.gaps) else ''}), the longest "
        f"{_short(longest.after.isoformat())} to {_short(longest.before.isoformat())} ({longest.missing} missing)"
    )
    if hint:
        text += f"; list them with: neurotrade data show {entry.symbol} --timeframe {entry.timeframe}"
    return text


def _short(iso: str) -> str:
    """An ISO time as a table shows it: the date alone at midnight UTC, else date, hours and minutes."""
    import pandas as pd

    t = pd.Timestamp(iso)
    if t.tzinfo is not None:
        t = t.tz_convert("UTC")
    return t.strftime("%Y-%m-%d") if t == t.normalize() else t.strftime("%Y-%m-%d %H:%M")


app.add_typer(data_app, name="data")
