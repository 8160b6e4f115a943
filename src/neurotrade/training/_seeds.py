"""Seed variance: the same training under several seeds, summarised leaf by leaf."""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from neurotrade.errors import ModelError


def summarize_seeds(metrics_per_seed: list[dict[str, Any]]) -> dict[str, Any]:
    """Mean and standard deviation across seeds of every numeric leaf of a metrics document.

    The result keeps the documents' shape: each number (booleans count as 0/1, so ``stopped_early`` becomes the
    share of seeds that stopped early) is replaced by ``{"mean": ..., "std": ...}``, lists (a confusion matrix)
    element by element. ``std`` is the sample standard deviation (``ddof=1``), 0.0 for a single seed. A
    non-numeric leaf (a class name) is kept when every seed agrees and becomes ``{"values": [...]}`` when they
    differ. Documents of different shapes are an error: they did not come from the same training.

    Parameters
    ----------
    metrics_per_seed
        One JSON-like document per seed (e.g. the ``classification_metrics`` of each seed's model).

    Examples
    --------
    >>> summary = summarize_seeds([{"accuracy": 0.5, "majority_class": "HOLD"}, {"accuracy": 0.7, "majority_class": "HOLD"}])
    >>> summary["accuracy"]["mean"], round(summary["accuracy"]["std"], 4), summary["majority_class"]
    (0.6, 0.1414, 'HOLD')
    """  # noqa: E501
    if not metrics_per_seed:
        raise ModelError("summarize_seeds needs the metrics of at least one seed, got none")
    return _summarize(list(metrics_per_seed), "")


def _summarize(values: list[Any], path: str) -> Any:
    first = values[0]
    if isinstance(first, Mapping):
        for i, value in enumerate(values):
            if not isinstance(value, Mapping) or set(value) != set(first):
                raise ModelError(_mismatch(path, i, value, first))
        return {key: _summarize([v[key] for v in values], f"{path}.{key}" if path else key) for key in first}
    if isinstance(first, Sequence) and not isinstance(first, str):
        for i, value in enumerate(values):
            if isinstance(value, str) or not isinstance(value, Sequence) or len(value) != len(first):
                raise ModelError(_mismatch(path, i, value, first))
        return [_summarize([v[j] for v in values], f"{path}[{j}]") for j in range(len(first))]
    for i, value in enumerate(values):
        if isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str)):
            raise ModelError(_mismatch(path, i, value, first))
    if all(isinstance(v, int | float) for v in values):
        numbers = [float(v) for v in values]
        mean = math.fsum(numbers) / len(numbers)
        if len(numbers) == 1:
            return {"mean": mean, "std": 0.0}
        variance = math.fsum((v - mean) ** 2 for v in numbers) / (len(numbers) - 1)
        return {"mean": mean, "std": math.sqrt(variance)}
    if all(v == first for v in values):
        return first
    return {"values": values}


def _mismatch(path: str, index: int, value: Any, first: Any) -> str:
    where = path or "the top level"
    if isinstance(first, Mapping) and isinstance(value, Mapping):
        missing = sorted(set(first) - set(value))
        extra = sorted(set(value) - set(first))
        detail = "; ".join(
            part
            for part in (
                f"it lacks {', '.join(map(repr, missing))}" if missing else "",
                f"it adds {', '.join(map(repr, extra))}" if extra else "",
            )
            if part
        )
    else:
        detail = f"it is {type(value).__name__} {value!r}, the first seed's is {type(first).__name__} {first!r}"
    return (
        f"the metrics of seed #{index} differ in shape from the first seed's at {where}: {detail}; summarise "
        "documents from the same training only"
    )
