"""The report's plotly figures, one function per section, each from plain run data.

Times go to plotly as naive UTC strings: plotly.js ignores a ``+00:00`` offset inconsistently across trace types,
and strings keep the page independent of how a pandas or plotly version serialises tz-aware stamps.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go
from plotly.subplots import make_subplots

TEMPLATE = "plotly_white"
COLOURS = {
    "strategy": "#1f77b4",
    "primary": "#ff7f0e",
    "buy_and_hold": "#7f7f7f",
    "logistic": "#2ca02c",
    "lorentzian_knn": "#9467bd",
    "backtest": "#d62728",  # a paper session's backtest of the same bars
}
MAX_ATTENTION_MAPS = 8
MAX_IMPORTANCE_BARS = 30


def _times(index: pd.Index) -> list[str]:
    stamps = pd.DatetimeIndex(index)
    if stamps.tz is not None:
        stamps = stamps.tz_convert("UTC").tz_localize(None)
    return list(stamps.strftime("%Y-%m-%d %H:%M:%S"))


def _label(name: str) -> str:
    return name.replace("_", " ")


def _layout(fig: go.Figure, title: str, height: int) -> go.Figure:
    fig.update_layout(
        title=title, template=TEMPLATE, height=height, margin={"l": 60, "r": 20, "t": 50, "b": 40}, hovermode="x"
    )
    return fig


def equity_names(columns: Sequence[str]) -> dict[str, str]:
    """The legend name of each equity curve: with meta-labelling (a ``primary`` column) the strategy is the
    primary signal filtered by the meta model, shown beside the primary signal traded alone.

    Examples
    --------
    >>> equity_names(["strategy", "primary", "buy_and_hold"])
    {'strategy': 'primary + meta', 'primary': 'primary alone', 'buy_and_hold': 'buy and hold'}
    """
    meta = "primary" in columns
    names = {name: _label(name) for name in COLOURS if name in columns}
    if meta:
        names.update({"strategy": "primary + meta", "primary": "primary alone"})
    return names


def equity_figure(equity: pd.DataFrame) -> go.Figure:
    """Equity curves (strategy, the primary signal alone under meta-labelling, buy-and-hold, baselines) above
    the strategy's and buy-and-hold's drawdowns.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, tz="UTC")
    >>> fig = equity_figure(pd.DataFrame({"strategy": [1.0, 1.1, 0.99], "buy_and_hold": [1.0, 0.9, 1.2]}, idx))
    >>> [trace.name for trace in fig.data]
    ['strategy', 'buy and hold', 'strategy drawdown', 'buy and hold drawdown']
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.68, 0.32], vertical_spacing=0.04)
    x = _times(equity.index)
    names = equity_names(list(equity.columns))
    for name, label in names.items():
        width = 2.2 if name == "strategy" else 1.3
        line = {"color": COLOURS[name], "width": width}
        fig.add_trace(go.Scatter(x=x, y=equity[name].to_numpy(), name=label, line=line), row=1, col=1)
    for name in ("strategy", "buy_and_hold"):
        if name in equity.columns:
            curve = equity[name].to_numpy(dtype=np.float64)
            drawdown = curve / np.maximum.accumulate(curve) - 1.0
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=drawdown,
                    name=f"{names[name]} drawdown",
                    fill="tozeroy",
                    line={"color": COLOURS[name], "width": 1},
                ),
                row=2,
                col=1,
            )
    fig.update_yaxes(title_text="equity", row=1, col=1)
    fig.update_yaxes(title_text="drawdown", tickformat=".0%", row=2, col=1)
    return _layout(fig, "Equity and drawdown (out of sample)", 620)


def price_figure(bars: pd.DataFrame, trades: pd.DataFrame | None) -> go.Figure:
    """Candles with every trade's entry (triangle in its direction) and exit (cross) marked.

    Examples
    --------
    >>> from neurotrade.data import synthetic_ohlcv
    >>> fig = price_figure(synthetic_ohlcv(50, seed=1), None)
    >>> fig.data[0].type
    'candlestick'
    """
    fig = go.Figure(
        go.Candlestick(
            x=_times(bars.index),
            open=bars["open"].to_numpy(),
            high=bars["high"].to_numpy(),
            low=bars["low"].to_numpy(),
            close=bars["close"].to_numpy(),
            name="price",
        )
    )
    if trades is not None and len(trades):
        for side, symbol, colour in (("long", "triangle-up", "#2ca02c"), ("short", "triangle-down", "#d62728")):
            chosen = trades.loc[trades["side"] == side]
            if len(chosen):
                fig.add_trace(
                    go.Scatter(
                        x=_times(pd.DatetimeIndex(chosen["entry_time"])),
                        y=chosen["entry_price"].to_numpy(),
                        mode="markers",
                        name=f"{side} entry",
                        marker={"symbol": symbol, "size": 11, "color": colour, "line": {"width": 1, "color": "#000"}},
                    )
                )
        fig.add_trace(
            go.Scatter(
                x=_times(pd.DatetimeIndex(trades["exit_time"])),
                y=trades["exit_price"].to_numpy(),
                mode="markers",
                name="exit",
                text=[
                    f"P&L {pnl:,.2f} ({ret:+.2f}%)"
                    for pnl, ret in zip(trades["pnl"], trades["return_pct"], strict=True)
                ],
                marker={"symbol": "x", "size": 9, "color": "#000"},
            )
        )
    fig.update_layout(xaxis_rangeslider_visible=False)
    return _layout(fig, "Price and trades", 520)


def decisions_figure(decisions: pd.DataFrame, equity: pd.DataFrame) -> go.Figure:
    """The model's BUY and SELL probabilities and the position held, when no bars are at hand.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=2, tz="UTC")
    >>> d = pd.DataFrame({"p_sell": [0.2, 0.5], "p_hold": [0.6, 0.3], "p_buy": [0.2, 0.2]}, idx)
    >>> [t.name for t in decisions_figure(d, pd.DataFrame({"position": [0.0, -1.0]}, idx)).data]
    ['p buy', 'p sell', 'position']
    """
    fig = make_subplots(rows=2, cols=1, shared_xaxes=True, row_heights=[0.6, 0.4], vertical_spacing=0.05)
    x = _times(decisions.index)
    for name, colour in (("p_buy", "#2ca02c"), ("p_sell", "#d62728")):
        if name in decisions.columns:
            fig.add_trace(
                go.Scatter(x=x, y=decisions[name].to_numpy(), name=_label(name), line={"color": colour}), row=1, col=1
            )
    if "position" in equity.columns:
        fig.add_trace(
            go.Scatter(x=_times(equity.index), y=equity["position"].to_numpy(), name="position", line={"shape": "hv"}),
            row=2,
            col=1,
        )
    fig.update_yaxes(title_text="probability", range=[0, 1], row=1, col=1)
    fig.update_yaxes(title_text="position", row=2, col=1)
    return _layout(fig, "Decisions and position", 480)


def learning_figure(histories: Mapping[str, Sequence[Mapping[str, Any]]]) -> go.Figure:
    """Training and validation loss per epoch, one pair of curves per named history (fold).

    Examples
    --------
    >>> h = [{"epoch": 1, "train_loss": 0.9, "val_loss": 1.0}, {"epoch": 2, "train_loss": 0.8, "val_loss": 0.95}]
    >>> [t.name for t in learning_figure({"fold 1": h}).data]
    ['fold 1 train', 'fold 1 validation']
    """
    fig = go.Figure()
    palette = ["#1f77b4", "#ff7f0e", "#2ca02c", "#d62728", "#9467bd", "#8c564b", "#e377c2", "#17becf"]
    for i, (name, history) in enumerate(histories.items()):
        colour = palette[i % len(palette)]
        epochs = [row.get("epoch", j + 1) for j, row in enumerate(history)]
        for key, dash, suffix in (("train_loss", "solid", "train"), ("val_loss", "dash", "validation")):
            values = [row.get(key) for row in history]
            if any(v is not None for v in values):
                fig.add_trace(
                    go.Scatter(
                        x=epochs,
                        y=values,
                        name=f"{name} {suffix}",
                        mode="lines+markers",
                        line={"color": colour, "dash": dash},
                    )
                )
    fig.update_xaxes(title_text="epoch")
    fig.update_yaxes(title_text="loss")
    fig = _layout(fig, "Learning curves", 420)
    fig.update_layout(hovermode="closest")
    return fig


def confusion_figure(matrix: Sequence[Sequence[int]], classes: Sequence[str]) -> go.Figure:
    """The confusion matrix as a heatmap: rows are the true class, columns the predicted one.

    Examples
    --------
    >>> confusion_figure([[3, 1], [0, 4]], ["SELL", "BUY"]).data[0].z.tolist()
    [[3, 1], [0, 4]]
    """
    z = np.asarray(matrix)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=[f"pred {c}" for c in classes],
            y=[f"true {c}" for c in classes],
            colorscale="Blues",
            text=z,
            texttemplate="%{text}",
            showscale=False,
        )
    )
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, "Confusion matrix (test windows: read it, do not tune on it)", 380)
    fig.update_layout(hovermode="closest", width=620)  # square-ish cells read better than page-wide ones
    return fig


def calibration_figure(bins: Sequence[Mapping[str, float]]) -> go.Figure:
    """Accuracy against confidence per bin (marker area by count), beside the perfectly calibrated diagonal.

    Examples
    --------
    >>> fig = calibration_figure([{"confidence": 0.6, "accuracy": 0.5, "count": 10}])
    >>> [t.name for t in fig.data]
    ['perfect', 'model']
    """
    counts = np.asarray([b.get("count", 1) for b in bins], dtype=np.float64)
    sizes = 8 + 22 * np.sqrt(counts / counts.max()) if len(counts) and counts.max() > 0 else 10
    fig = go.Figure(
        [
            go.Scatter(x=[0, 1], y=[0, 1], name="perfect", mode="lines", line={"dash": "dot", "color": "#999"}),
            go.Scatter(
                x=[b["confidence"] for b in bins],
                y=[b["accuracy"] for b in bins],
                name="model",
                mode="lines+markers",
                text=[f"{int(c)} samples" for c in counts],
                marker={"size": sizes},
            ),
        ]
    )
    fig.update_xaxes(title_text="confidence (largest probability)", range=[0, 1])
    fig.update_yaxes(title_text="accuracy", range=[0, 1])
    fig = _layout(fig, "Calibration (validation rows of every fold)", 420)
    fig.update_layout(hovermode="closest")
    return fig


def importance_figure(importance: Mapping[str, float]) -> go.Figure:
    """The most important features (log-loss rise when shuffled), largest on top.

    Examples
    --------
    >>> importance_figure({"a": 0.1, "b": 0.3}).data[0].y
    ('a', 'b')
    """
    ranked = sorted(importance.items(), key=lambda item: -item[1])[:MAX_IMPORTANCE_BARS]
    ranked.reverse()  # plotly draws the first bar at the bottom
    fig = go.Figure(go.Bar(x=[v for _, v in ranked], y=[k for k, _ in ranked], orientation="h"))
    fig.update_xaxes(title_text="log loss increase when shuffled")
    fig = _layout(
        fig, "Feature importance (permutation, validation rows of every fold)", max(300, 60 + 22 * len(ranked))
    )
    fig.update_layout(hovermode="closest")
    return fig


def attention_figure(maps: Mapping[str, np.ndarray]) -> go.Figure:
    """Attention heatmaps (query rows, key columns), one panel per layer and head, at most eight.

    Examples
    --------
    >>> fig = attention_figure({"mean": np.full((2, 3, 3), 1 / 3)})
    >>> len(fig.data), fig.layout.annotations[1].text
    (2, 'mean[1]')
    """
    panels: list[tuple[str, np.ndarray]] = []
    for name, array in maps.items():
        square = array.reshape(-1, array.shape[-2], array.shape[-1])
        for i, panel in enumerate(square):
            label = (
                name if len(square) == 1 else f"{name}[{', '.join(map(str, np.unravel_index(i, array.shape[:-2])))}]"
            )
            panels.append((label, panel))
    panels = panels[:MAX_ATTENTION_MAPS]
    cols = min(len(panels), 4)
    rows = -(-len(panels) // cols)
    fig = make_subplots(rows=rows, cols=cols, subplot_titles=[label for label, _ in panels])
    for i, (_, panel) in enumerate(panels):
        fig.add_trace(
            go.Heatmap(z=panel, colorscale="Viridis", showscale=i == 0, zmin=0.0, zmax=float(panel.max())),
            row=i // cols + 1,
            col=i % cols + 1,
        )
    fig.update_yaxes(autorange="reversed")
    fig = _layout(fig, "Attention over the last test window (query step by key step)", 320 * rows + 40)
    fig.update_layout(hovermode="closest")
    return fig


def latent_figure(latent: pd.DataFrame) -> go.Figure:
    """The regime embedding over time, one line per latent dimension.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=2, tz="UTC")
    >>> [t.name for t in latent_figure(pd.DataFrame({"z0": [0.1, 0.2], "fold": [1, 1]}, idx)).data]
    ['z0']
    """
    fig = go.Figure()
    x = _times(latent.index)
    for column in latent.columns:
        if column != "fold":
            fig.add_trace(go.Scatter(x=x, y=latent[column].to_numpy(), name=str(column), mode="lines"))
    fig.update_yaxes(title_text="latent value")
    return _layout(fig, "Regime latent over the test windows (posterior mean)", 380)


def weights_figure(weights: Sequence[float]) -> go.Figure:
    """The ensemble's mean member weights on the last fold's test window.

    Examples
    --------
    >>> weights_figure([0.25, 0.75]).data[0].x
    ('member 1', 'member 2')
    """
    fig = go.Figure(go.Bar(x=[f"member {i + 1}" for i in range(len(weights))], y=list(weights)))
    fig.update_yaxes(title_text="mean weight")
    fig = _layout(fig, "Ensemble member weights", 320)
    fig.update_layout(hovermode="closest")
    return fig
