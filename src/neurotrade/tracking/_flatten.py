"""What a run becomes in MLflow's terms: the spec as ``a.b.c`` params, ``metrics.json`` as ``a/b/c`` metrics.

MLflow refuses keys longer than 250 characters or with characters other than letters, digits and ``_-. /``,
param values over 6000 characters and tag values over 8000: anything longer is cut with a marker that says so
(and a digest, so two keys that share a beginning stay apart), never refused, since a spec's description or a
symbol's name may be anything the spec allows.
"""

from __future__ import annotations

import hashlib
import json
import math
import re
from collections.abc import Iterator, Mapping
from typing import Any

# MLflow's own limits (mlflow.utils.validation).
MAX_KEY = 250
MAX_PARAM_VALUE = 6000
MAX_TAG_VALUE = 8000
# The characters MLflow accepts in a key on every platform (it also takes ':' except on Windows).
_UNSAFE_KEY = re.compile(r"[^A-Za-z0-9_.\- /]")


def flatten_params(spec: Mapping[str, Any], prefix: str = "") -> dict[str, str]:
    """A nested spec as MLflow params: ``a.b.c`` keys, lists and empty sections as JSON, everything a string,
    keys and values cut to MLflow's limits with a marker that says so.

    Examples
    --------
    >>> flatten_params({"training": {"learning_rate": 0.001, "seeds": None}, "model": {"hidden": [64, 32]},
    ...                 "indicators": {"rsi_14": {}}, "name": "x" * 7000})["model.hidden"]
    '[64, 32]'
    >>> p = flatten_params({"training": {"learning_rate": 0.001, "seeds": None}, "name": "x" * 7000})
    >>> p["training.learning_rate"], p["training.seeds"], len(p["name"]), p["name"][-30:]
    ('0.001', 'null', 6000, '... [truncated from 7000 chars]')
    """
    out: dict[str, str] = {}
    for key, value in spec.items():
        name = f"{prefix}.{key}" if prefix else str(key)
        if isinstance(value, Mapping) and value:
            out.update(flatten_params(value, name))
            continue
        text = value if isinstance(value, str) else json.dumps(value, default=str)
        out[mlflow_key(name)] = _clip(text, MAX_PARAM_VALUE)
    return out


def run_metrics(metrics: Mapping[str, Any]) -> dict[tuple[str, int], float]:
    """Every number of a run's ``metrics.json`` as MLflow metrics keyed by (name, step).

    The aggregate under its own names at step 0 (``strategy/sharpe``, ``buy_and_hold/sharpe``,
    ``classification/log_loss``, ``baselines/logistic/strategy/sharpe``, ``strategy/deflated_sharpe_excess``
    ...), each fold's as ``fold/...`` at step = the fold's number, each symbol's of a universe as
    ``symbol/<SYMBOL>/...``, the seeds' spread as ``seeds/...``, the model's size as ``model/...``. Text,
    lists, booleans and None are left out.

    Examples
    --------
    >>> m = {"aggregate": {"strategy": {"sharpe": 1.5, "ruined": None}, "window": {"first": "2020"}},
    ...      "folds": [{"fold": 1, "strategy": {"sharpe": 0.5}}, {"fold": 2, "strategy": {"sharpe": 2.0}}],
    ...      "symbols": {"AAPL": {"strategy": {"trades": 3}}}}
    >>> run_metrics(m)
    {('strategy/sharpe', 0): 1.5, ('fold/strategy/sharpe', 1): 0.5, ('fold/strategy/sharpe', 2): 2.0, ('symbol/AAPL/strategy/trades', 0): 3.0}
    """  # noqa: E501
    out: dict[tuple[str, int], float] = {}
    for name, value in _numbers(metrics.get("aggregate", {}), ""):
        out[name, 0] = value
    for index, fold in enumerate(metrics.get("folds", []), start=1):
        step = fold.get("fold", index)
        step = step if isinstance(step, int) and not isinstance(step, bool) else index
        for name, value in _numbers({k: v for k, v in fold.items() if k != "fold"}, "fold"):
            out[name, step] = value
    for symbol, numbers in metrics.get("symbols", {}).items():
        for name, value in _numbers(numbers, f"symbol/{_segment(str(symbol))}"):
            out[name, 0] = value
    for section in ("seeds", "model"):
        if isinstance(metrics.get(section), Mapping):
            for name, value in _numbers(metrics[section], section):
                out[name, 0] = value
    return out


def _numbers(tree: Mapping[str, Any], prefix: str) -> Iterator[tuple[str, float]]:
    """Every finite number in ``tree`` (not booleans) with its ``a/b/c`` key, made safe for MLflow."""
    for key, value in tree.items():
        name = f"{prefix}/{_segment(str(key))}" if prefix else _segment(str(key))
        if isinstance(value, Mapping):
            yield from _numbers(value, name)
        elif is_number(value):
            yield mlflow_key(name), float(value)


def is_number(value: Any) -> bool:
    """A finite int or float, not a boolean (``True`` is an int in Python, and no metric).

    Examples
    --------
    >>> is_number(3), is_number(0.5), is_number(True), is_number(float("nan")), is_number("1")
    (True, True, False, False, False)
    """
    return isinstance(value, int | float) and not isinstance(value, bool) and math.isfinite(value)


def _segment(text: str) -> str:
    """One part of a ``/`` key: characters MLflow refuses replaced (with a digest of the original, so two
    symbols that differ only there stay apart), and never empty, ``.`` or ``..`` (MLflow reads keys as paths)."""
    safe = _UNSAFE_KEY.sub("_", text).replace("/", "_")
    if safe != text:
        safe = f"{safe}-{hashlib.sha256(text.encode()).hexdigest()[:6]}"
    return safe if safe.strip(".") else f"_{safe}"


def mlflow_key(name: str) -> str:
    """``name`` within MLflow's key rules: safe characters, at most 250 of them (cut with ``...`` and a digest of
    the whole key, so two long keys that share a beginning stay apart).

    Examples
    --------
    >>> mlflow_key("symbol/^GSPC/strategy/sharpe")
    'symbol/_GSPC/strategy/sharpe-...'
    >>> long = mlflow_key("a" * 300)
    >>> len(long), long[-11:-8]
    (250, '...')
    """
    safe = _UNSAFE_KEY.sub("_", name)
    if safe != name:
        safe = f"{safe}-{hashlib.sha256(name.encode()).hexdigest()[:6]}"
    if len(safe) <= MAX_KEY:
        return safe
    marker = f"...{hashlib.sha256(name.encode()).hexdigest()[:8]}"
    return safe[: MAX_KEY - len(marker)] + marker


def _clip(text: str, limit: int) -> str:
    if len(text) <= limit:
        return text
    marker = f"... [truncated from {len(text)} chars]"
    return text[: limit - len(marker)] + marker


def tag_values(tags: Mapping[str, str]) -> dict[str, str]:
    """Tags within MLflow's limits: keys as :func:`mlflow_key`, values cut at 8000 characters.

    Examples
    --------
    >>> len(tag_values({"note": "x" * 9000})["note"])
    8000
    """
    return {mlflow_key(k): _clip(str(v), MAX_TAG_VALUE) for k, v in tags.items()}
