"""The regression heads in the report: how the return and volatility forecasts compare with what happened, and
the regime-change score over time.

The realised values were known only at each label's end, after the bar the forecast was made on; the report reads
them afterwards, which is fair for judging a forecast, and the decisions never saw them.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from neurotrade.report._figures import _layout, _times
from neurotrade.report._html import format_value, table


def quality_table(forecasts: Mapping[str, Mapping[str, Any]]) -> str:
    """``aggregate.forecasts`` as a table: one row per forecast (return, volatility), on the test samples.

    Examples
    --------
    >>> "<td>return</td><td>120</td><td>0.150</td><td>0.02</td><td>55.00%</td>" in quality_table(
    ...     {"return": {"samples": 120, "correlation": 0.15, "mae": 0.02, "direction_hit_rate": 0.55}})
    True
    """
    rows = []
    for name in ("return", "volatility"):
        if name in forecasts:
            q = forecasts[name]
            rows.append(
                (
                    name,
                    [
                        format_value("samples", q.get("samples")),
                        format_value("correlation", q.get("correlation")),
                        "–" if q.get("mae") is None else f"{q['mae']:.4g}",  # a per-bar error: 3 decimals hide it
                        format_value("accuracy", q.get("direction_hit_rate")) if name == "return" else "–",
                    ],
                )
            )
    return table(
        ["forecast", "test samples", "correlation with realised", "mean abs. error", "direction hit rate"], rows
    )


def _finite_pairs(frame: pd.DataFrame, pred: str, real: str) -> pd.DataFrame:
    pair = frame[[pred, real]].astype(np.float64)
    return pair.loc[np.isfinite(pair[pred]) & np.isfinite(pair[real])]


def return_forecast_figure(forecasts: pd.DataFrame) -> go.Figure:
    """Predicted against realised return, one point per bar, beside the line where they would be equal.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=3, tz="UTC")
    >>> f = pd.DataFrame({"pred_return": [0.01, -0.02, 0.0], "realised_return": [0.02, -0.01, np.nan]}, idx)
    >>> fig = return_forecast_figure(f)
    >>> [t.name for t in fig.data], len(fig.data[1].x)
    (['perfect', 'bars'], 2)
    """
    pair = _finite_pairs(forecasts, "pred_return", "realised_return")
    values = pair.to_numpy()
    low, high = (float(values.min()), float(values.max())) if len(values) else (-0.01, 0.01)
    fig = go.Figure(
        [
            go.Scatter(
                x=[low, high], y=[low, high], name="perfect", mode="lines", line={"dash": "dot", "color": "#999"}
            ),
            go.Scatter(
                x=pair["pred_return"].to_numpy(),
                y=pair["realised_return"].to_numpy(),
                name="bars",
                mode="markers",
                text=_times(pair.index),
                marker={"size": 5, "opacity": 0.6, "color": "#1f77b4"},
            ),
        ]
    )
    fig.update_xaxes(title_text="predicted return", tickformat=".1%")
    fig.update_yaxes(title_text="realised return", tickformat=".1%")
    fig = _layout(fig, "Return forecast against the realised return (test windows)", 440)
    fig.update_layout(hovermode="closest")
    return fig


def volatility_forecast_figure(forecasts: pd.DataFrame) -> go.Figure:
    """The volatility forecast and the realised volatility over time.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=2, tz="UTC")
    >>> f = pd.DataFrame({"pred_vol": [0.01, 0.02], "realised_vol": [0.015, 0.01]}, idx)
    >>> [t.name for t in volatility_forecast_figure(f).data]
    ['predicted volatility', 'realised volatility']
    """
    fig = go.Figure()
    x = _times(forecasts.index)
    for column, label, colour in (
        ("pred_vol", "predicted volatility", "#1f77b4"),
        ("realised_vol", "realised volatility", "#7f7f7f"),
    ):
        if column in forecasts.columns:
            fig.add_trace(
                go.Scatter(
                    x=x,
                    y=forecasts[column].to_numpy(dtype=np.float64),
                    name=label,
                    mode="lines",
                    line={"color": colour, "width": 1.2},
                )
            )
    fig.update_yaxes(title_text="volatility per bar", tickformat=".2%")
    return _layout(fig, "Volatility forecast against the realised volatility (test windows)", 380)


def regime_change_figure(score: pd.Series) -> go.Figure:
    """The regime-change score over time, the bars where the model saw the market change.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=2, tz="UTC")
    >>> regime_change_figure(pd.Series([0.1, 0.9], idx)).data[0].name
    'regime-change score'
    """
    fig = go.Figure(
        go.Scatter(
            x=_times(score.index),
            y=score.to_numpy(dtype=np.float64),
            name="regime-change score",
            mode="lines",
            fill="tozeroy",
            line={"color": "#9467bd", "width": 1.2},
        )
    )
    fig.update_yaxes(title_text="score")
    return _layout(fig, "Regime-change score over the test windows", 320)


def forecast_parts(
    quality: Mapping[str, Any] | None, forecasts: pd.DataFrame | None, decisions: pd.DataFrame | None
) -> list[Any]:
    """The forecasts section's tables and figures from whatever the run saved; empty when it saved none.

    The regime-change score comes from ``forecasts.parquet``, else from the decision trace.

    Examples
    --------
    >>> forecast_parts(None, None, None)
    []
    """
    parts: list[Any] = []
    if quality:
        parts.append(quality_table(quality))
        parts.append(
            "<p>Realised values were known only at each label's end, after the bar the forecast was made on; "
            "the decisions never saw them.</p>"
        )
    columns = set(forecasts.columns) if forecasts is not None else set()
    if forecasts is not None and {"pred_return", "realised_return"} <= columns:
        parts.append(return_forecast_figure(forecasts))
    if forecasts is not None and "pred_vol" in columns:
        parts.append(volatility_forecast_figure(forecasts))
    if forecasts is not None and "regime_change" in columns:
        parts.append(regime_change_figure(forecasts["regime_change"]))
    elif decisions is not None and "regime_change" in decisions.columns:
        parts.append(regime_change_figure(decisions["regime_change"]))
    return parts
