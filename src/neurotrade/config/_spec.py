"""The strategy spec: one pydantic model per YAML section.

Constraints are declared here once; error messages (with file, line and key path) are derived from them by
``_errors.py``. Checks that need other parts of the package (indicator parameters, references between sections)
live in ``_references.py``.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator

from neurotrade.fuzzy import FuzzySet, breakpoint_problem

Name = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_-]*$", max_length=64)]
Timeframe = Annotated[str, Field(pattern=r"^[1-9][0-9]*(m|h|d|w)$")]


class Section(BaseModel):
    """Base of every section: unknown keys are errors, and a loaded spec never changes."""

    model_config = ConfigDict(extra="forbid", frozen=True)


class DataSpec(Section):
    """Where the bars come from.

    ``source: sample`` reads the bundled real daily bars (split-adjusted on load), ``store`` the workspace's data
    store, ``file`` a CSV or Parquet file, ``synthetic`` the seeded generator used by tests.
    """

    source: Literal["sample", "store", "file", "synthetic"] = "sample"
    symbol: Annotated[str, Field(pattern=r"^[A-Za-z0-9._-]+$")] = "AAPL"
    timeframe: Timeframe = "1d"
    path: str | None = None
    repair: list[Literal["sort", "dedupe", "split-adjust"]] = []
    timezone: str = "UTC"
    bars: Annotated[int, Field(ge=300, le=10_000_000)] = 3000

    @property
    def instrument(self) -> str:
        """What the bars are of, for display: the symbol, or ``synthetic``."""
        return "synthetic" if self.source == "synthetic" else self.symbol

    @model_validator(mode="after")
    def _path_only_for_files(self) -> DataSpec:
        if self.source == "file" and not self.path:
            raise ValueError("source 'file' needs `path: <file.csv or .parquet>`")
        if self.source != "file" and self.path:
            raise ValueError(f"`path` is only read with source 'file' (source is {self.source!r})")
        return self


class IndicatorSpec(BaseModel):
    """One named indicator: its registry ``type`` and parameters.

    Written flat in YAML (``rsi_14: {type: rsi, period: 14}``); ``type`` may be left out when the name starts
    with it (``rsi_14`` is an ``rsi``). After loading, ``type`` is always set and ``params`` holds every
    parameter with defaults filled in.
    """

    model_config = ConfigDict(extra="forbid", frozen=True)

    type: str | None = None
    params: dict[str, Any] = {}

    @model_validator(mode="before")
    @classmethod
    def _flat_params(cls, data: Any) -> Any:
        if isinstance(data, dict) and "params" not in data:
            params = {k: v for k, v in data.items() if k != "type"}
            return {"type": data.get("type"), "params": params}
        return data


class TriangularSet(Section):
    """``[a, b, c]``: 0 at a, 1 at b, 0 at c."""

    shape: Literal["triangular"] = "triangular"
    points: Annotated[list[float], Field(min_length=3, max_length=3)]

    @model_validator(mode="after")
    def _ordered(self) -> TriangularSet:
        _check_breakpoints(self.shape, self.points)
        return self

    def to_fuzzy_set(self, name: str) -> FuzzySet:
        return FuzzySet(name, "triangular", tuple(self.points))


class TrapezoidalSet(Section):
    """``[a, b, c, d]``: rising over a..b, 1 on b..c, falling over c..d."""

    shape: Literal["trapezoidal"] = "trapezoidal"
    points: Annotated[list[float], Field(min_length=4, max_length=4)]

    @model_validator(mode="after")
    def _ordered(self) -> TrapezoidalSet:
        _check_breakpoints(self.shape, self.points)
        return self

    def to_fuzzy_set(self, name: str) -> FuzzySet:
        return FuzzySet(name, "trapezoidal", tuple(self.points))


class GaussianSet(Section):
    """A bell centred on ``mean`` with width ``sigma``."""

    shape: Literal["gaussian"] = "gaussian"
    mean: float
    sigma: Annotated[float, Field(gt=0)]

    def to_fuzzy_set(self, name: str) -> FuzzySet:
        return FuzzySet(name, "gaussian", (self.mean, self.sigma))


def _check_breakpoints(shape: str, points: list[float]) -> None:
    problem = breakpoint_problem(shape, points)
    if problem:
        raise ValueError(problem)


FuzzySetSpec = Annotated[TriangularSet | TrapezoidalSet | GaussianSet, Field(discriminator="shape")]


def _shorthand_sets(value: Any) -> Any:
    """``[a, b, c]`` is a triangular set, ``[a, b, c, d]`` a trapezoidal one."""
    if not isinstance(value, dict):
        return value
    out = {}
    for name, spec in value.items():
        if isinstance(spec, list | tuple):
            spec = {"points": list(spec)}
        if isinstance(spec, dict) and "shape" not in spec:
            points = spec.get("points")
            if isinstance(points, list) and len(points) == 4:
                spec = {"shape": "trapezoidal", **spec}
            elif "points" in spec:
                spec = {"shape": "triangular", **spec}
            else:
                spec = {"shape": "gaussian", **spec}
        out[name] = spec
    return out


class NNInputsSpec(Section):
    """What the network sees: fuzzy memberships and raw indicator outputs, and how many past bars of each."""

    fuzzy: Literal["all"] | list[str] = "all"
    indicators: list[str] = []
    lookback_periods: Annotated[int, Field(ge=0, le=500)] = 0

    @field_validator("fuzzy", mode="before")
    @classmethod
    def _all_or_names(cls, value: Any) -> Any:
        if value == "all" or (isinstance(value, list) and all(isinstance(v, str) for v in value)):
            return value
        raise ValueError(f"must be 'all' or a list of fuzzy sets such as ['rsi_14.oversold'], got {value!r}")


class ZigZagLabels(Section):
    """Direction of the next swing of at least ``threshold_pct`` percent that completes within ``lookahead`` bars."""

    type: Literal["zigzag"] = "zigzag"
    threshold_pct: Annotated[float, Field(gt=0, le=100)] = 5.0
    lookahead: Annotated[int, Field(ge=1, le=10_000)] = 20


LabelSpec = Annotated[ZigZagLabels, Field(discriminator="type")]


class SplitSpec(Section):
    """Chronological train / validation / test fractions, with purge and an embargo in bars."""

    method: Literal["chronological"] = "chronological"
    train: Annotated[float, Field(gt=0, lt=1)] = 0.6
    validation: Annotated[float, Field(gt=0, lt=1)] = 0.2
    test: Annotated[float, Field(gt=0, lt=1)] = 0.2
    embargo: Annotated[int, Field(ge=0, le=10_000)] = 5

    @model_validator(mode="after")
    def _fractions_sum_to_one(self) -> SplitSpec:
        total = self.train + self.validation + self.test
        if abs(total - 1.0) > 1e-9:
            raise ValueError(f"train + validation + test must add up to 1, got {total:g}")
        return self


class MLPSpec(Section):
    """A multilayer perceptron on feature rows; it outputs raw logits (softmax only at inference)."""

    type: Literal["mlp"] = "mlp"
    hidden: Annotated[list[Annotated[int, Field(ge=1, le=65_536)]], Field(min_length=1)] = [64, 32]
    activation: Literal["relu", "tanh", "sigmoid", "leaky_relu"] = "relu"
    dropout: Annotated[float, Field(ge=0, lt=1)] = 0.1


ModelSpec = Annotated[MLPSpec, Field(discriminator="type")]


class EarlyStoppingSpec(Section):
    patience: Annotated[int, Field(ge=1)] = 15
    min_delta: Annotated[float, Field(ge=0)] = 1e-4


class TrainingSpec(Section):
    """How the network is fitted. ``sgd`` uses momentum 0.9."""

    optimizer: Literal["adam", "sgd"] = "adam"
    learning_rate: Annotated[float, Field(gt=0, le=10)] = 1e-3
    weight_decay: Annotated[float, Field(ge=0)] = 0.0
    batch_size: Annotated[int, Field(ge=1, le=1_000_000)] = 64
    epochs: Annotated[int, Field(ge=1, le=100_000)] = 200
    early_stopping: EarlyStoppingSpec | None = EarlyStoppingSpec()
    device: Literal["auto", "cpu", "cuda", "mps"] = "auto"


class DecisionSpec(Section):
    """How probabilities become signals: a class acts only when its probability reaches the threshold."""

    confidence_threshold: Annotated[float, Field(ge=0, le=1)] = 0.5
    allow_short: bool = False


class BacktestSpec(Section):
    """Simulation settings. Percentages are percent (0.05 means 0.05 %)."""

    initial_cash: Annotated[float, Field(gt=0)] = 100_000.0
    commission_pct: Annotated[float, Field(ge=0, lt=100)] = 0.05
    commission_fixed: Annotated[float, Field(ge=0)] = 0.0
    slippage_pct: Annotated[float, Field(ge=0, lt=100)] = 0.02
    fraction: Annotated[float, Field(gt=0, le=1)] = 1.0
    fill: Literal["next_open", "same_close"] = "next_open"
    # How returns are annualised: ``auto`` counts the bars per year the loaded data really has; ``equity``
    # assumes 252 sessions of 6.5 hours, ``crypto`` 365 days of 24 hours.
    calendar: Literal["auto", "equity", "crypto"] = "auto"


class Strategy(Section):
    """A whole strategy, as declared in one YAML file.

    Examples
    --------
    >>> s = Strategy(name="demo")
    >>> s.data.symbol, s.labels.type, s.model.hidden
    ('AAPL', 'zigzag', [64, 32])
    """

    name: Name
    description: str = ""
    seed: Annotated[int, Field(ge=0, le=2**32 - 1)] = 42
    data: DataSpec = DataSpec()
    indicators: dict[str, IndicatorSpec] = {}
    fuzzy_sets: dict[str, Annotated[dict[str, FuzzySetSpec], Field(min_length=1)]] = {}
    nn_inputs: NNInputsSpec = NNInputsSpec()
    labels: LabelSpec = ZigZagLabels()
    split: SplitSpec = SplitSpec()
    model: ModelSpec = MLPSpec()
    training: TrainingSpec = TrainingSpec()
    decisions: DecisionSpec = DecisionSpec()
    backtest: BacktestSpec = BacktestSpec()

    @model_validator(mode="before")
    @classmethod
    def _default_tags(cls, data: Any) -> Any:
        """``model:`` and ``labels:`` may leave out ``type``; the first kind is then meant."""
        if isinstance(data, dict):
            data = dict(data)
            for section, default in (("model", "mlp"), ("labels", "zigzag")):
                if isinstance(data.get(section), dict) and "type" not in data[section]:
                    data[section] = {"type": default, **data[section]}
        return data

    @field_validator("fuzzy_sets", mode="before")
    @classmethod
    def _expand_shorthand(cls, value: Any) -> Any:
        if isinstance(value, dict):
            return {source: _shorthand_sets(sets) for source, sets in value.items()}
        return value
