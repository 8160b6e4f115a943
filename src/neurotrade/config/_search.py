"""The ``search:`` section: which spec keys a study varies, how, and what it optimises.

A dimension is named by the key path it sets in the strategy (``training.learning_rate``, ``model.hidden``,
``indicators.rsi_14.period``, ``labels.threshold_pct``) and says how its values are drawn. The strategy checks
every dimension's extremes (both bounds, every choice) as a whole spec at load time, so a search never starts with
a value the spec would refuse; the error names the dimension's key path.
"""

from __future__ import annotations

import copy
import difflib
import logging
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Annotated, Any, Literal

from pydantic import Field, field_validator, model_validator

from neurotrade.config._base import Section

KeyPath = Annotated[str, Field(pattern=r"^[A-Za-z_][A-Za-z0-9_-]*(\.[A-Za-z0-9_.-]+)+$", max_length=200)]
Bound = float | int


class LogUniform(Section):
    """``{loguniform: [low, high]}``: a float drawn evenly on a log scale (learning rates, weight decay)."""

    loguniform: Annotated[list[float], Field(min_length=2, max_length=2)]

    @model_validator(mode="after")
    def _ordered(self) -> LogUniform:
        low, high = self.loguniform
        if not 0 < low < high:
            raise ValueError(f"loguniform needs 0 < low < high, got [{low:g}, {high:g}]")
        return self


class Uniform(Section):
    """``{uniform: [low, high]}``: a float drawn evenly between the bounds."""

    uniform: Annotated[list[float], Field(min_length=2, max_length=2)]

    @model_validator(mode="after")
    def _ordered(self) -> Uniform:
        low, high = self.uniform
        if not low < high:
            raise ValueError(f"uniform needs low < high, got [{low:g}, {high:g}]")
        return self


class IntRange(Section):
    """``{int: [low, high]}``: an integer from low to high, both included (``step`` apart)."""

    int_: Annotated[
        list[Annotated[int, Field(ge=-(10**12), le=10**12)]], Field(min_length=2, max_length=2, alias="int")
    ]
    step: Annotated[int, Field(ge=1, le=10**9)] = 1

    model_config = Section.model_config | {"populate_by_name": True}

    @model_validator(mode="after")
    def _ordered(self) -> IntRange:
        low, high = self.int_
        if not low < high:
            raise ValueError(f"int needs low < high, got [{low}, {high}]")
        return self


class Choice(Section):
    """``{choice: [a, b, ...]}``: one of the listed values (numbers, names, or lists such as layer sizes)."""

    choice: Annotated[list[Any], Field(min_length=1, max_length=64)]


Dimension = LogUniform | Uniform | IntRange | Choice


class SearchSpec(Section):
    """A study over the strategy's own keys, run by ``neurotrade tune`` (Optuna samples, Ray runs the trials).

    ``objective`` ranks trials on their walk-forward folds (before the holdout): ``excess_sharpe`` (the
    strategy's Sharpe ratio minus buy-and-hold's over the same bars), ``sharpe``, ``log_loss`` (minimised) or
    ``dsr`` (the deflated Sharpe ratio of the excess, counting every trial). ``pruner`` stops a trial whose
    first folds trail the others (``median``; ``successive_halving``; ``none``). ``holdout`` is the share of the
    history, at its end, that no trial ever sees: ``neurotrade confirm`` evaluates the chosen configuration on it
    once. Each trial gets ``cpus`` and ``gpus`` from Ray. The study lives in ``storage`` (any SQLAlchemy URL;
    default: a SQLite file in the workspace), so a killed search resumes where it stopped.
    """

    space: Annotated[dict[KeyPath, Dimension], Field(min_length=1, max_length=64)]

    @field_validator("space")
    @classmethod
    def _not_the_data(cls, space: dict[str, Any]) -> dict[str, Any]:
        # The holdout is located on the spec's own data; a trial on other data (another timeframe, symbol or
        # file) would see bars past it (a coarser bar closing after the holdout starts) or be another study.
        data = [path for path in space if path == "data" or path.startswith("data.")]
        if data:
            raise ValueError(
                f"{', '.join(data)}: a search cannot vary the data (the locked holdout is located on it); run one "
                "study per data set"
            )
        return space

    objective: Literal["excess_sharpe", "sharpe", "log_loss", "dsr"] = "excess_sharpe"
    trials: Annotated[int, Field(ge=1, le=100_000)] = 20
    pruner: Literal["median", "successive_halving", "none"] = "median"
    holdout: Annotated[float, Field(gt=0, le=0.5)] = 0.2
    cpus: Annotated[float, Field(gt=0, le=1024)] = 1.0
    gpus: Annotated[float, Field(ge=0, le=64)] = 0.0
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] | None = None
    storage: Annotated[str, Field(max_length=4096)] | None = None

    @property
    def direction(self) -> Literal["maximize", "minimize"]:
        """Whether the objective is maximised (Sharpe ratios, DSR) or minimised (log loss)."""
        return "minimize" if self.objective == "log_loss" else "maximize"


def extremes(dimension: Dimension) -> list[Any]:
    """The values of a dimension that bound what a trial can draw: both ends of a range, every choice.

    Examples
    --------
    >>> extremes(IntRange.model_validate({"int": [5, 30]})), extremes(Choice(choice=[[32], [64, 32]]))
    ([5, 30], [[32], [64, 32]])
    """
    if isinstance(dimension, LogUniform):
        return list(dimension.loguniform)
    if isinstance(dimension, Uniform):
        return list(dimension.uniform)
    if isinstance(dimension, IntRange):
        low, high = dimension.int_
        return [low, low + ((high - low) // dimension.step) * dimension.step]
    return list(dimension.choice)


def set_key(spec: dict[str, Any], path: str, value: Any) -> dict[str, Any]:
    """A copy of a dumped spec with the key at ``path`` set to ``value``.

    An indicator's parameter is found in its ``params`` (``indicators.rsi_14.period``). A section or name that is
    not in the spec raises ``KeyError`` with the close matches; an unknown last key is left for the strategy's
    own validation to refuse, so its message is the one a hand-written spec would get.

    Examples
    --------
    >>> spec = {"training": {"learning_rate": 0.001}, "indicators": {"rsi_14": {"type": "rsi", "params": {}}}}
    >>> set_key(spec, "indicators.rsi_14.period", 9)["indicators"]
    {'rsi_14': {'type': 'rsi', 'params': {'period': 9}}}
    >>> set_key(spec, "training.learning_rate", 0.01)["training"]
    {'learning_rate': 0.01}
    """
    out = copy.deepcopy(spec)
    keys = path.split(".")
    node = out
    for depth, key in enumerate(keys[:-1]):
        child = node.get(key) if isinstance(node, dict) else None
        if not isinstance(child, dict):
            where = ".".join(keys[:depth]) or "the strategy"
            known = list(node) if isinstance(node, dict) else []
            close = difflib.get_close_matches(key, known, n=1)
            hint = f"; did you mean {close[0]!r}?" if close else ""
            raise KeyError(f"{key!r} is not a section or name in {where}{hint}")
        node = child
    last = keys[-1]
    if "params" in node and isinstance(node["params"], dict) and last not in node:
        node = node["params"]  # an indicator, written flat in YAML
    node[last] = value
    return out


@contextmanager
def _quiet_config_warnings() -> Iterator[None]:
    """The spec's own load already warned about what the searched specs share; do not repeat it per value."""
    logger = logging.getLogger("neurotrade.config")
    level = logger.level
    logger.setLevel(logging.ERROR)
    try:
        yield
    finally:
        logger.setLevel(level)


def with_values(spec: Any, values: dict[str, Any], *, source: str = "<search>") -> Any:
    """The strategy ``spec`` with each key path in ``values`` set, validated exactly as a hand-written YAML file
    (``parse_strategy``: schema, references, indicator parameters, model size), without its ``search`` section.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> with_values(spec, {"indicators.rsi_14.period": 9, "model.hidden": [8]}).model.hidden
    [8]
    """
    import yaml

    from neurotrade.config._loader import parse_strategy

    dumped = spec.model_dump(mode="json", exclude={"search"})
    for path, value in values.items():
        dumped = set_key(dumped, path, value)
    return parse_strategy(yaml.safe_dump(dumped, sort_keys=False), source=source)


def search_problems(spec: Any) -> list[str]:
    """Every dimension whose extremes (both bounds, every choice) would make an invalid strategy, one line each
    naming its key path; empty when the search is sound.

    Examples
    --------
    >>> from neurotrade.config import parse_strategy
    >>> spec = parse_strategy("name: x\\nindicators: {rsi_14: {}}\\nnn_inputs: {indicators: [rsi_14]}\\n")
    >>> search_problems(spec)
    []
    """
    from neurotrade.errors import ConfigError

    if spec.search is None:
        return []
    problems = []
    for path, dimension in spec.search.space.items():
        for value in extremes(dimension):
            try:
                with _quiet_config_warnings():
                    with_values(spec, {path: value})
            except KeyError as error:
                problems.append(f"search.space.{path}: {error.args[0]}")
                break
            except ConfigError as error:
                first = str(error).splitlines()[0].split(" ", 1)[-1]  # drop the "<search>:LINE" prefix
                problems.append(
                    f"search.space.{path}: the value {value!r} makes an invalid strategy ({first}); "
                    "change the range or the choices"
                )
                break
    return problems
