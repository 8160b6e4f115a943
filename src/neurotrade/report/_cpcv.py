"""The CPCV part of the report: every backtest path, not one number.

Combinatorial purged cross-validation gives C(N-1, k-1) complete out-of-sample paths. The run's headline (the
summary's strategy column, the equity chart, trades and decisions) is the path with the median Sharpe ratio; this
section shows how that path sits among all of them, so a lucky path cannot pass for the strategy's skill.
"""

from __future__ import annotations

import html
from collections.abc import Mapping
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from neurotrade.report._figures import COLOURS, _layout, _times
from neurotrade.report._html import format_value, table

OTHER_PATHS = "rgba(110, 110, 110, 0.6)"


def path_value(row: Mapping[str, Any], key: str) -> float | None:
    """A path's ``total_return`` or ``max_drawdown`` as a fraction, whether it was saved as such or in percent
    (``<key>_pct``).

    Examples
    --------
    >>> path_value({"total_return_pct": 12.5}, "total_return"), path_value({"max_drawdown": -0.1}, "max_drawdown")
    (0.125, -0.1)
    >>> path_value({"total_return_pct": None}, "total_return") is None
    True
    """
    if row.get(key) is not None:
        return float(row[key])
    pct = row.get(f"{key}_pct")
    return None if pct is None else float(pct) / 100.0


def headline(cpcv: Mapping[str, Any]) -> str:
    """One sentence: which path the headline numbers describe, and the spread of every path's Sharpe ratio.

    Examples
    --------
    >>> cpcv = {"groups": 6, "test_groups": 2, "splits": 15, "shown_path": 3, "paths": [{}] * 5,
    ...         "sharpe": {"mean": 0.5, "std": 0.25, "min": 0.1, "median": 0.45, "max": 0.9, "positive_share": 1.0}}
    >>> print(headline(cpcv))  # doctest: +NORMALIZE_WHITESPACE
    Headline: the median path 3 of 5 (its Sharpe ratio is the median of all paths', not the best), from CPCV over
    6 groups with 2 tested per split (15 splits). The strategy column, the equity chart, the trades and the
    decisions describe that path. Sharpe ratio over all 5 paths: mean 0.500 ± 0.250, min 0.100, median 0.450,
    max 0.900; 100.0% of the paths positive.
    """
    sharpe = cpcv.get("sharpe", {})
    n = len(cpcv.get("paths", []))
    share = sharpe.get("positive_share")
    return (
        f"Headline: the median path {cpcv.get('shown_path', '?')} of {n} (its Sharpe ratio is the median of all "
        f"paths', not the best), from CPCV over {cpcv.get('groups', '?')} groups with {cpcv.get('test_groups', '?')} "
        f"tested per split ({cpcv.get('splits', '?')} splits). The strategy column, the equity chart, the trades and "
        f"the decisions describe that path. Sharpe ratio over all {n} paths: mean "
        f"{format_value('sharpe', sharpe.get('mean'))} ± {format_value('sharpe', sharpe.get('std'))}, min "
        f"{format_value('sharpe', sharpe.get('min'))}, median {format_value('sharpe', sharpe.get('median'))}, max "
        f"{format_value('sharpe', sharpe.get('max'))}; "
        f"{'–' if share is None else f'{share:.1%}'} of the paths positive."
        + (
            f" {sharpe['ruined']} of the {n} paths were ruined (a margin call): they have no Sharpe ratio, rank below "
            "every other and are left out of the mean and spread."
            if sharpe.get("ruined")
            else ""
        )
    )


def path_sharpe_figure(cpcv: Mapping[str, Any]) -> go.Figure:
    """The distribution of the paths' Sharpe ratios: a box with its mean and standard deviation, every path as a
    point, the headline path marked, and zero drawn.

    Examples
    --------
    >>> fig = path_sharpe_figure({"shown_path": 2, "paths": [{"path": 1, "sharpe": 0.2}, {"path": 2, "sharpe": 0.4},
    ...                                                       {"path": 3, "sharpe": None}]})
    >>> [t.name for t in fig.data], list(fig.data[0].x)
    (['every path', 'headline path 2'], [0.2, 0.4])
    """
    rows = [r for r in cpcv.get("paths", []) if r.get("sharpe") is not None]
    sharpes = [float(r["sharpe"]) for r in rows]
    fig = go.Figure(
        go.Box(
            x=sharpes,
            name="every path",
            boxpoints="all",
            jitter=0.5,
            pointpos=0,
            boxmean="sd",
            text=[f"path {r.get('path')}" for r in rows],
            marker={"color": "#333", "size": 7},
            line={"color": "#555"},
            fillcolor="rgba(127, 127, 127, 0.15)",  # light, so the points over it stay visible
            orientation="h",
        )
    )
    shown = [r for r in rows if r.get("path") == cpcv.get("shown_path")]
    if shown:
        fig.add_trace(
            go.Scatter(
                x=[float(shown[0]["sharpe"])],
                y=["every path"],
                mode="markers",
                name=f"headline path {cpcv.get('shown_path')}",
                marker={"color": COLOURS["strategy"], "size": 14, "symbol": "diamond", "line": {"width": 1}},
            )
        )
    fig.add_vline(x=0.0, line={"dash": "dot", "color": "#d62728"})
    fig.update_xaxes(title_text="Sharpe ratio (annualised)")
    fig.update_yaxes(showticklabels=False)
    fig = _layout(fig, f"Sharpe ratio of every CPCV path ({len(sharpes)} paths; box: mean ± std dashed)", 300)
    fig.update_layout(hovermode="closest")
    return fig


def paths_figure(paths: pd.DataFrame, shown: int | None) -> go.Figure:
    """Every path's equity as a thin grey line, the headline path drawn over them in the strategy's colour.

    Examples
    --------
    >>> idx = pd.date_range("2024-01-01", periods=2, tz="UTC")
    >>> fig = paths_figure(pd.DataFrame({"path_1": [1.0, 1.1], "path_2": [1.0, 0.9]}, idx), 2)
    >>> [(t.name, t.line.width) for t in fig.data]
    [('path 1', 0.8), ('path 2 (headline)', 2.4)]
    """
    fig = go.Figure()
    x = _times(paths.index)
    headline_column = f"path_{shown}"
    for column in sorted(paths.columns, key=lambda c: c == headline_column):  # the headline last: drawn on top
        mine = column == headline_column
        fig.add_trace(
            go.Scatter(
                x=x,
                y=paths[column].to_numpy(dtype=np.float64),
                name=str(column).replace("_", " ") + (" (headline)" if mine else ""),
                mode="lines",
                line={"color": COLOURS["strategy"] if mine else OTHER_PATHS, "width": 2.4 if mine else 0.8},
                showlegend=mine,
            )
        )
    fig.update_yaxes(title_text="equity")
    return _layout(fig, "Equity of every CPCV path (headline path highlighted)", 420)


def paths_table(cpcv: Mapping[str, Any]) -> str:
    """Each path's Sharpe ratio, total return, maximum drawdown and trades, the headline path marked.

    Examples
    --------
    >>> "<td>2 (headline)</td><td>0.400</td><td>10.00%</td>" in paths_table(
    ...     {"shown_path": 2, "paths": [{"path": 2, "sharpe": 0.4, "total_return_pct": 10.0}]})
    True
    """
    rows = []
    for row in cpcv.get("paths", []):
        label = str(row.get("path", len(rows) + 1))
        if row.get("path") == cpcv.get("shown_path"):
            label += " (headline)"
        cells = [
            format_value("sharpe", row.get("sharpe")),
            format_value("total_return", path_value(row, "total_return")),
            format_value("max_drawdown", path_value(row, "max_drawdown")),
            format_value("trades", row.get("trades")),
            f"ruined {str(row['ruined'])[:10]}" if row.get("ruined") else "",
        ]
        rows.append((label, cells))
    return table(["path", "Sharpe", "total return", "max drawdown", "trades", "margin call"], rows)


def cpcv_parts(cpcv: Mapping[str, Any], paths: pd.DataFrame | None) -> list[Any]:
    """The CPCV section: what a path is, the Sharpe distribution, every path's equity (when ``paths.parquet``
    exists) and the table of paths. The headline sentence (:func:`headline`) belongs in the summary.

    Examples
    --------
    >>> parts = cpcv_parts({"shown_path": 1, "paths": [{"path": 1, "sharpe": 0.3}]}, None)
    >>> [type(p).__name__ for p in parts]
    ['str', 'Figure', 'str']
    """
    intro = (
        f"Each of the {len(cpcv.get('paths', []))} paths is a complete out-of-sample history, every group traded by "
        "a model that never trained on it. The headline is the path with the median Sharpe ratio, marked below."
    )
    parts: list[Any] = [f"<p>{html.escape(intro)}</p>", path_sharpe_figure(cpcv)]
    if paths is not None and len(paths.columns):
        parts.append(paths_figure(paths, cpcv.get("shown_path")))
    parts.append(paths_table(cpcv))
    return parts
