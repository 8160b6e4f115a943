"""Position sizes and exits in the report: the share of equity each entry took and why, and how trades ended."""

from __future__ import annotations

import html
import re
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from neurotrade.report._figures import _layout, _times
from neurotrade.report._html import format_value, table

MAX_REASONS = 8
# Sizing reasons carry their numbers ("kelly 0.43 (p 0.61, payoff 1.00)"); counted with the numbers masked, the
# same rule at different sizes is one row.
_NUMBER = re.compile(r"[-+]?\d+(?:\.\d+)?(?:e[-+]?\d+)?%?")


def reason_kind(reason: str) -> str:
    """A sizing reason with its numbers replaced by ``#``, so the same rule counts once.

    Examples
    --------
    >>> reason_kind("vetoed: 3 bars since the last change (min 5)")
    'vetoed: # bars since the last change (min #)'
    >>> reason_kind("kelly 0.25 (p 0.67, payoff 2.00)")
    'kelly # (p #, payoff #)'
    """
    return _NUMBER.sub("#", str(reason))


def entry_bars(decisions: pd.DataFrame) -> np.ndarray:
    """Whether each bar decided a new entry: its target is a side, different from the bar before's target.

    Examples
    --------
    >>> entry_bars(pd.DataFrame({"target": [0, 1, 1, -1, 0]})).tolist()
    [False, True, False, True, False]
    """
    target = decisions["target"].to_numpy()
    before = np.concatenate([[0], target[:-1]])
    return (target != 0) & (target != before)


def reasons_table(decisions: pd.DataFrame) -> str:
    """The most common sizing reasons (numbers masked): bars, entries and one example each.

    Examples
    --------
    >>> d = pd.DataFrame({"target": [0, 1, 1], "size_reason": ["flat", "fixed 1.00", "fixed 1.00"]})
    >>> "<td>fixed #</td><td>2</td><td>1</td><td>fixed 1.00</td>" in reasons_table(d)
    True
    """
    kinds = decisions["size_reason"].astype(str).map(reason_kind)
    entries = entry_bars(decisions) if "target" in decisions.columns else np.zeros(len(decisions), dtype=bool)
    counts = kinds.value_counts().head(MAX_REASONS)
    rows = []
    for kind, bars in counts.items():
        mine = (kinds == kind).to_numpy()
        example = decisions["size_reason"].astype(str).to_numpy()[mine][0]
        rows.append(
            (
                str(kind),
                [
                    format_value("bars", int(bars)),
                    format_value("bars", int((mine & entries).sum())),
                    html.escape(example),
                ],
            )
        )
    return table(["sizing reason", "bars", "entries", "example"], rows)


def sizing_figure(decisions: pd.DataFrame) -> go.Figure:
    """The size of each entry (share of equity, by side) and the vetoed bars, above the position held.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, tz="UTC")
    >>> d = pd.DataFrame({"target": [0, 1, 1], "size": [0.0, 0.5, 0.5], "position": [0.0, 0.0, 0.5],
    ...                   "size_reason": ["flat", "fixed 0.50", "fixed 0.50"]}, idx)
    >>> [t.name for t in sizing_figure(d).data]
    ['long entry size', 'position']
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.55, 0.45], vertical_spacing=0.06)
    entries = entry_bars(decisions)
    target = decisions["target"].to_numpy()
    x = np.asarray(_times(decisions.index))
    size = decisions["size"].to_numpy(dtype=np.float64)
    reason = decisions["size_reason"].astype(str).to_numpy() if "size_reason" in decisions.columns else None
    for side, sign, colour, symbol in (
        ("long", 1, "#2ca02c", "triangle-up"),
        ("short", -1, "#d62728", "triangle-down"),
    ):
        chosen = entries & (target == sign)
        if chosen.any():
            fig.add_trace(
                go.Scatter(
                    x=x[chosen],
                    y=size[chosen],
                    name=f"{side} entry size",
                    mode="markers",
                    text=None if reason is None else reason[chosen],
                    marker={"color": colour, "symbol": symbol, "size": 9},
                ),
                row=1,
                col=1,
            )
    if reason is not None:
        vetoed = np.char.startswith(reason.astype(str), "vetoed")
        if vetoed.any():
            fig.add_trace(
                go.Scatter(
                    x=x[vetoed],
                    y=np.zeros(int(vetoed.sum())),
                    name="vetoed bar",
                    mode="markers",
                    text=reason[vetoed],
                    marker={"color": "#000", "symbol": "x", "size": 6},
                ),
                row=1,
                col=1,
            )
    if "position" in decisions.columns:
        fig.add_trace(
            go.Scatter(x=list(x), y=decisions["position"].to_numpy(), name="position", line={"shape": "hv"}),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="share of equity", row=1, col=1)
    fig.update_yaxes(title_text="position", row=2, col=1)
    fig = _layout(fig, "Entry sizes (decided at the bar's close) and the position held", 480)
    fig.update_layout(hovermode="closest")
    return fig


def sizing_parts(summary: Mapping[str, Any] | None, decisions: pd.DataFrame | None) -> list[Any]:
    """The sizing section: ``aggregate.sizing`` in words, sizes over time and the common reasons; empty without
    sizes.

    Examples
    --------
    >>> sizing_parts(None, None)
    []
    >>> sizing_parts({"entries": 4, "mean_size": 0.5, "max_size": 1.0, "vetoed_bars": 2}, None)[0]
    '<p>4 entries, mean size 0.500 and largest 1.000 (share of equity), 2 bars vetoed.</p>'
    """
    parts: list[Any] = []
    if summary:
        mean, largest = format_value("size", summary.get("mean_size")), format_value("size", summary.get("max_size"))
        parts.append(
            f"<p>{format_value('entries', summary.get('entries'))} entries, mean size {mean} and largest {largest} "
            f"(share of equity), {format_value('bars', summary.get('vetoed_bars'))} bars vetoed.</p>"
        )
    if decisions is not None and {"size", "target"} <= set(decisions.columns):
        parts.append(sizing_figure(decisions))
    if decisions is not None and "size_reason" in decisions.columns:
        parts.append(reasons_table(decisions))
    return parts


def exit_reasons_table(trades: pd.DataFrame) -> str:
    """Trades counted by how they ended (signal, stop_loss, take_profit, trailing_stop, atr_stop, end), with the
    winners and the P&L of each.

    Examples
    --------
    >>> t = pd.DataFrame({"exit_reason": ["signal", "stop_loss", "signal"], "pnl": [5.0, -2.0, -1.0]})
    >>> "<td>signal</td><td>2</td><td>1</td><td>4.00</td>" in exit_reasons_table(t)
    True
    """
    rows = []
    for reason, group in trades.groupby(trades["exit_reason"].astype(str), sort=False):
        pnl = group["pnl"].to_numpy(dtype=np.float64)
        rows.append(
            (
                str(reason),
                [format_value("trades", len(group)), format_value("trades", int((pnl > 0).sum())), f"{pnl.sum():,.2f}"],
            )
        )
    rows.sort(key=lambda row: -int(row[1][0].replace(",", "")))
    return table(["exit reason", "trades", "winners", "P&L"], rows)
