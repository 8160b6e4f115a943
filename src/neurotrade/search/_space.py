"""The ``search.space`` of a strategy as Optuna distributions, and a trial's parameters back as spec values."""

from __future__ import annotations

from typing import Any

from neurotrade.config import Strategy
from neurotrade.config._search import Choice, IntRange, LogUniform, Uniform


def _scalar(value: Any) -> bool:
    return value is None or isinstance(value, bool | int | float | str)


def distributions(spec: Strategy) -> dict[str, Any]:
    """One Optuna distribution per dimension, named by its key path. A choice among lists (layer sizes) is drawn
    as the index of the list, since Optuna's categorical values are scalars; :func:`spec_values` maps it back.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n"
    ...     "search: {space: {model.hidden: {choice: [[8], [16, 8]]}, indicators.rsi_14.period: {int: [5, 9]}}}\\n")
    >>> {k: type(d).__name__ for k, d in distributions(spec).items()}
    {'model.hidden': 'CategoricalDistribution', 'indicators.rsi_14.period': 'IntDistribution'}
    """
    from optuna.distributions import CategoricalDistribution, FloatDistribution, IntDistribution

    assert spec.search is not None
    out: dict[str, Any] = {}
    for path, dimension in spec.search.space.items():
        if isinstance(dimension, LogUniform):
            out[path] = FloatDistribution(*dimension.loguniform, log=True)
        elif isinstance(dimension, Uniform):
            out[path] = FloatDistribution(*dimension.uniform)
        elif isinstance(dimension, IntRange):
            low, high = dimension.int_
            out[path] = IntDistribution(
                low, low + ((high - low) // dimension.step) * dimension.step, step=dimension.step
            )
        else:
            assert isinstance(dimension, Choice)
            listed = dimension.choice
            out[path] = CategoricalDistribution(listed if all(_scalar(v) for v in listed) else list(range(len(listed))))
    return out


def indexed_choices(spec: Strategy) -> dict[str, list[Any]]:
    """The choices drawn by index (those holding lists or mappings), by key path: for reports and decoding."""
    assert spec.search is not None
    return {
        path: list(d.choice)
        for path, d in spec.search.space.items()
        if isinstance(d, Choice) and not all(_scalar(v) for v in d.choice)
    }


def spec_values(spec: Strategy, params: dict[str, Any]) -> dict[str, Any]:
    """A trial's Optuna parameters as the values to set in the spec (an index becomes its listed value).

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n"
    ...     "search: {space: {model.hidden: {choice: [[8], [16, 8]]}}}\\n")
    >>> spec_values(spec, {"model.hidden": 1})
    {'model.hidden': [16, 8]}
    """
    listed = indexed_choices(spec)
    return {path: (listed[path][value] if path in listed else value) for path, value in params.items()}


def touches_features(spec: Strategy) -> bool:
    """Whether any dimension changes the bars or the feature matrix (so trials cannot share one built matrix)."""
    assert spec.search is not None
    roots = ("data.", "indicators.", "fuzzy_sets.", "nn_inputs.")
    return any(path.startswith(roots) for path in spec.search.space)
