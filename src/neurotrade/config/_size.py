"""Check the model's size before anything is trained: a few characters of YAML (``hidden: [65536, 65536]``) can
declare billions of parameters, which would exhaust memory only after the data is loaded and the features built.

The parameter count comes from each ``model:`` section's ``parameters(n_inputs, n_classes)`` with the strategy's
own number of feature columns, and is checked against that section's ``max_parameters`` (an ensemble's members
against their own, the whole ensemble against its).
"""

from __future__ import annotations

from typing import Any

from neurotrade.config._errors import located
from neurotrade.config._spec import Strategy
from neurotrade.config._yaml import LocatedDocument, Path_, format_path

N_CLASSES = 3  # SELL, HOLD, BUY: every label type makes three classes
BYTES_PER_PARAMETER = 16  # float32 weights, gradients and Adam's two moments


def feature_count(strategy: Strategy) -> int:
    """How many feature columns the network reads, from a resolved spec (as ``features.resolve_features`` names
    them: every fuzzy set, indicator output and context feature, per timeframe, at every lag).

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> s = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14], "
    ...                    "context: {returns: [1, 5]}, lookback_periods: 2}\\n")
    >>> feature_count(s)  # (rsi_14, ret_1, ret_5) at lags 0, 1 and 2
    9
    """
    nn = strategy.nn_inputs
    fuzzy = sum(len(sets) for sets in strategy.fuzzy_sets.values()) if nn.fuzzy == "all" else len(nn.fuzzy)
    context = len(nn.context.returns) + len(nn.context.price_over_ma) + len(nn.context.volume_ratio)
    timeframes = len(nn.timeframes) if isinstance(nn.timeframes, list) else 1
    # A universe adds its cross-sectional features and, with a symbol embedding, one column per symbol.
    universe = len(nn.cross_section.rank) + len(nn.cross_section.zscore)
    if nn.symbol_embedding:
        symbols = strategy.data.symbols
        universe += symbols if isinstance(symbols, int) else len(symbols or [])  # a named universe: unknown here
    return (fuzzy + len(nn.indicators) + context) * timeframes * (nn.lookback_periods + 1) + universe


def check_model_size(doc: LocatedDocument, strategy: Strategy) -> list[str]:
    """One located problem for each ``model:`` section (the model, or an ensemble member) whose parameter count
    exceeds its ``max_parameters``; ``strategy`` is the resolved spec.

    Examples
    --------
    >>> from neurotrade.config._yaml import parse_yaml
    >>> text = "name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n"
    >>> text += "model: {hidden: [8192, 8192]}\\n"
    >>> doc = parse_yaml(text, "x.yaml")
    >>> print(check_model_size(doc, Strategy.model_validate(doc.data))[0][:76])
    x.yaml:4 model: the mlp would have 67,158,019 parameters on 1 feature column
    """
    n_inputs = feature_count(strategy)
    model: Any = strategy.model
    sections: list[tuple[Path_, Any]] = [(("model",), model)]
    if model.type == "ensemble":
        sections += [(("model", "members", i), member) for i, member in enumerate(model.members)]
    problems = []
    for path, section in sections:
        count = section.parameters(n_inputs, N_CLASSES)
        if count <= section.max_parameters:
            continue
        gigabytes = count * BYTES_PER_PARAMETER / 1e9
        columns = f"{n_inputs:,} feature column{'s' if n_inputs != 1 else ''}"
        key = format_path(path)
        problems.append(
            located(
                doc,
                path,
                f"the {section.type} would have {count:,} parameters on {columns} (about {gigabytes:,.1f} GB to "
                f"train), more than {key}.max_parameters ({section.max_parameters:,}); make it smaller (fewer or "
                f"narrower layers, fewer inputs), or raise {key}.max_parameters if the machine can hold it",
            )
        )
    return problems
