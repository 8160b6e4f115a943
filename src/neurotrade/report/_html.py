"""The report's small HTML pieces: numbers formatted one way everywhere, and plain tables."""

from __future__ import annotations

import html
import math
from collections.abc import Sequence
from typing import Any

# Shown as percentages; every other number as a plain decimal.
PERCENT_KEYS = frozenset(
    {"total_return", "annual_return", "volatility", "max_drawdown", "win_rate", "exposure", "accuracy", "turnover"}
)


def format_value(key: str, value: Any) -> str:
    """One metric as table text: a percentage for the keys in ``PERCENT_KEYS``, ``–`` for a missing value.

    Examples
    --------
    >>> format_value("total_return", 0.1234), format_value("sharpe", 1.23456), format_value("trades", 1200)
    ('12.34%', '1.235', '1,200')
    >>> format_value("sharpe", None)
    '–'
    """
    if value is None:
        return "–"
    if isinstance(value, bool) or not isinstance(value, int | float):
        return html.escape(str(value))
    if isinstance(value, float) and not math.isfinite(value):
        return html.escape(str(value))
    if key in PERCENT_KEYS:
        return f"{value:.2%}"
    if isinstance(value, int):
        return f"{value:,}"
    return f"{value:,.2f}" if abs(value) >= 1000 else f"{value:.3f}"


def table(header: Sequence[str], rows: Sequence[tuple[str, Sequence[str]]]) -> str:
    """A table: ``header`` as text (escaped), each row a label (escaped) and cells already rendered as HTML.

    Examples
    --------
    >>> table(["metric", "a<b"], [("x", ["1"])])
    "<div class='scroll'><table><thead><tr><th>metric</th><th>a&lt;b</th></tr></thead><tbody><tr><td>x</td><td>1</td></tr></tbody></table></div>"
    """  # noqa: E501
    head = "".join(f"<th>{html.escape(h)}</th>" for h in header)
    body = "".join(
        f"<tr><td>{html.escape(label)}</td>" + "".join(f"<td>{cell}</td>" for cell in cells) + "</tr>"
        for label, cells in rows
    )
    return f"<div class='scroll'><table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table></div>"
