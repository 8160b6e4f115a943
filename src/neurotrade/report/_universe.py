"""A universe run in the report: the portfolio beside equal-weight buy-and-hold, each symbol's record alone and
its contribution inside the portfolio, exposure over time, and each symbol's price with its trades.

A universe's ``aggregate`` is the shared-cash portfolio; ``metrics["symbols"]`` holds each symbol traded alone
(its own decisions, the whole equity) with its ``contribution`` (the P&L of its trades inside the portfolio).
The two answer different questions and every table and figure here says which one it shows.
"""

from __future__ import annotations

import html
import math
from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotrade.report._figures import COLOURS, _layout, _times
from neurotrade.report._html import format_value, table

CLASSES = ("BUY", "HOLD", "SELL")
# The universe's names for the portfolio equity columns (a single-symbol run calls the first "strategy").
PORTFOLIO_NAMES = {
    "strategy": "portfolio",
    "buy_and_hold": "equal-weight buy and hold",
    "logistic": "logistic baseline",
    "lorentzian_knn": "lorentzian knn baseline",
    "backtest": "backtest of the same bars",
}
# The summary table's column names (``_summary_table``'s defaults) as the universe's portfolio calls them.
SUMMARY_NAMES = {"strategy": "portfolio", "buy and hold": "equal-weight buy and hold"}
SYMBOL_COLUMNS = (
    "symbol",
    "test accuracy",
    "return alone",
    "Sharpe alone",
    "buy & hold return",
    "buy & hold Sharpe",
    "trades alone",
    "BUY share",
    "HOLD share",
    "SELL share",
    "trades in portfolio",
    "contribution P&L",
    "contribution % of initial cash",
)
MAX_PRICE_SYMBOLS = 12  # one candle chart per symbol in the page: beyond this the page grows past reading
MAX_SHOWN_WARNINGS = 8
PALETTE = (
    "#1f77b4",
    "#ff7f0e",
    "#2ca02c",
    "#d62728",
    "#9467bd",
    "#8c564b",
    "#e377c2",
    "#7f7f7f",
    "#bcbd22",
    "#17becf",
)


def _pct(value: Any, digits: int = 2, *, sign: bool = False) -> str:
    """A number already in percent as text (``–`` when missing)."""
    if value is None or not isinstance(value, int | float) or not math.isfinite(value):
        return "–"
    return f"{value:+.{digits}f}%" if sign else f"{value:.{digits}f}%"


def signal_shares(signals: Mapping[str, Any]) -> dict[str, float | None]:
    """Each signal's share of the decided bars (``None`` for all when there were none).

    Examples
    --------
    >>> signal_shares({"BUY": 1, "HOLD": 2, "SELL": 1})
    {'BUY': 0.25, 'HOLD': 0.5, 'SELL': 0.25}
    >>> signal_shares({})
    {'BUY': None, 'HOLD': None, 'SELL': None}
    """
    total = sum(int(signals.get(k) or 0) for k in CLASSES)
    return {k: (int(signals.get(k) or 0) / total if total else None) for k in CLASSES}


def settings_text(universe: Mapping[str, Any], spec: Mapping[str, Any] | None) -> str:
    """The portfolio's make-up in words: symbols, selection, position fraction, exposure, correlation and what
    buy-and-hold means here (HTML).

    Examples
    --------
    >>> print(settings_text({"symbols": ["A", "B"], "traded": ["A", "B"], "selection": "all",
    ...                      "position_fraction": 0.5}, None))
    <p>2 symbols (A, B), all traded. Selection: <b>all</b> (every symbol trades its own decisions). Each new position takes <b>50.00%</b> of the equity (position fraction).</p>
    """  # noqa: E501
    symbols = [str(s) for s in universe.get("symbols", [])]
    traded = [str(s) for s in universe.get("traded", symbols)]
    untraded = [s for s in symbols if s not in traded]
    shown = ", ".join(symbols[:12]) + (f" and {len(symbols) - 12} more" if len(symbols) > 12 else "")
    if untraded:
        traded_text = f"{len(traded)} traded ({html.escape(', '.join(untraded))}: no test bars)."
    else:
        traded_text = "all traded."
    parts = [f"{len(symbols)} symbols ({html.escape(shown)}), {traded_text}"]
    selection = str(universe.get("selection", "all"))
    if selection == "top_k":
        portfolio = (spec or {}).get("portfolio") or {}
        shorts = bool(((spec or {}).get("decisions") or {}).get("allow_short"))
        k = portfolio.get("top_k")
        k_text = str(k) if k is not None else "k"
        held = f"long the {k_text} with the highest P(BUY) − P(SELL) at each bar"
        if shorts:
            held += f", short the {k_text} with the lowest"
        parts.append(f"Selection: <b>top_k</b> ({held}).")
    else:
        parts.append(f"Selection: <b>{html.escape(selection)}</b> (every symbol trades its own decisions).")
    parts.append(
        f"Each new position takes <b>{format_value('exposure', universe.get('position_fraction'))}</b> of the equity "
        "(position fraction)."
    )
    exposure = universe.get("exposure") or {}
    if exposure:
        parts.append(
            f"On average {format_value('exposure', exposure.get('mean_gross'))} of the equity was invested "
            f"(gross; net {format_value('exposure', exposure.get('mean_net'))}), equal-weight buy and hold "
            f"{format_value('exposure', exposure.get('buy_and_hold_mean_gross'))}."
        )
    if "correlation_with_buy_and_hold" in universe:
        parts.append(
            "Correlation of the bar returns with equal-weight buy and hold: "
            f"{format_value('correlation', universe.get('correlation_with_buy_and_hold'))}."
        )
    if universe.get("buy_and_hold"):
        parts.append(f"Buy and hold: {html.escape(str(universe['buy_and_hold']))}.")
    return "<p>" + " ".join(parts) + "</p>"


def warnings_note(warnings: Sequence[Any]) -> list[str]:
    """The run's warnings open at the top of the portfolio section (a collapsed model or a portfolio hugging its
    benchmark changes how every number below reads); the Warnings section keeps the full list.

    Examples
    --------
    >>> warnings_note([])
    []
    >>> warnings_note(["a < b"])[0]
    "<div class='note'><b>1 warning:</b><ul><li>a &lt; b</li></ul></div>"
    """
    if not warnings:
        return []
    shown = warnings[:MAX_SHOWN_WARNINGS]
    items = "".join(f"<li>{html.escape(str(w))}</li>" for w in shown)
    more = f"<p>and {len(warnings) - len(shown)} more under Warnings.</p>" if len(warnings) > len(shown) else ""
    noun = "warning" if len(warnings) == 1 else "warnings"
    return [f"<div class='note'><b>{len(warnings)} {noun}:</b><ul>{items}</ul>{more}</div>"]


def symbols_table(symbols: Mapping[str, Mapping[str, Any]], aggregate: Mapping[str, Any]) -> str:
    """One row per symbol: its test accuracy; traded alone, its return and Sharpe beside its own buy-and-hold's
    and its trades; its signals' shares; inside the portfolio, its trades and their P&L. A last row sums the
    portfolio columns over the symbols (the accuracy and signals pooled).

    Examples
    --------
    >>> one = {"classification": {"accuracy": 0.5}, "strategy": {"total_return": 0.1, "sharpe": 1.0, "trades": 3},
    ...        "buy_and_hold": {"total_return": 0.2, "sharpe": 0.5}, "signals": {"BUY": 1, "HOLD": 3, "SELL": 0},
    ...        "contribution": {"trades": 2, "pnl": 150.0, "pnl_pct": 0.15}}
    >>> "<td>A</td><td>50.00%</td><td>10.00%</td><td>1.000</td><td>20.00%</td><td>0.500</td><td>3</td>" in (
    ...     symbols_table({"A": one}, {}))
    True
    """
    rows = []
    for symbol, record in symbols.items():
        rows.append((str(symbol), _symbol_cells(record)))
    contributions = [record.get("contribution") or {} for record in symbols.values()]
    shares = signal_shares(aggregate.get("signals") or {})
    total = [
        format_value("accuracy", (aggregate.get("classification") or {}).get("accuracy")),
        "–",
        "–",
        "–",
        "–",
        "–",
        *[_pct(None if shares[k] is None else 100 * shares[k], 1) for k in CLASSES],
        format_value("trades", sum(int(c.get("trades") or 0) for c in contributions)),
        f"{sum(float(c.get('pnl') or 0.0) for c in contributions):,.2f}",
        _pct(sum(float(c.get("pnl_pct") or 0.0) for c in contributions), sign=True),
    ]
    rows.append(("all symbols", total))
    return table(list(SYMBOL_COLUMNS), rows)


def _symbol_cells(record: Mapping[str, Any]) -> list[str]:
    alone = record.get("strategy") or {}
    bench = record.get("buy_and_hold") or {}
    contribution = record.get("contribution") or {}
    shares = signal_shares(record.get("signals") or {})
    pnl = contribution.get("pnl")
    return [
        format_value("accuracy", (record.get("classification") or {}).get("accuracy")),
        format_value("total_return", alone.get("total_return")),
        format_value("sharpe", alone.get("sharpe")),
        format_value("total_return", bench.get("total_return")),
        format_value("sharpe", bench.get("sharpe")),
        format_value("trades", alone.get("trades")),
        *[_pct(None if shares[k] is None else 100 * shares[k], 1) for k in CLASSES],
        format_value("trades", contribution.get("trades")),
        "–" if pnl is None else f"{pnl:,.2f}",
        _pct(contribution.get("pnl_pct"), sign=True),  # saved in percent already
    ]


SYMBOLS_NOTE = (
    "<p><i>Alone</i>: the symbol's own decisions traded by themselves with the whole equity, beside that symbol's "
    "buy and hold. <i>In portfolio</i>: the trades the shared-cash portfolio made in the symbol and their P&amp;L, "
    "in cash and in percent of the initial cash; summed over the symbols they are the portfolio's P&amp;L from "
    "its trades. Accuracy is over the symbol's labelled test samples, signal shares over its traded bars.</p>"
)


def portfolio_figure(equity: pd.DataFrame) -> go.Figure:
    """The portfolio's equity beside equal-weight buy-and-hold and the baselines' portfolios, above the portfolio's
    and buy-and-hold's drawdowns (underwater curves).

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, tz="UTC")
    >>> fig = portfolio_figure(pd.DataFrame({"strategy": [1.0, 1.1, 0.99], "buy_and_hold": [1.0, 0.9, 1.2],
    ...                                      "cash": [1.0, 0.5, 0.5]}, idx))
    >>> [trace.name for trace in fig.data]
    ['portfolio', 'equal-weight buy and hold', 'portfolio drawdown', 'equal-weight buy and hold drawdown']
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.04)
    x = _times(equity.index)
    for name, label in PORTFOLIO_NAMES.items():
        if name in equity.columns:
            line = {"color": COLOURS[name], "width": 2.2 if name == "strategy" else 1.3}
            fig.add_trace(go.Scatter(x=x, y=equity[name].to_numpy(), name=label, line=line), row=1, col=1)
    for name in ("strategy", "buy_and_hold"):
        if name in equity.columns:
            curve = equity[name].to_numpy(dtype=np.float64)
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=curve / np.maximum.accumulate(curve) - 1.0,
                    name=f"{PORTFOLIO_NAMES[name]} drawdown",
                    fill="tozeroy",
                    line={"color": COLOURS[name], "width": 1},
                ),
                row=2,
                col=1,
            )
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    return _layout(fig, "Portfolio equity and drawdown (out of sample)", 620)


def contribution_figure(symbols: Mapping[str, Mapping[str, Any]]) -> go.Figure:
    """Each symbol's contribution to the portfolio (its trades' P&L in percent of the initial cash), largest
    first.

    Examples
    --------
    >>> fig = contribution_figure({"A": {"contribution": {"pnl_pct": -1.0, "pnl": -10.0, "trades": 1}},
    ...                            "B": {"contribution": {"pnl_pct": 2.0, "pnl": 20.0, "trades": 3}}})
    >>> fig.data[0].x, fig.data[0].y
    (('B', 'A'), (2.0, -1.0))
    """
    rows = sorted(
        ((str(s), r.get("contribution") or {}) for s, r in symbols.items()),
        key=lambda item: -float(item[1].get("pnl_pct") or 0.0),
    )
    values = [float(c.get("pnl_pct") or 0.0) for _, c in rows]
    fig = go.Figure(
        go.Bar(
            x=[s for s, _ in rows],
            y=values,
            name="contribution",
            marker={"color": ["#2ca02c" if v >= 0 else "#d62728" for v in values]},
            text=[f"{v:+.2f}%" for v in values],
            hovertext=[
                f"P&L {float(c.get('pnl') or 0.0):,.2f} from {int(c.get('trades') or 0)} trades" for _, c in rows
            ],
        )
    )
    fig.update_yaxes(title_text="P&L, % of initial cash")
    fig = _layout(fig, "Contribution of each symbol's trades to the portfolio", 380)
    fig.update_layout(hovermode="closest")
    return fig


def exposure_figure(exposure: pd.DataFrame, gross: pd.Series | None) -> go.Figure:
    """Each symbol's position value over the equity, stacked (longs up, shorts down), with the gross exposure
    (and, when there are shorts, the net) as lines.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=2, tz="UTC")
    >>> fig = exposure_figure(pd.DataFrame({"A": [0.0, 0.3], "B": [0.2, 0.3]}, idx), None)
    >>> [t.name for t in fig.data]
    ['A', 'B', 'gross exposure']
    """
    fig = go.Figure()
    x = _times(exposure.index)
    shorts = bool((exposure.to_numpy(dtype=np.float64) < 0).any())
    for i, symbol in enumerate(exposure.columns):
        colour = PALETTE[i % len(PALETTE)]
        values = exposure[symbol].to_numpy(dtype=np.float64)
        # plotly stacks negative values onto the positive ones: longs and shorts stack apart, one legend entry.
        if shorts:
            sides = (("long", np.clip(values, 0.0, None)), ("short", np.clip(values, None, 0.0)))
        else:
            sides = (("", values),)
        for j, (side, part) in enumerate(sides):
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=part,
                    name=str(symbol),
                    legendgroup=str(symbol),
                    showlegend=j == 0,
                    stackgroup=side or "exposure",
                    line={"width": 0.5, "color": colour},
                    hovertemplate=f"{html.escape(str(symbol))}{' ' + side if side else ''}: %{{y:.1%}}<extra></extra>",
                )
            )
    total = gross if gross is not None else exposure.abs().sum(axis=1)
    fig.add_trace(
        go.Scatter(
            x=_times(total.index),
            y=total.to_numpy(dtype=np.float64),
            name="gross exposure",
            line={"color": "#000", "width": 1.5},
        )
    )
    if shorts:
        fig.add_trace(
            go.Scatter(
                x=x,
                y=exposure.sum(axis=1).to_numpy(dtype=np.float64),
                name="net exposure",
                line={"color": "#555", "width": 1.2, "dash": "dot"},
            )
        )
    fig.update_yaxes(title_text="share of equity", tickformat=".0%")
    return _layout(fig, "Exposure by symbol (position value over equity, at each close)", 440)


def price_figure(bars: Mapping[str, pd.DataFrame], trades: pd.DataFrame | None) -> go.Figure:
    """Each symbol's candles with its portfolio trades marked; a menu picks the symbol (the first is shown).

    Examples
    --------
    >>> from neurotrade.data import synthetic_ohlcv
    >>> fig = price_figure({"A": synthetic_ohlcv(30, seed=1), "B": synthetic_ohlcv(30, seed=2)}, None)
    >>> [t.visible for t in fig.data], [b.label for b in fig.layout.updatemenus[0].buttons]
    ([True, False], ['A', 'B'])
    """
    fig = go.Figure()
    owner: list[str] = []
    for symbol, frame in bars.items():
        first = not owner
        x = _times(frame.index)
        fig.add_trace(
            go.Candlestick(
                x=x,
                open=frame["open"].to_numpy(),
                high=frame["high"].to_numpy(),
                low=frame["low"].to_numpy(),
                close=frame["close"].to_numpy(),
                name=f"{symbol} price",
                visible=first,
            )
        )
        owner.append(symbol)
        mine = None if trades is None or not len(trades) else trades.loc[trades["symbol"].astype(str) == symbol]
        if mine is None or not len(mine):
            continue
        for side, marker, colour in (("long", "triangle-up", "#2ca02c"), ("short", "triangle-down", "#d62728")):
            chosen = mine.loc[mine["side"] == side]
            if len(chosen):
                fig.add_trace(
                    go.Scatter(
                        x=_times(pd.DatetimeIndex(chosen["entry_time"])),
                        y=chosen["entry_price"].to_numpy(),
                        mode="markers",
                        name=f"{symbol} {side} entry",
                        visible=first,
                        marker={"symbol": marker, "size": 11, "color": colour, "line": {"width": 1, "color": "#000"}},
                    )
                )
                owner.append(symbol)
        fig.add_trace(
            go.Scatter(
                x=_times(pd.DatetimeIndex(mine["exit_time"])),
                y=mine["exit_price"].to_numpy(),
                mode="markers",
                name=f"{symbol} exit",
                visible=first,
                text=[
                    f"P&L {pnl:,.2f} ({ret:+.2f}%)" for pnl, ret in zip(mine["pnl"], mine["return_pct"], strict=True)
                ],
                marker={"symbol": "x", "size": 9, "color": "#000"},
            )
        )
        owner.append(symbol)
    symbols = list(bars)
    buttons = [
        {
            "label": symbol,
            "method": "update",
            "args": [
                {"visible": [o == symbol for o in owner]},
                {"title.text": f"Price and portfolio trades: {symbol}"},
            ],
        }
        for symbol in symbols
    ]
    fig.update_layout(
        xaxis_rangeslider_visible=False,
        # Above the plot, left of the toolbar that plotly draws in the top right corner.
        updatemenus=[
            {"buttons": buttons, "direction": "down", "x": 0.8, "xanchor": "right", "y": 1.1, "yanchor": "bottom"}
        ],
    )
    return _layout(fig, f"Price and portfolio trades: {symbols[0]}" if symbols else "Price", 520)


def price_parts(bars: Mapping[str, pd.DataFrame], trades: pd.DataFrame | None) -> list[Any]:
    """The price section of a universe: the symbol menu's figure, with a note when symbols were left out.

    Examples
    --------
    >>> price_parts({}, None)
    []
    """
    if not bars:
        return []
    shown = dict(list(bars.items())[:MAX_PRICE_SYMBOLS])
    parts: list[Any] = [
        f"<p>Pick a symbol in the chart's menu; {html.escape(next(iter(shown)))} is shown first. Markers are the "
        "portfolio's trades in that symbol.</p>"
    ]
    if len(bars) > len(shown):
        parts.append(
            f"<p class='note'>The first {len(shown)} of {len(bars)} symbols are charted; the per-symbol table "
            "has them all.</p>"
        )
    parts.append(price_figure(shown, trades))
    return parts
