"""``neurotrade indicators``: list the registered indicators, describe one, compute one on stored or bundled bars."""

from __future__ import annotations

import difflib
import json
import math
import re
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer
from rich import box
from rich.markup import escape
from rich.table import Table

from neurotrade.cli._app import app
from neurotrade.cli._context import console, state
from neurotrade.errors import DataError, IndicatorError

# The library (pandas, numba kernels) is imported inside the commands, so `neurotrade --help` starts at once.
if TYPE_CHECKING:
    from neurotrade.config import DataSpec
    from neurotrade.indicators import IndicatorInfo, Param

indicators_app = typer.Typer(
    help="List the indicators, describe one, or compute one on stored or bundled bars.",
    no_args_is_help=True,
)

_SYMBOL = re.compile(r"^[A-Za-z0-9._-]+$")
_OUT_SUFFIXES = (".csv", ".parquet")


@indicators_app.command("list")
def list_command(
    as_json: Annotated[
        bool, typer.Option("--json", help="Print a JSON list: name, description, params, outputs, warmup, talib.")
    ] = False,
) -> None:
    """List every indicator: parameters (type, default, range), outputs, warm-up at defaults, TA-Lib twin."""
    from neurotrade.indicators import available

    infos = available()
    if as_json:
        typer.echo(json.dumps([_describe(info) for info in infos], indent=2))
        return
    table = Table(box=box.SIMPLE_HEAD, title=f"{len(infos)} indicators")
    table.add_column("Name", style="bold", no_wrap=True)
    table.add_column("Description", ratio=1, min_width=20)
    table.add_column("Parameters", no_wrap=True)
    table.add_column("Outputs")
    table.add_column("Warm-up", justify="right")
    table.add_column("TA-Lib", no_wrap=True)
    for info in infos:
        table.add_row(
            escape(info.name),
            escape(info.description),
            escape("\n".join(_param_line(p) for p in info.params) or "-"),
            escape(", ".join(info.outputs)),
            str(info.warmup()),
            escape(info.talib or "-"),
        )
    console.print(table)


@indicators_app.command("show")
def show_command(
    name: Annotated[str, typer.Argument(help="An indicator, e.g. rsi (see: neurotrade indicators list).")],
    as_json: Annotated[bool, typer.Option("--json", help="Print the description as JSON.")] = False,
) -> None:
    """Describe one indicator: what it computes and from which source, its parameters, outputs and warm-up."""
    from neurotrade.indicators import get

    info = get(name)
    if as_json:
        typer.echo(json.dumps({**_describe(info), "definition": info.definition}, indent=2))
        return
    meta = Table.grid(padding=(0, 2))
    meta.add_column(style="bold")
    meta.add_column()
    for key, value in (
        ("name", info.name),
        ("description", info.description),
        ("inputs", ", ".join(info.inputs)),
        ("outputs", ", ".join(info.outputs)),
        ("warm-up", f"{info.warmup()} bars at the defaults"),
        ("TA-Lib", info.talib or "none (see the definition)"),
        ("definition", info.definition or "-"),
    ):
        meta.add_row(key, escape(value))
    console.print(meta)
    if not info.params:
        console.print("No parameters.")
        return
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("Parameter", style="bold", no_wrap=True)
    table.add_column("Type")
    table.add_column("Default", justify="right")
    table.add_column("Range", no_wrap=True)
    table.add_column("Description")
    for p in info.params:
        table.add_row(p.name, p.kind.__name__, repr(p.default), _range(p), escape(p.description))
    console.print(table)


@indicators_app.command("compute")
def compute_command(
    ctx: typer.Context,
    symbol: Annotated[str, typer.Argument(help="A symbol stored in the workspace, else a bundled sample (AAPL ...).")],
    name: Annotated[str, typer.Argument(help="An indicator, e.g. rsi.")],
    param: Annotated[
        list[str] | None,
        typer.Option("--param", "-p", help="A parameter as NAME=VALUE; repeat for several.", show_default=False),
    ] = None,
    timeframe: Annotated[str, typer.Option("--timeframe", "-t", help="1m, 5m, 15m, 30m, 1h, 4h, 1d or 1w.")] = "1d",
    out: Annotated[
        Path | None,
        typer.Option("--out", "-o", help="Write every row to this .csv or .parquet file.", show_default=False),
    ] = None,
    rows: Annotated[int, typer.Option("--rows", "-n", min=1, help="Rows to print when not writing a file.")] = 10,
) -> None:
    """Compute an indicator on a symbol's bars: print the last rows, or write them all to a file."""
    from neurotrade.indicators import compute, get, validate_params
    from neurotrade.pipeline import load_bars

    info = get(name)
    values = validate_params(info.name, **_parse_params(param or []))
    if out is not None and out.suffix.lower() not in _OUT_SUFFIXES:
        raise DataError(f"--out {out}: write a .csv or a .parquet file (the suffix decides the format)")
    if out is not None and not out.parent.is_dir():
        raise DataError(f"--out {out}: the folder {out.parent} does not exist; create it first")
    spec, where = _data_spec(state(ctx).home, symbol, timeframe)
    bars = load_bars(spec, home=state(ctx).home, seed=0)
    result = compute(bars, info.name, **values)
    call = f"{info.name}({', '.join(f'{k}={v!r}' for k, v in values.items())})"
    if out is not None:
        try:
            if out.suffix.lower() == ".csv":
                result.to_csv(out)
            else:
                result.to_parquet(out, engine="pyarrow", index=True)
        except OSError as e:
            raise DataError(f"--out {out}: cannot write it ({e.strerror or e})") from e
        console.print(
            f"Wrote {len(result)} rows of {escape(call)} on {escape(spec.symbol)}/{spec.timeframe} "
            f"to {escape(str(out))}",
            highlight=False,
            soft_wrap=True,
        )
        return
    console.print(
        f"{escape(call)} on {escape(spec.symbol)}/{spec.timeframe} ({escape(where)}): {len(bars)} bars, "
        f"the first {info.warmup(**values)} are warm-up (NaN)",
        highlight=False,
        soft_wrap=True,
    )
    table = Table(box=box.SIMPLE_HEAD)
    table.add_column("time", no_wrap=True)
    for column in result.columns:
        table.add_column(str(column), justify="right")
    for when, row in result.tail(rows).iterrows():
        table.add_row(_when(when), *(_number(v) for v in row.tolist()))
    console.print(table)


def _describe(info: IndicatorInfo) -> dict[str, Any]:
    """The JSON form of an indicator, as ``list --json`` prints it."""
    return {
        "name": info.name,
        "description": info.description,
        "params": [
            {
                "name": p.name,
                "type": p.kind.__name__,
                "default": p.default,
                "minimum": p.minimum,
                "maximum": p.maximum,
                "exclusive_minimum": p.exclusive_minimum,
                "description": p.description,
            }
            for p in info.params
        ],
        "outputs": list(info.outputs),
        "warmup": info.warmup(),
        "talib": info.talib,
    }


def _range(p: Param) -> str:
    """``2..100000``, ``> 0``, ``>= 1``, ``<= 5`` or ``any``."""
    low, high = p.minimum, p.maximum
    if low is not None and high is not None and not p.exclusive_minimum:
        return f"{_text(low)}..{_text(high)}"
    parts = []
    if low is not None:
        parts.append(f"{'>' if p.exclusive_minimum else '>='} {_text(low)}")
    if high is not None:
        parts.append(f"<= {_text(high)}")
    return ", ".join(parts) or "any"


def _text(bound: float) -> str:
    return str(int(bound)) if float(bound).is_integer() else repr(float(bound))


def _param_line(p: Param) -> str:
    return f"{p.name}={p.default!r} ({p.kind.__name__} {_range(p)})"


def _parse_params(pairs: list[str]) -> dict[str, object]:
    """``['period=14', 'nbdev_up=2.5']`` to values; what cannot be a number stays text for the validator to name."""
    parsed: dict[str, object] = {}
    for pair in pairs:
        key, sep, text = pair.partition("=")
        key, text = key.strip(), text.strip()
        if not sep or not key:
            raise IndicatorError(f"--param {pair!r}: write NAME=VALUE, e.g. --param period=14")
        if key in parsed:
            raise IndicatorError(f"--param {key} is given twice; give each parameter once")
        parsed[key] = _number_or_text(text)
    return parsed


def _number_or_text(text: str) -> object:
    try:
        return int(text)
    except ValueError:
        pass
    try:
        return float(text)
    except ValueError:
        return text


def _data_spec(home: Path, symbol: str, timeframe: str) -> tuple[DataSpec, str]:
    """Where the bars of ``symbol`` come from: the workspace store if it holds the symbol, else the bundled sample."""
    from neurotrade.config import DataSpec
    from neurotrade.data import DataStore, parse_timeframe, sample_symbols

    tf = parse_timeframe(timeframe).name
    if not _SYMBOL.match(symbol):
        raise DataError(f"invalid symbol {symbol!r}: use letters, digits, '.', '_' and '-' only")
    wanted = symbol.upper()
    store = DataStore(home)
    stored = store.list()
    if any(e.symbol == wanted for e in stored):
        return DataSpec(source="store", symbol=wanted, timeframe=tf), f"workspace store {store.root}"
    samples = sample_symbols()
    if wanted in samples:
        if parse_timeframe(tf).delta < parse_timeframe("1d").delta:
            raise DataError(
                f"the bundled sample of {wanted} holds daily bars, too coarse for --timeframe {tf}; use 1d or 1w, "
                f"or import {tf} bars with: neurotrade data import FILE --symbol {wanted} --timeframe {tf}"
            )
        return DataSpec(source="sample", symbol=wanted, timeframe=tf), "bundled sample"
    candidates = sorted({e.symbol for e in stored} | set(samples))
    close = difflib.get_close_matches(wanted, candidates, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    holds = ", ".join(e.key for e in stored) or "nothing"
    raise DataError(
        f"no bars for {symbol!r}: the workspace store ({store.root}) holds {holds}, and the bundled samples are "
        f"{', '.join(samples)}.{hint} Import bars with: neurotrade data import FILE --symbol {wanted}"
    )


def _when(t: object) -> str:
    import pandas as pd

    stamp = pd.Timestamp(t)  # type: ignore[arg-type]
    return stamp.strftime("%Y-%m-%d") if stamp == stamp.normalize() else stamp.strftime("%Y-%m-%d %H:%M")


def _number(value: float) -> str:
    return "NaN" if math.isnan(value) else f"{value:,.6g}"


app.add_typer(indicators_app, name="indicators")
